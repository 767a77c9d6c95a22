package cmd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"sgdlab/analysis"
	"sgdlab/cmd"
	"sgdlab/data"
	"sgdlab/experiment"
	"sgdlab/graph"
	"sgdlab/models"
)

// Sine is a data kind registered by the tests, as a user would: y =
// sin(3x) on N evenly spaced points of [−1, 1], the test set halfway
// between them.
type Sine struct {
	N int `json:"n"`
}

func (s *Sine) Validate() error {
	if s.N < 2 || s.N > 1e6 {
		return fmt.Errorf("n: must be in [2, 1e6], got %d", s.N)
	}
	return nil
}

func (s *Sine) Size() data.Size { return data.Size{N: s.N, NTest: s.N - 1, D: 1} }

func (s *Sine) Load() (train, test data.Set, err error) {
	for i, set := range []*data.Set{&train, &test} {
		for k := 0; k < s.N-i; k++ {
			x := -1 + (float64(k)+0.5*float64(i))*2/float64(s.N-1)
			set.X, set.Y = append(set.X, x), append(set.Y, math.Sin(3*x))
		}
		set.N, set.D = s.N-i, 1
	}
	return train, test, nil
}

func init() {
	// Example_newArchitecture registers "tanh" itself; the tests use the
	// same architecture under another name.
	models.Register("tanh_test", func() models.Spec { return new(TanhSpec) })
	data.Register("sine", func() data.Source { return new(Sine) })
}

const tanhSine = `{
  "name": "tanh-sine", "loss": "mse", "iterations": 3000,
  "data": {"kind": "sine", "n": 24},
  "model": {"kind": "tanh_test", "d": 1, "width": 10},
  "grid": {"kind": "every", "t": 3001, "every": 250},
  "metrics": ["train_loss", "test_loss", "l2_uv", "sharpness", "step_cosine", "rank"],
  "rank": {"examples": 23, "threshold": 1e-8, "every": 2},
  "sharpness": {"every": 1},
  "runs": [
    {"name": "small", "label": "SGD η=0.05", "optimizer": {"kind": "sgd", "batch": 4, "seed": 1}, "schedule": {"kind": "constant", "lr": 0.05}},
    {"name": "large", "label": "SGD η=0.3, ÷10 at 50 %", "optimizer": {"kind": "sgd", "batch": 4, "seed": 2},
     "schedule": {"kind": "piecewise", "lr": 0.3, "decays": [{"at": 1500, "factor": 10}]}}],
  "figures": [{"file": "tanh-sine.png", "panels": [
    {"metric": "train_loss", "title": "train loss", "log_y": true},
    {"metric": "sharpness", "title": "sharpness", "log_y": true, "reference": "2/lr"},
    {"metric": "rank", "title": "rank of φ"}]}]
}`

func mainOK(t *testing.T, args ...string) string {
	t.Helper()
	var o, e bytes.Buffer
	if code := cmd.Main(context.Background(), args, &o, &e); code != 0 {
		t.Fatalf("sgdlab %s: exit %d\n%s", strings.Join(args, " "), code, e.String())
	}
	return o.String()
}

// TestUserModelThroughTheCommandLine runs a model and a data kind
// registered outside sgdlab through run -config, hessian and landscape,
// and checks that the tools agree with each other on its checkpoints.
func TestUserModelThroughTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "tanh-sine.json")
	if err := os.WriteFile(config, []byte(tanhSine), 0o644); err != nil {
		t.Fatal(err)
	}
	mainOK(t, "run", "-config", config, "-out", dir)
	res := filepath.Join(dir, "tanh-sine")
	for _, f := range []string{"config.json", "metrics.csv", "summary.json", "tanh-sine.png", "checkpoints/small.json", "checkpoints/large.json"} {
		if _, err := os.Stat(filepath.Join(res, f)); err != nil {
			t.Errorf("output contract: %v", err)
		}
	}
	var sum experiment.Summary
	readJSON(t, filepath.Join(res, "summary.json"), &sum)
	first := map[string]float64{}
	for _, r := range sum.Runs {
		if r.Diverged {
			t.Fatalf("run %s diverged at %d", r.Name, *r.DivergedAt)
		}
		// step_cosine is empty at the final point, after the last update:
		// there is no step there.
		for _, m := range []string{"train_loss", "test_loss", "sharpness", "rank", "l2_uv"} {
			if r.Final[m] == nil {
				t.Fatalf("run %s: final %s missing", r.Name, m)
			}
		}
		// 31 parameters, 23 test points: the rank is at most 23.
		if rank := *r.Final["rank"]; rank < 1 || rank > 23 || rank != math.Trunc(rank) {
			t.Errorf("run %s: rank %v, want an integer in [1, 23]", r.Name, rank)
		}
		first[r.Name] = *r.Final["train_loss"]
	}
	// The net learns: the final training loss is far below that of the
	// predictor 0, mean(sin²(3x)) ≈ 0.5.
	for name, l := range first {
		if l > 0.05 {
			t.Errorf("run %s: final train loss %v, want < 0.05", name, l)
		}
	}

	// The checkpoint is the end of training, the summary's final point
	// is after the last update: hessian's λ_max and landscape's loss at
	// the centre must be the summary's sharpness and train loss.
	mainOK(t, "hessian", "-run", res, "-k", "2")
	mainOK(t, "landscape", "-run", res, "-n", "5", "-span", "0.1")
	for _, r := range sum.Runs {
		var rep experiment.HessianReport
		readJSON(t, filepath.Join(res, "hessian", r.Name+".json"), &rep)
		if got, want := rep.Top[0], *r.Final["sharpness"]; math.Abs(got-want) > 1e-6*math.Abs(want) {
			t.Errorf("run %s: hessian λ_max %v, in-loop sharpness %v", r.Name, got, want)
		}
		if got, want := rep.Loss, *r.Final["train_loss"]; math.Abs(got-want) > 1e-12*want {
			t.Errorf("run %s: hessian's loss %v, summary's train loss %v", r.Name, got, want)
		}
		var ls experiment.Landscape
		readJSON(t, filepath.Join(res, "landscape", r.Name+"-landscape.json"), &ls)
		if got, want := ls.Train1D[0][2], *r.Final["train_loss"]; math.Abs(got-want) > 1e-12*want {
			t.Errorf("run %s: landscape centre %v, summary's train loss %v", r.Name, got, want)
		}
		for _, f := range []string{r.Name + "-density.png", "../landscape/" + r.Name + "-plane.png", "../landscape/" + r.Name + "-slices.png"} {
			if _, err := os.Stat(filepath.Join(res, "hessian", f)); err != nil {
				t.Error(err)
			}
		}
	}

	// The written configuration is the one that ran.
	want, err := experiment.LoadConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	got, err := experiment.LoadConfig(filepath.Join(res, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config.json %+v, want %+v", got, want)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// ReLUNet is a user's one-hidden-layer ReLU net whose hidden layer is the
// feature map "hidden": feature sparsity comes with no other code.
type ReLUNet struct{ W, B, A *graph.Param }

func (m *ReLUNet) Params() []*graph.Param { return []*graph.Param{m.W, m.B, m.A} }
func (m *ReLUNet) Input() []int           { return []int{1} }
func (m *ReLUNet) Forward(s *graph.Scope, x *graph.Node) *graph.Node {
	h := s.Feature("hidden", s.ReLU(s.Dense(x, m.W, m.B)))
	return s.Flat(s.Dense(h, m.A, nil), 1)
}

// ReLUSpec is {"kind": "relu_user", "width": 40, "seed": 1}.
type ReLUSpec struct {
	Width int    `json:"width"`
	Seed  uint32 `json:"seed"`
}

func (s *ReLUSpec) Validate() error {
	if s.Width < 1 || s.Width > 1e6 {
		return fmt.Errorf("width: must be in [1, 1e6], got %d", s.Width)
	}
	return nil
}

func (s *ReLUSpec) New() (graph.Model, error) {
	m := &ReLUNet{graph.NewParam("w", graph.Float64, 1, s.Width), graph.NewParam("b", graph.Float64, s.Width), graph.NewParam("a", graph.Float64, s.Width, 1)}
	r := data.NewNumpyRand(s.Seed)
	for _, p := range m.Params() {
		v := make([]float64, p.Len())
		for i := range v {
			v[i] = r.NormFloat64()
		}
		p.Set(v)
	}
	return m, nil
}

func init() { models.Register("relu_user", func() models.Spec { return new(ReLUSpec) }) }

// TestUserFeatureSparsity gives a user's model feature sparsity through a
// configuration alone, and checks the value against analysis on the
// checkpoint's hidden layer computed by hand.
func TestUserFeatureSparsity(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "relu.json")
	os.WriteFile(config, []byte(`{"name": "relu-sine", "loss": "mse", "iterations": 2000,
	  "data": {"kind": "sine", "n": 24}, "model": {"kind": "relu_user", "width": 40, "seed": 3},
	  "grid": {"kind": "every", "t": 2001, "every": 500},
	  "metrics": ["train_loss", "feature_sparsity", "feature_sparsity_hidden", "dead_or_duplicate", "active_fraction", "pattern_distance"],
	  "features": {"threshold": 0.999},
	  "runs": [{"name": "sgd", "optimizer": {"kind": "sgd", "batch": 1, "seed": 1}, "schedule": {"kind": "constant", "lr": 0.01}}],
	  "figures": [{"file": "fs.png", "panels": [{"metric": "feature_sparsity", "title": "feature sparsity"}]}]}`), 0o644)
	mainOK(t, "run", "-config", config, "-out", dir)
	var sum experiment.Summary
	readJSON(t, filepath.Join(dir, "relu-sine", "summary.json"), &sum)
	final := sum.Runs[0].Final
	fs, fsh, dead, active := *final["feature_sparsity"], *final["feature_sparsity_hidden"], *final["dead_or_duplicate"], *final["active_fraction"]
	t.Logf("final: feature sparsity %.4f, active %.4f, dead or duplicate %v of 40", fs, active, dead)
	if fs != fsh || !(fs > 0 && fs <= active && active <= 1) || dead < 0 || dead > 40 {
		t.Errorf("feature_sparsity %v, of hidden %v, active %v, dead or duplicate %v: want equal sparsities in (0, active ≤ 1]", fs, fsh, active, dead)
	}
	cp, err := experiment.LoadCheckpoint(filepath.Join(dir, "relu-sine", "checkpoints", "sgd.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := cp.Model()
	if err != nil {
		t.Fatal(err)
	}
	train, _, _ := (&Sine{N: 24}).Load()
	w, b := m.Params()[0].Float64s(), m.Params()[1].Float64s()
	phi := mat.NewDense(24, 40, nil)
	for i, x := range train.X {
		for j := range 40 {
			phi.Set(i, j, math.Max(x*w[j]+b[j], 0))
		}
	}
	want, err := analysis.FeatureSparsity(phi, 0.999)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(fs-want) > 1e-12 {
		t.Errorf("feature sparsity %v, by hand %v", fs, want)
	}
	// pattern_distance: the activation patterns that changed since the
	// initialisation, which the spec rebuilds.
	m0, _ := (&ReLUSpec{Width: 40, Seed: 3}).New()
	w0, b0 := m0.Params()[0].Float64s(), m0.Params()[1].Float64s()
	changed := 0
	for i, x := range train.X {
		for j := range 40 {
			if (x*w0[j]+b0[j] > 0) != (phi.At(i, j) > 0) {
				changed++
			}
		}
	}
	if got, want := *final["pattern_distance"], float64(changed)/(24*40); got != want || got == 0 {
		t.Errorf("pattern distance %v, by hand %v (want it non-zero after training)", got, want)
	}

	// A model without feature maps cannot provide it: a config error.
	code := cmd.Main(context.Background(), []string{"run", "-config", config, "-out", dir, "-set", `model={"kind": "tanh_test", "d": 1, "width": 4}`}, io.Discard, io.Discard)
	if code != 2 {
		t.Errorf("feature_sparsity of a model without feature maps: exit %d, want 2", code)
	}
}
