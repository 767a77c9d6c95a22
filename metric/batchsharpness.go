package metric

import (
	"fmt"
	"math"

	"sgdlab/analysis"
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
// every Every-th evaluation point (1 if 0) and the last; the batches of
// evaluation point i come from the numpy stream seeded with Seed + i, so
// that an estimate does not depend on the points before it (and a resumed
// run draws the same batches).
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
	seed           uint32
	idx            []int
	x, y, g, hg    []float64
	relErr         float64
	max, every     int
	points, call   int
	samples        []float64 // one estimate's per-batch values, reused
	last, lastSE   float64
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
	return &BatchSharpness{
		set: set, grad: p, hvp: h, sampler: train.NewWithoutReplacement(set.N, opt.Seed), seed: opt.Seed, idx: make([]int, b),
		x: make([]float64, b*set.D), y: make([]float64, b*set.Targets()), g: make([]float64, h.Dim()), hg: make([]float64, h.Dim()),
		samples: make([]float64, 0, maxB),
		relErr:  rel, max: maxB, every: every, points: points, measuredAtCall: -1,
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
	q := s.samples[:0]
	for draws := 0; draws < s.max; draws++ {
		s.sampler.Next(s.idx)
		s.set.Gather(s.idx, s.x, s.y)
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
		q = append(q, ghg/gg)
		if len(q) >= minBatches {
			if mean, se = analysis.MeanSE(q); se <= s.relErr*math.Abs(mean) {
				return mean, se, len(q), nil
			}
		}
	}
	mean, se = analysis.MeanSE(q)
	return mean, se, len(q), nil
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
		s.sampler = train.NewWithoutReplacement(s.set.N, s.seed+uint32(i))
		s.last, s.lastSE, _, err = s.Estimate()
		s.measuredAtCall = i
		return s.last, err
	}, Skip: func(n int) { s.call = n }}
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
