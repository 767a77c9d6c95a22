package gemm

import "sync"

// scratch holds a product's temporaries: contiguous copies of strided
// vectors, and the four results or weights of a kernel call (on the stack
// they would escape through the kernel's function value).
type scratch[T float] struct {
	x, y []T
	four [4]T
}

var (
	vecs32 = sync.Pool{New: func() any { return new(scratch[float32]) }}
	vecs64 = sync.Pool{New: func() any { return new(scratch[float64]) }}
)

// gemv computes y = alpha·op(A)·x + beta·y, the arguments valid; trans
// says op(A) = Aᵀ. Strided vectors are gathered into pooled scratch.
func gemv[T float](v *vec[T], pool *sync.Pool, trans bool, m, n int, alpha T, a []T, lda int, x []T, incX int, beta T, y []T, incY int) {
	if m == 0 || n == 0 || alpha == 0 && beta == 1 {
		return
	}
	lx, ly := n, m
	if trans {
		lx, ly = m, n
	}
	sc := pool.Get().(*scratch[T])
	defer pool.Put(sc)
	if incX != 1 {
		sc.x = gather(sc.x, x, lx, incX)
		x = sc.x
	}
	yy := y
	if incY != 1 {
		sc.y = gather(sc.y, y, ly, incY)
		yy = sc.y
	}
	yy = yy[:ly]
	if alpha == 0 {
		scale(yy, beta)
	} else if trans {
		gemvT(v, m, n, alpha, a, lda, x, beta, yy, &sc.four)
	} else {
		gemvN(v, m, n, alpha, a, lda, x, beta, yy, &sc.four)
	}
	if incY != 1 {
		scatter(y, yy, incY)
	}
}

// gemvN: each y_i from the dot product of row i with x, four rows per
// kernel call; a row computes the same alone (lda 0 repeats it).
func gemvN[T float](v *vec[T], m, n int, alpha T, a []T, lda int, x []T, beta T, y []T, d *[4]T) {
	for i := 0; i < m; i += 4 {
		rows := min(4, m-i)
		if rows == 4 {
			v.dot4(n, &a[i*lda], lda, &x[0], &d[0])
		}
		for r := range rows {
			if rows < 4 {
				v.dot4(n, &a[(i+r)*lda], 0, &x[0], &d[0])
				d[r] = d[0]
			}
			t := alpha * d[r]
			if beta != 0 {
				t += beta * y[i+r]
			}
			y[i+r] = t
		}
	}
}

// gemvT: y = beta·y, then the rows of A added in order, scaled by
// alpha·x_i, four per kernel call.
func gemvT[T float](v *vec[T], m, n int, alpha T, a []T, lda int, x []T, beta T, y []T, s *[4]T) {
	scale(y, beta)
	i := 0
	for ; i+4 <= m; i += 4 {
		for r := range 4 {
			s[r] = alpha * x[i+r]
		}
		v.axpy4(n, &a[i*lda], lda, &s[0], &y[0])
	}
	for ; i < m; i++ {
		// A row alone: as the kernel's first row with zero weights for
		// three copies of it would turn an infinite element into NaN.
		axpy1(alpha*x[i], a[i*lda:i*lda+n], y)
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

func scale[T float](y []T, beta T) {
	switch beta {
	case 1:
	case 0:
		clear(y)
	default:
		for j := range y {
			y[j] *= beta
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
