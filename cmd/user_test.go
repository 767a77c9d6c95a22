package cmd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sgdlab/cmd"
	"sgdlab/data"
	"sgdlab/experiment"
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
