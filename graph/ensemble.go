package graph

import (
	"fmt"
	"math"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// EnsembleModel is a model of which K independent members are trained
// together in one graph: every parameter has a leading run dimension of
// length K, and member k owns index k of it. A member on its own is a
// Model whose parameters are the same, in the same order, without the
// leading dimension (models.DLNEnsemble and models.DLN).
type EnsembleModel interface {
	// Params returns the stacked parameters, each of shape (K, ...).
	Params() []*Param
	// Input returns the shape of one example of one member (e.g. [d]).
	Input() []int
	// Forward adds the K members to s for the inputs x, of shape
	// (K, batch, Input()...), and returns their outputs: shape (K, batch)
	// for a scalar-output model, (K, batch, k) for k outputs. Member k's
	// outputs must depend on member k's parameters and inputs only.
	Forward(s *Scope, x *Node) *Node
	// Members returns K.
	Members() int
}

// EnsembleLosses are the losses an EnsembleProgram supports.
var EnsembleLosses = []Loss{HalfMSE, MSE, Logistic}

// EnsembleProgram evaluates, for each of the K members of an ensemble, its
// loss on its own batch of a fixed size, and the gradients of every member
// with respect to its own parameters, in one graph. In float64, member k's
// loss and gradients are bit-identical to those of a Program compiled from
// member k alone on the same batch (the blocks it needs repeat the single
// run's arithmetic member by member; see BatchedMatVec), so K members
// trained together follow exactly the trajectories of K separate runs. In
// float32 that holds when every member's rows start on 16-byte boundaries,
// as a separate run's freshly allocated buffers do (for the DLN: d a
// multiple of 4); otherwise members agree with separate runs to float32
// rounding only, because gonum's float32 dot and axpy kernels sum in an
// order that depends on the address modulo 16 bytes.
type EnsembleProgram struct {
	params  []*Param
	members int
	batch   int
	inLen   int // scalars per example
	outLen  int // scalars of output per example
	x, y    *Node
	losses  *Node // (K)
	grads   []*Node
	exec    *executor
	// Memory of the inputs, the per-member losses, the parameters and the
	// gradients, resolved once (see Program).
	x64, y64 []float64
	x32, y32 []float32
	l64      []float64
	l32      []float32
	lossBuf  []float64 // the losses as float64, for float32 programs
	w64, g64 [][]float64
	w32, g32 [][]float32
}

// CompileEnsemble builds the program that evaluates the loss of every
// member of m on its own batch of batch examples, and the gradients. The
// loss must be one of EnsembleLosses.
func CompileEnsemble(m EnsembleModel, loss Loss, batch int) (p *EnsembleProgram, err error) {
	ps := m.Params()
	if err := checkCompile(ps, loss, batch); err != nil {
		return nil, err
	}
	if !slices.Contains(EnsembleLosses, loss) {
		return nil, fmt.Errorf("graph: the %s loss is not available for ensembles (available: %v)", loss, EnsembleLosses)
	}
	k := m.Members()
	if k < 1 {
		return nil, fmt.Errorf("graph: an ensemble needs ≥ 1 member, got %d", k)
	}
	for _, q := range ps {
		if len(q.shape) < 2 || q.shape[0] != k {
			return nil, fmt.Errorf("graph: ensemble parameter %q has shape %v, want (%d, ...)", q.name, q.shape, k)
		}
	}
	s := newScope(ps[0].Dtype())
	defer func() {
		if r := recover(); r != nil {
			if s.err != nil {
				err = fmt.Errorf("graph: building the ensemble: %w", s.err)
			} else {
				err = fmt.Errorf("graph: building the ensemble: %v", r)
			}
			p = nil
		}
	}()
	p = &EnsembleProgram{params: ps, members: k, batch: batch, inLen: 1}
	in := m.Input()
	for _, d := range in {
		p.inLen *= d
	}
	wrt := make([]*Node, len(ps))
	for i, q := range ps {
		wrt[i] = s.Param(q)
	}
	p.x = s.input("x", append([]int{k, batch}, in...))
	out := m.Forward(s, p.x)
	if s.err != nil {
		return nil, fmt.Errorf("graph: building the ensemble: %w", s.err)
	}
	if out == nil || out.Dims() < 2 || out.Shape()[0] != k || out.Shape()[1] != batch {
		var sh tensor.Shape
		if out != nil {
			sh = out.Shape()
		}
		return nil, fmt.Errorf("graph: ensemble output must have shape (%d, %d, ...), got %v", k, batch, sh)
	}
	p.outLen = out.Shape().TotalSize() / (k * batch)
	p.y = s.input("y", out.Shape())
	p.losses = loss.buildMembers(s, out, p.y)
	if s.err != nil {
		return nil, fmt.Errorf("graph: building the %s loss: %w", loss, s.err)
	}
	// Members do not interact, so the gradient of the sum of their losses
	// with respect to member k's parameters is that of member k's loss;
	// the sum's own gradient is exactly 1 for every member.
	total := s.Must(gorgonia.Sum(p.losses))
	if s.err != nil {
		return nil, fmt.Errorf("graph: building the %s loss: %w", loss, s.err)
	}
	if p.grads, err = gorgonia.Grad(total, wrt...); err != nil {
		return nil, fmt.Errorf("graph: differentiating the %s loss: %w", loss, err)
	}
	if p.exec, err = newExecutor(s.g, append([]*Node{p.losses}, p.grads...)); err != nil {
		return nil, err
	}
	p.bind()
	return p, nil
}

// buildMembers adds the loss of every member to s: the same operations
// as build, with the mean over each member's outputs (a sum along axis 1
// of the outputs seen as a (K, batch·k) matrix, then a division by
// batch·k) in place of the mean over all outputs, so that each member
// sums in the order of a single run. It returns the (K) losses.
func (l Loss) buildMembers(s *Scope, out, y *Node) *Node {
	if s.failed(out, y) {
		return nil
	}
	k := out.Shape()[0]
	rows := func(n *Node) *Node {
		if n == nil || n.Dims() == 2 {
			return n
		}
		return s.Must(gorgonia.Reshape(n, tensor.Shape{k, n.Shape().TotalSize() / k}))
	}
	switch l {
	case HalfMSE, MSE:
		diff := rows(s.Must(gorgonia.Sub(out, y)))
		if diff == nil {
			return nil
		}
		m := s.Must(gorgonia.Mean(s.Must(gorgonia.Square(diff)), 1))
		if l == MSE || m == nil {
			return m
		}
		return s.Must(gorgonia.Mul(m, s.constant(0.5)))
	case Logistic:
		margin := rows(s.Must(gorgonia.HadamardProd(out, y)))
		if margin == nil {
			return nil
		}
		return s.Must(gorgonia.Mean(s.Must(gorgonia.Softplus(s.Must(gorgonia.Neg(margin)))), 1))
	}
	s.err = fmt.Errorf("graph: the %s loss is not available for ensembles", l)
	return nil
}

// bind resolves the memory of the inputs, losses, parameters and
// gradients.
func (p *EnsembleProgram) bind() {
	switch x := p.x.Value().Data().(type) {
	case []float64:
		p.x64, p.y64 = x, p.y.Value().Data().([]float64)
		p.l64 = p.exec.float64s(p.losses)
	case []float32:
		p.x32, p.y32 = x, p.y.Value().Data().([]float32)
		p.l32 = p.exec.float32s(p.losses)
		p.lossBuf = make([]float64, p.members)
	}
	for i, q := range p.params {
		switch w := q.value.Data().(type) {
		case []float64:
			p.w64 = append(p.w64, w)
			p.g64 = append(p.g64, p.exec.float64s(p.grads[i]))
		case []float32:
			p.w32 = append(p.w32, w)
			p.g32 = append(p.g32, p.exec.float32s(p.grads[i]))
		}
	}
}

// Members returns the number of members K.
func (p *EnsembleProgram) Members() int { return p.members }

// Batch returns the number of examples per member and run.
func (p *EnsembleProgram) Batch() int { return p.batch }

// Params returns the stacked parameters, in gradient order.
func (p *EnsembleProgram) Params() []*Param { return p.params }

// SetExample writes example slot (0 ≤ slot < Batch) of member k's batch:
// x holds the example (Input's size), y its target (the output size of one
// example; nil leaves the target as it is).
func (p *EnsembleProgram) SetExample(k, slot int, x, y []float64) {
	i := k*p.batch + slot
	if p.x64 != nil {
		copy(p.x64[i*p.inLen:(i+1)*p.inLen], x)
		if y != nil {
			copy(p.y64[i*p.outLen:(i+1)*p.outLen], y)
		}
		return
	}
	fill(nil, p.x32[i*p.inLen:(i+1)*p.inLen], x)
	if y != nil {
		fill(nil, p.y32[i*p.outLen:(i+1)*p.outLen], y)
	}
}

// Run evaluates every member on the examples and targets last written by
// SetExample and returns the K losses. The slice belongs to the program
// and is overwritten by the next Run.
func (p *EnsembleProgram) Run() ([]float64, error) {
	if err := p.exec.run(); err != nil {
		return nil, err
	}
	if p.l64 != nil {
		return p.l64, nil
	}
	if p.l32 != nil {
		for k, v := range p.l32 {
			p.lossBuf[k] = float64(v)
		}
		return p.lossBuf, nil
	}
	// Not a fixed value: read it through Gorgonia.
	out := make([]float64, p.members)
	read(out, p.exec.value(p.losses))
	return out, nil
}

// RunBatch writes the examples x (K × batch × example size, member-major)
// and targets y (K × batch × output size) and runs the program.
func (p *EnsembleProgram) RunBatch(x, y []float64) ([]float64, error) {
	n := p.members * p.batch
	if len(x) != n*p.inLen {
		return nil, fmt.Errorf("graph: %d inputs, want %d×%d×%d", len(x), p.members, p.batch, p.inLen)
	}
	if len(y) != n*p.outLen {
		return nil, fmt.Errorf("graph: %d targets, want %d×%d×%d", len(y), p.members, p.batch, p.outLen)
	}
	fill(p.x64, p.x32, x)
	fill(p.y64, p.y32, y)
	return p.Run()
}

// Gradient copies member k's gradients of the last Run, all parameters
// concatenated in order (the layout of Flatten on a member), into dst.
func (p *EnsembleProgram) Gradient(k int, dst []float64) {
	off := 0
	for i, q := range p.params {
		n := q.Len() / p.members
		if g := p.grad64(i); g != nil {
			copy(dst[off:off+n], g[k*n:(k+1)*n])
		} else {
			for j, v := range p.grad32(i)[k*n : (k+1)*n] {
				dst[off+j] = float64(v)
			}
		}
		off += n
	}
}

func (p *EnsembleProgram) grad64(i int) []float64 {
	if i >= len(p.g64) {
		return nil
	}
	if g := p.g64[i]; g != nil {
		return g
	}
	return p.exec.value(p.grads[i]).Data().([]float64)
}

func (p *EnsembleProgram) grad32(i int) []float32 {
	if g := p.g32[i]; g != nil {
		return g
	}
	return p.exec.value(p.grads[i]).Data().([]float32)
}

// Descend applies to every member k with active[k] (every member if
// active is nil) the SGD update θ_k ← θ_k − lrs[k]·∇L_k of the last Run,
// in the parameters' own type, exactly as Program.Descend does for a
// single run; the parameters of the other members stay as they are. It
// allocates nothing.
func (p *EnsembleProgram) Descend(lrs []float64, active []bool) {
	for i, w := range p.w64 {
		g := p.grad64(i)
		n := len(w) / p.members
		for k, lr := range lrs {
			if active != nil && !active[k] {
				continue
			}
			descend(w[k*n:(k+1)*n], g[k*n:(k+1)*n], lr)
		}
	}
	for i, w := range p.w32 {
		g := p.grad32(i)
		n := len(w) / p.members
		for k, lr := range lrs {
			if active != nil && !active[k] {
				continue
			}
			descend(w[k*n:(k+1)*n], g[k*n:(k+1)*n], float32(lr))
		}
	}
}

// CheckTapeMachine runs the program on x and y (as RunBatch does), then
// evaluates the same graph with Gorgonia's reference TapeMachine, and
// reports the first member loss or gradient value that is not
// bit-identical between the two; nil means identical.
func (p *EnsembleProgram) CheckTapeMachine(x, y []float64) error {
	losses, err := p.RunBatch(x, y)
	if err != nil {
		return err
	}
	vm := gorgonia.NewTapeMachine(p.losses.Graph(), gorgonia.TraceExec())
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		return fmt.Errorf("graph: TapeMachine: %w", err)
	}
	want := flat(p.losses.Value())
	for k := range want {
		if math.Float64bits(losses[k]) != math.Float64bits(want[k]) {
			return fmt.Errorf("graph: loss of member %d: %v, TapeMachine %v", k, losses[k], want[k])
		}
	}
	for i, n := range p.grads {
		got, want := flat(p.exec.value(n)), flat(n.Value())
		if len(got) != len(want) {
			return fmt.Errorf("graph: gradient of %q has %d values, TapeMachine %d", p.params[i].name, len(got), len(want))
		}
		for j := range want {
			if math.Float64bits(got[j]) != math.Float64bits(want[j]) {
				return fmt.Errorf("graph: gradient of %q[%d] = %v, TapeMachine %v", p.params[i].name, j, got[j], want[j])
			}
		}
	}
	return nil
}

// SetMember copies the parameters of one member, src (a member's
// parameters: the stacked ones without the leading dimension, in the same
// order and type), into index k of the stacked parameters.
func SetMember(stacked []*Param, k int, src []*Param) error {
	return copyMember(stacked, k, src, true)
}

// GetMember copies index k of the stacked parameters into dst, the
// parameters of one member (see SetMember).
func GetMember(stacked []*Param, k int, dst []*Param) error {
	return copyMember(stacked, k, dst, false)
}

func copyMember(stacked []*Param, k int, member []*Param, toStack bool) error {
	if len(stacked) != len(member) {
		return fmt.Errorf("graph: %d stacked parameters, %d member parameters", len(stacked), len(member))
	}
	for i, s := range stacked {
		m := member[i]
		if len(s.shape) != len(m.shape)+1 || !slices.Equal(s.shape[1:], m.shape) || s.Dtype() != m.Dtype() {
			return fmt.Errorf("graph: stacked parameter %q (%v %v) does not hold member parameter %q (%v %v)",
				s.name, s.Dtype(), s.shape, m.name, m.Dtype(), m.shape)
		}
		if k < 0 || k >= s.shape[0] {
			return fmt.Errorf("graph: member %d of %d", k, s.shape[0])
		}
	}
	for i, s := range stacked {
		m := member[i]
		n := m.Len()
		switch sd := s.value.Data().(type) {
		case []float64:
			md := m.value.Data().([]float64)
			if toStack {
				copy(sd[k*n:(k+1)*n], md)
			} else {
				copy(md, sd[k*n:(k+1)*n])
			}
		case []float32:
			md := m.value.Data().([]float32)
			if toStack {
				copy(sd[k*n:(k+1)*n], md)
			} else {
				copy(md, sd[k*n:(k+1)*n])
			}
		}
	}
	return nil
}
