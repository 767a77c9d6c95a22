package main

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the tests run the real main, to check exit codes.
func TestMain(m *testing.M) {
	if os.Getenv("SGDLAB_RUN_MAIN") == "1" {
		os.Args = append([]string{"sgdlab"}, strings.Fields(os.Getenv("SGDLAB_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestExitCodes checks the status the binary exits with (package cmd
// tests the messages).
func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args string
		want int
	}{
		{"list", 0},
		{"-h", 0},
		{"reproduce dln-sdg", 2},
		{"run -config /nonexistent.json", 2},
		{"frobnicate", 2},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "SGDLAB_RUN_MAIN=1", "SGDLAB_ARGS="+tc.args)
		var e bytes.Buffer
		cmd.Stderr = &e
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.want {
			t.Errorf("sgdlab %s: exit %d, want %d (stderr %q)", tc.args, code, tc.want, e.String())
		}
		if strings.Contains(e.String(), "goroutine ") {
			t.Errorf("sgdlab %s panicked: %s", tc.args, e.String())
		}
	}
}

// start runs the real main on args in a child process whose stderr lines
// are sent on the returned channel.
func start(t *testing.T, args ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SGDLAB_RUN_MAIN=1", "SGDLAB_ARGS="+strings.Join(args, " "))
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return cmd, lines
}

// waitFor reads lines until n of them contain want, or fails after limit.
func waitFor(t *testing.T, lines <-chan string, want string, n int, limit time.Duration) {
	t.Helper()
	deadline := time.After(limit)
	for n > 0 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the process ended before printing %q", want)
			}
			if strings.Contains(l, want) {
				n--
			}
		case <-deadline:
			t.Fatalf("no line with %q within %v", want, limit)
		}
	}
}

// terminate sends SIGTERM and returns the exit code and how long the
// process took to stop.
func terminate(t *testing.T, cmd *exec.Cmd, lines <-chan string) (int, time.Duration, string) {
	t.Helper()
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for l := range lines {
		rest = append(rest, l)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("exit after SIGTERM: %v, want a non-zero status", err)
	}
	return exit.ExitCode(), time.Since(start), strings.Join(rest, "\n")
}

// partials lists the partial result directories left in dir.
func partials(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, ".*.partial-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSIGTERM stops real processes with SIGTERM, as Slurm does at its
// time limit, during training and during the write phase: each exits
// with 143 within a second or two, leaves no partial directory and keeps
// the previous results of the experiment whole; a rerun then finishes.
func TestSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("runs sgdlab processes for about 10 s; skipped with -short")
	}
	out := t.TempDir()
	// An earlier, complete result that an interrupted rerun must keep.
	if code := runOK(t, "reproduce", "dln-surface", "-quick", "-out", out); code != 0 {
		t.Fatalf("first run: exit %d", code)
	}
	old, err := os.ReadFile(filepath.Join(out, "dln-surface", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, wait string
		args       []string
	}{
		// E1 trains for about 15 s.
		{"training", "", []string{"reproduce", "dln-sgd", "-out", out}},
		// A 1000 × 1000 loss surface takes many seconds to compute after
		// the three runs have finished.
		{"writing", ") finished", []string{"reproduce", "dln-surface", "-quick", "-set", "surface.alpha.n=1000", "-set", "surface.beta.n=1000", "-out", out}},
	} {
		cmd, lines := start(t, tc.args...)
		if tc.wait != "" {
			waitFor(t, lines, tc.wait, 3, 30*time.Second) // all three runs
			time.Sleep(300 * time.Millisecond)
		} else {
			time.Sleep(1500 * time.Millisecond)
		}
		code, took, stderr := terminate(t, cmd, lines)
		if code != 143 || !strings.Contains(stderr, "interrupted by SIGTERM") {
			t.Errorf("%s: exit %d, stderr %q; want 143 and the interruption named", tc.name, code, stderr)
		}
		if took > 3*time.Second {
			t.Errorf("%s: took %v to stop after SIGTERM", tc.name, took)
		}
		if p := partials(t, out); len(p) > 0 {
			t.Errorf("%s: partial directories left: %v", tc.name, p)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "dln-sgd")); err == nil {
		t.Error("an interrupted dln-sgd left a result directory")
	}
	if now, err := os.ReadFile(filepath.Join(out, "dln-surface", "summary.json")); err != nil || !bytes.Equal(now, old) {
		t.Errorf("the interrupted rerun changed the earlier result: %v", err)
	}
	if code := runOK(t, "reproduce", "dln-surface", "-quick", "-out", out); code != 0 {
		t.Fatalf("rerun: exit %d", code)
	}
}

// TestRerunKeepsWhatItDoesNotOwn reruns an experiment over a result
// directory holding an analysis and a user's file: both stay, and the
// results are readable by group and others.
func TestRerunKeepsWhatItDoesNotOwn(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the quick E3 twice; skipped with -short")
	}
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	out := t.TempDir()
	res := filepath.Join(out, "dln-surface")
	if code := runOK(t, "reproduce", "dln-surface", "-quick", "-out", out); code != 0 {
		t.Fatalf("first run: exit %d", code)
	}
	if code := runOK(t, "hessian", "-run", res, "-k", "1"); code != 0 {
		t.Fatalf("hessian: exit %d", code)
	}
	user := filepath.Join(res, "notes.txt")
	if err := os.WriteFile(user, []byte("lr sweep, run 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := runOK(t, "reproduce", "dln-surface", "-quick", "-out", out); code != 0 {
		t.Fatalf("rerun: exit %d", code)
	}
	for _, f := range []string{"notes.txt", "hessian/sgd.json", "hessian/sgd-density.png", "summary.json", "checkpoints/sgd.json"} {
		if _, err := os.Stat(filepath.Join(res, f)); err != nil {
			t.Errorf("after the rerun: %v", err)
		}
	}
	err := filepath.WalkDir(res, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode().Perm()&0o044 != 0o044 || d.IsDir() && info.Mode().Perm()&0o011 != 0o011 {
			t.Errorf("%s has mode %v: not readable by group and others", path, info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// runOK runs the real main to completion and returns its exit code.
func runOK(t *testing.T, args ...string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SGDLAB_RUN_MAIN=1", "SGDLAB_ARGS="+strings.Join(args, " "))
	var e bytes.Buffer
	cmd.Stderr = &e
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Logf("sgdlab %s: %s", strings.Join(args, " "), e.String())
		return exit.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}
