package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runMain runs the command line as the sgdlab binary would.
func runMain(t *testing.T, args string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = Main(context.Background(), strings.Fields(args), &o, &e)
	return code, o.String(), e.String()
}

func TestBadInputExitsWithUsage(t *testing.T) {
	for _, tc := range []struct {
		args string
		want []string
	}{
		{"reproduce dln-sdg", []string{`unknown experiment "dln-sdg"`, "valid: dln-sgd, dln-gd"}},
		{"reproduce -bogus", []string{"flag provided but not defined: -bogus", "usage: sgdlab reproduce"}},
		{"reproduce dln-sgd -out", []string{"flag needs an argument: -out", "usage: sgdlab reproduce"}},
		{"bench resnet", []string{`unknown workload "resnet"`, "valid: dln-step, e1"}},
		{"bench -time", []string{"flag needs an argument: -time", "usage: sgdlab bench"}},
		{"frobnicate", []string{`unknown command "frobnicate"`, "usage:"}},
		{"hessian", []string{"usage: sgdlab hessian -run"}},
		{"hessian -run /nonexistent/dir", []string{"/nonexistent/dir", "no such file"}},
		{"hessian -run . -k 0", []string{"usage: sgdlab hessian"}},
		{"hessian -run .", []string{"no checkpoints/*.json"}},
		{"landscape -run . -dirs sideways", []string{"usage: sgdlab landscape"}},
		{"", []string{"usage:"}},
		{"reproduce cifar10", []string{"data.dir: required", "cifar-10-binary.tar.gz"}},
		{"reproduce cifar10 -data " + os.TempDir() + "/sgdlab-no-cifar", []string{"data files not found", "sgdlab-no-cifar/data_batch_1.bin does not exist"}},
		{"reproduce dln-sgd -resume -set checkpoint_every=-1", []string{"checkpoint_every: must be ≥ 0"}},
	} {
		code, _, stderr := runMain(t, tc.args)
		if code != 2 {
			t.Errorf("sgdlab %s: exit code %d, want 2", tc.args, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("sgdlab %s: stderr %q lacks %q", tc.args, stderr, w)
			}
		}
		if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine") {
			t.Errorf("sgdlab %s panicked: %s", tc.args, stderr)
		}
	}
}

func TestList(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"list"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"dln-sgd ", "dln-gd "} {
		if !strings.Contains(out.String(), name) {
			t.Errorf("list output %q lacks %s", out.String(), name)
		}
	}
}

func TestReproduceQuickWritesResults(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the quick E2 (about 5 s); skipped with -short")
	}
	dir := t.TempDir()
	var out, errb bytes.Buffer
	// Flags after the experiment name, as the README shows them.
	if err := run(context.Background(), []string{"reproduce", "dln-gd", "-out", dir, "-quick"}, &out, &errb); err != nil {
		t.Fatal(err, errb.String())
	}
	for _, f := range []string{"config.json", "metrics.csv", "summary.json", "dln-gd.png"} {
		if _, err := os.Stat(filepath.Join(dir, "dln-gd", f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	if !strings.Contains(out.String(), "dln-gd: 5 runs") {
		t.Errorf("stdout %q lacks the run count", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"hessian", "-run", filepath.Join(dir, "dln-gd"), "-k", "2"}, &out, &errb); err != nil {
		t.Fatal(err, errb.String())
	}
	for _, f := range []string{"gd.json", "gd-density.png", "sgd-decay-50.json"} {
		if _, err := os.Stat(filepath.Join(dir, "dln-gd", "hessian", f)); err != nil {
			t.Errorf("hessian: %v", err)
		}
	}
	if !strings.Contains(out.String(), "dln-gd/gd at iteration 10001") || !strings.Contains(out.String(), "λ_max") {
		t.Errorf("hessian stdout %q", out.String())
	}
}

// TestBenchPrintsWorkloads runs two quick workloads through the command
// line, as a table and as JSON.
func TestBenchPrintsWorkloads(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"bench", "dln-step", "teacher-student", "-time", "1ms"}, &out, &errOut); err != nil {
		t.Fatalf("bench: %v (stderr %q)", err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "workload") ||
		!strings.HasPrefix(lines[1], "dln-step") || !strings.HasPrefix(lines[2], "teacher-student") {
		t.Errorf("table:\n%s", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"bench", "-json", "-time", "1ms", "dln-step"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var r struct {
		Name   string  `json:"name"`
		Unit   string  `json:"unit"`
		NS     int64   `json:"ns_per_unit"`
		Allocs float64 `json:"allocs_per_unit"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v in %q", err, out.String())
	}
	if r.Name != "dln-step" || r.Unit != "step" || r.NS <= 0 {
		t.Errorf("JSON result %+v", r)
	}
}
