// Command sgdlab reproduces the experiments of "SGD with Large Step Sizes
// Learns Sparse Features" (Andriushchenko et al., ICML 2023).
//
// Usage:
//
//	sgdlab reproduce [EXPERIMENT...] [-out DIR] [-quick]
//	sgdlab list
//	sgdlab hessian -run DIR|CHECKPOINT [-k 5] [-examples N] [-out DIR]
//	sgdlab landscape -run DIR|CHECKPOINT [-dirs top|random] [-span S] [-n N] [-out DIR]
//	sgdlab bench [WORKLOAD...] [-time D] [-json]
//
// reproduce runs the named experiments (all of them if none is named) and
// writes DIR/EXPERIMENT/{config.json, metrics.csv, summary.json, *.png,
// checkpoints/RUN.json}. hessian analyses the training-loss Hessian at the
// checkpoints of a finished experiment: extreme eigenvalues (Lanczos),
// trace (Hutch++) and spectral density (stochastic Lanczos quadrature),
// written to DIR/hessian. landscape draws 1D slices and a 2D plane of the
// loss through each checkpoint along the top Hessian eigenvectors or random
// filter-normalised directions, written to DIR/landscape. bench times the speed workloads of package bench
// and prints time and heap allocations per step or run.
// Exit status: 0 on success, 1 if an experiment failed, 2 for bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"time"

	"sgdlab/experiment"
)

// errUsage marks errors that are the user's input; they exit with 2.
// errHelp is a request for help: the usage is printed and the exit is 0.
var (
	errUsage = errors.New("usage")
	errHelp  = errors.New("help")
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, errHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "sgdlab:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  sgdlab reproduce [EXPERIMENT...] [-out DIR] [-quick]
  sgdlab list
  sgdlab hessian -run DIR|CHECKPOINT [-k 5] [-examples N] [-out DIR]
  sgdlab landscape -run DIR|CHECKPOINT [-dirs top|random] [-span S] [-n N] [-out DIR]
  sgdlab bench [WORKLOAD...] [-time D] [-json]
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "reproduce":
		return reproduce(ctx, args[1:], stdout, stderr)
	case "hessian":
		return hessian(args[1:], stdout, stderr)
	case "landscape":
		return landscape(args[1:], stdout, stderr)
	case "bench":
		return benchCmd(args[1:], stdout, stderr)
	case "list":
		for _, c := range experiment.All() {
			fmt.Fprintf(stdout, "%-10s %s\n", c.Name, c.Description)
		}
		return nil
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "sgdlab: unknown command %q\n%s", args[0], usage)
	return errUsage
}

func reproduce(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reproduce", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "results", "directory for the results")
	quick := fs.Bool("quick", false, "a tenth of the iterations: a fast look, not the paper's numbers")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: sgdlab reproduce [EXPERIMENT...] [-out DIR] [-quick]\nexperiments: %s\n", strings.Join(experiment.Names(), ", "))
		fs.PrintDefaults()
	}
	names, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	var configs []experiment.Config
	if len(names) == 0 {
		configs = experiment.All()
	}
	for _, n := range names {
		c, err := experiment.Lookup(n)
		if err != nil {
			fmt.Fprintf(stderr, "sgdlab: %v\n", err)
			return errUsage
		}
		configs = append(configs, c)
	}
	for _, c := range configs {
		if *quick {
			c = c.Quick()
		}
		start := time.Now()
		p := newProgress(stderr, c.Name)
		sum, err := experiment.Run(ctx, c, experiment.Options{Out: *out, Log: p, Progress: p.update})
		p.stop()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %d runs in %.1fs → %s\n", c.Name, len(sum.Runs), time.Since(start).Seconds(), *out+"/"+c.Name)
		for _, r := range sum.Runs {
			if r.Diverged {
				fmt.Fprintf(stdout, "  %-14s η=%-6g diverged at iteration %d\n", r.Name, r.LR, *r.DivergedAt)
				continue
			}
			fmt.Fprintf(stdout, "  %-14s η=%-6g", r.Name, r.LR)
			keys := make([]string, 0, len(r.Final))
			for k := range r.Final {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if v := r.Final[k]; v != nil {
					fmt.Fprintf(stdout, " %s=%.4g", k, *v)
				}
			}
			fmt.Fprintln(stdout)
		}
	}
	return nil
}

// parseInterleaved parses args with fs, allowing flags before and after
// the positional arguments, which it returns. -h is not an error; any
// other parse error is errUsage (fs has printed it with the usage).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// progress shows how far the runs are on a terminal, redrawing one line,
// and passes log lines through.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	name  string
	tty   bool
	done  map[string]float64
	order []string
	last  time.Time
}

func newProgress(w io.Writer, name string) *progress {
	p := &progress{w: w, name: name, done: make(map[string]float64)}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(run string, done, total int) {
	if !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.done[run]; !ok {
		p.order = append(p.order, run)
	}
	p.done[run] = float64(done) / float64(total)
	if time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	var b strings.Builder
	fmt.Fprintf(&b, "\r%s:", p.name)
	for _, r := range p.order {
		fmt.Fprintf(&b, " %s %3.0f%%", r, 100*p.done[r])
	}
	fmt.Fprint(p.w, b.String(), "\x1b[K")
}

// Write prints a log line, clearing the progress line first.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	return p.w.Write(b)
}

func (p *progress) stop() {
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
