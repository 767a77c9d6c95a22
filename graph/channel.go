package graph

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The channel operations act on tensors of shape (b, c, r) — NCHW
// activations with r = h·w, or (batch, c) ones with r = 1 — together
// with per-channel vectors of shape (c):
//
//	chanScale(x, a)  = x[i,j,k]·a[j]         (b, c, r)
//	chanShift(x, s)  = x[i,j,k] + s[j]       (b, c, r)
//	chanBcast(s)     = s[j]                  (b, c, r)
//	chanSum(x)       = Σ_{i,k} x[i,j,k]      (c)
//	chanDot(x, y)    = Σ_{i,k} x·y[i,j,k]    (c)
//	chanSumSq(x)     = Σ_{i,k} x[i,j,k]²     (c)
//	chanAffine(x,a,s) = x[i,j,k]·a[j] + s[j] (b, c, r)
//	chanCenter(x)    = x − chanSum(x)/(b·r)  (b, c, r)
//
// chanCenter, the projection that removes each channel's mean, is linear
// and symmetric, so its derivative is chanCenter of the gradient.
//
// Batch normalisation is composed of them. They read and write NCHW
// memory in place of order, so batch normalisation needs no transposes
// and no broadcast copies, and the family is closed under
// differentiation (the derivative of each is a combination of the
// others), so batch normalisation has exact derivatives of every order.
type chanKind int

const (
	chanScale chanKind = iota
	chanShift
	chanBcast
	chanSum
	chanDot
	chanSumSq
	chanAffine
	chanCenter
)

var chanNames = [...]string{"chan_scale", "chan_shift", "chan_bcast", "chan_sum", "chan_dot", "chan_sumsq", "chan_affine", "chan_center"}

// chanOp is one channel operation on tensors of shape (b, c, r).
type chanOp struct {
	opBase
	kind    chanKind
	b, c, r int
}

func newChan(kind chanKind, b, c, r int) chanOp {
	in, out := []int{3, 1}, 3
	switch kind {
	case chanBcast:
		in = []int{1}
	case chanCenter:
		in = []int{3}
	case chanAffine:
		in = []int{3, 1, 1}
	case chanSum, chanSumSq:
		in, out = []int{3}, 1
	case chanDot:
		in, out = []int{3, 3}, 1
	}
	return chanOp{opBase{fmt.Sprintf("%s %dx%dx%d", chanNames[kind], b, c, r), in, out}, kind, b, c, r}
}

func (op chanOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	return inferShape(op, ds)
}

func (op chanOp) outShape(in ...tensor.Shape) (tensor.Shape, error) {
	full, vec := tensor.Shape{op.b, op.c, op.r}, tensor.Shape{op.c}
	want, out := []tensor.Shape{full, vec}, full
	switch op.kind {
	case chanBcast:
		want = []tensor.Shape{vec}
	case chanCenter:
		want = []tensor.Shape{full}
	case chanAffine:
		want = []tensor.Shape{full, vec, vec}
	case chanSum, chanSumSq:
		want, out = []tensor.Shape{full}, vec
	case chanDot:
		want, out = []tensor.Shape{full, full}, vec
	}
	for i, s := range in {
		if !s.Eq(want[i]) {
			return nil, fmt.Errorf("%v: operand %d of shape %v, want %v", op, i, s, want[i])
		}
	}
	return out, nil
}

func (op chanOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) { return doOwn(op, vs) }

func (op chanOp) compute(out any, in []any) {
	switch o := out.(type) {
	case []float64:
		chanCompute(op, o, in[0].([]float64), second[float64](in), third[float64](in))
	case []float32:
		chanCompute(op, o, in[0].([]float32), second[float32](in), third[float32](in))
	}
}

func third[T float](in []any) []T {
	if len(in) < 3 {
		return nil
	}
	return in[2].([]T)
}

// chanCompute runs op on x (and y, z, its further operands) into out.
// The reductions add four interleaved partial sums per run of r values
// (memory order within each), per channel, then the runs in order.
func chanCompute[T float](op chanOp, out, x, y, z []T) {
	b, c, r := op.b, op.c, op.r
	switch op.kind {
	case chanAffine:
		for i := 0; i < b; i++ {
			for j := 0; j < c; j++ {
				off := (i*c + j) * r
				src, dst, a, s := x[off:off+r], out[off:off+r], y[j], z[j]
				for k, u := range src {
					dst[k] = u*a + s
				}
			}
		}
	case chanCenter:
		inv := 1 / T(b*r)
		for j := 0; j < c; j++ {
			var s T
			for i := 0; i < b; i++ {
				s += sum4(x[(i*c+j)*r:][:r])
			}
			m := s * inv
			for i := 0; i < b; i++ {
				off := (i*c + j) * r
				src, dst := x[off:off+r], out[off:off+r]
				for k, u := range src {
					dst[k] = u - m
				}
			}
		}
	case chanScale, chanShift:
		for i := 0; i < b; i++ {
			for j := 0; j < c; j++ {
				off := (i*c + j) * r
				src, dst, v := x[off:off+r], out[off:off+r], y[j]
				if op.kind == chanScale {
					for k, u := range src {
						dst[k] = u * v
					}
				} else {
					for k, u := range src {
						dst[k] = u + v
					}
				}
			}
		}
	case chanBcast:
		for i := 0; i < b; i++ {
			for j := 0; j < c; j++ {
				dst, v := out[(i*c+j)*r:][:r], x[j]
				for k := range dst {
					dst[k] = v
				}
			}
		}
	case chanSum, chanSumSq, chanDot:
		clear(out)
		for i := 0; i < b; i++ {
			for j := 0; j < c; j++ {
				off := (i*c + j) * r
				src := x[off : off+r]
				switch op.kind {
				case chanSum:
					out[j] += sum4(src)
				case chanSumSq:
					out[j] += dot4(src, src)
				default:
					out[j] += dot4(src, y[off:off+r])
				}
			}
		}
	}
}

// sum4 returns the sum of x in four interleaved partial sums, added
// pairwise at the end: four independent additions per step instead of a
// chain of dependent ones.
func sum4[T float](x []T) T {
	var s0, s1, s2, s3 T
	k := 0
	for ; k+4 <= len(x); k += 4 {
		s0 += x[k]
		s1 += x[k+1]
		s2 += x[k+2]
		s3 += x[k+3]
	}
	for ; k < len(x); k++ {
		s0 += x[k]
	}
	return (s0 + s1) + (s2 + s3)
}

// dot4 is sum4 of the products x[k]·y[k].
func dot4[T float](x, y []T) T {
	y = y[:len(x)]
	var s0, s1, s2, s3 T
	k := 0
	for ; k+4 <= len(x); k += 4 {
		s0 += x[k] * y[k]
		s1 += x[k+1] * y[k+1]
		s2 += x[k+2] * y[k+2]
		s3 += x[k+3] * y[k+3]
	}
	for ; k < len(x); k++ {
		s0 += x[k] * y[k]
	}
	return (s0 + s1) + (s2 + s3)
}

func (op chanOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	return d
}

// SymDiff returns the derivatives, each a channel operation again:
//
//	chanScale(x, a): chanScale(g, a), chanDot(g, x)
//	chanShift(x, s): g, chanSum(g)
//	chanBcast(s):    chanSum(g)
//	chanSum(x):      chanBcast(g)
//	chanDot(x, y):   chanScale(y, g), chanScale(x, g)
//	chanSumSq(x):    chanScale(x, 2g)
//	chanAffine(x, a, s): chanScale(g, a), chanDot(g, x), chanSum(g)
//	chanCenter(x):   chanCenter(g)
func (op chanOp) SymDiff(inputs gorgonia.Nodes, output, grad *Node) (gorgonia.Nodes, error) {
	apply := func(kind chanKind, ns ...*Node) (*Node, error) {
		return gorgonia.ApplyOp(newChan(kind, op.b, op.c, op.r), ns...)
	}
	var ds gorgonia.Nodes
	var err error
	one := func(n *Node, e error) {
		if err == nil {
			err = e
		}
		ds = append(ds, n)
	}
	switch op.kind {
	case chanScale:
		one(apply(chanScale, grad, inputs[1]))
		one(apply(chanDot, grad, inputs[0]))
	case chanShift:
		ds = append(ds, grad)
		one(apply(chanSum, grad))
	case chanAffine:
		one(apply(chanScale, grad, inputs[1]))
		one(apply(chanDot, grad, inputs[0]))
		one(apply(chanSum, grad))
	case chanCenter:
		one(apply(chanCenter, grad))
	case chanBcast:
		one(apply(chanSum, grad))
	case chanSum:
		one(apply(chanBcast, grad))
	case chanDot:
		one(apply(chanScale, inputs[1], grad))
		one(apply(chanScale, inputs[0], grad))
	case chanSumSq:
		two := gorgonia.NewConstant(2.0)
		if grad.Dtype() == tensor.Float32 {
			two = gorgonia.NewConstant(float32(2))
		}
		g2, e := gorgonia.Mul(grad, two)
		if e != nil {
			return nil, fmt.Errorf("%v: gradient: %w", op, e)
		}
		one(apply(chanScale, inputs[0], g2))
	}
	if err != nil {
		return nil, fmt.Errorf("%v: gradient: %w", op, err)
	}
	return ds, nil
}

// reluOp is max(x, 0) on a tensor of any rank (relu), and its derivative
// g where x > 0, else 0 (reluMask(x, g)); with geq, g where x ≥ 0: then
// it is Gorgonia's Rectify bit for bit, values and gradient, which
// differs from the other only in the gradient at x = ±0. The mask is
// linear in g and constant in x almost everywhere, so reluMask's
// derivatives are reluMask(x, ·) with respect to g and zero with respect
// to x: exact to every order, in one pass each (Rectify takes a
// comparison and a product, two passes and a mask buffer, for the same
// derivative).
type reluOp struct {
	opBase
	mask, geq bool
	dims      int
}

func newRelu(mask, geq bool, dims int) reluOp {
	name := "relu"
	if geq {
		name = "rectify"
	}
	if mask {
		return reluOp{opBase{fmt.Sprintf("%s_mask%d", name, dims), []int{dims, dims}, dims}, true, geq, dims}
	}
	return reluOp{opBase{fmt.Sprintf("%s%d", name, dims), []int{dims}, dims}, false, geq, dims}
}

func (op reluOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	return inferShape(op, ds)
}

func (op reluOp) outShape(in ...tensor.Shape) (tensor.Shape, error) {
	if in[0].Dims() != op.dims || (op.mask && !in[1].Eq(in[0])) {
		return nil, fmt.Errorf("%v: operands of shapes %v", op, in)
	}
	return in[0].Clone(), nil
}

func (op reluOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) { return doOwn(op, vs) }

func (op reluOp) compute(out any, in []any) {
	switch o := out.(type) {
	case []float64:
		relu(op.mask, op.geq, o, in[0].([]float64), second[float64](in))
	case []float32:
		relu(op.mask, op.geq, o, in[0].([]float32), second[float32](in))
	}
}

func relu[T float](mask, geq bool, out, x, g []T) {
	x = x[:len(out)]
	k := 0
	if o, ok := any(out).([]float32); ok && elemAsm && len(o) >= 8 {
		k = len(o) &^ 7
		xs := any(x).([]float32)
		if mask {
			reluMaskAVX2(k, &xs[0], &any(g).([]float32)[:len(o)][0], &o[0], geq)
		} else {
			reluAVX2(k, &xs[0], &o[0])
		}
	}
	if !mask {
		// v·[v > 0] with the branch-free 0 or 1 of one: the builtin max
		// handles NaN and signed zeros with extra instructions that made
		// this loop three times slower. (v·[v ≥ 0] is the same value
		// for every v, ±0 and NaN included, so geq needs no loop of its
		// own.)
		for i := k; i < len(x); i++ {
			out[i] = x[i] * one[T](x[i] > 0)
		}
		return
	}
	g = g[:len(out)]
	// A product with a branch-free 0 or 1 (see one): the sign of
	// pre-activations is random, and a branch would mispredict half of
	// the time.
	if geq {
		for i := k; i < len(x); i++ {
			out[i] = g[i] * one[T](x[i] >= 0)
		}
		return
	}
	for i := k; i < len(x); i++ {
		out[i] = g[i] * one[T](x[i] > 0)
	}
}

func (op reluOp) DiffWRT(n int) []bool {
	if op.mask {
		return []bool{false, true}
	}
	return []bool{true}
}

func (op reluOp) SymDiff(inputs gorgonia.Nodes, output, grad *Node) (gorgonia.Nodes, error) {
	d, err := gorgonia.ApplyOp(newRelu(true, op.geq, op.dims), inputs[0], grad)
	if err != nil {
		return nil, fmt.Errorf("%v: gradient: %w", op, err)
	}
	if op.mask {
		return gorgonia.Nodes{nil, d}, nil
	}
	return gorgonia.Nodes{d}, nil
}
