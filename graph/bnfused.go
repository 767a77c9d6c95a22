package graph

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Training programs (Compile) are differentiated once, so their batch
// normalisation in train mode can be one fused operation with a
// hand-written gradient, which reads and writes a quarter of the memory
// that the composed form's automatic gradient does. The Hessian
// (CompileHVP) differentiates twice and keeps the composed form, whose
// derivatives of every order are exact (see Scope.BatchNorm); HVP.Check
// compares the two (the Hessian against differences of the fused
// gradients).
//
//	bnTrain(x, γ, β)     = (x − μ)·γ/σ + β                 (b, c, r)
//	bnGradStats(x, g)    = [Σ g; Σ g·x̂] per channel         (2, c)
//	bnGradX(x, g, γ, s)  = γ/σ·(g − s₀/m − x̂·s₁/m)          (b, c, r)
//	bnRow_i(s)           = s[i]                             (c)
//
// with μ, σ² the mean and biased variance of each channel over the m =
// b·r values, σ = √(σ² + eps) and x̂ = (x − μ)/σ. The gradient of bnTrain
// with respect to x is bnGradX, to γ bnRow_1 of the statistics, to β
// bnRow_0. The backward operations read μ and σ from the forward
// operation's scratch (it runs first in every run, as they depend on
// its output through the gradient); sums are taken in float64.
type bnKind int

const (
	bnTrain bnKind = iota
	bnGradStats
	bnGradX
	bnRow0
	bnRow1
)

var bnNames = [...]string{"bn_train", "bn_grad_stats", "bn_grad_x", "bn_row0", "bn_row1"}

// bnScratch holds the statistics of the last run of a bnTrain.
type bnScratch struct {
	mean, vr, inv []float64 // per channel: μ, biased σ², 1/√(σ²+eps)
}

type bnOp struct {
	opBase
	kind    bnKind
	b, c, r int
	eps     float64
	st      *bnScratch
}

func newBNOp(kind bnKind, b, c, r int, eps float64, st *bnScratch) bnOp {
	in, out := []int{3, 1, 1}, 3
	switch kind {
	case bnGradStats:
		in, out = []int{3, 3}, 2
	case bnGradX:
		in = []int{3, 3, 1, 2}
	case bnRow0, bnRow1:
		in, out = []int{2}, 1
	}
	name := fmt.Sprintf("%s %dx%dx%d eps %g %p", bnNames[kind], b, c, r, eps, st)
	return bnOp{opBase{name, in, out}, kind, b, c, r, eps, st}
}

func (op bnOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	return inferShape(op, ds)
}

func (op bnOp) outShape(in ...tensor.Shape) (tensor.Shape, error) {
	full, vec, stats := tensor.Shape{op.b, op.c, op.r}, tensor.Shape{op.c}, tensor.Shape{2, op.c}
	var want []tensor.Shape
	out := full
	switch op.kind {
	case bnTrain:
		want = []tensor.Shape{full, vec, vec}
	case bnGradStats:
		want, out = []tensor.Shape{full, full}, stats
	case bnGradX:
		want = []tensor.Shape{full, full, vec, stats}
	case bnRow0, bnRow1:
		want, out = []tensor.Shape{stats}, vec
	}
	for i, s := range in {
		if !s.Eq(want[i]) || s.Dims() != want[i].Dims() {
			return nil, fmt.Errorf("%v: operand %d of shape %v, want %v", op, i, s, want[i])
		}
	}
	return out, nil
}

func (op bnOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) { return doOwn(op, vs) }

func (op bnOp) compute(out any, in []any) {
	switch o := out.(type) {
	case []float64:
		bnCompute(op, o, typed[float64](in))
	case []float32:
		bnCompute(op, o, typed[float32](in))
	}
}

// typed returns the operands as slices of T (at most four, no
// allocation).
func typed[T float](in []any) (ts [4][]T) {
	for i, v := range in {
		ts[i] = v.([]T)
	}
	return ts
}

func bnCompute[T float](op bnOp, out []T, in [4][]T) {
	b, c, r := op.b, op.c, op.r
	m := float64(b * r)
	st := op.st
	switch op.kind {
	case bnTrain:
		x, gamma, beta := in[0], in[1], in[2]
		if len(st.mean) != c {
			st.mean, st.vr, st.inv = make([]float64, c), make([]float64, c), make([]float64, c)
		}
		for j := 0; j < c; j++ {
			var s float64
			for i := 0; i < b; i++ {
				s += sum64(x[(i*c+j)*r:][:r])
			}
			mu := s / m
			var ss float64
			for i := 0; i < b; i++ {
				ss += sqDev64(x[(i*c+j)*r:][:r], mu)
			}
			vr := ss / m
			inv := 1 / math.Sqrt(vr+op.eps)
			st.mean[j], st.vr[j], st.inv[j] = mu, vr, inv
			a, muT, bt := T(float64(gamma[j])*inv), T(mu), beta[j]
			for i := 0; i < b; i++ {
				off := (i*c + j) * r
				normalize(out[off:off+r], x[off:off+r], muT, a, bt)
			}
		}
	case bnGradStats:
		// Σ g·x̂ = (Σ g·x − μ·Σ g)/σ, both sums in float64.
		x, g := in[0], in[1]
		for j := 0; j < c; j++ {
			var sg, sgx float64
			for i := 0; i < b; i++ {
				off := (i*c + j) * r
				a, d := sumDot64(g[off:off+r], x[off:off+r])
				sg += a
				sgx += d
			}
			out[j], out[c+j] = T(sg), T((sgx-st.mean[j]*sg)*st.inv[j])
		}
	case bnGradX:
		// γ/σ·(g − mean g − x̂·mean(g·x̂)) = A·g + B·x + C per channel.
		x, g, gamma, s := in[0], in[1], in[2], in[3]
		for j := 0; j < c; j++ {
			mu, inv := st.mean[j], st.inv[j]
			scale := float64(gamma[j]) * inv
			mg, mgx := float64(s[j])/m, float64(s[c+j])/m
			A, B := T(scale), T(-scale*mgx*inv)
			C := T(-scale*mg + scale*mgx*inv*mu)
			for i := 0; i < b; i++ {
				off := (i*c + j) * r
				gradX(out[off:off+r], x[off:off+r], g[off:off+r], A, B, C)
			}
		}
	case bnRow0:
		copy(out, in[0][:c])
	case bnRow1:
		copy(out, in[0][c:2*c])
	}
}

// normalize sets dst to (x − mu)·a + b.
func normalize[T float](dst, x []T, mu, a, b T) {
	x = x[:len(dst)]
	k := 0
	if d, ok := any(dst).([]float32); ok && elemAsm && len(d) >= 8 {
		k = len(d) &^ 7
		bnAffineAVX2(k, &any(x).([]float32)[0], &d[0], float32(mu), float32(a), float32(b))
	}
	for ; k < len(dst); k++ {
		dst[k] = (x[k]-mu)*a + b
	}
}

// gradX sets dst to A·g + B·x + C, added in that order.
func gradX[T float](dst, x, g []T, A, B, C T) {
	x, g = x[:len(dst)], g[:len(dst)]
	k := 0
	if d, ok := any(dst).([]float32); ok && elemAsm && len(d) >= 8 {
		k = len(d) &^ 7
		bnGradAVX2(k, &any(x).([]float32)[0], &any(g).([]float32)[0], &d[0], float32(A), float32(B), float32(C))
	}
	for ; k < len(dst); k++ {
		dst[k] = A*g[k] + B*x[k] + C
	}
}

// sum64 returns Σ x in float64, in four interleaved partial sums.
func sum64[T float](x []T) float64 {
	var s [4]float64
	k := 0
	if xs, ok := any(x).([]float32); ok && elemAsm && len(xs) >= 4 {
		k = len(xs) &^ 3
		sum4AVX2(k, &xs[0], &s)
	}
	for ; k+4 <= len(x); k += 4 {
		s[0] += float64(x[k])
		s[1] += float64(x[k+1])
		s[2] += float64(x[k+2])
		s[3] += float64(x[k+3])
	}
	for ; k < len(x); k++ {
		s[0] += float64(x[k])
	}
	return (s[0] + s[1]) + (s[2] + s[3])
}

// sqDev64 returns Σ (x − mu)² in float64, in four partial sums.
func sqDev64[T float](x []T, mu float64) float64 {
	var s [4]float64
	k := 0
	if xs, ok := any(x).([]float32); ok && elemAsm && len(xs) >= 4 {
		k = len(xs) &^ 3
		sqDev4AVX2(k, &xs[0], mu, &s)
	}
	for ; k+4 <= len(x); k += 4 {
		d0, d1, d2, d3 := float64(x[k])-mu, float64(x[k+1])-mu, float64(x[k+2])-mu, float64(x[k+3])-mu
		s[0] += d0 * d0
		s[1] += d1 * d1
		s[2] += d2 * d2
		s[3] += d3 * d3
	}
	for ; k < len(x); k++ {
		d := float64(x[k]) - mu
		s[0] += d * d
	}
	return (s[0] + s[1]) + (s[2] + s[3])
}

// sumDot64 returns Σ g and Σ g·x in float64, in four partial sums each.
func sumDot64[T float](g, x []T) (sg, sgx float64) {
	x = x[:len(g)]
	var s [8]float64 // Σ g, then Σ g·x
	k := 0
	if gs, ok := any(g).([]float32); ok && elemAsm && len(gs) >= 4 {
		k = len(gs) &^ 3
		sumDot4AVX2(k, &gs[0], &any(x).([]float32)[0], &s)
	}
	for ; k+4 <= len(g); k += 4 {
		for l := range 4 {
			gl := float64(g[k+l])
			s[l] += gl
			s[4+l] += gl * float64(x[k+l])
		}
	}
	for ; k < len(g); k++ {
		s[0] += float64(g[k])
		s[4] += float64(g[k]) * float64(x[k])
	}
	return (s[0] + s[1]) + (s[2] + s[3]), (s[4] + s[5]) + (s[6] + s[7])
}

func (op bnOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	return d
}

// SymDiff differentiates bnTrain; the backward operations are for
// first-order programs only and refuse a second derivative (a Hessian
// uses the composed batch norm instead).
func (op bnOp) SymDiff(inputs gorgonia.Nodes, output, grad *Node) (gorgonia.Nodes, error) {
	if op.kind != bnTrain {
		return nil, fmt.Errorf("graph: %v has no derivative: fused batch norm is for first-order programs", op)
	}
	apply := func(kind bnKind, ns ...*Node) (*Node, error) {
		return gorgonia.ApplyOp(newBNOp(kind, op.b, op.c, op.r, op.eps, op.st), ns...)
	}
	stats, err := apply(bnGradStats, inputs[0], grad)
	if err != nil {
		return nil, fmt.Errorf("%v: gradient: %w", op, err)
	}
	dx, err := apply(bnGradX, inputs[0], grad, inputs[1], stats)
	if err != nil {
		return nil, fmt.Errorf("%v: gradient: %w", op, err)
	}
	dgamma, err := apply(bnRow1, stats)
	if err != nil {
		return nil, fmt.Errorf("%v: gradient: %w", op, err)
	}
	dbeta, err := apply(bnRow0, stats)
	if err != nil {
		return nil, fmt.Errorf("%v: gradient: %w", op, err)
	}
	return gorgonia.Nodes{dx, dgamma, dbeta}, nil
}
