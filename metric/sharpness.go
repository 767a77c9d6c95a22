package metric

import (
	"fmt"
	"math"

	"sgdlab/analysis"
	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/train"
)

// SharpnessOptions configure the sharpness λ_max of the Hessian of the
// training loss on the first Examples training points (all if 0), found
// by Lanczos with Steps Hessian-vector products (20 if 0), at every
// Every-th evaluation point and the last.
type SharpnessOptions struct {
	Examples int `json:"examples,omitempty"`
	Steps    int `json:"steps,omitempty"`
	Every    int `json:"every,omitempty"`
}

// Sharpness measures λ_max of the training-loss Hessian of a model as it
// trains, and keeps the top eigenvector for StepCosine.
type Sharpness struct {
	name         string
	hvp          *graph.HVP
	op           analysis.Operator // hvp, or a block of it
	steps, every int
	points, call int
	top          []float64 // eigenvector of the last measurement; nil where skipped
}

// NewSharpness prepares the sharpness of m under loss on set, for a run
// with the given number of evaluation points.
func NewSharpness(m graph.Model, loss graph.Loss, set data.Set, opt SharpnessOptions, points int) (*Sharpness, error) {
	return newSharpness("sharpness", m, loss, set, opt, points, nil)
}

// BlockSharpnessOptions configure the metric "block_sharpness": λ_max of
// the diagonal block of the training-loss Hessian in the parameters
// Params (their graph.Param names: w1 and b1 for an MLP's first layer),
// the curvature of the loss in them alone (analysis.Block); the other
// fields are those of SharpnessOptions.
type BlockSharpnessOptions struct {
	Params   []string `json:"params"`
	Examples int      `json:"examples,omitempty"`
	Steps    int      `json:"steps,omitempty"`
	Every    int      `json:"every,omitempty"`
}

// NewBlockSharpness prepares the block sharpness of m (see
// BlockSharpnessOptions).
func NewBlockSharpness(m graph.Model, loss graph.Loss, set data.Set, opt BlockSharpnessOptions, points int) (*Sharpness, error) {
	if len(opt.Params) == 0 {
		return nil, fmt.Errorf("block_sharpness: params: name the parameters of the block")
	}
	return newSharpness("block_sharpness", m, loss, set, SharpnessOptions{Examples: opt.Examples, Steps: opt.Steps, Every: max(opt.Every, 1)}, points, opt.Params)
}

func newSharpness(name string, m graph.Model, loss graph.Loss, set data.Set, opt SharpnessOptions, points int, block []string) (*Sharpness, error) {
	n := opt.Examples
	if n == 0 {
		n = set.N
	}
	if n < 1 || n > set.N || opt.Every < 1 || opt.Steps < 0 {
		return nil, fmt.Errorf("%s: need 0 ≤ examples ≤ %d, every ≥ 1 and steps ≥ 0, got %+v", name, set.N, opt)
	}
	h, err := graph.CompileHVP(m, loss, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := h.SetData(set.X[:n*set.D], set.Y[:n*set.Targets()]); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var op analysis.Operator = h
	if block != nil {
		if op, err = analysis.NewBlock(h, m, block...); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	steps := opt.Steps
	if steps == 0 {
		steps = 20
	}
	return &Sharpness{name: name, hvp: h, op: op, steps: min(steps, op.Dim()), every: opt.Every, points: points}, nil
}

// sharpness returns the run's shared Sharpness, creating it on first use.
func (e *Env) sharpness() (*Sharpness, error) {
	if e.sharp == nil {
		s, err := NewSharpness(e.Model, e.Loss, e.Train, e.Sharpness, e.Points)
		if err != nil {
			return nil, err
		}
		e.sharp = s
	}
	return e.sharp, nil
}

// Metric returns the metric "sharpness" (or "block_sharpness"): λ_max at
// the points it is due, NaN at the others.
func (s *Sharpness) Metric() train.Metric {
	return train.Metric{Name: s.name, Measure: s.measure, Skip: func(n int) { s.call = n }}
}

func (s *Sharpness) measure() (float64, error) {
	i := s.call
	s.call++
	s.top = nil
	if !every(i, s.every, s.points) {
		return math.NaN(), nil
	}
	// A fixed start vector keeps runs reproducible.
	e, err := analysis.TopEigen(s.op, 1, analysis.LanczosOptions{Steps: s.steps, Seed: 1, Tol: 1e-8})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", s.name, err)
	}
	s.top = e.Vectors[0]
	return e.Values[0], nil
}

// StepCosine returns the step metric "step_cosine": |⟨g, v₁⟩|/‖g‖ between
// the batch gradient g of the update and the top eigenvector v₁ that the
// sharpness metric found at the same point (NaN where it was skipped). The
// run must list Metric, which train.Run measures before step metrics.
func (s *Sharpness) StepCosine() train.StepMetric {
	return train.StepMetric{Name: "step_cosine", Measure: func(g []float64) (float64, error) {
		if s.top == nil {
			return math.NaN(), nil
		}
		n := analysis.L2(g)
		if n == 0 {
			return 0, nil
		}
		var d float64
		for i := range g {
			d += g[i] * s.top[i]
		}
		return math.Abs(d) / n, nil
	}}
}
