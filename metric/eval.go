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

// pass evaluates a model on a whole set once per evaluation point, for
// all the metrics of that set (its loss and its classification error),
// batch by batch.
type pass struct {
	b         *batches
	labels    []int // nil for a set without class labels
	out       []float64
	done      int // evaluation points computed
	loss, err float64
}

// passOn returns the pass over e's training ("train") or test set, shared
// by the metrics of one Build.
func (e *Env) passOn(which string) (*pass, error) {
	if p, ok := e.passes[which]; ok {
		return p, nil
	}
	set := e.Train
	if which == "test" {
		set = e.Test
	}
	b, err := newBatches(e.Model, e.Loss, set, set.N, e.EvalBatch)
	if err != nil {
		return nil, err
	}
	p := &pass{b: b, labels: set.Labels}
	if p.labels != nil {
		p.out = make([]float64, b.size*b.full.Outputs())
	}
	if e.passes == nil {
		e.passes = make(map[string]*pass)
	}
	e.passes[which] = p
	return p, nil
}

// at computes the loss and error of evaluation point point, unless they
// are.
func (p *pass) at(point int) error {
	if point < p.done {
		return nil
	}
	p.done = point + 1
	sum, wrong, batches := 0.0, 0, 0
	k := p.b.full.Outputs()
	err := p.b.each(func(prog *graph.Program, from, to int, l float64) error {
		sum += l * float64(to-from)
		p.loss = l
		batches++
		if p.labels == nil {
			return nil
		}
		o := p.out[:(to-from)*k]
		prog.Output(o)
		n, err := data.Misclassified(o, p.labels[from:to], k)
		wrong += n
		return err
	})
	// One batch keeps the loss as the program gives it: the weighted mean
	// of one value, l·n/n, may differ from l in the last bit.
	if batches > 1 {
		p.loss = sum / float64(p.b.n)
	}
	p.err = float64(wrong) / float64(p.b.n)
	return err
}

// setMetric returns metric name of e's set which ("train" or "test"):
// its loss, or with classError its classification error, the fraction of
// points whose largest output is not at their label (data.Misclassified).
func setMetric(e *Env, name, which string, classError bool) (train.Metric, error) {
	p, err := e.passOn(which)
	if err != nil {
		return train.Metric{}, fmt.Errorf("metric %s: %w", name, err)
	}
	if classError && p.labels == nil {
		return train.Metric{}, fmt.Errorf("metric %s: the data has no class labels (not a classification set)", name)
	}
	call := 0
	return train.Metric{Name: name, Measure: func() (float64, error) {
		err := p.at(call)
		call++
		if classError {
			return p.err, err
		}
		return p.loss, err
	}, Skip: func(n int) { call = n }}, nil
}
