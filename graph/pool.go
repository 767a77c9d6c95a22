package graph

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Max pooling is three operations on one window geometry, each a
// function of x's argmax per window (the first maximum in row-major
// window order, as PyTorch's CPU kernel) and linear in its second
// operand:
//
//	maxPool(x)       = x at the argmax of x                (batch, c, oh, ow)
//	poolScatter(x,g) = g added at the argmax of x, else 0  (batch, c, h, w)
//	poolGather(x,g)  = g at the argmax of x                (batch, c, oh, ow)
//
// The gradient of maxPool is poolScatter(x, grad); poolScatter and
// poolGather are adjoint in g, so each one's derivative with respect to g
// is the other, and their derivative with respect to x is zero (the
// argmax is piecewise constant), which makes max pooling differentiable
// to any order. Gorgonia's MaxPool2D gradient has no derivative.
type poolKind int

const (
	poolMax poolKind = iota
	poolScatter
	poolGather
	poolAvg
	poolAvgAdj
)

var poolNames = [...]string{"maxpool", "maxpool_scatter", "maxpool_gather", "avgpool", "avgpool_adjoint"}

// poolOp is one of the pooling operations on the window geometry g
// (no padding). avgPool is the mean of every window; avgPoolAdj, its
// adjoint, spreads each output's gradient evenly over its window.
type poolOp struct {
	opBase
	kind poolKind
	g    window
}

func newPool(kind poolKind, g window) poolOp {
	in, out := []int{4}, 4
	if kind == poolScatter || kind == poolGather {
		in = []int{4, 4}
	}
	return poolOp{opBase{poolNames[kind] + " " + g.String(), in, out}, kind, g}
}

func (op poolOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	return inferShape(op, ds)
}

func (op poolOp) outShape(in ...tensor.Shape) (tensor.Shape, error) {
	want := []tensor.Shape{op.g.inShape()}
	out := op.g.outShape()
	switch op.kind {
	case poolScatter:
		want, out = []tensor.Shape{op.g.inShape(), op.g.outShape()}, op.g.inShape()
	case poolGather:
		want = []tensor.Shape{op.g.inShape(), op.g.inShape()}
	case poolAvgAdj:
		want, out = []tensor.Shape{op.g.outShape()}, op.g.inShape()
	}
	for i, s := range in {
		if !s.Eq(want[i]) {
			return nil, fmt.Errorf("%v: operand %d of shape %v, want %v", op, i, s, want[i])
		}
	}
	return out, nil
}

func (op poolOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) { return doOwn(op, vs) }

func (op poolOp) compute(out any, in []any) {
	switch o := out.(type) {
	case []float64:
		pool(op.kind, op.g, o, in[0].([]float64), second[float64](in))
	case []float32:
		pool(op.kind, op.g, o, in[0].([]float32), second[float32](in))
	}
}

func second[T float](in []any) []T {
	if len(in) < 2 {
		return nil
	}
	return in[1].([]T)
}

func (op poolOp) DiffWRT(int) []bool {
	if op.kind == poolScatter || op.kind == poolGather {
		return []bool{false, true}
	}
	return []bool{true}
}

func (op poolOp) SymDiff(inputs gorgonia.Nodes, output, grad *Node) (gorgonia.Nodes, error) {
	var d *Node
	var err error
	switch op.kind {
	case poolMax:
		d, err = gorgonia.ApplyOp(newPool(poolScatter, op.g), inputs[0], grad)
	case poolScatter:
		d, err = gorgonia.ApplyOp(newPool(poolGather, op.g), inputs[0], grad)
	case poolGather:
		d, err = gorgonia.ApplyOp(newPool(poolScatter, op.g), inputs[0], grad)
	case poolAvg:
		d, err = gorgonia.ApplyOp(newPool(poolAvgAdj, op.g), grad)
	case poolAvgAdj:
		d, err = gorgonia.ApplyOp(newPool(poolAvg, op.g), grad)
	}
	if err != nil {
		return nil, fmt.Errorf("%v: gradient: %w", op, err)
	}
	if len(inputs) == 2 {
		return gorgonia.Nodes{nil, d}, nil
	}
	return gorgonia.Nodes{d}, nil
}

// pool computes operation kind on the planes of x (and g, the second
// operand of scatter and gather) into out.
func pool[T float](kind poolKind, w window, out, x, g []T) {
	switch kind {
	case poolAvg:
		avgPool(w, out, x)
	case poolAvgAdj:
		avgPoolAdj(w, out, x)
	default:
		maxPool(kind, w, out, x, g)
	}
}

// maxPool computes the max-pooling operation kind: for every window the
// index of its first maximum in x, then the value of x (poolMax) or of g
// (poolGather) there, or g added there (poolScatter).
func maxPool[T float](kind poolKind, w window, out, x, g []T) {
	if kind == poolScatter {
		clear(out)
	}
	hw, ohw := w.h*w.w, w.oh*w.ow
	for p := 0; p < w.batch*w.c; p++ {
		xp := x[p*hw:][:hw]
		for i := 0; i < w.oh; i++ {
			top, orow := i*w.stride*w.w, p*ohw+i*w.ow
			// One loop per kind, so that the choice is not made per window.
			switch kind {
			case poolMax:
				op := out[orow:][:w.ow]
				for j := range op {
					op[j] = xp[windowArgmax(xp, w, top+j*w.stride)]
				}
			case poolGather:
				op, gp := out[orow:][:w.ow], g[p*hw:][:hw]
				for j := range op {
					op[j] = gp[windowArgmax(xp, w, top+j*w.stride)]
				}
			case poolScatter:
				op, gp := out[p*hw:][:hw], g[orow:][:w.ow]
				for j, v := range gp {
					op[windowArgmax(xp, w, top+j*w.stride)] += v
				}
			}
		}
	}
}

// windowArgmax returns the index in the plane xp of the first maximum of
// the k×k window whose top left corner is at index corner.
func windowArgmax[T float](xp []T, w window, corner int) int {
	if w.k == 2 {
		return argmax2x2(xp, corner, corner+w.w)
	}
	best := corner
	for a := 0; a < w.k; a++ {
		base := corner + a*w.w
		for b, v := range xp[base : base+w.k] {
			if v > xp[best] {
				best = base + b
			}
		}
	}
	return best
}

// argmax2x2 returns the index of the first maximum of the 2×2 window
// with rows at r0 and r1, without branches: the position of the maximum
// of random activations is random, and branches on it would mispredict
// most of the time.
func argmax2x2[T float](xp []T, r0, r1 int) int {
	best, m := r0, xp[r0]
	v := xp[r0+1]
	best += b2i(v > m)
	m = max(m, v)
	v = xp[r1]
	best += b2i(v > m) * (r1 - best)
	m = max(m, v)
	v = xp[r1+1]
	best += b2i(v > m) * (r1 + 1 - best)
	return best
}

// b2i is 1 if b holds, else 0, set from the flags without a branch.
func b2i(b bool) int {
	var i int
	if b {
		i = 1
	}
	return i
}

// avgPool sets out to the mean of every window of x: the sum in
// row-major window order times 1/k².
func avgPool[T float](w window, out, x []T) {
	hw, ohw := w.h*w.w, w.oh*w.ow
	inv := 1 / T(w.k*w.k)
	for p := 0; p < w.batch*w.c; p++ {
		xp, op := x[p*hw:][:hw], out[p*ohw:][:ohw]
		for i := 0; i < w.oh; i++ {
			for j := 0; j < w.ow; j++ {
				corner := i*w.stride*w.w + j*w.stride
				var s T
				for a := 0; a < w.k; a++ {
					for _, v := range xp[corner+a*w.w:][:w.k] {
						s += v
					}
				}
				op[i*w.ow+j] = s * inv
			}
		}
	}
}

// avgPoolAdj sets out to the adjoint of avgPool applied to g: each
// output's g/k² added over its window.
func avgPoolAdj[T float](w window, out, g []T) {
	clear(out)
	hw, ohw := w.h*w.w, w.oh*w.ow
	inv := 1 / T(w.k*w.k)
	for p := 0; p < w.batch*w.c; p++ {
		gp, op := g[p*ohw:][:ohw], out[p*hw:][:hw]
		for i := 0; i < w.oh; i++ {
			for j := 0; j < w.ow; j++ {
				v := gp[i*w.ow+j] * inv
				corner := i*w.stride*w.w + j*w.stride
				for a := 0; a < w.k; a++ {
					row := op[corner+a*w.w:][:w.k]
					for b := range row {
						row[b] += v
					}
				}
			}
		}
	}
}

// MaxPool2D returns the maximum of every k×k window of x, of shape
// (batch, c, h, w), taken every stride positions without padding: shape
// (batch, c, (h−k)/stride+1, (w−k)/stride+1), as PyTorch's MaxPool2d(k,
// stride). It is differentiable to any order (see poolKind).
func (s *Scope) MaxPool2D(x *Node, k, stride int) *Node {
	return s.pool(poolMax, x, k, stride)
}

// AvgPool2D returns the mean of every k×k window of x, of shape
// (batch, c, h, w), taken every stride positions without padding: shape
// (batch, c, (h−k)/stride+1, (w−k)/stride+1), as PyTorch's avg_pool2d(x,
// k, stride).
func (s *Scope) AvgPool2D(x *Node, k, stride int) *Node {
	return s.pool(poolAvg, x, k, stride)
}

func (s *Scope) pool(kind poolKind, x *Node, k, stride int) *Node {
	if s.failed(x) {
		return nil
	}
	g, err := newWindow(x.Shape(), k, stride, 0)
	if err != nil {
		s.err = fmt.Errorf("graph: %s: %w", poolNames[kind], err)
		return nil
	}
	return s.Must(gorgonia.ApplyOp(newPool(kind, g), x))
}

// GlobalAvgPool returns the mean over the spatial positions of x, of
// shape (batch, c, h, w), per example and channel: shape (batch, c). It
// is composed of a reshape and Gorgonia's Mean, whose derivatives of
// every order are exact (Gorgonia's GlobalAveragePool2D has none).
func (s *Scope) GlobalAvgPool(x *Node) *Node {
	if s.failed(x) {
		return nil
	}
	sh := x.Shape()
	if sh.Dims() != 4 {
		s.err = fmt.Errorf("graph: global average pooling of shape %v, want (batch, channels, height, width)", sh)
		return nil
	}
	m := s.Must(gorgonia.Mean(s.reshape(x, sh[0]*sh[1], sh[2]*sh[3]), 1))
	return s.reshape(m, sh[0], sh[1])
}

// Flatten returns x of shape (batch, d1, d2, …) as (batch, d1·d2·…), in
// row-major order (PyTorch's x.view(batch, −1)): the input of a dense
// head or of a feature map (Scope.Feature).
func (s *Scope) Flatten(x *Node) *Node {
	if s.failed(x) {
		return nil
	}
	sh := x.Shape()
	return s.reshape(x, sh[0], sh.TotalSize()/sh[0])
}

// Add returns a + b for two nodes of one shape: the sum of a residual
// block and its shortcut.
func (s *Scope) Add(a, b *Node) *Node {
	if s.failed(a, b) {
		return nil
	}
	if !a.Shape().Eq(b.Shape()) {
		s.err = fmt.Errorf("graph: adding shapes %v and %v", a.Shape(), b.Shape())
		return nil
	}
	return s.Must(gorgonia.Add(a, b))
}
