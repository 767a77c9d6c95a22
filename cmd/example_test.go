package cmd_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gorgonia.org/gorgonia"

	"sgdlab/cmd"
	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/models"
)

// TanhNet is h(x) = Σⱼ aⱼ·tanh(⟨wⱼ, x⟩ + bⱼ), a user's architecture.
type TanhNet struct{ W, B, A *graph.Param }

func (m *TanhNet) Params() []*graph.Param { return []*graph.Param{m.W, m.B, m.A} }
func (m *TanhNet) Input() []int           { return m.W.Shape()[:1] }
func (m *TanhNet) Forward(s *graph.Scope, x *graph.Node) *graph.Node {
	return s.Flat(s.Dense(s.Must(gorgonia.Tanh(s.Dense(x, m.W, m.B))), m.A, nil), 1)
}

// TanhSpec is its configuration: {"kind": "tanh", "d": 5, "width": 8}.
type TanhSpec struct {
	D     int `json:"d"`
	Width int `json:"width"`
}

func (s *TanhSpec) Validate() error {
	if s.D < 1 || s.Width < 1 || s.D*s.Width > 1e6 {
		return fmt.Errorf("d, width: need 1 ≤ d, width and d·width ≤ 1e6, got %d, %d", s.D, s.Width)
	}
	return nil
}

func (s *TanhSpec) New() (graph.Model, error) {
	m := &TanhNet{graph.NewParam("w", graph.Float64, s.D, s.Width), graph.NewParam("b", graph.Float64, s.Width), graph.NewParam("a", graph.Float64, s.Width, 1)}
	r := data.NewNumpyRand(1)
	for _, p := range m.Params() {
		v := make([]float64, p.Len())
		for i := range v {
			v[i] = 0.3 * r.NormFloat64()
		}
		p.Set(v)
	}
	return m, nil
}

// A new architecture, registered from outside sgdlab, trained through the
// command line from a configuration file, then analysed at its checkpoint.
func Example_newArchitecture() {
	models.Register("tanh", func() models.Spec { return new(TanhSpec) })
	dir, _ := os.MkdirTemp("", "sgdlab-example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "tanh.json"), []byte(`{"name": "tanh", "loss": "mse", "iterations": 1000,
	  "data": {"kind": "sparse_regression", "n": 40, "d": 5, "r": 2, "n_test": 100},
	  "model": {"kind": "tanh", "d": 5, "width": 8}, "grid": {"kind": "every", "t": 1001, "every": 100},
	  "metrics": ["train_loss", "test_loss", "sharpness"], "sharpness": {"every": 1},
	  "runs": [{"name": "sgd", "optimizer": {"kind": "sgd", "batch": 4, "seed": 1}, "schedule": {"kind": "constant", "lr": 0.2}}],
	  "figures": [{"file": "tanh.png", "panels": [{"metric": "train_loss", "title": "train loss", "log_y": true}]}]}`), 0o644)
	out := filepath.Join(dir, "results")
	fmt.Println(cmd.Main(context.Background(), []string{"run", "-config", filepath.Join(dir, "tanh.json"), "-out", out}, io.Discard, os.Stdout))
	fmt.Println(cmd.Main(context.Background(), []string{"hessian", "-run", filepath.Join(out, "tanh")}, io.Discard, os.Stdout))
	files, _ := filepath.Glob(filepath.Join(out, "tanh", "*", "*.json"))
	for _, f := range files {
		fmt.Println(filepath.ToSlash(f[len(out)+1:]))
	}
	// Output:
	// tanh: run sgd (η=0.2) finished
	// 0
	// 0
	// tanh/checkpoints/sgd.json
	// tanh/hessian/sgd.json
}
