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

// gemvCall is one matrix–vector product and its temporaries: contiguous
// copies of strided vectors, and each part's four results or weights of
// a kernel call (on the stack they would escape through the kernel's
// function value).
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
	four         [maxGemvParts][4]T
	xbuf, ybuf   []T
	wg           sync.WaitGroup
}

var (
	gemvs32 = newFree[gemvCall[float32]]()
	gemvs64 = newFree[gemvCall[float64]]()
)

// gemv computes y = alpha·op(A)·x + beta·y, the arguments valid; trans
// says op(A) = Aᵀ. The vector the kernels read or write whole (x for A·x,
// y for Aᵀ·x) is gathered into scratch kept with the call when strided; the other is
// indexed. Large products are split over the worker pool by rows of A
// (A·x) or by columns (Aᵀ·x), which leaves every element's sum as it is.
func gemv[T float](v *vec[T], free free[gemvCall[T]], trans bool, m, n int, alpha T, a []T, lda int, x []T, incX int, beta T, y []T, incY int) {
	if m == 0 || n == 0 || alpha == 0 && beta == 1 {
		return
	}
	g := free.get()
	xbuf, ybuf := g.xbuf, g.ybuf
	*g = gemvCall[T]{v: v, trans: trans, m: m, n: n, alpha: alpha, beta: beta, a: a, lda: lda, x: x, y: y, incX: incX, incY: incY, parts: 1}
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
		g.run(n, 16)
		if incY != 1 {
			scatter(y, ybuf, incY)
		}
	}
	*g = gemvCall[T]{xbuf: xbuf, ybuf: ybuf}
	free.put(g)
}

// run splits size (rows or columns) into parts of whole multiples of
// align and computes them.
func (g *gemvCall[T]) run(size, align int) {
	procs := min(runtime.GOMAXPROCS(0), maxGemvParts)
	if procs > 1 && g.m*g.n >= gemvWork {
		blocks := (size + align - 1) / align
		g.chunk = (blocks + procs - 1) / procs * align
		g.parts = (size + g.chunk - 1) / g.chunk
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
		g.cols(i0, i1, &g.four[p])
		return
	}
	g.rows(i0, i1, &g.four[p])
}

// rows: each y_i from the dot product of row i with x, four rows per
// kernel call and the last rows of the range each by itself.
func (g *gemvCall[T]) rows(i0, i1 int, d *[4]T) {
	a, x, y, n, lda := g.a, g.x, g.y, g.n, g.lda
	iy := i0 * g.incY
	if g.incY < 0 {
		iy = (g.m - 1 - i0) * -g.incY
	}
	for i := i0; i < i1; i += 4 {
		rows := min(4, i1-i)
		if rows == 4 {
			g.v.dot4(n, &a[i*lda], lda, &x[0], &d[0])
		}
		for r := range rows {
			if rows < 4 {
				// A row alone, as each of four copies of itself (lda 0):
				// the same sum as in a group of four.
				g.v.dot4(n, &a[(i+r)*lda], 0, &x[0], &d[0])
				d[r] = d[0]
			}
			t := g.alpha * d[r]
			if g.beta != 0 {
				t += g.beta * y[iy]
			}
			y[iy] = t
			iy += g.incY
		}
	}
}

// cols: y[j0:j1] = beta·y, then the rows of A added in order, scaled by
// alpha·x_i, four per kernel call.
func (g *gemvCall[T]) cols(j0, j1 int, s *[4]T) {
	a, x, lda, m, inc := g.a, g.x, g.lda, g.m, g.incX
	y := g.y[j0:j1]
	scaleInc(y, len(y), 1, g.beta)
	ix := 0
	if inc < 0 {
		ix = -(m - 1) * inc
	}
	i := 0
	for ; i+4 <= m; i += 4 {
		for r := range 4 {
			s[r] = g.alpha * x[ix]
			ix += inc
		}
		g.v.axpy4(len(y), &a[i*lda+j0], lda, &s[0], &y[0])
	}
	for ; i < m; i++ {
		// A row alone: as the kernel's first row with zero weights for
		// three copies of it would turn an infinite element into NaN.
		axpy1(g.alpha*x[ix], a[i*lda+j0:i*lda+j1], y)
		ix += inc
	}
}

func axpy1[T float](s T, x, y []T) {
	switch y := any(y).(type) {
	case []float64:
		x := any(x).([]float64)
		for j := range y {
			y[j] = fma64(float64(s), x[j], y[j])
		}
	case []float32:
		x := any(x).([]float32)
		for j := range y {
			y[j] = fma32(float32(s), x[j], y[j])
		}
	}
}

// scaleInc scales the n elements of y with stride inc by beta; beta 0
// overwrites (NaN must not survive).
func scaleInc[T float](y []T, n, inc int, beta T) {
	if beta == 1 {
		return
	}
	inc = max(inc, -inc)
	for i := 0; i < n*inc; i += inc {
		if beta == 0 {
			y[i] = 0
		} else {
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
