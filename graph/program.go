package graph

import (
	"fmt"

	"gorgonia.org/gorgonia"
)

// Program evaluates a model's loss, and optionally its gradients, on
// batches of a fixed size.
type Program struct {
	params []*Param
	batch  int
	inLen  int // scalars per example
	outLen int // scalars of output per example
	x, y   *Node
	out    *Node
	loss   *Node
	grads  []*Node
	exec   *executor
}

// Compile builds the program that evaluates loss and the gradients with
// respect to every parameter of m, on batches of batch examples.
func Compile(m Model, loss Loss, batch int) (*Program, error) {
	return compile(m, loss, batch, true)
}

// CompileLoss is Compile without the gradients: for evaluation.
func CompileLoss(m Model, loss Loss, batch int) (*Program, error) {
	return compile(m, loss, batch, false)
}

func compile(m Model, loss Loss, batch int, grads bool) (p *Program, err error) {
	if err := loss.Validate(); err != nil {
		return nil, err
	}
	if batch < 1 {
		return nil, fmt.Errorf("graph: batch size must be ≥ 1, got %d", batch)
	}
	ps := m.Params()
	if len(ps) == 0 {
		return nil, fmt.Errorf("graph: model has no parameters")
	}
	names := make(map[string]bool)
	for _, q := range ps {
		if names[q.name] {
			return nil, fmt.Errorf("graph: two parameters are named %q", q.name)
		}
		names[q.name] = true
	}
	s := newScope(ps[0].Dtype())
	// A model written against Gorgonia may panic on a shape error; that
	// is bad input, not a bug of the caller, so it becomes an error.
	defer func() {
		if r := recover(); r != nil {
			if s.err != nil {
				err = fmt.Errorf("graph: building the model: %w", s.err)
			} else {
				err = fmt.Errorf("graph: building the model: %v", r)
			}
			p = nil
		}
	}()
	p = &Program{params: ps, batch: batch, inLen: 1}
	in := m.Input()
	for _, d := range in {
		p.inLen *= d
	}
	for _, q := range ps {
		s.Param(q)
	}
	p.x = s.input("x", append([]int{batch}, in...))
	p.out = m.Forward(s, p.x)
	if s.err != nil {
		return nil, fmt.Errorf("graph: building the model: %w", s.err)
	}
	if p.out == nil || p.out.Shape()[0] != batch {
		return nil, fmt.Errorf("graph: model output must have shape (batch, ...), got %v", p.out.Shape())
	}
	p.outLen = p.out.Shape().TotalSize() / batch
	p.y = s.input("y", p.out.Shape())
	p.loss = loss.build(s, p.out, p.y)
	if s.err != nil {
		return nil, fmt.Errorf("graph: building the %s loss: %w", loss, s.err)
	}
	targets := []*Node{p.loss, p.out}
	if grads {
		wrt := make([]*Node, len(ps))
		for i, q := range ps {
			wrt[i] = s.Param(q)
		}
		if p.grads, err = gorgonia.Grad(p.loss, wrt...); err != nil {
			return nil, fmt.Errorf("graph: differentiating the %s loss: %w", loss, err)
		}
		targets = append(targets, p.grads...)
	}
	if p.exec, err = newExecutor(s.g, targets); err != nil {
		return nil, err
	}
	return p, nil
}

// Batch returns the number of examples per call of Run.
func (p *Program) Batch() int { return p.batch }

// Params returns the parameters the program reads, in gradient order.
func (p *Program) Params() []*Param { return p.params }

// Run evaluates the program on the examples x (batch × example size,
// row-major) and the targets y (batch × output size; nil for OutputSum)
// and returns the loss.
func (p *Program) Run(x, y []float64) (float64, error) {
	if len(x) != p.batch*p.inLen {
		return 0, fmt.Errorf("graph: batch of %d inputs, want %d×%d", len(x), p.batch, p.inLen)
	}
	fill(p.x, x)
	if y != nil {
		if len(y) != p.batch*p.outLen {
			return 0, fmt.Errorf("graph: batch of %d targets, want %d×%d", len(y), p.batch, p.outLen)
		}
		fill(p.y, y)
	}
	if err := p.exec.run(); err != nil {
		return 0, err
	}
	return scalar(p.exec.value(p.loss)), nil
}

// Output copies the model outputs of the last Run into dst
// (batch × output size).
func (p *Program) Output(dst []float64) { read(dst, p.exec.value(p.out)) }

// Gradient copies the gradients of the last Run, all parameters
// concatenated in order, into dst. It panics if the program was compiled
// without gradients.
func (p *Program) Gradient(dst []float64) {
	off := 0
	for i, q := range p.params {
		read(dst[off:off+q.Len()], p.exec.value(p.grads[i]))
		off += q.Len()
	}
}

// Descend applies the SGD update θ ← θ − lr·∇L of the last Run to every
// parameter, in the parameters' own type.
func (p *Program) Descend(lr float64) {
	for i, q := range p.params {
		switch w := q.value.Data().(type) {
		case []float64:
			g := p.exec.value(p.grads[i]).Data().([]float64)
			for j := range w {
				w[j] -= lr * g[j]
			}
		case []float32:
			g := p.exec.value(p.grads[i]).Data().([]float32)
			l := float32(lr)
			for j := range w {
				w[j] -= l * g[j]
			}
		}
	}
}

func fill(n *Node, src []float64) {
	switch d := n.Value().Data().(type) {
	case []float64:
		copy(d, src)
	case []float32:
		for i, v := range src {
			d[i] = float32(v)
		}
	}
}

func read(dst []float64, v gorgonia.Value) {
	switch d := v.Data().(type) {
	case []float64:
		copy(dst, d)
	case []float32:
		for i, x := range d {
			dst[i] = float64(x)
		}
	case float64:
		dst[0] = d
	case float32:
		dst[0] = float64(d)
	}
}

func scalar(v gorgonia.Value) float64 {
	switch d := v.Data().(type) {
	case float64:
		return d
	case float32:
		return float64(d)
	case []float64:
		return d[0]
	case []float32:
		return float64(d[0])
	}
	panic(fmt.Sprintf("graph: loss value of type %T", v.Data()))
}
