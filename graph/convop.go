package graph

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"sgdlab/internal/gemm"
)

// A convolution is three operations on one window geometry g and cout
// output channels, with W the filters as a (cout, c·k·k) matrix and
// im2col, col2im the unfolding of this package (see im2col):
//
//	conv(x, W)        = W·im2col(x)           (batch, cout, oh, ow)
//	convData(y, W)    = col2im(Wᵀ·y)          (batch, c, h, w)
//	convFilter(y, x)  = y·im2col(x)ᵀ          (cout, c·k·k)
//
// with y of shape (batch, cout, oh, ow) read as a (cout, batch·oh·ow)
// matrix. Each is bilinear and the family is closed under
// differentiation — the derivatives of conv are convData and convFilter,
// of convData conv and convFilter, of convFilter conv and convData — so
// convolutions have exact derivatives of every order (Gorgonia's own
// col2im has none).
//
// Each operation works a group of images at a time, about convChunk
// output positions, so that what the product reads is still in cache
// and no (c·k·k, batch·oh·ow) buffer is ever held. Stride-1 operations
// on images large enough read the windows in place from a grid of the
// padded images (see grid), convData as the convolution of y with turned
// filters; the others unfold the group into a scratch buffer.
type convKind int

const (
	convFwd convKind = iota
	convData
	convFilter
)

var convNames = [...]string{"conv", "conv_data", "conv_filter"}

// convChunk is the target number of output positions per product (a
// variable for the tests of smaller groups). The unfolded columns of a
// group are written and then read by the product, so they should stay in
// cache; on the 2-core AMD EPYC of the measurements resnet_tiny's step
// was fastest at 1024 (a group's columns 0.6 MB in its first stage),
// about 10 % faster than at 8192, though the shared machine's noise is
// of the same order.
var convChunk = 1024

// convOp is one of the convolution operations.
type convOp struct {
	opBase
	kind convKind
	g    window
	cout int
	// sc holds the scratch buffers, sized at the first run; operations
	// equal in name may share it, as programs run one step at a time.
	sc *convScratch
}

type convScratch struct {
	s    convBufs[float32]
	d    convBufs[float64]
	offs []int // a grid's row offsets
}

// convBufs are the scratch buffers of one precision: cols for a group's
// unfolded columns or grid, tmp for a product's operand or result,
// turned for turned filters.
type convBufs[T float] struct {
	cols, tmp, turned []T
}

func newConvOp(kind convKind, g window, cout int) convOp {
	in, out := []int{4, 2}, 4
	switch kind {
	case convData:
		in = []int{4, 2}
	case convFilter:
		in, out = []int{4, 4}, 2
	}
	name := fmt.Sprintf("%s %s to %d", convNames[kind], g, cout)
	return convOp{opBase{name, in, out}, kind, g, cout, new(convScratch)}
}

func (op convOp) ckk() int { return op.g.c * op.g.k * op.g.k }

func (op convOp) yShape() tensor.Shape { return tensor.Shape{op.g.batch, op.cout, op.g.oh, op.g.ow} }

func (op convOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	return inferShape(op, ds)
}

func (op convOp) outShape(in ...tensor.Shape) (tensor.Shape, error) {
	w := tensor.Shape{op.cout, op.ckk()}
	var want []tensor.Shape
	var out tensor.Shape
	switch op.kind {
	case convFwd:
		want, out = []tensor.Shape{op.g.inShape(), w}, op.yShape()
	case convData:
		want, out = []tensor.Shape{op.yShape(), w}, op.g.inShape()
	case convFilter:
		want, out = []tensor.Shape{op.yShape(), op.g.inShape()}, w
	}
	for i, s := range in {
		if !s.Eq(want[i]) {
			return nil, fmt.Errorf("%v: operand %d of shape %v, want %v", op, i, s, want[i])
		}
	}
	return out, nil
}

func (op convOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) { return doOwn(op, vs) }

func (op convOp) compute(out any, in []any) {
	switch o := out.(type) {
	case []float64:
		kern := convKernels[float64]{dgemm, gemm.DgemmRows}
		convCompute(op, o, in[0].([]float64), in[1].([]float64), &op.sc.d, &op.sc.offs, kern)
	case []float32:
		kern := convKernels[float32]{sgemm, gemm.SgemmRows}
		convCompute(op, o, in[0].([]float32), in[1].([]float32), &op.sc.s, &op.sc.offs, kern)
	}
}

// convKernels are the products of a convolution: of stored matrices, on
// blasImpl, and of a matrix whose rows lie at offsets of a grid (see
// grid), on sgdlab's kernels.
type convKernels[T float] struct {
	gemm gemmFunc[T]
	rows rowsFunc[T]
}

// rowsFunc is gemm.SgemmRows or gemm.DgemmRows.
type rowsFunc[T float] func(trans bool, m, n, k int, alpha T, a []T, lda int, b []T, rows []int, beta T, c []T, ldc int)

// gemmFunc is a BLAS gemm with α = 1.
type gemmFunc[T float] func(tA, tB blas.Transpose, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)

func sgemm(tA, tB blas.Transpose, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	blasImpl.Sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}

func dgemm(tA, tB blas.Transpose, m, n, k int, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	blasImpl.Dgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}

// convCompute runs op on its operands a and b into out, a group of
// images at a time: on grids where they pay (stride 1 on large enough
// images), else unfolding the group's images.
func convCompute[T float](op convOp, out, a, b []T, sc *convBufs[T], offsBuf *[]int, kern convKernels[T]) {
	g, cout, ckk := op.g, op.cout, op.ckk()
	colsBuf, tmpBuf := &sc.cols, &sc.tmp
	if _, ok := newGrid(g); ok && op.kind != convData {
		convGrid(op.kind == convFwd, g, cout, out, a, b, colsBuf, tmpBuf, offsBuf, kern.rows)
		return
	}
	if op.kind == convData && g.stride == 1 {
		// A stride-1 convolution's adjoint is the convolution of y with
		// the filters turned by 180° and their channels swapped, padded
		// by k−1−pad: on a grid, a product with c output rows instead of
		// c·k·k and no folding of columns back.
		adj := window{batch: g.batch, c: cout, h: g.oh, w: g.ow, k: g.k, stride: 1, pad: g.k - 1 - g.pad, oh: g.h, ow: g.w}
		if _, ok := newGrid(adj); ok {
			convGrid(true, adj, g.c, out, a, turnFilters(b, &sc.turned, cout, g.c, g.k), colsBuf, tmpBuf, offsBuf, kern.rows)
			return
		}
	}
	gemm := kern.gemm
	ohw, chw := g.oh*g.ow, g.c*g.h*g.w
	group := groupImages(g.batch, ohw)
	grow(colsBuf, ckk*group*ohw)
	grow(tmpBuf, cout*group*ohw)
	for b0 := 0; b0 < g.batch; b0 += group {
		b1 := min(g.batch, b0+group)
		n := (b1 - b0) * ohw
		cols, tmp := (*colsBuf)[:ckk*n], (*tmpBuf)[:cout*n]
		sub := g
		sub.batch = b1 - b0
		switch op.kind {
		case convFwd: // a = x, b = W
			convFwdGroup(sub, cout, b0, a[b0*chw:b1*chw], b, cols, tmp, out, gemm)
		case convData: // a = y, b = W
			y := groupOf(a, tmp, b0, b1, cout, ohw)
			gemm(blas.Trans, blas.NoTrans, ckk, n, cout, b, ckk, y, n, 0, cols, n)
			// The group's images are cleared just before the folding
			// adds into them, while they are in cache.
			col2im(sub, cols, out[b0*chw:b1*chw])
		case convFilter: // a = y, b = x
			y := groupOf(a, tmp, b0, b1, cout, ohw)
			im2col(sub, b[b0*chw:b1*chw], cols)
			beta := T(1)
			if b0 == 0 {
				beta = 0
			}
			gemm(blas.NoTrans, blas.Trans, cout, ckk, n, y, n, cols, n, beta, out, ckk)
		}
	}
}

// convGrid runs the convolution of geometry g to cout channels (fwd: a
// = x, b = W) or its filter gradient (a = y, b = x) on grids, a group of
// images at a time.
func convGrid[T float](fwd bool, g window, cout int, out, a, b []T, stackBuf, tmpBuf *[]T, offsBuf *[]int, rows rowsFunc[T]) {
	ckk := g.c * g.k * g.k
	ohw, chw := g.oh*g.ow, g.c*g.h*g.w
	full, _ := newGrid(g)
	group := groupImages(g.batch, full.imgStride)
	offs := grow(offsBuf, ckk)
	for b0 := 0; b0 < g.batch; b0 += group {
		b1 := min(g.batch, b0+group)
		sub := g
		sub.batch = b1 - b0
		gr, _ := newGrid(sub)
		if b0 == 0 || b1-b0 < group {
			gr.rows(offs)
		}
		xp := grow(stackBuf, g.c*gr.size)
		tmp := grow(tmpBuf, cout*gr.positions)
		if fwd {
			stack(gr, a[b0*chw:b1*chw], xp)
			rows(false, cout, gr.positions, ckk, 1, b, ckk, xp, offs, 0, tmp, gr.positions)
			gather(gr, cout, tmp, out[b0*cout*ohw:b1*cout*ohw])
			continue
		}
		stack(gr, b[b0*chw:b1*chw], xp)
		spread(gr, cout, a[b0*cout*ohw:b1*cout*ohw], tmp)
		beta := T(1)
		if b0 == 0 {
			beta = 0
		}
		rows(true, cout, ckk, gr.positions, 1, tmp, gr.positions, xp, offs, beta, out, ckk)
	}
}

// turnFilters returns in *buf the filters w, (cout, cin, k, k), with
// input and output channels swapped and each k×k filter turned by 180°:
// (cin, cout, k, k) with entry (ci, co, i, j) = w[co, ci, k−1−i, k−1−j].
func turnFilters[T float](w []T, buf *[]T, cout, cin, k int) []T {
	kk := k * k
	t := grow(buf, cout*cin*kk)
	for co := range cout {
		for ci := range cin {
			src := w[(co*cin+ci)*kk:][:kk]
			dst := t[(ci*cout+co)*kk:][:kk]
			for i, v := range src {
				dst[kk-1-i] = v
			}
		}
	}
	return t
}

// groupImages is the number of images of a group: about convChunk
// product columns, positions columns per image, at least one image.
func groupImages(batch, positions int) int { return max(1, min(batch, convChunk/positions)) }

// grow returns (*buf)[:n], reallocating *buf if it is shorter.
func grow[T any](buf *[]T, n int) []T {
	if len(*buf) < n {
		*buf = make([]T, n)
	}
	return (*buf)[:n]
}

// convFwdGroup computes the convolution of the images x of group sub,
// the first of which is image b0 of out, with the filters w.
func convFwdGroup[T float](sub window, cout, b0 int, x, w, cols, tmp, out []T, gemm gemmFunc[T]) {
	ckk, ohw := sub.c*sub.k*sub.k, sub.oh*sub.ow
	n := sub.batch * ohw
	im2col(sub, x, cols)
	if sub.batch == 1 {
		gemm(blas.NoTrans, blas.NoTrans, cout, n, ckk, w, ckk, cols, n, 0, out[b0*cout*ohw:][:cout*n], n)
		return
	}
	gemm(blas.NoTrans, blas.NoTrans, cout, n, ckk, w, ckk, cols, n, 0, tmp, n)
	for c := 0; c < cout; c++ {
		for i := 0; i < sub.batch; i++ {
			copy(out[((b0+i)*cout+c)*ohw:][:ohw], tmp[c*n+i*ohw:][:ohw])
		}
	}
}

// groupOf returns images [b0, b1) of y, shape (batch, cout, ohw), as a
// (cout, (b1−b0)·ohw) matrix: the images' own memory for a group of one,
// else gathered into tmp.
func groupOf[T float](y, tmp []T, b0, b1, cout, ohw int) []T {
	n := (b1 - b0) * ohw
	if b1-b0 == 1 {
		return y[b0*cout*ohw:][:cout*n]
	}
	for c := 0; c < cout; c++ {
		for i := b0; i < b1; i++ {
			copy(tmp[c*n+(i-b0)*ohw:][:ohw], y[(i*cout+c)*ohw:][:ohw])
		}
	}
	return tmp[:cout*n]
}

func (op convOp) DiffWRT(int) []bool { return []bool{true, true} }

// SymDiff returns the derivatives with respect to both operands, as
// operations of the family (see convKind).
func (op convOp) SymDiff(inputs gorgonia.Nodes, output, grad *Node) (gorgonia.Nodes, error) {
	apply := func(kind convKind, a, b *Node) (*Node, error) {
		return gorgonia.ApplyOp(newConvOp(kind, op.g, op.cout), a, b)
	}
	var d0, d1 *Node
	var err0, err1 error
	switch op.kind {
	case convFwd: // conv(x, W)
		d0, err0 = apply(convData, grad, inputs[1])
		d1, err1 = apply(convFilter, grad, inputs[0])
	case convData: // convData(y, W)
		d0, err0 = apply(convFwd, grad, inputs[1])
		d1, err1 = apply(convFilter, inputs[0], grad)
	case convFilter: // convFilter(y, x)
		d0, err0 = apply(convFwd, inputs[1], grad)
		d1, err1 = apply(convData, inputs[0], grad)
	}
	if err0 != nil || err1 != nil {
		return nil, fmt.Errorf("%v: gradient: %w", op, errorsJoin(err0, err1))
	}
	return gorgonia.Nodes{d0, d1}, nil
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
