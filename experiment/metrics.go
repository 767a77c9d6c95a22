package experiment

import (
	"fmt"
	"math"
	"slices"

	"sgdlab/analysis"
	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/models"
	"sgdlab/train"
)

// MetricNames lists the metrics a Config may ask for:
//
//	train_loss, test_loss  the loss on the whole train / test set
//	l0                     ‖u⊙v‖₀, threshold analysis.DefaultL0Threshold
//	l1                     ‖u⊙v‖₁
//	l2_uv                  ‖θ‖₂ over all parameters, ‖(u,v)‖₂ for a DLN
//	balancedness           ‖|u|−|v|‖₂
//	rank                   rank(φ_θ(X_test[:examples])), see RankSpec
//	sharpness              λ_max of the Hessian of the training loss, see SharpnessSpec
//	step_cosine            |cos| between the update and the top Hessian eigenvector
var MetricNames = []string{"train_loss", "test_loss", "l0", "l1", "l2_uv", "balancedness", "rank", "sharpness", "step_cosine"}

func isMetric(name string) bool { return slices.Contains(MetricNames, name) }

// metrics builds the metrics of c for one model, and the metrics of its
// updates.
func (c Config) metrics(m *models.DLN, trainSet, testSet data.Set, evals int) ([]train.Metric, []train.StepMetric, error) {
	beta := make([]float64, c.Model.D)
	out := make([]train.Metric, 0, len(c.Metrics))
	var steps []train.StepMetric
	var sharp *sharpness
	for _, name := range c.Metrics {
		var mt train.Metric
		var err error
		switch name {
		case "train_loss":
			mt, err = train.LossMetric(name, m, c.Loss, trainSet)
		case "test_loss":
			mt, err = train.LossMetric(name, m, c.Loss, testSet)
		case "l0":
			mt = train.Metric{Name: name, Measure: func() (float64, error) {
				m.Beta(beta)
				return float64(analysis.L0(beta, analysis.DefaultL0Threshold)), nil
			}}
		case "l1":
			mt = train.Metric{Name: name, Measure: func() (float64, error) {
				m.Beta(beta)
				return analysis.L1(beta), nil
			}}
		case "l2_uv":
			mt = train.Metric{Name: name, Measure: func() (float64, error) {
				return analysis.L2(graph.Flatten(m.Params())), nil
			}}
		case "balancedness":
			mt = train.Metric{Name: name, Measure: func() (float64, error) {
				return analysis.Balancedness(m.U.Float64s(), m.V.Float64s()), nil
			}}
		case "rank":
			mt, err = c.rankMetric(m, testSet, evals)
		case "sharpness":
			if sharp, err = c.newSharpness(m, trainSet, evals); err == nil {
				mt = train.Metric{Name: name, Measure: sharp.measure}
			}
		case "step_cosine":
			// Validate guarantees the sharpness metric, which runs first
			// at every point: metrics come before step metrics.
			steps = append(steps, train.StepMetric{Name: name, Measure: func(g []float64) (float64, error) { return sharp.cosine(g), nil }})
			continue
		default:
			err = fmt.Errorf("unknown metric %q", name)
		}
		if err != nil {
			return nil, nil, err
		}
		out = append(out, mt)
	}
	return out, steps, nil
}

// sharpness measures λ_max of the training-loss Hessian and keeps its
// eigenvector for step_cosine.
type sharpness struct {
	hvp         *graph.HVP
	steps       int
	every, last int
	call        int
	top         []float64 // eigenvector of the last measurement; nil where skipped
}

func (c Config) newSharpness(m graph.Model, trainSet data.Set, evals int) (*sharpness, error) {
	n := c.Sharpness.Examples
	if n == 0 {
		n = trainSet.N
	}
	h, err := graph.CompileHVP(m, c.Loss, n)
	if err != nil {
		return nil, fmt.Errorf("sharpness: %w", err)
	}
	if err := h.SetData(trainSet.X[:n*trainSet.D], trainSet.Y[:n]); err != nil {
		return nil, err
	}
	steps := c.Sharpness.Steps
	if steps == 0 {
		steps = 20
	}
	return &sharpness{hvp: h, steps: min(steps, h.Dim()), every: c.Sharpness.Every, last: evals - 1}, nil
}

func (s *sharpness) measure() (float64, error) {
	i := s.call
	s.call++
	s.top = nil
	if i%s.every != 0 && i != s.last {
		return math.NaN(), nil
	}
	// A fixed start vector keeps runs reproducible.
	e, err := analysis.TopEigen(s.hvp, 1, analysis.LanczosOptions{Steps: s.steps, Seed: 1, Tol: 1e-8})
	if err != nil {
		return 0, fmt.Errorf("sharpness: %w", err)
	}
	s.top = e.Vectors[0]
	return e.Values[0], nil
}

// cosine returns |⟨g, v₁⟩|/‖g‖, NaN where the sharpness was skipped.
func (s *sharpness) cosine(g []float64) float64 {
	if s.top == nil {
		return math.NaN()
	}
	n := analysis.L2(g)
	if n == 0 {
		return 0
	}
	var d float64
	for i := range g {
		d += g[i] * s.top[i]
	}
	return math.Abs(d) / n
}

// rankMetric measures the rank at every Rank.Every-th of the evals
// evaluation points and at the last; NaN marks the points it skips.
func (c Config) rankMetric(m graph.Model, testSet data.Set, evals int) (train.Metric, error) {
	k := c.Rank.Examples
	jac, err := analysis.NewJacobian(m, testSet.X[:k*testSet.D], k)
	if err != nil {
		return train.Metric{}, err
	}
	call := 0
	return train.Metric{Name: "rank", Measure: func() (float64, error) {
		i := call
		call++
		if i%c.Rank.Every != 0 && i != evals-1 {
			return math.NaN(), nil
		}
		r, err := jac.Rank(c.Rank.Threshold)
		return float64(r), err
	}}, nil
}
