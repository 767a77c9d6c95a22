package cmd_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sgdlab/cmd"
	"sgdlab/experiment"
	"sgdlab/metric"
)

// TestPrintConfigRunsLikeReproduce checks that a built-in experiment and
// its printed configuration give byte-identical summaries. The quick
// versions run by default; SGDLAB_FULL=1 runs the paper-scale ones too
// (about a minute, and mnist's ten). Quick mnist takes minutes twice
// over, so it runs only with SGDLAB_FULL=1 (experiment's
// TestMNISTPipeline runs a shrunk one); the CIFAR-10 experiments need
// their data.
func TestPrintConfigRunsLikeReproduce(t *testing.T) {
	scales := [][]string{{"-quick"}}
	if os.Getenv("SGDLAB_FULL") == "1" {
		scales = append(scales, nil)
	}
	if testing.Short() {
		t.Skip("trains the three quick experiments twice (about 10 s); skipped with -short")
	}
	for _, scale := range scales {
		for _, c := range experiment.All() {
			name := c.Name
			if name == "mnist" && os.Getenv("SGDLAB_FULL") != "1" {
				continue
			}
			dir := t.TempDir()
			config := filepath.Join(dir, name+".json")
			printed := mainOK(t, append([]string{"reproduce", name, "-print-config"}, scale...)...)
			if err := os.WriteFile(config, []byte(printed), 0o644); err != nil {
				t.Fatal(err)
			}
			mainOK(t, "run", "-config", config, "-out", filepath.Join(dir, "run"))
			mainOK(t, append([]string{"reproduce", name, "-out", filepath.Join(dir, "reproduce")}, scale...)...)
			a, err := os.ReadFile(filepath.Join(dir, "run", name, "summary.json"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, "reproduce", name, "summary.json"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("%s %v: run -config gave\n%s\nreproduce gave\n%s", name, scale, a, b)
			}
		}
	}
}

// TestConfigErrors feeds one bad configuration at a time to run -config:
// each must exit with 2 within a second, naming the key, without a panic.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "dln-sgd.json")
	if err := os.WriteFile(base, []byte(mainOK(t, "reproduce", "dln-sgd", "-print-config")), 0o644); err != nil {
		t.Fatal(err)
	}
	written := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	printed, _ := os.ReadFile(base)
	withNaN := written("nan.json", strings.Replace(string(printed), `"lr": 0.25`, `"lr": NaN`, 1))
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"unknown key", []string{"-set", "iteratons=5"}, []string{`iteratons: unknown key (did you mean "iterations"?)`}},
		{"unknown nested key", []string{"-set", "runs[0].schedule.rate=0.1"}, []string{`runs[0].schedule.rate: unknown key`, "allowed here:"}},
		{"unknown model key", []string{"-set", "model.alhpa=0.1"}, []string{`model.alhpa: unknown key (did you mean "alpha"?)`}},
		{"wrong type", []string{"-set", "iterations=many"}, []string{`iterations: want an integer, got string "many"`}},
		{"fractional integer", []string{"-set", "data.n=80.5"}, []string{"data.n: want an integer, got 80.5"}},
		{"NaN step size", []string{"-set", "runs[0].schedule.lr=NaN"}, []string{"runs[0].schedule.lr: must be a finite number, got NaN"}},
		{"NaN in the file", []string{"-config", withNaN}, []string{`in the value of key "lr"; JSON has no NaN or Infinity`, "nan.json:"}},
		{"negative step size", []string{"-set", "runs[0].schedule.lr=-0.1"}, []string{"runs[0].schedule: schedule constant: lr must be > 0 and finite, got -0.1"}},
		{"decay past the end", []string{"-set", "runs[1].schedule.decays[0].at=200000"}, []string{"runs[1].schedule: a step-size change at update 200000 comes after the last update, 100000"}},
		{"batch > n", []string{"-set", "runs[0].optimizer.batch=81"}, []string{"runs[0].optimizer.batch: must be in [1, data.n = 80], got 81"}},
		{"unknown metric", []string{"-set", `metrics[1]=accuracy`}, []string{`metrics[1]: "accuracy" is not a metric of this model`, "every model: " + everyModel}},
		{"metric the model lacks", []string{"-set", `model={"kind": "mlp", "sizes": [200, 16, 1], "init": "he"}`},
			[]string{`metrics[2]: "l0" is not a metric of this model, *models.MLP`, `metrics[5]: "balancedness" is not`}},
		{"unknown model kind", []string{"-set", "model.kind=vgg"}, []string{`model.kind: unknown model kind "vgg" (registered: cnn, dln, mlp`}},
		{"huge grid", []string{"-set", "grid.t=1e15"}, []string{"grid.t: must be in [1, 100002] (iterations = 100001), got 1000000000000000"}},
		{"huge test set", []string{"-set", "data.n_test=1e8"}, []string{"data.n, n_test, d: (n + n_test + 2)·d = 20000016400 values exceed 268435456"}},
		{"huge iterations", []string{"-set", "iterations=1e300"}, []string{"iterations: 1e300 is out of the range of a int"}},
		{"huge model", []string{"-set", "model.d=1e9", "-set", "data.d=1e9"}, []string{"model.d: must be in [1, 33554432], got 1000000000", "data.d: must be in [1, 268435456]"}},
		{"huge rank", []string{"-set", "rank.examples=100000"}, []string{"rank: need 1 ≤ examples ≤ data.n_test (1000)"}},
		{"bad run name", []string{"-set", "runs[0].name=../../x"}, []string{`runs[0].name: must be unique`}},
		{"several at once", []string{"-set", "iterations=-1", "-set", "runs[0].optimizer.batch=0"},
			[]string{"iterations: must be in [1, 1000000000], got -1", "runs[0].optimizer.batch: must be in [1, data.n = 80], got 0"}},
		{"bad -set", []string{"-set", "iterations"}, []string{`-set "iterations": want key.path=value`}},
		{"missing file", []string{"-config", filepath.Join(dir, "none.json")}, []string{"none.json: no such file"}},
		{"truncated file", []string{"-config", written("cut.json", string(printed[:len(printed)/2]))}, []string{"cut.json: the JSON document is empty or truncated"}},
		{"not JSON", []string{"-config", written("yaml.json", "name: x\n")}, []string{"yaml.json:1:3: invalid character"}},
		{"-out is a file", []string{"-set", "iterations=11", "-set", "grid.t=11", "-set", "runs[1].schedule.decays[0].at=5",
			"-set", "runs[2].schedule.decays[0].at=6", "-set", "runs[3].schedule.decays[0].at=7", "-out", base}, []string{"output directory", base}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "-config", base, "-out", filepath.Join(dir, "out")}, tc.args...)
			var o, e bytes.Buffer
			start := time.Now()
			code := cmd.Main(context.Background(), args, &o, &e)
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v, want < 1 s", d)
			}
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr:\n%s", code, e.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(e.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, e.String())
				}
			}
			if strings.Contains(e.String(), "panic") || strings.Contains(e.String(), "goroutine ") {
				t.Errorf("panicked:\n%s", e.String())
			}
			if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
				t.Error("a rejected configuration created the output directory")
			}
		})
	}
}

// everyModel lists the metrics of every model, as errors print them.
var everyModel = func() string {
	var names []string
	for _, d := range metric.Definitions() {
		names = append(names, d.Name)
	}
	return strings.Join(names, ", ")
}()
