package graph

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// window is the geometry of a k×k sliding window over (batch, c, h, w)
// tensors, with a stride and zero padding on every side: a convolution's
// receptive field or a pooling window. The output is oh×ow positions.
type window struct {
	batch, c, h, w int
	k, stride, pad int
	oh, ow         int
}

// newWindow returns the geometry of a k×k window with the given stride
// and padding over inputs of shape (batch, c, h, w), or an error naming
// what does not fit.
func newWindow(x tensor.Shape, k, stride, pad int) (window, error) {
	if x.Dims() != 4 {
		return window{}, fmt.Errorf("input of shape %v, want (batch, channels, height, width)", x)
	}
	g := window{batch: x[0], c: x[1], h: x[2], w: x[3], k: k, stride: stride, pad: pad}
	if k < 1 || stride < 1 || pad < 0 || pad >= k {
		return window{}, fmt.Errorf("window %d×%d with stride %d and padding %d: need k ≥ 1, stride ≥ 1, 0 ≤ padding < k", k, k, stride, pad)
	}
	if g.h+2*pad < k || g.w+2*pad < k {
		return window{}, fmt.Errorf("window %d×%d does not fit an input of %d×%d with padding %d", k, k, g.h, g.w, pad)
	}
	g.oh = (g.h+2*pad-k)/stride + 1
	g.ow = (g.w+2*pad-k)/stride + 1
	return g, nil
}

func (g window) inShape() tensor.Shape  { return tensor.Shape{g.batch, g.c, g.h, g.w} }
func (g window) outShape() tensor.Shape { return tensor.Shape{g.batch, g.c, g.oh, g.ow} }

// colShape is the shape of im2col's result: one row per (channel, window
// row, window column), one column per (example, output row, output
// column).
func (g window) colShape() tensor.Shape {
	return tensor.Shape{g.c * g.k * g.k, g.batch * g.oh * g.ow}
}

func (g window) String() string {
	return fmt.Sprintf("%dx%d/%d+%d on %dx%dx%dx%d", g.k, g.k, g.stride, g.pad, g.batch, g.c, g.h, g.w)
}

// im2colOp unfolds x of shape (batch, c, h, w) into the columns of a
// convolution, shape (c·k·k, batch·oh·ow): entry ((ci, ki, kj), (b, i, j))
// is x[b, ci, i·stride−pad+ki, j·stride−pad+kj], or 0 in the padding. The
// rows follow PyTorch's weight layout (cout, cin, kh, kw), so a
// convolution is W (cout, c·k·k) times the columns. It is linear; its
// derivative is its adjoint, col2imOp, whose derivative is im2colOp
// again, so convolutions have derivatives of every order (Gorgonia's own
// col2im has none).
type im2colOp struct {
	opBase
	g window
}

func newIm2col(g window) im2colOp {
	return im2colOp{opBase{"im2col " + g.String(), []int{4}, 2}, g}
}

func (op im2colOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	return inferShape(op, ds)
}

func (op im2colOp) outShape(in ...tensor.Shape) (tensor.Shape, error) {
	if !in[0].Eq(op.g.inShape()) {
		return nil, fmt.Errorf("%v: input of shape %v, want %v", op, in[0], op.g.inShape())
	}
	return op.g.colShape(), nil
}

func (op im2colOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) { return doOwn(op, vs) }

func (op im2colOp) compute(out any, in []any) {
	switch o := out.(type) {
	case []float64:
		im2col(op.g, in[0].([]float64), o)
	case []float32:
		im2col(op.g, in[0].([]float32), o)
	}
}

func (op im2colOp) DiffWRT(int) []bool { return []bool{true} }

func (op im2colOp) SymDiff(inputs gorgonia.Nodes, output, grad *Node) (gorgonia.Nodes, error) {
	d, err := gorgonia.ApplyOp(newCol2im(op.g), grad)
	if err != nil {
		return nil, fmt.Errorf("%v: gradient: %w", op, err)
	}
	return gorgonia.Nodes{d}, nil
}

// col2imOp is the adjoint of im2colOp: it folds columns of shape
// (c·k·k, batch·oh·ow) back into (batch, c, h, w), adding up the entries
// that overlapping windows take from one input element and dropping those
// in the padding. ⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩.
type col2imOp struct {
	opBase
	g window
}

func newCol2im(g window) col2imOp {
	return col2imOp{opBase{"col2im " + g.String(), []int{2}, 4}, g}
}

func (op col2imOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	return inferShape(op, ds)
}

func (op col2imOp) outShape(in ...tensor.Shape) (tensor.Shape, error) {
	if !in[0].Eq(op.g.colShape()) {
		return nil, fmt.Errorf("%v: input of shape %v, want %v", op, in[0], op.g.colShape())
	}
	return op.g.inShape(), nil
}

func (op col2imOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) { return doOwn(op, vs) }

func (op col2imOp) compute(out any, in []any) {
	switch o := out.(type) {
	case []float64:
		col2im(op.g, in[0].([]float64), o)
	case []float32:
		col2im(op.g, in[0].([]float32), o)
	}
}

func (op col2imOp) DiffWRT(int) []bool { return []bool{true} }

func (op col2imOp) SymDiff(inputs gorgonia.Nodes, output, grad *Node) (gorgonia.Nodes, error) {
	d, err := gorgonia.ApplyOp(newIm2col(op.g), grad)
	if err != nil {
		return nil, fmt.Errorf("%v: gradient: %w", op, err)
	}
	return gorgonia.Nodes{d}, nil
}

// im2col fills cols (c·k·k rows of batch·oh·ow) from x; see im2colOp.
func im2col[T float](g window, x, cols []T) {
	n := g.batch * g.oh * g.ow
	hw := g.h * g.w
	for ci := 0; ci < g.c; ci++ {
		for ki := 0; ki < g.k; ki++ {
			for kj := 0; kj < g.k; kj++ {
				row := cols[((ci*g.k+ki)*g.k+kj)*n:][:n]
				// The output columns j whose input column j·stride−pad+kj
				// lies inside the image: [j0, j1).
				j0, j1 := validRange(g.ow, g.w, g.stride, g.pad, kj)
				for b := 0; b < g.batch; b++ {
					plane := x[(b*g.c+ci)*hw:][:hw]
					for i := 0; i < g.oh; i++ {
						dst := row[(b*g.oh+i)*g.ow:][:g.ow]
						ih := i*g.stride - g.pad + ki
						if ih < 0 || ih >= g.h {
							clear(dst)
							continue
						}
						src := plane[ih*g.w : (ih+1)*g.w]
						clear(dst[:j0])
						clear(dst[j1:])
						if g.stride == 1 {
							copy(dst[j0:j1], src[j0-g.pad+kj:])
							continue
						}
						for j := j0; j < j1; j++ {
							dst[j] = src[j*g.stride-g.pad+kj]
						}
					}
				}
			}
		}
	}
}

// col2im sets x to the adjoint of im2col applied to cols.
func col2im[T float](g window, cols, x []T) {
	clear(x)
	n := g.batch * g.oh * g.ow
	hw := g.h * g.w
	for ci := 0; ci < g.c; ci++ {
		for ki := 0; ki < g.k; ki++ {
			for kj := 0; kj < g.k; kj++ {
				row := cols[((ci*g.k+ki)*g.k+kj)*n:][:n]
				j0, j1 := validRange(g.ow, g.w, g.stride, g.pad, kj)
				for b := 0; b < g.batch; b++ {
					plane := x[(b*g.c+ci)*hw:][:hw]
					for i := 0; i < g.oh; i++ {
						ih := i*g.stride - g.pad + ki
						if ih < 0 || ih >= g.h {
							continue
						}
						src := row[(b*g.oh+i)*g.ow:][:g.ow]
						dst := plane[ih*g.w : (ih+1)*g.w]
						if g.stride == 1 {
							d := dst[j0-g.pad+kj:][:j1-j0]
							for j, v := range src[j0:j1] {
								d[j] += v
							}
							continue
						}
						for j := j0; j < j1; j++ {
							dst[j*g.stride-g.pad+kj] += src[j]
						}
					}
				}
			}
		}
	}
}

// validRange returns the output positions [j0, j1) of a window offset kj
// whose input position j·stride−pad+kj lies in [0, size).
func validRange(out, size, stride, pad, kj int) (j0, j1 int) {
	// j·stride ≥ pad−kj  ⇔  j ≥ ⌈(pad−kj)/stride⌉
	if d := pad - kj; d > 0 {
		j0 = (d + stride - 1) / stride
	}
	// j·stride−pad+kj ≤ size−1  ⇔  j ≤ ⌊(size−1+pad−kj)/stride⌋
	if d := size - 1 + pad - kj; d >= 0 {
		j1 = min(out, d/stride+1)
	}
	if j1 < j0 {
		j1 = j0
	}
	return j0, j1
}

// swap01Op exchanges the first two axes of a tensor of shape (a, b, r):
// the result has shape (b, a, r). A convolution's product comes out as
// (cout, batch, oh·ow) and batch normalisation reduces over (batch, h·w)
// per channel; swap01Op moves between that channel-major layout and NCHW.
// It is a permutation, so its derivative is the swap back.
type swap01Op struct {
	opBase
	a, b, r int
}

func newSwap01(a, b, r int) swap01Op {
	return swap01Op{opBase{fmt.Sprintf("swap01 %dx%dx%d", a, b, r), []int{3}, 3}, a, b, r}
}

func (op swap01Op) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	return inferShape(op, ds)
}

func (op swap01Op) outShape(in ...tensor.Shape) (tensor.Shape, error) {
	if !in[0].Eq(tensor.Shape{op.a, op.b, op.r}) {
		return nil, fmt.Errorf("%v: input of shape %v", op, in[0])
	}
	return tensor.Shape{op.b, op.a, op.r}, nil
}

func (op swap01Op) Do(vs ...gorgonia.Value) (gorgonia.Value, error) { return doOwn(op, vs) }

func (op swap01Op) compute(out any, in []any) {
	switch o := out.(type) {
	case []float64:
		swap(op.a, op.b, op.r, in[0].([]float64), o)
	case []float32:
		swap(op.a, op.b, op.r, in[0].([]float32), o)
	}
}

// swap copies x of shape (a, b, r) into y of shape (b, a, r).
func swap[T float](a, b, r int, x, y []T) {
	for i := 0; i < a; i++ {
		for j := 0; j < b; j++ {
			copy(y[(j*a+i)*r:][:r], x[(i*b+j)*r:][:r])
		}
	}
}

func (op swap01Op) DiffWRT(int) []bool { return []bool{true} }

func (op swap01Op) SymDiff(inputs gorgonia.Nodes, output, grad *Node) (gorgonia.Nodes, error) {
	d, err := gorgonia.ApplyOp(newSwap01(op.b, op.a, op.r), grad)
	if err != nil {
		return nil, fmt.Errorf("%v: gradient: %w", op, err)
	}
	return gorgonia.Nodes{d}, nil
}

// swapAxes01 returns x of shape (a, b, r…) with its first two axes
// exchanged, shape (b, a, r…).
func (s *Scope) swapAxes01(x *Node) *Node {
	if s.failed(x) {
		return nil
	}
	sh := x.Shape()
	if sh.Dims() < 2 {
		s.err = fmt.Errorf("graph: swapping the first axes of a tensor of shape %v", sh)
		return nil
	}
	a, b, r := sh[0], sh[1], sh.TotalSize()/(sh[0]*sh[1])
	x3 := s.reshape(x, a, b, r)
	y := s.Must(gorgonia.ApplyOp(newSwap01(a, b, r), x3))
	out := append([]int{b, a}, sh[2:]...)
	return s.reshape(y, out...)
}

// reshape returns x with the given shape, or x itself if it has it.
func (s *Scope) reshape(x *Node, shape ...int) *Node {
	if s.failed(x) {
		return nil
	}
	if x.Shape().Eq(tensor.Shape(shape)) {
		return x
	}
	return s.Must(gorgonia.Reshape(x, tensor.Shape(shape)))
}

// Conv2D returns the 2-D convolution (PyTorch's Conv2d, a
// cross-correlation) of x, of shape (batch, cin, h, w), with the filters
// w, of shape (cout, cin, k, k), stride stride and zero padding pad on
// every side, plus the bias b of shape (cout) if b is not nil. The result
// has shape (batch, cout, h', w') with h' = (h+2·pad−k)/stride + 1 (and w'
// alike). It is an im2col operation of this package followed by one
// matrix product (cout, cin·k·k)×(cin·k·k, batch·h'·w'), so it runs on
// sgdlab's matrix kernels and is differentiable to any order.
func (s *Scope) Conv2D(x *Node, w, b *Param, stride, pad int) *Node {
	if s.failed(x) {
		return nil
	}
	ws := w.Shape()
	if len(ws) != 4 || ws[2] != ws[3] {
		s.err = fmt.Errorf("graph: convolution filters %q of shape %v, want (cout, cin, k, k)", w.Name(), ws)
		return nil
	}
	g, err := newWindow(x.Shape(), ws[2], stride, pad)
	if err != nil {
		s.err = fmt.Errorf("graph: convolution %q: %w", w.Name(), err)
		return nil
	}
	if g.c != ws[1] {
		s.err = fmt.Errorf("graph: convolution %q has %d input channels, its input %v has %d", w.Name(), ws[1], x.Shape(), g.c)
		return nil
	}
	cout := ws[0]
	cols := s.Must(gorgonia.ApplyOp(newIm2col(g), x))
	wm := s.reshape(s.Param(w), cout, g.c*g.k*g.k)
	if s.failed(cols, wm) {
		return nil
	}
	y := s.Must(gorgonia.Mul(wm, cols)) // (cout, batch·h'·w')
	if b != nil {
		if bs := b.Shape(); len(bs) != 1 || bs[0] != cout {
			s.err = fmt.Errorf("graph: convolution bias %q of shape %v, want (%d)", b.Name(), bs, cout)
			return nil
		}
		if s.failed(y) {
			return nil
		}
		y = s.Must(gorgonia.BroadcastAdd(y, s.Param(b), nil, []byte{1}))
	}
	y = s.swapAxes01(s.reshape(y, cout, g.batch, g.oh*g.ow))
	return s.reshape(y, g.batch, cout, g.oh, g.ow)
}
