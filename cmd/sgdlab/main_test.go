package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
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
