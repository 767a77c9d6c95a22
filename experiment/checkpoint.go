package experiment

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"sgdlab/graph"
	"sgdlab/models"
)

// Checkpoint is a model's parameters with what is needed to rebuild the
// model and its data: the experiment's configuration, the run and the
// number of updates done.
type Checkpoint struct {
	Experiment string       `json:"experiment"`
	Run        string       `json:"run"`
	Iteration  int          `json:"iteration"`
	Config     Config       `json:"config"`
	Params     []ParamValue `json:"params"`
}

// ParamValue is one parameter tensor, row-major.
type ParamValue struct {
	Name   string    `json:"name"`
	Shape  []int     `json:"shape"`
	Values []float64 `json:"values"`
}

// newCheckpoint captures the parameters of m.
func newCheckpoint(c Config, run string, iteration int, m graph.Model) Checkpoint {
	cp := Checkpoint{Experiment: c.Name, Run: run, Iteration: iteration, Config: c}
	for _, p := range m.Params() {
		v := make([]float64, p.Len())
		p.Get(v)
		cp.Params = append(cp.Params, ParamValue{Name: p.Name(), Shape: p.Shape(), Values: v})
	}
	return cp
}

// LoadCheckpoint reads a checkpoint written by Run (under
// DIR/EXPERIMENT/checkpoints/RUN.json).
func LoadCheckpoint(path string) (Checkpoint, error) {
	var cp Checkpoint
	b, err := os.ReadFile(path)
	if err != nil {
		return cp, err
	}
	if err := json.Unmarshal(b, &cp); err != nil {
		return cp, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if err := cp.Config.Validate(); err != nil {
		return cp, fmt.Errorf("checkpoint %s: config: %w", path, err)
	}
	return cp, nil
}

// Model rebuilds the model and loads the checkpoint's parameters into it.
func (cp Checkpoint) Model() (*models.DLN, error) {
	m := cp.Config.newModel()
	ps := m.Params()
	if len(ps) != len(cp.Params) {
		return nil, fmt.Errorf("checkpoint of run %s: %d parameters, the model has %d", cp.Run, len(cp.Params), len(ps))
	}
	for i, p := range ps {
		v := cp.Params[i]
		if v.Name != p.Name() || !slices.Equal(v.Shape, p.Shape()) || len(v.Values) != p.Len() {
			return nil, fmt.Errorf("checkpoint of run %s: params[%d] is %q %v with %d values, the model wants %q %v",
				cp.Run, i, v.Name, v.Shape, len(v.Values), p.Name(), p.Shape())
		}
		p.Set(v.Values)
	}
	return m, nil
}

// CheckpointPaths returns the checkpoints of an experiment's result
// directory, sorted.
func CheckpointPaths(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "checkpoints", "*.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("%s: no checkpoints/*.json (is it a directory written by sgdlab reproduce?)", dir)
	}
	return paths, nil
}
