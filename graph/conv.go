package graph

import (
	"fmt"
	"slices"

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

// im2col fills cols (c·k·k rows of batch·oh·ow) from x: entry
// ((ci, ki, kj), (b, i, j)) is x[b, ci, i·stride−pad+ki, j·stride−pad+kj],
// or 0 in the padding. The rows follow PyTorch's weight layout (cout,
// cin, kh, kw), so a convolution is W (cout, c·k·k) times the columns.
func im2col[T float](g window, x, cols []T) {
	if g.stride == 1 && g.ow == g.w {
		im2colSame(g, x, cols)
		return
	}
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
						if j1 > j0 {
							// Resliced so that the loop needs no bounds checks.
							d := dst[j0:j1]
							sv := src[j0*g.stride-g.pad+kj:][:(len(d)-1)*g.stride+1]
							for j := range d {
								d[j] = sv[j*g.stride]
							}
						}
					}
				}
			}
		}
	}
}

// im2colSame is im2col for stride 1 and "same" padding (2·pad = k−1, so
// the output has the input's size): each row of an image's columns is
// the image shifted by (ki−pad, kj−pad), which is one long copy, after
// which the entries that the shift wrapped around from a neighbouring
// row, and the rows outside the image, are set to zero.
func im2colSame[T float](g window, x, cols []T) {
	hw := g.h * g.w
	n := g.batch * hw
	for ci := 0; ci < g.c; ci++ {
		for ki := 0; ki < g.k; ki++ {
			i0, i1 := validRange(g.oh, g.h, 1, g.pad, ki)
			for kj := 0; kj < g.k; kj++ {
				row := cols[((ci*g.k+ki)*g.k+kj)*n:][:n]
				j0, j1 := validRange(g.ow, g.w, 1, g.pad, kj)
				off := (ki-g.pad)*g.w + kj - g.pad
				for b := 0; b < g.batch; b++ {
					plane := x[(b*g.c+ci)*hw:][:hw]
					dst := row[b*hw:][:hw]
					if i1 <= i0 || j1 <= j0 {
						clear(dst)
						continue
					}
					clear(dst[:i0*g.w])
					clear(dst[i1*g.w:])
					lo, hi := i0*g.w+j0, (i1-1)*g.w+j1
					copy(dst[lo:hi], plane[lo+off:hi+off])
					for i := i0; i < i1; i++ {
						r := dst[i*g.w:][:g.w]
						for j := 0; j < j0; j++ {
							r[j] = 0
						}
						for j := j1; j < g.w; j++ {
							r[j] = 0
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
	col2imAdd(g, cols, x)
}

// col2imAdd adds the adjoint of im2col applied to cols to x.
func col2imAdd[T float](g window, cols, x []T) {
	if g.k == 3 && g.pad == 1 && g.stride == 1 {
		col2imAdd3(g, cols, x)
		return
	}
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
						if j1 > j0 {
							sv := src[j0:j1]
							d := dst[j0*g.stride-g.pad+kj:][:(len(sv)-1)*g.stride+1]
							for j, v := range sv {
								d[j*g.stride] += v
							}
						}
					}
				}
			}
		}
	}
}

// col2imAdd3 is col2imAdd for 3×3 windows with stride 1 and padding 1,
// the convolutions of the ResNets: the three contributions of a window
// row (kj = 0, 1, 2) to an input element are added in one pass over the
// input row, in the order col2imAdd adds them, so the result is the same
// to the bit with a third of the loads and stores of the input.
func col2imAdd3[T float](g window, cols, x []T) {
	n := g.batch * g.oh * g.ow
	hw, w := g.h*g.w, g.w
	for ci := 0; ci < g.c; ci++ {
		for b := 0; b < g.batch; b++ {
			plane := x[(b*g.c+ci)*hw:][:hw]
			for ki := 0; ki < 3; ki++ {
				base := (ci*3 + ki) * 3 * n
				r0, r1, r2 := cols[base:][:n], cols[base+n:][:n], cols[base+2*n:][:n]
				for i := 0; i < g.oh; i++ {
					ih := i - 1 + ki
					if ih < 0 || ih >= g.h {
						continue
					}
					off := (b*g.oh + i) * g.ow
					s0, s1, s2 := r0[off:][:w], r1[off:][:w], r2[off:][:w]
					d := plane[ih*w:][:w]
					if w == 1 {
						d[0] += s1[0]
						continue
					}
					d[0] = (d[0] + s0[1]) + s1[0]
					for j := 1; j < w-1; j++ {
						d[j] = ((d[j] + s0[j+1]) + s1[j]) + s2[j-1]
					}
					d[w-1] = (d[w-1] + s1[w-1]) + s2[w-2]
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

// reshape returns x with the given shape, or x itself if it has it.
func (s *Scope) reshape(x *Node, shape ...int) *Node {
	if s.failed(x) {
		return nil
	}
	// Exact equality: tensor's Shape.Eq takes (n) and (1, n) as equal.
	if slices.Equal(x.Shape(), shape) {
		return x
	}
	return s.Must(gorgonia.Reshape(x, tensor.Shape(shape)))
}

// Conv2D returns the 2-D convolution (PyTorch's Conv2d, a
// cross-correlation) of x, of shape (batch, cin, h, w), with the filters
// w, of shape (cout, cin, k, k), stride stride and zero padding pad on
// every side, plus the bias b of shape (cout) if b is not nil. The result
// has shape (batch, cout, h', w') with h' = (h+2·pad−k)/stride + 1 (and w'
// alike). It multiplies the (cout, cin·k·k) filter matrix by the
// unfolded windows of the input, a group of images at a time, on
// sgdlab's matrix kernels (reading the windows in place where it pays);
// it is differentiable to any order (see convKind).
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
	wm := s.reshape(s.Param(w), cout, g.c*g.k*g.k)
	if s.failed(wm) {
		return nil
	}
	y := s.Must(gorgonia.ApplyOp(newConvOp(convFwd, g, cout), x, wm))
	if b == nil || y == nil {
		return y
	}
	if bs := b.Shape(); len(bs) != 1 || bs[0] != cout {
		s.err = fmt.Errorf("graph: convolution bias %q of shape %v, want (%d)", b.Name(), bs, cout)
		return nil
	}
	y3 := s.reshape(y, g.batch, cout, g.oh*g.ow)
	if s.failed(y3) {
		return nil
	}
	y3 = s.Must(gorgonia.ApplyOp(newChan(chanShift, g.batch, cout, g.oh*g.ow), y3, s.Param(b)))
	return s.reshape(y3, g.batch, cout, g.oh, g.ow)
}
