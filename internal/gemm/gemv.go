package gemm

import (
	"runtime"
	"sync"
)

// maxGemvParts bounds the parts of a matrix–vector product; gemvWork is
// the smallest m·n split into parts (about 100 µs of work; see
// parallelWork).
const (
	maxGemvParts = 8
	gemvWork     = 1 << 20
)

// gemvCall is one matrix–vector product and its temporaries, kept with
// it for the next: contiguous copies of strided vectors, and the kernels'
// results or weights for every row (in memory the kernels can write: on
// the stack they would escape through the kernel's function value).
type gemvCall[T float] struct {
	v            *vec[T]
	trans        bool
	m, n         int
	alpha, beta  T
	a            []T
	lda          int
	x, y         []T
	incX, incY   int
	parts, chunk int
	xbuf, ybuf   []T
	rowBuf       []T // A·x: the dot product of each row; Aᵀ·x: alpha·x_i
	wg           sync.WaitGroup
}

var (
	gemvs32 = newFree[gemvCall[float32]]()
	gemvs64 = newFree[gemvCall[float64]]()
)

// gemv computes y = alpha·op(A)·x + beta·y, the arguments valid; trans
// says op(A) = Aᵀ. The vector the kernels read or write whole (x for A·x,
// y for Aᵀ·x) is gathered into scratch kept with the call when strided;
// the other is indexed. Large products are split over the worker pool by rows of A
// (A·x) or by columns (Aᵀ·x), which leaves every element's sum as it is.
func gemv[T float](v *vec[T], free free[gemvCall[T]], trans bool, m, n int, alpha T, a []T, lda int, x []T, incX int, beta T, y []T, incY int) {
	if m == 0 || n == 0 || alpha == 0 && beta == 1 {
		return
	}
	if m*n < gemvWork && direct(v, trans, m, n, alpha, a, lda, x, incX, beta, y, incY) {
		return
	}
	g := free.get()
	xbuf, ybuf, rowBuf := g.xbuf, g.ybuf, g.rowBuf
	if cap(rowBuf) < m {
		rowBuf = make([]T, m)
	}
	*g = gemvCall[T]{v: v, trans: trans, m: m, n: n, alpha: alpha, beta: beta, a: a, lda: lda, x: x, y: y, incX: incX, incY: incY, parts: 1, rowBuf: rowBuf[:m]}
	ly := m
	if trans {
		ly = n
	}
	switch {
	case alpha == 0:
		scaleInc(y, ly, incY, beta)
	case !trans:
		if incX != 1 {
			xbuf = gather(xbuf, x, n, incX)
			g.x, g.incX = xbuf, 1
		}
		g.run(m, 4)
	default:
		if incY != 1 {
			ybuf = gather(ybuf, y, n, incY)
			g.y = ybuf
		}
		ix := 0
		if incX < 0 {
			ix = -(m - 1) * incX
		}
		for i := range g.rowBuf {
			g.rowBuf[i] = alpha * x[ix]
			ix += incX
		}
		g.run(n, 16)
		if incY != 1 {
			scatter(y, ybuf, incY)
		}
	}
	*g = gemvCall[T]{xbuf: xbuf, ybuf: ybuf, rowBuf: rowBuf}
	free.put(g)
}

// direct computes the common small products without a gemvCall (unit
// strides; A·x with beta 0, Aᵀ·x with alpha 1) straight in y, with the same
// sums as rows and cols, and reports whether it did.
func direct[T float](v *vec[T], trans bool, m, n int, alpha T, a []T, lda int, x []T, incX int, beta T, y []T, incY int) bool {
	if incX != 1 || incY != 1 || alpha == 0 {
		return false
	}
	whole := m / 4 * 4
	switch {
	case !trans && beta == 0:
		if whole > 0 {
			v.dot4(whole/4, n, &a[0], lda, &x[0], &y[0])
		}
		for i := whole; i < m; i++ {
			v.dot1(n, &a[i*lda], &x[0], &y[i])
		}
		if alpha != 1 {
			for i := range y[:m] {
				y[i] *= alpha
			}
		}
	case trans && alpha == 1:
		// The weights alpha·x_i are x itself.
		scaleInc(y, n, 1, beta)
		if whole > 0 {
			v.axpy4(whole/4, n, &a[0], lda, &x[0], &y[0])
		}
		for i := whole; i < m; i++ {
			v.axpy1(n, x[i], &a[i*lda], &y[0])
		}
	default:
		return false
	}
	return true
}

// run splits size (rows or columns) into parts of whole multiples of
// align and computes them.
func (g *gemvCall[T]) run(size, align int) {
	// GOMAXPROCS takes a lock: asked only when the product is large.
	if g.m*g.n >= gemvWork {
		if procs := min(runtime.GOMAXPROCS(0), maxGemvParts); procs > 1 {
			blocks := (size + align - 1) / align
			g.chunk = (blocks + procs - 1) / procs * align
			g.parts = (size + g.chunk - 1) / g.chunk
		}
	}
	if g.parts == 1 {
		g.chunk = size
		g.do(0)
		return
	}
	run(g, g.parts, &g.wg)
}

// do computes part p: rows [i0, i1) of A·x, or columns [i0, i1) of Aᵀ·x.
func (g *gemvCall[T]) do(p int) {
	i0 := p * g.chunk
	i1 := min(i0+g.chunk, g.m)
	if g.trans {
		i1 = min(i0+g.chunk, g.n)
		g.cols(i0, i1)
		return
	}
	g.rows(i0, i1)
}

// rows: each y_i from the dot product of row i with x, four rows at a
// time and the last rows of the range each by itself.
func (g *gemvCall[T]) rows(i0, i1 int) {
	a, x, y, n, lda := g.a, g.x, g.y, g.n, g.lda
	d := g.rowBuf
	whole := i0 + (i1-i0)/4*4
	if whole > i0 {
		g.v.dot4((whole-i0)/4, n, &a[i0*lda], lda, &x[0], &d[i0])
	}
	for i := whole; i < i1; i++ {
		g.v.dot1(n, &a[i*lda], &x[0], &d[i])
	}
	iy := i0 * g.incY
	if g.incY < 0 {
		iy = (g.m - 1 - i0) * -g.incY
	}
	alpha, beta := g.alpha, g.beta
	for _, t := range d[i0:i1] {
		t *= alpha
		if beta != 0 {
			t += beta * y[iy]
		}
		y[iy] = t
		iy += g.incY
	}
}

// cols: y[j0:j1] = beta·y, then the rows of A added in order, scaled by
// alpha·x_i, four at a time.
func (g *gemvCall[T]) cols(j0, j1 int) {
	a, lda, m := g.a, g.lda, g.m
	y := g.y[j0:j1]
	scaleInc(y, len(y), 1, g.beta)
	whole := m / 4 * 4
	if whole > 0 {
		g.v.axpy4(whole/4, len(y), &a[j0], lda, &g.rowBuf[0], &y[0])
	}
	for i := whole; i < m; i++ {
		// A row alone: as the kernel's first row with zero weights for
		// three copies of it would turn an infinite element into NaN.
		g.v.axpy1(len(y), g.rowBuf[i], &a[i*lda+j0], &y[0])
	}
}

// scaleInc scales the n elements of y with stride inc by beta; beta 0
// overwrites (NaN must not survive).
func scaleInc[T float](y []T, n, inc int, beta T) {
	inc = max(inc, -inc)
	switch {
	case beta == 1:
	case inc == 1 && beta == 0:
		clear(y[:n])
	case beta == 0:
		for i := 0; i < n*inc; i += inc {
			y[i] = 0
		}
	default:
		for i := 0; i < n*inc; i += inc {
			y[i] *= beta
		}
	}
}

// gather copies the n elements of x with stride inc (negative: from the
// end, as BLAS) into buf, grown as needed.
func gather[T float](buf, x []T, n, inc int) []T {
	if cap(buf) < n {
		buf = make([]T, n)
	}
	buf = buf[:n]
	k := 0
	if inc < 0 {
		k = -(n - 1) * inc
	}
	for i := range buf {
		buf[i] = x[k]
		k += inc
	}
	return buf
}

// scatter is gather's inverse.
func scatter[T float](x, buf []T, inc int) {
	k := 0
	if inc < 0 {
		k = -(len(buf) - 1) * inc
	}
	for _, v := range buf {
		x[k] = v
		k += inc
	}
}
