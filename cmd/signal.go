package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Interrupted is the cause (context.Cause) of a context cancelled by a
// signal: SIGINT from a terminal, SIGTERM from Slurm at its time limit
// or from Kubernetes.
type Interrupted struct{ Signal os.Signal }

func (e Interrupted) Error() string {
	switch e.Signal {
	case syscall.SIGINT:
		return "interrupted by SIGINT"
	case syscall.SIGTERM:
		return "interrupted by SIGTERM"
	}
	return fmt.Sprintf("interrupted by %v", e.Signal)
}

// ExitCode is the shell's status for death by the signal: 128 + its
// number (130 for SIGINT, 143 for SIGTERM).
func (e Interrupted) ExitCode() int {
	if s, ok := e.Signal.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 130
}

// WithSignals returns a context that SIGINT or SIGTERM cancels, with an
// Interrupted cause, and a function that stops listening. A second
// signal is left to its default action, so that a stuck program can
// still be killed from the terminal.
func WithSignals(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			signal.Stop(ch)
			cancel(Interrupted{Signal: s})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// interruption returns the exit code and message of a run that stopped
// because ctx was cancelled, and false if it was not.
func interruption(ctx context.Context, err error) (int, string, bool) {
	if ctx.Err() == nil || !errors.Is(err, ctx.Err()) && !errors.Is(err, context.Cause(ctx)) {
		return 0, "", false
	}
	var in Interrupted
	if errors.As(context.Cause(ctx), &in) {
		return in.ExitCode(), fmt.Sprintf("sgdlab: %v; nothing unfinished was kept as a result", in), true
	}
	return 130, "sgdlab: interrupted; nothing unfinished was kept as a result", true
}
