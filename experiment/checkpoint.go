package experiment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// maxCheckpointBytes bounds the size of a checkpoint file: the
// parameters of the largest model a configuration may build
// (models.MaxParams), at most 25 bytes each in JSON, and the configuration.
const maxCheckpointBytes = 25*models.MaxParams + 1<<24

// LoadCheckpoint reads a checkpoint written by Run (under
// DIR/EXPERIMENT/checkpoints/RUN.json) and checks it before anything is
// built from it: its configuration is validated as LoadConfig does, its
// names must be plain file names, and its parameters must be those of the
// configuration's model.
func LoadCheckpoint(path string) (Checkpoint, error) {
	var cp Checkpoint
	f, err := os.Open(path)
	if err != nil {
		return cp, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCheckpointBytes+1))
	if err != nil {
		return cp, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if len(b) > maxCheckpointBytes {
		return cp, fmt.Errorf("%w: checkpoint %s: larger than the limit of %d bytes", ErrInvalid, path, maxCheckpointBytes)
	}
	return parseCheckpoint(path, b)
}

// parseCheckpoint decodes and checks the checkpoint b, read from src.
func parseCheckpoint(src string, b []byte) (Checkpoint, error) {
	var cp Checkpoint
	var raw struct {
		Experiment string          `json:"experiment"`
		Run        string          `json:"run"`
		Iteration  int             `json:"iteration"`
		Config     json.RawMessage `json:"config"`
		Params     []ParamValue    `json:"params"`
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&raw); err != nil {
		return cp, fmt.Errorf("%w: checkpoint %s: %w", ErrInvalid, src, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return cp, fmt.Errorf("%w: checkpoint %s: data after the end of the JSON document", ErrInvalid, src)
	}
	if raw.Config == nil {
		return cp, fmt.Errorf("%w: checkpoint %s: config: missing", ErrInvalid, src)
	}
	if err := decodeStrict("checkpoint "+src+": config", raw.Config, nil, &cp.Config); err != nil {
		return cp, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	cp.Experiment, cp.Run, cp.Iteration, cp.Params = raw.Experiment, raw.Run, raw.Iteration, raw.Params
	var errs []error
	if cp.Experiment != cp.Config.Name {
		errs = append(errs, fmt.Errorf("experiment: %s is not the config's name %s", quote(cp.Experiment), quote(cp.Config.Name)))
	}
	if _, ok := cp.Config.run(cp.Run); !ValidName(cp.Run) || !ok {
		errs = append(errs, fmt.Errorf("run: %s is not one of the config's runs (names are plain file names of [A-Za-z0-9._-])", quote(cp.Run)))
	}
	if cp.Iteration < 0 || cp.Iteration > cp.Config.Iterations {
		errs = append(errs, fmt.Errorf("iteration: must be in [0, config.iterations = %d], got %d", cp.Config.Iterations, cp.Iteration))
	}
	m, err := cp.Config.check()
	if err != nil {
		errs = append(errs, fmt.Errorf("config: %w", err))
	} else if err := checkParams(cp.Params, m.Params()); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint %s: %w", ErrInvalid, src, errors.Join(errs...))
	}
	return cp, nil
}

// checkParams reports whether vs are values for the parameters ps: the
// same names, shapes and lengths, in order.
func checkParams(vs []ParamValue, ps []*graph.Param) error {
	if len(vs) != len(ps) {
		return fmt.Errorf("params: %d tensors, the model has %d", len(vs), len(ps))
	}
	var errs []error
	for i, p := range ps {
		v := vs[i]
		if v.Name != p.Name() || !slices.Equal(v.Shape, p.Shape()) || len(v.Values) != p.Len() {
			shape := fmt.Sprint(v.Shape)
			if len(v.Shape) > 8 {
				shape = fmt.Sprintf("of %d dimensions", len(v.Shape))
			}
			errs = append(errs, fmt.Errorf("params[%d]: %s of shape %s with %d values, the model wants %q of shape %v",
				i, quote(v.Name), shape, len(v.Values), p.Name(), p.Shape()))
		}
	}
	return errors.Join(errs...)
}

// Model rebuilds the checkpoint's model through the registry of model
// kinds and loads its parameters into it.
func (cp Checkpoint) Model() (graph.Model, error) {
	m, err := cp.Config.Model.Spec.New()
	if err != nil {
		return nil, err
	}
	if err := checkParams(cp.Params, m.Params()); err != nil {
		return nil, fmt.Errorf("checkpoint of run %s: %w", cp.Run, err)
	}
	for i, p := range m.Params() {
		p.Set(cp.Params[i].Values)
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
