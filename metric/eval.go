package metric

import (
	"fmt"

	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/train"
)

// batches evaluates a model on the first n points of a set, size points
// at a time and the rest in a last, smaller batch, so that the memory a
// convolutional net needs for its activations stays bounded whatever the
// size of the set. With size ≥ n it is one program over all n points.
type batches struct {
	full, last *graph.Program // last is nil when size divides n
	set        data.Set
	n, size    int
	targets    bool // whether the loss reads the targets
}

// newBatches compiles the evaluation programs of m with loss for the first
// n points of set, size at a time (n at once if size is 0).
func newBatches(m graph.Model, loss graph.Loss, set data.Set, n, size int) (*batches, error) {
	if n < 1 || n > set.N {
		return nil, fmt.Errorf("need 1 ≤ examples ≤ %d, got %d", set.N, n)
	}
	if size <= 0 || size > n {
		size = n
	}
	b := &batches{set: set, n: n, size: size, targets: loss != graph.OutputSum}
	var err error
	if b.full, err = graph.CompileLoss(m, loss, size); err != nil {
		return nil, err
	}
	if r := n % size; r != 0 {
		if b.last, err = graph.CompileLoss(m, loss, r); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// each runs the program of every batch in order, with the points [from,
// to) bound, and calls f after each run with the program and the loss.
func (b *batches) each(f func(p *graph.Program, from, to int, loss float64) error) error {
	k := b.full.Outputs()
	for from := 0; from < b.n; from += b.size {
		to := min(from+b.size, b.n)
		p := b.full
		if to-from < b.size {
			p = b.last
		}
		var y []float64
		if b.targets {
			y = b.set.Y[from*k : to*k]
		}
		loss, err := p.Run(b.set.X[from*b.set.D:to*b.set.D], y)
		if err != nil {
			return err
		}
		if err := f(p, from, to, loss); err != nil {
			return err
		}
	}
	return nil
}

// lossMetric is the mean loss over the whole set, batch by batch: the
// batch means weighted by their sizes. One batch gives exactly
// train.LossMetric's value.
func lossMetric(name string, m graph.Model, loss graph.Loss, set data.Set, size int) (train.Metric, error) {
	if size <= 0 || size >= set.N {
		return train.LossMetric(name, m, loss, set)
	}
	b, err := newBatches(m, loss, set, set.N, size)
	if err != nil {
		return train.Metric{}, fmt.Errorf("metric %s: %w", name, err)
	}
	return train.Metric{Name: name, Measure: func() (float64, error) {
		sum := 0.0
		err := b.each(func(_ *graph.Program, from, to int, l float64) error {
			sum += l * float64(to-from)
			return nil
		})
		return sum / float64(set.N), err
	}}, nil
}

// errorMetric is the classification error over the whole set: the
// fraction of points whose largest output is not at their label
// (data.Misclassified).
func errorMetric(name string, m graph.Model, loss graph.Loss, set data.Set, size int) (train.Metric, error) {
	if set.Labels == nil {
		return train.Metric{}, fmt.Errorf("metric %s: the data has no class labels (not a classification set)", name)
	}
	b, err := newBatches(m, loss, set, set.N, size)
	if err != nil {
		return train.Metric{}, fmt.Errorf("metric %s: %w", name, err)
	}
	k := b.full.Outputs()
	out := make([]float64, b.size*k)
	return train.Metric{Name: name, Measure: func() (float64, error) {
		wrong := 0
		err := b.each(func(p *graph.Program, from, to int, _ float64) error {
			o := out[:(to-from)*k]
			p.Output(o)
			n, err := data.Misclassified(o, set.Labels[from:to], k)
			wrong += n
			return err
		})
		return float64(wrong) / float64(set.N), err
	}}, nil
}
