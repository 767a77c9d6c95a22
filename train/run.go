package train

import (
	"context"
	"fmt"
	"math"

	"sgdlab/data"
	"sgdlab/graph"
)

// DefaultDivergence is the batch loss above which a run counts as
// diverged when Run.DivergeAbove is 0. For the ½-squared loss of one
// example it is a residual |e| ≈ 1.4·10⁶; the spec calls |e| > 10⁶
// divergence, and such runs overflow within a few more steps.
const DefaultDivergence = 1e12

// Metric is a quantity measured at evaluation points.
type Metric struct {
	Name    string
	Measure func() (float64, error)
}

// StepMetric is a quantity of the update itself, measured at evaluation
// points: Measure receives the batch gradient of that iteration (all
// parameters concatenated), before the update. It runs after the Metrics
// of the same point, so it may use what they computed (e.g. the top
// Hessian eigenvector, to measure the cosine between it and the step).
type StepMetric struct {
	Name    string
	Measure func(grad []float64) (float64, error)
}

// LossMetric returns a metric that evaluates loss of m on the whole set s
// (for example the train or the test loss).
func LossMetric(name string, m graph.Model, loss graph.Loss, s data.Set) (Metric, error) {
	p, err := graph.CompileLoss(m, loss, s.N)
	if err != nil {
		return Metric{}, fmt.Errorf("metric %s: %w", name, err)
	}
	return Metric{Name: name, Measure: func() (float64, error) { return p.Run(s.X, s.Y) }}, nil
}

// Run is one training run: SGD on Model with the Loss over Data.
type Run struct {
	Model graph.Model
	Loss  graph.Loss
	Data  data.Set
	// Batch is the number of examples per update; Sampler picks them.
	Batch      int
	Sampler    Sampler
	Schedule   Schedule
	Iterations int // number of updates
	// Eval holds the sorted iterations at which the metrics are measured,
	// before the update of that iteration; Iterations itself means after
	// the last update (StepMetrics are NaN there: there is no step).
	Eval        []int
	Metrics     []Metric
	StepMetrics []StepMetric
	// DivergeAbove is the batch loss that stops the run as diverged
	// (DefaultDivergence if 0). A non-finite loss always does.
	DivergeAbove float64
	// Snapshots, if set, records the parameters at every evaluation point
	// in History.Params, e.g. to project the trajectory on a plane.
	Snapshots bool
	// Progress, if set, is called every 1024 updates with the number of
	// updates done, and once at the end.
	Progress func(done int)
}

// History holds the metrics of a run at its evaluation points.
type History struct {
	Names  []string    // metric names
	Iters  []int       // evaluation iterations reached
	Rates  []float64   // step size of the update at each of Iters
	Values [][]float64 // Values[k][m]: metric m at Iters[k]
	// Params[k] holds all parameters, concatenated, at Iters[k] (only
	// with Run.Snapshots).
	Params [][]float64
}

// Result is the outcome of a Run.
type Result struct {
	History
	// Diverged reports whether the loss exploded; DivergedAt is the
	// iteration whose batch loss was non-finite or above the limit, and
	// the run stopped there, before that update.
	Diverged   bool
	DivergedAt int
}

// Train performs the run. A divergence is not an error: it is reported in
// the Result. Errors are for bad configuration, failing metrics and
// cancellation.
func (r Run) Train(ctx context.Context) (Result, error) {
	var res Result
	if err := r.Data.Validate(); err != nil {
		return res, err
	}
	if r.Batch < 1 || r.Batch > r.Data.N {
		return res, fmt.Errorf("train: batch %d not in [1, %d]", r.Batch, r.Data.N)
	}
	prog, err := graph.Compile(r.Model, r.Loss, r.Batch)
	if err != nil {
		return res, err
	}
	limit := r.DivergeAbove
	if limit == 0 {
		limit = DefaultDivergence
	}
	for _, m := range r.Metrics {
		res.Names = append(res.Names, m.Name)
	}
	for _, m := range r.StepMetrics {
		res.Names = append(res.Names, m.Name)
	}
	idx := make([]int, r.Batch)
	x := make([]float64, r.Batch*r.Data.D)
	y := make([]float64, r.Batch)
	var grad []float64
	if len(r.StepMetrics) > 0 {
		grad = make([]float64, len(graph.Flatten(r.Model.Params())))
	}
	next := 0
	// measure records the metrics at iteration i; the step metrics are
	// filled in once the batch gradient of i is known.
	measure := func(i int, rate float64) ([]float64, error) {
		row := make([]float64, len(r.Metrics)+len(r.StepMetrics))
		for k, m := range r.Metrics {
			var err error
			if row[k], err = m.Measure(); err != nil {
				return nil, fmt.Errorf("train: metric %s at iteration %d: %w", m.Name, i, err)
			}
		}
		for k := range r.StepMetrics {
			row[len(r.Metrics)+k] = math.NaN()
		}
		res.Iters = append(res.Iters, i)
		res.Rates = append(res.Rates, rate)
		res.Values = append(res.Values, row)
		if r.Snapshots {
			res.Params = append(res.Params, graph.Flatten(r.Model.Params()))
		}
		return row, nil
	}
	for i := 0; i < r.Iterations; i++ {
		if i&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			if r.Progress != nil {
				r.Progress(i)
			}
		}
		rate := r.Schedule.Rate(i)
		var row []float64
		if next < len(r.Eval) && r.Eval[next] == i {
			next++
			if row, err = measure(i, rate); err != nil {
				return res, err
			}
		}
		r.Sampler.Next(idx)
		for k, j := range idx {
			copy(x[k*r.Data.D:(k+1)*r.Data.D], r.Data.Row(j))
			y[k] = r.Data.Y[j]
		}
		loss, err := prog.Run(x, y)
		if err != nil {
			return res, fmt.Errorf("train: iteration %d: %w", i, err)
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) || loss > limit {
			res.Diverged, res.DivergedAt = true, i
			return res, nil
		}
		if row != nil && len(r.StepMetrics) > 0 {
			prog.Gradient(grad)
			for k, m := range r.StepMetrics {
				if row[len(r.Metrics)+k], err = m.Measure(grad); err != nil {
					return res, fmt.Errorf("train: metric %s at iteration %d: %w", m.Name, i, err)
				}
			}
		}
		prog.Descend(rate)
	}
	if next < len(r.Eval) && r.Eval[next] == r.Iterations {
		if _, err := measure(r.Iterations, r.Schedule.Rate(r.Iterations)); err != nil {
			return res, err
		}
	}
	if r.Progress != nil {
		r.Progress(r.Iterations)
	}
	return res, nil
}
