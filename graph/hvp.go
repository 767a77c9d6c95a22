package graph

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"unsafe"

	"gonum.org/v1/gonum/floats"
	"gorgonia.org/gorgonia"
)

// HVP evaluates exact Hessian-vector products H·v of a model's loss on a
// fixed set of examples, by differentiating ⟨∇L, v⟩ a second time: v is
// backpropagated through the graph of the gradient, of which only what
// that pass reads is computed (the backpropagated errors, not the
// gradient itself). On the float64 MLP 784-256-256-10 one product costs
// about two gradients (BenchmarkMLPHVP).
// It satisfies the Operator interface of package analysis.
type HVP struct {
	grad   *Program // the gradient program on the same examples, for checks
	params []*Param
	x, y   *Node
	hv     []*Node
	loss   *Node
	exec   *executor
	dim    int
	// The memory behind each direction and each product (see readNode).
	dir64, hv64 [][]float64
	dir32, hv32 [][]float32
	lossOf      Loss // the loss, to tell whether SetData may omit the targets
	// ready is set by SetData: before it the inputs hold zeros, and
	// Apply would return H·v of the loss at x = 0, a plausible-looking
	// wrong answer (for the squared loss of a linear model, exactly 0).
	ready bool
}

// CompileHVP builds the Hessian-vector product of loss for m on batches of
// n examples. Call SetData before Apply.
func CompileHVP(m Model, loss Loss, n int) (h *HVP, err error) {
	grad, err := Compile(m, loss, n)
	if err != nil {
		return nil, err
	}
	ps := m.Params()
	s := newScope(ps[0].Dtype())
	s.mode = Train // the Hessian of the objective SGD descends; no running statistics change
	defer func() {
		if r := recover(); r != nil {
			h, err = nil, fmt.Errorf("graph: building the HVP of the model: %v", r)
		}
	}()
	h = &HVP{grad: grad, params: ps, lossOf: loss}
	wrt := make([]*Node, len(ps))
	for i, q := range ps {
		wrt[i] = s.Param(q)
		h.dim += q.Len()
	}
	h.x = s.input("x", append([]int{n}, m.Input()...))
	out := m.Forward(s, h.x)
	if s.err != nil {
		return nil, fmt.Errorf("graph: building the model: %w", s.err)
	}
	h.y = s.input("y", out.Shape())
	h.loss = loss.build(s, out, h.y)
	if s.err != nil {
		return nil, fmt.Errorf("graph: building the %s loss: %w", loss, s.err)
	}
	gs, err := gorgonia.Grad(h.loss, wrt...)
	if err != nil {
		return nil, fmt.Errorf("graph: differentiating the %s loss: %w", loss, err)
	}
	dirs := make([]*Node, 0, len(ps))
	for _, q := range ps {
		dirs = append(dirs, s.input(fmt.Sprintf("v_%s", q.name), q.shape))
	}
	if s.err != nil {
		return nil, fmt.Errorf("graph: building the directions: %w", s.err)
	}
	if err := clearDerivatives(s.g); err != nil {
		return nil, err
	}
	if h.hv, err = pullBack(gs, dirs, wrt); err != nil {
		return nil, fmt.Errorf("graph: differentiating ⟨∇L, v⟩: %w", err)
	}
	targets := []*Node{h.loss}
	for _, n := range h.hv {
		if n != nil {
			targets = append(targets, n)
		}
	}
	if h.exec, err = newExecutor(s.g, targets); err != nil {
		return nil, err
	}
	for i, d := range dirs {
		d64, _ := d.Value().Data().([]float64)
		d32, _ := d.Value().Data().([]float32)
		h.dir64, h.dir32 = append(h.dir64, d64), append(h.dir32, d32)
		var hv64 []float64
		var hv32 []float32
		if h.hv[i] != nil {
			hv64, hv32 = h.exec.float64s(h.hv[i]), h.exec.float32s(h.hv[i])
		}
		h.hv64, h.hv32 = append(h.hv64, hv64), append(h.hv32, hv32)
	}
	return h, nil
}

// pullBack returns ∂⟨outs, dirs⟩/∂wrt, one node per element of wrt, by
// backpropagating each direction from its output: for outs = ∇L this is
// H·v with one backward pass through the gradient's graph and nothing
// else (no inner product, no broadcast of its derivative, each a pass
// over every parameter). Gorgonia rejects a wrt node that does not affect
// any output differentiably (a parameter whose Hessian block is zero, as
// behind a ReLU's mask) and an output no wrt node affects (a gradient
// constant in θ); both contribute zero rows, so they are dropped and the
// pull-back retried. A nil node stands for zeros.
func pullBack(outs, dirs, wrt []*Node) ([]*Node, error) {
	res := make([]*Node, len(wrt))
	at := make(map[*Node]int, len(wrt))
	for i, n := range wrt {
		at[n] = i
	}
	outs, dirs, wrt = slices.Clone(outs), slices.Clone(dirs), slices.Clone(wrt)
	for len(outs) > 0 && len(wrt) > 0 {
		ds, err := gorgonia.Backpropagate(outs, dirs, wrt)
		if err == nil {
			for i, n := range wrt {
				res[at[n]] = ds[i]
			}
			return res, nil
		}
		var sd gorgonia.SymDiffError
		if !errors.As(err, &sd) || len(sd.Nodes()) == 0 {
			return nil, err
		}
		bad := sd.Nodes()
		n := len(wrt) + len(outs)
		wrt = slices.DeleteFunc(wrt, func(w *Node) bool { return slices.Contains(bad, w) })
		for i := len(outs) - 1; i >= 0; i-- {
			if slices.Contains(bad, outs[i]) {
				outs, dirs = slices.Delete(outs, i, i+1), slices.Delete(dirs, i, i+1)
			}
		}
		if len(wrt)+len(outs) == n {
			return nil, err // rejected nodes that are neither: not ours to drop
		}
	}
	return res, nil
}

// clearDerivatives forgets the derivatives Gorgonia cached on every node
// by an earlier Grad. Gorgonia v0.9.18's Backpropagate skips any node
// whose derivative is already set, so a second Grad through the nodes of
// the first silently stops at them and returns a wrong Hessian-vector
// product (relative errors near 1, no error raised). The fields are
// unexported; this is the one place that reaches them, and
// TestGorgoniaCachesDerivatives fails if Gorgonia's behaviour changes.
func clearDerivatives(g *gorgonia.ExprGraph) error {
	for _, n := range g.AllNodes() {
		rv := reflect.ValueOf(n).Elem()
		for _, name := range []string{"deriv", "derivOf"} {
			f := rv.FieldByName(name)
			if !f.IsValid() {
				return fmt.Errorf("graph: gorgonia.Node has no field %q: the derivative-cache workaround needs updating", name)
			}
			reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.Zero(f.Type()))
		}
	}
	return nil
}

// Dim returns the number of parameters P.
func (h *HVP) Dim() int { return h.dim }

// SetData binds the n examples x (n × example size) and targets y on which
// the loss, and so the Hessian, is evaluated. It must be called before
// Apply, CentralHVP and Check, which return an error otherwise. A nil y
// keeps the targets of the previous call; on the first call it is allowed
// only for OutputSum, which ignores targets.
func (h *HVP) SetData(x, y []float64) error {
	if len(x) != h.grad.batch*h.grad.inLen || (y != nil && len(y) != h.grad.batch*h.grad.outLen) {
		return fmt.Errorf("graph: HVP data of %d inputs and %d targets, want %d×%d and %d×%d",
			len(x), len(y), h.grad.batch, h.grad.inLen, h.grad.batch, h.grad.outLen)
	}
	if y == nil && !h.ready && h.lossOf != OutputSum {
		return fmt.Errorf("graph: HVP.SetData: the first call needs targets for the %s loss, got y = nil", h.lossOf)
	}
	fillNode(h.x, x)
	fillNode(h.grad.x, x)
	if y != nil {
		fillNode(h.y, y)
		fillNode(h.grad.y, y)
	}
	h.ready = true
	return nil
}

// checkCall returns the error of calling method before SetData, or with
// vectors dst and v whose lengths are not Dim.
func (h *HVP) checkCall(method string, dst, v []float64) error {
	if !h.ready {
		return fmt.Errorf("graph: HVP.%s before SetData: no examples are bound, so the Hessian would be that of the inputs x = 0", method)
	}
	if len(dst) != h.dim || len(v) != h.dim {
		return fmt.Errorf("graph: HVP.%s of vectors of length len(v) = %d and len(dst) = %d, want Dim = %d", method, len(v), len(dst), h.dim)
	}
	return nil
}

// Apply sets dst = H·v at the model's current parameters, both vectors
// of length Dim in the order of Model.Params.
func (h *HVP) Apply(dst, v []float64) error {
	if err := h.checkCall("Apply", dst, v); err != nil {
		return err
	}
	off := 0
	for i, q := range h.params {
		fill(h.dir64[i], h.dir32[i], v[off:off+q.Len()])
		off += q.Len()
	}
	if err := h.exec.run(); err != nil {
		return err
	}
	off = 0
	for i, q := range h.params {
		d := dst[off : off+q.Len()]
		off += q.Len()
		if h.hv[i] == nil {
			clear(d)
		} else {
			readNode(d, h.hv64[i], h.hv32[i], h.exec, h.hv[i])
		}
	}
	return nil
}

// CentralHVP sets dst to the central-difference estimate
// (∇L(θ+εv) − ∇L(θ−εv)) / 2ε. It is an explicit cross-check of Apply, never
// used in its place: across a ReLU kink it is wrong by O(1) (see
// gorgonia notes §1.1), and ε·‖v‖ ≈ 1e-6 is about the best step in float64.
func (h *HVP) CentralHVP(dst, v []float64, eps float64) error {
	if err := h.checkCall("CentralHVP", dst, v); err != nil {
		return err
	}
	if !(eps > 0) || math.IsInf(eps, 0) {
		return fmt.Errorf("graph: HVP.CentralHVP with eps = %v, want a finite eps > 0", eps)
	}
	theta := Flatten(h.params)
	defer Unflatten(h.params, theta)
	shifted := make([]float64, h.dim)
	g := make([]float64, h.dim)
	for k, sign := range []float64{1, -1} {
		for i := range theta {
			shifted[i] = theta[i] + sign*eps*v[i]
		}
		Unflatten(h.params, shifted)
		if err := h.grad.exec.run(); err != nil {
			return err
		}
		h.grad.Gradient(g)
		for i := range dst {
			if k == 0 {
				dst[i] = g[i]
			} else {
				dst[i] = (dst[i] - g[i]) / (2 * eps)
			}
		}
	}
	return nil
}

// HVPCheck reports how well an exact HVP holds up.
type HVPCheck struct {
	// Symmetry is |⟨u, Hv⟩ − ⟨v, Hu⟩| / (‖u‖‖Hv‖ + ‖v‖‖Hu‖) for random
	// unit u, v: rounding level for a correct Hessian.
	Symmetry float64
	// FiniteDifference is ‖Hv − CentralHVP(v)‖ / ‖Hv‖ with ε = 1e-6/‖v‖;
	// about 1e-8 at smooth points, large only across ReLU kinks.
	FiniteDifference float64
}

// Check measures the symmetry of the HVP and its agreement with central
// differences along random directions drawn from seed. Any user can call
// it on their model before trusting a spectrum.
func (h *HVP) Check(seed uint64) (HVPCheck, error) {
	if !h.ready {
		return HVPCheck{}, fmt.Errorf("graph: HVP.Check before SetData: no examples are bound, so there is no Hessian to check")
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	u, v := randomUnit(r, h.dim), randomUnit(r, h.dim)
	hu, hv := make([]float64, h.dim), make([]float64, h.dim)
	if err := h.Apply(hu, u); err != nil {
		return HVPCheck{}, err
	}
	if err := h.Apply(hv, v); err != nil {
		return HVPCheck{}, err
	}
	var c HVPCheck
	if den := norm(hv) + norm(hu); den > 0 {
		c.Symmetry = math.Abs(floats.Dot(u, hv)-floats.Dot(v, hu)) / den
	}
	fd := make([]float64, h.dim)
	if err := h.CentralHVP(fd, v, 1e-6); err != nil {
		return HVPCheck{}, err
	}
	for i := range fd {
		fd[i] -= hv[i]
	}
	if n := norm(hv); n > 0 {
		c.FiniteDifference = norm(fd) / n
	} else {
		c.FiniteDifference = norm(fd)
	}
	return c, nil
}

func randomUnit(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	s := 1 / norm(v)
	for i := range v {
		v[i] *= s
	}
	return v
}

func norm(a []float64) float64 { return floats.Norm(a, 2) }

// fillNode copies src into the value bound to the input node n.
func fillNode(n *Node, src []float64) {
	d64, _ := n.Value().Data().([]float64)
	d32, _ := n.Value().Data().([]float32)
	fill(d64, d32, src)
}
