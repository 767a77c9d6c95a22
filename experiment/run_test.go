package experiment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/metric"
	"sgdlab/models"
	"sgdlab/train"
)

// small is E1 shrunk to 5 001 iterations, for tests of the plumbing.
func small() Config {
	c := dlnSGD()
	c.Iterations = 5001
	c.Grid = train.Grid{Kind: "paper", T: 5001, First: 20, Linspace: 30}
	c.Rank = metric.RankOptions{Examples: 400, Threshold: 1e-15, Every: 10}
	c.Runs = c.Runs[:2]
	c.Runs[1].Schedule = dlnDecay(0.282, 2500, 1.5)
	return c
}

func readSummary(t *testing.T, dir string) (Summary, []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s, b
}

func TestRunWritesTheOutputContract(t *testing.T) {
	out := t.TempDir()
	c := small()
	// A step metric before others: the history keeps it last, the CSV
	// columns follow the configuration.
	c.Metrics = append(slices.DeleteFunc(slices.Clone(c.Metrics), func(m string) bool { return m == "rank" }), "rank")
	if _, err := Run(context.Background(), c, Options{Out: out}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(out, c.Name)
	s, _ := readSummary(t, dir)
	if s.Experiment != c.Name || len(s.Runs) != 2 {
		t.Fatalf("summary %+v", s)
	}
	for _, r := range s.Runs {
		if r.Diverged || r.DivergedAt != nil || *r.FinalIter != 4829 {
			t.Errorf("run %s: diverged=%v at %v, final iteration %v (want 4829 = round(28·5001/29), the last grid point)", r.Name, r.Diverged, r.DivergedAt, *r.FinalIter)
		}
		for _, m := range c.Metrics {
			if r.Final[m] == nil {
				t.Errorf("run %s: final %s missing", r.Name, m)
			}
		}
	}
	var back Config
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, c) {
		t.Errorf("config.json does not round-trip to the config (err %v)", err)
	}
	csv, err := os.ReadFile(filepath.Join(dir, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if want := "run,lr0,iteration,lr,train_loss,test_loss,l0,l1,l2_uv,balancedness,sharpness,step_cosine,rank"; lines[0] != want {
		t.Errorf("metrics.csv header %q, want %q", lines[0], want)
	}
	if len(lines) != 1+2*48 {
		t.Fatalf("metrics.csv has %d rows, want 1 + 2 runs × 48 points", len(lines))
	}
	// Each run's last row holds its final values, column by column.
	for k, r := range s.Runs {
		row := strings.Split(lines[(k+1)*48], ",")
		for j, m := range c.Metrics {
			if v, err := strconv.ParseFloat(row[4+j], 64); err != nil || v != *r.Final[m] {
				t.Errorf("run %s: metrics.csv column %s = %q, final %v", r.Name, m, row[4+j], *r.Final[m])
			}
		}
	}
	f, err := os.Open(filepath.Join(dir, "dln-sgd.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("figure: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".*partial*")); len(left) != 0 {
		t.Errorf("temporary directories left behind: %v", left)
	}
}

// TestDivergedRunIsReported checks that a diverging run (η = 1) is in the
// summary and the log with its iteration, and leaves the other run and
// the figure alone.
func TestDivergedRunIsReported(t *testing.T) {
	alone := small()
	alone.Runs = alone.Runs[:1]
	outs, err := Train(context.Background(), alone, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := summarize(alone, outs).Runs[0]

	c := small()
	c.Runs[1] = RunSpec{Name: "eta-1", Label: "SGD η=1", Optimizer: c.Runs[0].Optimizer,
		Schedule: train.ScheduleSpec{Kind: "constant", LR: 1}}
	out := t.TempDir()
	var log bytes.Buffer
	if _, err := Run(context.Background(), c, Options{Out: out, Log: &log}); err != nil {
		t.Fatal(err)
	}
	s, _ := readSummary(t, filepath.Join(out, c.Name))
	d := s.Runs[1]
	if !d.Diverged || d.DivergedAt == nil || d.Final != nil {
		t.Fatalf("η=1 run: diverged=%v at %v, final %v; want diverged with an iteration and no final numbers", d.Diverged, d.DivergedAt, d.Final)
	}
	if line := "dln-sgd: run eta-1 (η=1) diverged at iteration "; !strings.Contains(log.String(), line) {
		t.Errorf("log %q lacks %q", log.String(), line)
	}
	if !reflect.DeepEqual(s.Runs[0], want) {
		t.Errorf("the surviving run changed: %+v, alone %+v", s.Runs[0], want)
	}
	if _, err := os.Stat(filepath.Join(out, c.Name, "dln-sgd.png")); err != nil {
		t.Errorf("figure missing: %v", err)
	}
	if l := label(Outcome{Spec: c.Runs[1], Attempts: []Attempt{{LR: 1, Result: train.Result{Diverged: true, DivergedAt: *d.DivergedAt}}}}); !strings.Contains(l, "diverged at") {
		t.Errorf("legend %q does not say the run diverged", l)
	}
}

func TestRetryLowersTheStepSize(t *testing.T) {
	c := small()
	c.Runs = c.Runs[1:]
	c.Runs[0].Schedule = train.ScheduleSpec{Kind: "constant", LR: 0.6}
	c.Runs[0].Retry = &Retry{Step: 0.2, Max: 2}
	outs, err := Train(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := outs[0]
	if len(o.Attempts) < 2 || !o.Attempts[0].Result.Diverged || o.Final().Result.Diverged {
		t.Fatalf("attempts %+v: want η=0.6 to diverge and a smaller η to survive", o.Attempts)
	}
	s := summarize(c, outs).Runs[0]
	if s.LR != o.Final().LR || len(s.Attempts) != len(o.Attempts)-1 || s.Attempts[0].LR != 0.6 {
		t.Errorf("summary %+v does not list the diverged attempt", s)
	}
	if l := label(o); !strings.Contains(l, "(diverged: η=0.6 at ") || !strings.Contains(l, fmt.Sprintf("η=%.4g", o.Final().LR)) {
		t.Errorf("legend %q hides the retry", l)
	}
}

func TestSameConfigGivesIdenticalSummary(t *testing.T) {
	c := small()
	var sums [][]byte
	for _, workers := range []int{2, 2, 1} {
		out := t.TempDir()
		if _, err := Run(context.Background(), c, Options{Out: out, Workers: workers}); err != nil {
			t.Fatal(err)
		}
		_, b := readSummary(t, filepath.Join(out, c.Name))
		sums = append(sums, b)
	}
	for i := 1; i < len(sums); i++ {
		if !bytes.Equal(sums[0], sums[i]) {
			t.Errorf("summary.json differs between runs:\n%s\n%s", sums[0], sums[i])
		}
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) {
			c.Data = Data("sparse_regression", &data.SparseRegression{N: 80, D: 100, R: 20, NTest: 1000})
		},
			"model: takes inputs of shape [200], the data's examples have 100 values"},
		{func(c *Config) {
			c.Data = Data("mnist", &data.MNIST{NTrain: 80, NTest: 1000})
			c.Model = Model("dln", &models.DLNSpec{D: 784, Alpha: 0.1, Init: "const"})
		},
			"model: gives 1 outputs per example, the data has 10 targets per example"},
		{func(c *Config) { c.Model = Model("dln", &models.DLNSpec{D: 0, Alpha: -1, Init: "zero"}) },
			"model.d: must be in [1, 33554432], got 0\nmodel.alpha: must be > 0 and finite, got -1\nmodel.init: unknown \"zero\" (allowed: const, random)"},
		{func(c *Config) { c.Model = Model("mlp", &models.MLPSpec{Sizes: []int{200, 10, 1}, Init: "he"}) },
			`metrics[2]: "l0" is not a metric of this model, *models.MLP (every model: ` + everyModel + `; this model's own: none)`},
		{func(c *Config) { c.Metrics = append(c.Metrics, "l3") }, `metrics[9]: "l3" is not a metric of this model, *models.DLN (every model: ` + everyModel + `; this model's own: l0, l1, balancedness)`},
		{func(c *Config) { c.Metrics = []string{"train_loss", "step_cosine", "sharpness"} }, `metrics[1]: "step_cosine" needs "sharpness" listed before it`},
		{func(c *Config) { c.Metrics = append(c.Metrics, "l0") }, `metrics[9]: "l0" is listed twice`},
		{func(c *Config) { c.Runs[1].Optimizer.Kind = "adam" }, `runs[1].optimizer.kind: unknown "adam" (allowed: sgd, sgd_noreplace, sgd_epochs, gd)`},
		{func(c *Config) { c.Runs[0].Optimizer.Batch = 81 }, "runs[0].optimizer.batch: must be in [1, data.n = 80], got 81"},
		{func(c *Config) { c.Runs[2].Name = "baseline" }, `runs[2].name: must be unique, at most 200 characters of [A-Za-z0-9._-] and not "." or ".." (it names files), got "baseline"`},
		{func(c *Config) { c.Runs[1].Name = "a/b" }, `runs[1].name: must be unique`},
		{func(c *Config) { c.Runs[1].Name = ".." }, `runs[1].name: must be unique`},
		{func(c *Config) { c.Name = "../x" }, `name: must be non-empty`},
		{func(c *Config) { c.Runs[1].Schedule = dlnDecay(0.282, 200000, 2) }, "runs[1].schedule: a step-size change at update 200001 comes after the last update, 100000 (iterations = 100001)"},
		{func(c *Config) { c.Runs[0].Schedule.LR = -0.1 }, "runs[0].schedule: schedule constant: lr must be > 0 and finite, got -0.1"},
		{func(c *Config) { c.Runs[0].Schedule.LR = math.NaN() }, "runs[0].schedule: schedule constant: lr must be > 0 and finite, got NaN"},
		{func(c *Config) { c.Grid.T = 1e15 }, "grid.t: must be in [1, 100002] (iterations = 100001), got 1000000000000000"},
		{func(c *Config) { c.Iterations = 1e12 }, "iterations: must be in [1, 1000000000], got 1000000000000"},
		{func(c *Config) { c.Grid = train.Grid{Kind: "every", T: 100001, Every: 0} }, "grid: grid every: every must be ≥ 1"},
		{func(c *Config) { c.Data.Source.(*data.SparseRegression).NTest = 1e8 }, "data.n, n_test, d: (n + n_test + 2)·d = 20000016400 values exceed 268435456"},
		{func(c *Config) { c.Runs[0].Schedule.Kind = "cosin" }, `runs[0].schedule: schedule: unknown kind "cosin"`},
		{func(c *Config) { c.Figures[0].Panels[0].Metric = "accuracy" }, `figures[0].panels[0].metric: "accuracy" is not among`},
		{func(c *Config) { c.Figures[0].File = "../x.png" }, "figures[0].file: must be a unique plain file name"},
		{func(c *Config) { c.Rank.Examples = 2000 }, "rank: need 1 ≤ examples ≤ data.n_test (1000)"},
		{func(c *Config) { c.Grid.Kind = "exp" }, `grid: grid: unknown kind "exp"`},
		{func(c *Config) { c.Sharpness.Every = 0 }, "sharpness: need every ≥ 1"},
		{func(c *Config) { c.Figures[1].Panels[1].Reference = "1/lr" }, `figures[1].panels[1].reference: unknown "1/lr" (allowed: 2/lr)`},
		{func(c *Config) { c.Surface = &SurfaceSpec{Flow: "nope"} }, `surface.flow: "nope" is not a run`},
		{func(c *Config) { c.Runs[0].LRFactor = 0.5 }, "runs[0].lr_factor: needs a calibration"},
		{func(c *Config) {
			c.Calibration = &train.Calibration{Start: 1, Ratio: 1.02, Fraction: 0.5, Seeds: []uint32{1}}
		}, "calibration: no run has an lr_factor"},
		{func(c *Config) {
			c.Runs[1].LRFactor = 1
			c.Calibration = &train.Calibration{Start: 1, Ratio: 0.9, Fraction: 0.5, Seeds: []uint32{1}}
		}, "calibration.ratio: must be > 1"},
		{func(c *Config) {
			c.Runs[1].LRFactor = 1
			c.Calibration = &train.Calibration{Start: 1, Ratio: 1.02, Fraction: 0.5, Seeds: []uint32{1}}
		}, "runs[1].retry: a calibrated run takes no retry"},
		{func(c *Config) { c.Figures[0].XAxis = "time" }, `figures[0].x_axis: unknown "time" (allowed: iteration, epoch)`},
		{func(c *Config) { c.EvalBatch = -1 }, "eval_batch: must be ≥ 0"},
	} {
		c := dlnSGD()
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want it to contain %q", err, tc.want)
		}
	}
	for _, name := range Names() {
		c, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		// The experiments on a user's data need its directory, which
		// validation names without reading it.
		if d, ok := c.Data.Source.(*data.CIFAR10); ok {
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "data.dir: required") {
				t.Errorf("%s without data: %v", name, err)
			}
			d.Dir = t.TempDir()
		}
		if err := c.Validate(); err != nil {
			t.Errorf("registered experiment: %v", err)
		}
		if err := c.Quick().Validate(); err != nil {
			t.Errorf("quick version: %v", err)
		}
	}
}

func TestLookup(t *testing.T) {
	if c, err := Lookup("dln-gd"); err != nil || c.Name != "dln-gd" {
		t.Errorf("Lookup(dln-gd) = %v, %v", c.Name, err)
	}
	_, err := Lookup("dln")
	if err == nil || !strings.Contains(err.Error(), "valid: dln-sgd, dln-gd") {
		t.Errorf("Lookup(dln): %v, want the valid names", err)
	}
}

// TestConfigsRoundTrip checks that every built-in experiment, at paper
// scale and quick, survives JSON and the strict loader unchanged.
func TestConfigsRoundTrip(t *testing.T) {
	for _, c := range All() {
		for _, c := range []Config{c, c.Quick()} {
			b, err := json.MarshalIndent(c, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseConfig(c.Name+".json", b)
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			// Bytes, not reflect.DeepEqual: Quick leaves empty slices
			// where JSON has none, which mean the same.
			again, _ := json.MarshalIndent(got, "", "  ")
			if !bytes.Equal(again, b) {
				t.Errorf("%s: written again differs:\n%s\nwant\n%s", c.Name, again, b)
			}
		}
	}
}

// teacher2 is E5 reduced: the two-layer teacher–student problem in d = 2
// with a calibrated step size.
func teacher2() Config {
	return Config{
		Name:       "teacher-2layer-test",
		Data:       Data("teacher_student", &data.TeacherStudent{D: 2, N: 15, NTest: 200, Hidden: []int{3}, Teacher: "unit", Seed: 1}),
		Model:      Model("two_layer", &models.TwoLayerSpec{D: 2, M: 20, Scale: 0.5, Seed: 0}),
		Loss:       "mse",
		Iterations: 2001,
		Grid:       train.Grid{Kind: "every", T: 2001, Every: 500},
		Metrics:    []string{"train_loss", "test_loss", "feature_sparsity"},
		Runs: []RunSpec{
			{Name: "small", Label: "SGD η={eta}", Optimizer: Optimizer{Kind: "sgd", Batch: 1, Seed: 1},
				Schedule: train.ScheduleSpec{Kind: "constant"}, LRFactor: 0.286},
			{Name: "decay-50", Label: "SGD η={eta}, decay at 50 %", Optimizer: Optimizer{Kind: "sgd", Batch: 1, Seed: 1},
				Schedule: train.ScheduleSpec{Kind: "piecewise", Decays: []train.Decay{{At: 1000, Factor: 5}}}, LRFactor: 1},
		},
		Calibration: &train.Calibration{Start: 2, Ratio: 1.02, Fraction: 0.5, Seeds: []uint32{1, 2, 3}},
	}
}

// TestCalibratedStepSize checks that runs asking for the calibrated step
// size get it, times their factor, in the summary, the legend and
// config.json, and that the grid's next larger step size diverges on one
// of the calibration's index streams.
func TestCalibratedStepSize(t *testing.T) {
	out := t.TempDir()
	c := teacher2()
	sum, err := Run(context.Background(), c, Options{Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if sum.CalibratedLR == nil {
		t.Fatal("summary has no calibrated_lr")
	}
	lr := *sum.CalibratedLR
	if got := sum.Runs[0].LR; math.Abs(got-0.286*lr) > 1e-15*lr {
		t.Errorf("run small: η = %v, want 0.286 × %v", got, lr)
	}
	if got := sum.Runs[1].LR; got != lr || !strings.Contains(sum.Runs[1].Label, strconv.FormatFloat(lr, 'g', 4, 64)) {
		t.Errorf("run decay-50: η = %v and label %q, want %v in both", got, sum.Runs[1].Label, lr)
	}
	written, err := LoadConfig(filepath.Join(out, c.Name, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if written.Runs[1].Schedule.LR != lr {
		t.Errorf("config.json: run decay-50 has lr %v, want the calibrated %v", written.Runs[1].Schedule.LR, lr)
	}
	// The calibration is honest: one grid step up, a stream diverges.
	above := c
	above.Calibration = &train.Calibration{Start: lr * 1.02, Ratio: 1.02, Fraction: 0.5, Seeds: c.Calibration.Seeds, MaxSteps: 1}
	if _, err := Train(context.Background(), above, Options{}); err == nil || !strings.Contains(err.Error(), "no step size") {
		t.Errorf("η = %v (one step above the calibrated one) survived every stream: %v", lr*1.02, err)
	}
	t.Logf("calibrated η = %.4g", lr)
}

// TestFunctionFigure draws E4's learned functions (quick) and refuses a
// function figure for a model of more than one input.
func TestFunctionFigure(t *testing.T) {
	out := t.TempDir()
	c := relu1D().Quick()
	if _, err := Run(context.Background(), c, Options{Out: out}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(out, c.Name, c.Function.File))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() < 400 {
		t.Fatalf("function figure: %v", err)
	}
	// A row of four snapshot panels and one of the rest, under the legend.
	if got := len(c.Function.Snapshots); got != 6 || img.Bounds().Dy() < img.Bounds().Dx()/3 {
		t.Errorf("quick E4 has %d snapshots and a %v figure, want 6 in two rows", got, img.Bounds())
	}
	d := dlnSGD()
	d.Function = &FunctionSpec{File: "f.png", X: Range{Min: -1, Max: 1, N: 10}}
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "function: needs a model of one scalar input, this one takes [200]") {
		t.Errorf("function figure of a DLN: %v", err)
	}
	for _, tc := range []struct {
		snaps []int
		want  string
	}{
		{[]int{99, 100}, "function.snapshots[1]: 100 is not an evaluation iteration (nearest: 99 and 211)"},
		{[]int{422, 99}, "function.snapshots[1]: iterations must increase, got 99 after 422"},
		{[]int{31412, 40000}, "function.snapshots[1]: 40000 is not an evaluation iteration (nearest: 31412)"},
		{make([]int, 25), "function.snapshots: at most 24 iterations, got 25"},
	} {
		e := relu1D()
		e.Function.Snapshots = tc.snaps
		if err := e.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("snapshots %v: %v, want %q", tc.snaps, err, tc.want)
		}
	}
}

// TestNeuronsFigure draws the neuron movement of a reduced E5 into one
// figure, a panel per run side by side, with the start and end dots.
func TestNeuronsFigure(t *testing.T) {
	c := teacher2()
	c.Iterations, c.Grid = 201, train.Grid{Kind: "every", T: 201, Every: 100}
	c.Runs[1].Schedule.Decays[0].At = 100
	c.Neurons = &NeuronSpec{File: "neurons.png"}
	out := t.TempDir()
	if _, err := Run(context.Background(), c, Options{Out: out}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(out, c.Name, "neurons.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() < b.Dy() {
		t.Errorf("two runs in rows of two: want a wide figure, got %v", b)
	}
	orange, blue := color.RGBA{R: 240, G: 150, B: 30, A: 255}, color.RGBA{R: 30, G: 80, B: 200, A: 255}
	for _, half := range []image.Rectangle{image.Rect(0, 0, b.Dx()/2, b.Dy()*4/5), image.Rect(b.Dx()/2, 0, b.Dx(), b.Dy()*4/5)} {
		for _, c := range []color.Color{orange, blue} {
			if countColor(img, half, c) < 20*20 {
				t.Errorf("panel %v: fewer than 20 dots of colour %v", half, c)
			}
		}
	}
	d := dlnSGD()
	d.Neurons = &NeuronSpec{File: "n.png"}
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "neurons: needs model kind two_layer with d = 2") {
		t.Errorf("neurons of a DLN: %v", err)
	}
}

// countColor counts the pixels of colour c in r.
func countColor(img image.Image, r image.Rectangle, c color.Color) int {
	r0, g0, b0, _ := c.RGBA()
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if r, g, b, _ := img.At(x, y).RGBA(); r == r0 && g == g0 && b == b0 {
				n++
			}
		}
	}
	return n
}

// TestCentralFlowSpec writes the central flow of a reduced E3 and
// refuses central flows of runs that are not constant-step GD.
func TestCentralFlowSpec(t *testing.T) {
	c := dlnSurface().Quick()
	c.Surface, c.Figures = nil, nil
	c.CentralFlow.Steps = 30
	out := t.TempDir()
	if _, err := Run(context.Background(), c, Options{Out: out}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, c.Name, "dln-surface-central-flow.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 1+31 || !strings.HasPrefix(lines[0], "step,gd_loss,gd_average,flow_loss,flow_predicted") {
		t.Errorf("central-flow table: %d lines, header %q; want 31 steps", len(lines), lines[0])
	}
	if _, err := os.Stat(filepath.Join(out, c.Name, "dln-surface-central-flow.png")); err != nil {
		t.Error(err)
	}
	for _, tc := range []struct {
		spec CentralFlowSpec
		want string
	}{
		{CentralFlowSpec{Run: "sgd", Steps: 10, File: "f.png"}, `central_flow.run: "sgd" is a sgd run`},
		{CentralFlowSpec{Run: "none", Steps: 10, File: "f.png"}, `central_flow.run: no run "none"`},
		{CentralFlowSpec{Run: "gd", Steps: 6000, File: "f.png"}, `central_flow.steps: run "gd" changes its step size at update 5001, before 6000`},
		{CentralFlowSpec{Run: "gd", Steps: 0, File: "f.png"}, "central_flow: need 1 ≤ steps ≤ iterations (10001)"},
		{CentralFlowSpec{Run: "gd", Steps: 10, File: "../f.png"}, "central_flow.file: must be a plain file name"},
	} {
		d := dlnSurface()
		d.CentralFlow = &tc.spec
		if err := d.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.spec, err, tc.want)
		}
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

// TestModelSeed checks that a run's model_seed draws the model's
// initialisation from that seed: the model kind's own seed key.
func TestModelSeed(t *testing.T) {
	mlp := Model("mlp", &models.MLPSpec{Sizes: []int{3, 4, 1}, Init: "he", Seed: 1})
	init := func(seed *uint32) []float64 {
		t.Helper()
		spec := mlp.Spec
		if seed != nil {
			var err error
			if spec, err = reseeded(mlp, *seed); err != nil {
				t.Fatal(err)
			}
		}
		m, err := spec.New()
		if err != nil {
			t.Fatal(err)
		}
		return graph.Flatten(m.Params())
	}
	one, two := uint32(1), uint32(2)
	if !slices.Equal(init(&one), init(nil)) {
		t.Error("model_seed 1 differs from the spec's seed 1")
	}
	if slices.Equal(init(&two), init(nil)) {
		t.Error("model_seed 2 gives the initialisation of seed 1")
	}
	if mlp.Spec.(*models.MLPSpec).Seed != 1 {
		t.Error("reseeding changed the configuration's spec")
	}
}

// TestSeedsShareALegendEntry checks that runs with one label (seeds of one
// setting) get one colour and one legend entry, and that an epoch axis
// divides iterations by the batches of an epoch.
func TestSeedsShareALegendEntry(t *testing.T) {
	c := small()
	c.Runs = append(c.Runs[:1], c.Runs[0], c.Runs[1])
	c.Runs[1].Name = "baseline-2"
	var outs []Outcome
	for _, r := range c.Runs {
		res := train.Result{History: train.History{Names: []string{"train_loss"}, Iters: []int{0, 160}, Rates: []float64{1, 1}, Values: [][]float64{{1}, {0.5}}}}
		outs = append(outs, Outcome{Spec: r, Attempts: []Attempt{{LR: r.Schedule.LR, Result: res}}})
	}
	f := FigureSpec{File: "f.png", XAxis: "epoch", Panels: []PanelSpec{{Metric: "train_loss"}}}
	row := figure(c, f, outs)
	ss := row.Panels[0].Series
	if ss[0].Label == "" || ss[1].Label != "" || ss[2].Label == "" {
		t.Errorf("labels %q, %q, %q: want the second seed unlabelled", ss[0].Label, ss[1].Label, ss[2].Label)
	}
	if ss[0].Color != ss[1].Color || ss[0].Color == ss[2].Color {
		t.Error("seeds of one setting must share a colour, settings must not")
	}
	// E1 has 80 training points and batch 1: 80 updates an epoch.
	if got := ss[0].X; !slices.Equal(got, []float64{0, 2}) {
		t.Errorf("epochs %v, want [0 2]", got)
	}
	if row.Panels[0].XLabel != "epoch" {
		t.Errorf("x label %q", row.Panels[0].XLabel)
	}
}

// TestResumeGivesTheSameResults stops an experiment that saves its runs'
// states part way, resumes it, and checks that its results are those of
// the experiment that never stopped, byte for byte; that the states go
// once the results are complete; and that a state of another
// configuration is refused by name.
func TestResumeGivesTheSameResults(t *testing.T) {
	c := small()
	c.CheckpointEvery = 1000
	straight := t.TempDir()
	if _, err := Run(context.Background(), c, Options{Out: straight}); err != nil {
		t.Fatal(err)
	}

	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := func(_ string, done, _ int) {
		if done >= 3072 {
			cancel()
		}
	}
	if _, err := Run(ctx, c, Options{Out: out, Progress: stop}); !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped experiment: %v, want context.Canceled", err)
	}
	states := stateDir(filepath.Join(out, c.Name))
	for _, r := range c.Runs {
		// The runs train side by side: each stopped where it was.
		s, err := train.LoadState(filepath.Join(states, r.Name+".safetensors"), models.NewDLN(200))
		if err != nil {
			t.Fatalf("run %s: %v", r.Name, err)
		}
		if s.Iteration%1000 != 0 || s.Iteration < 1000 || s.Iteration > 4000 {
			t.Fatalf("run %s: state at iteration %d, want a multiple of 1000 in [1000, 4000]", r.Name, s.Iteration)
		}
	}

	other := c
	other.Runs = slices.Clone(c.Runs)
	other.Runs[0].Schedule.LR = 0.2
	if _, err := Run(context.Background(), other, Options{Out: out, Resume: true}); err == nil || !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), c.Runs[0].Name+".safetensors holds the state of another configuration") {
		t.Errorf("resuming another configuration: %v", err)
	}
	if _, err := Run(context.Background(), c, Options{Out: out, Resume: true}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"summary.json", "metrics.csv"} {
		want, _ := os.ReadFile(filepath.Join(straight, c.Name, f))
		got, err := os.ReadFile(filepath.Join(out, c.Name, f))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s of the resumed experiment differs from the straight one's (%v)", f, err)
		}
	}
	if _, err := os.Stat(states); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the saved states are still there after the results: %v", err)
	}
}
