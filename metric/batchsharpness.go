package metric

import (
	"fmt"
	"math"

	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/train"
)

// BatchSharpnessOptions configure the batch sharpness of Andreyev and
// Beneventano's "edge of stochastic stability": the curvature of each
// mini-batch loss along its own gradient, E_B[g_Bᵀ H_B g_B / ‖g_B‖²],
// over batches B of Batch training points drawn without replacement
// (0: the run's batch size). It is a Monte-Carlo mean over batches, run
// until its standard error is at most RelErr of it (0.005 if 0, the
// reference tool's) after at least 10 batches, or MaxBatches (1000 if 0)
// batches; batches with a zero gradient are not counted. Measured at
// every Every-th evaluation point (1 if 0) and the last; the batches come from one
// numpy stream seeded with Seed, continued from point to point.
type BatchSharpnessOptions struct {
	Batch      int     `json:"batch,omitempty"`
	RelErr     float64 `json:"rel_err,omitempty"`
	MaxBatches int     `json:"max_batches,omitempty"`
	Every      int     `json:"every,omitempty"`
	Seed       uint32  `json:"seed,omitempty"`
}

// minBatches is the fewest batches an estimate stops at, so that the
// standard error itself is estimated from enough samples.
const minBatches = 10

// BatchSharpness estimates the batch sharpness of a model as it trains.
type BatchSharpness struct {
	set            data.Set
	grad           *graph.Program
	hvp            *graph.HVP
	sampler        *train.WithoutReplacement
	idx            []int
	x, y, g, hg    []float64
	relErr         float64
	max, every     int
	points, call   int
	last, lastSE   float64
	lastBatches    int
	measuredAtCall int // the call whose estimate last and lastSE hold
}

// NewBatchSharpness prepares the batch sharpness of m under loss on set,
// for a run with the given number of evaluation points; batch is the
// run's batch size, used when opt.Batch is 0.
func NewBatchSharpness(m graph.Model, loss graph.Loss, set data.Set, opt BatchSharpnessOptions, batch, points int) (*BatchSharpness, error) {
	b := opt.Batch
	if b == 0 {
		b = batch
	}
	maxB := opt.MaxBatches
	if maxB == 0 {
		maxB = 1000
	}
	rel := opt.RelErr
	if rel == 0 {
		rel = 0.005
	}
	every := max(opt.Every, 1)
	if b < 1 || b > set.N || opt.Every < 0 || maxB < minBatches || maxB > 1_000_000 || !(rel > 0 && rel < 1) {
		return nil, fmt.Errorf("batch_sharpness: need 1 ≤ batch ≤ %d, every ≥ 0, %d ≤ max_batches ≤ 1000000 and 0 < rel_err < 1, got batch %d and %+v",
			set.N, minBatches, b, opt)
	}
	p, err := graph.Compile(m, loss, b)
	if err != nil {
		return nil, fmt.Errorf("batch_sharpness: %w", err)
	}
	h, err := graph.CompileHVP(m, loss, b)
	if err != nil {
		return nil, fmt.Errorf("batch_sharpness: %w", err)
	}
	outLen := len(set.Y) / max(set.N, 1)
	return &BatchSharpness{
		set: set, grad: p, hvp: h, sampler: train.NewWithoutReplacement(set.N, opt.Seed), idx: make([]int, b),
		x: make([]float64, b*set.D), y: make([]float64, b*outLen), g: make([]float64, h.Dim()), hg: make([]float64, h.Dim()),
		relErr: rel, max: maxB, every: every, points: points, measuredAtCall: -1,
	}, nil
}

// batchSharpness returns the run's shared BatchSharpness, creating it on
// first use.
func (e *Env) batchSharpness() (*BatchSharpness, error) {
	if e.bsharp == nil {
		s, err := NewBatchSharpness(e.Model, e.Loss, e.Train, e.BatchSharpness, e.Batch, e.Points)
		if err != nil {
			return nil, err
		}
		e.bsharp = s
	}
	return e.bsharp, nil
}

// Estimate returns the batch sharpness at the model's current parameters,
// its standard error and the number of batches it took.
func (s *BatchSharpness) Estimate() (mean, se float64, batches int, err error) {
	var sum, sumSq float64
	outLen := len(s.y) / len(s.idx)
	for draws := 0; draws < s.max; draws++ {
		s.sampler.Next(s.idx)
		for k, i := range s.idx {
			copy(s.x[k*s.set.D:(k+1)*s.set.D], s.set.X[i*s.set.D:(i+1)*s.set.D])
			copy(s.y[k*outLen:(k+1)*outLen], s.set.Y[i*outLen:(i+1)*outLen])
		}
		if _, err := s.grad.Run(s.x, s.y); err != nil {
			return 0, 0, 0, fmt.Errorf("batch_sharpness: %w", err)
		}
		s.grad.Gradient(s.g)
		var gg float64
		for _, v := range s.g {
			gg += v * v
		}
		if gg == 0 {
			continue
		}
		if err := s.hvp.SetData(s.x, s.y); err != nil {
			return 0, 0, 0, fmt.Errorf("batch_sharpness: %w", err)
		}
		if err := s.hvp.Apply(s.hg, s.g); err != nil {
			return 0, 0, 0, fmt.Errorf("batch_sharpness: %w", err)
		}
		var ghg float64
		for i, v := range s.g {
			ghg += v * s.hg[i]
		}
		q := ghg / gg
		sum += q
		sumSq += q * q
		batches++
		if batches >= minBatches {
			if mean, se = meanSE(sum, sumSq, batches); se <= s.relErr*math.Abs(mean) {
				return mean, se, batches, nil
			}
		}
	}
	mean, se = meanSE(sum, sumSq, batches)
	return mean, se, batches, nil
}

// meanSE returns the mean of k samples with the given sum and sum of
// squares and its standard error, s/√k with the sample variance s²; NaN
// for fewer than two samples.
func meanSE(sum, sumSq float64, k int) (mean, se float64) {
	if k < 2 {
		return math.NaN(), math.NaN()
	}
	n := float64(k)
	mean = sum / n
	return mean, math.Sqrt(max(0, (sumSq-n*mean*mean)/(n-1)) / n)
}

// Metric returns the metric "batch_sharpness": the estimate at the
// points it is due, NaN at the others.
func (s *BatchSharpness) Metric() train.Metric {
	return train.Metric{Name: "batch_sharpness", Measure: func() (float64, error) {
		i := s.call
		s.call++
		if !every(i, s.every, s.points) {
			return math.NaN(), nil
		}
		var err error
		s.last, s.lastSE, s.lastBatches, err = s.Estimate()
		s.measuredAtCall = i
		return s.last, err
	}}
}

// SEMetric returns the metric "batch_sharpness_se": the standard error of
// the estimate of batch_sharpness at the same point (NaN where that was
// skipped). The run must list batch_sharpness first.
func (s *BatchSharpness) SEMetric() train.Metric {
	return train.Metric{Name: "batch_sharpness_se", Measure: func() (float64, error) {
		if s.measuredAtCall != s.call-1 {
			return math.NaN(), nil
		}
		return s.lastSE, nil
	}}
}
