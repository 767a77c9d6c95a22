package graph

import "fmt"

// Velocity holds the momentum buffers of SGD with momentum for the
// parameters of one Program: buffer k has the name, shape and type of
// parameter k of Program.Params. Its storage is allocated once, by
// Program.NewVelocity; DescendMomentum updates it in place.
type Velocity struct {
	bufs    []*Param
	v64     [][]float64 // aligned with Program.w64
	v32     [][]float32 // aligned with Program.w32
	prog    *Program
	started bool
}

// NewVelocity returns zero momentum buffers for the parameters of p, not
// yet started (see Velocity.Started).
func (p *Program) NewVelocity() *Velocity {
	v := &Velocity{prog: p}
	for _, q := range p.params {
		b := NewParam(q.name, q.Dtype(), q.shape...)
		v.bufs = append(v.bufs, b)
		if q.Dtype() == Float32 {
			v.v32 = append(v.v32, b.Float32s())
		} else {
			v.v64 = append(v.v64, b.Float64s())
		}
	}
	return v
}

// Buffers returns the momentum buffers, one per parameter of the program
// in its order, with the parameter's name, shape and type. They share
// storage with v: writing them (Param.Set) sets the velocity, which is how
// a checkpoint is restored.
func (v *Velocity) Buffers() []*Param { return v.bufs }

// Started reports whether v has taken a step. PyTorch's SGD creates the
// buffer at the first step as a copy of that step's gradient, so the
// first DescendMomentum sets v ← g rather than v ← μ·v + g (the same
// value but for the sign of zeros).
func (v *Velocity) Started() bool { return v.started }

// SetStarted sets what Started reports, for a velocity restored from a
// checkpoint: true once any step was taken.
func (v *Velocity) SetStarted(s bool) { v.started = s }

// DescendMomentum applies one update of PyTorch's torch.optim.SGD with
// momentum mu (dampening 0, no Nesterov, its own weight_decay 0) to the
// objective L + ½·decay·Σ‖θ‖² over every parameter, from the gradient
// ∇L of the last Run. With g = ∇L + decay·θ, each element does
//
//	v ← g (first step), v ← mu·v + g (later steps);  θ ← θ − lr·v
//
// and, with mu = 0, θ ← θ − lr·g without touching v (PyTorch keeps no
// buffer then), in the parameters' own type, each product rounded before
// the sum (no fused multiply-add). The decay term is the gradient of the
// authors' l2_reg·½·Σ‖θ‖², which they add to the objective; PyTorch's own
// (coupled) weight_decay option adds the same decay·θ to the gradient.
//
// With mu = 0 and decay = 0 it is Descend, bit for bit. v may be nil only
// with mu = 0; otherwise it must come from p.NewVelocity. It allocates
// nothing and returns an error only for a nil or foreign v.
func (p *Program) DescendMomentum(lr, mu, decay float64, v *Velocity) error {
	if mu == 0 && decay == 0 {
		p.Descend(lr)
		return nil
	}
	if mu != 0 && (v == nil || v.prog != p) {
		return fmt.Errorf("graph: DescendMomentum with momentum %v needs the Velocity of this program (Program.NewVelocity)", mu)
	}
	p.UpdateBatchNorm()
	started := v != nil && v.started
	for i, w := range p.w64 {
		g := p.g64[i]
		if g == nil {
			g = p.exec.value(p.grads[i]).Data().([]float64)
		}
		var buf []float64
		if mu != 0 {
			buf = v.v64[i]
		}
		momentumStep(w, g, buf, lr, mu, decay, started)
	}
	for i, w := range p.w32 {
		g := p.g32[i]
		if g == nil {
			g = p.exec.value(p.grads[i]).Data().([]float32)
		}
		var buf []float32
		if mu != 0 {
			buf = v.v32[i]
		}
		momentumStep(w, g, buf, float32(lr), float32(mu), float32(decay), started)
	}
	if mu != 0 {
		v.started = true
	}
	return nil
}

// momentumStep is the update of DescendMomentum for one parameter w with
// gradient g and buffer v (nil for mu = 0). The conversions round every
// product, so that no architecture fuses a multiply-add.
func momentumStep[T float](w, g, v []T, lr, mu, decay T, started bool) {
	g = g[:len(w)]
	if v == nil {
		for j := range w {
			gj := g[j] + T(decay*w[j])
			w[j] -= T(lr * gj)
		}
		return
	}
	v = v[:len(w)]
	for j := range w {
		gj := g[j]
		if decay != 0 {
			gj += T(decay * w[j])
		}
		if started {
			v[j] = T(mu*v[j]) + gj
		} else {
			v[j] = gj
		}
		w[j] -= T(lr * v[j])
	}
}
