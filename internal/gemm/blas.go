package gemm

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Implementation is a gonum BLAS (blas.Float32, blas.Float64 and gonum's
// complex routines) whose general matrix–matrix and matrix–vector
// products, Sgemm, Dgemm, Sgemv and Dgemv, run on this package's kernels;
// every other routine is gonum's. Invalid arguments panic with gonum's
// messages: they are handed to gonum, which checks them. Its zero value is
// ready to use.
//
// Products smaller than smallGemm multiply-adds (smallGemv elements of A
// for a matrix–vector product) also run on gonum's kernels: packing does
// not pay there, and gonum's summation order keeps the trajectories of
// the small models — the DLN and the toy ReLU nets of E1–E6, whose large
// steps sit at the edge of divergence — bit for bit as they were before
// these kernels, on every CPU.
type Implementation struct {
	gonum.Implementation
}

// Below these sizes products run on gonum's kernels (see Implementation).
const (
	smallGemm = 1 << 15 // multiply-adds, m·n·k
	smallGemv = 1 << 12 // elements of A, m·n
)

var (
	_ blas.Float32 = Implementation{}
	_ blas.Float64 = Implementation{}
)

// Dgemm computes C = alpha·op(A)·op(B) + beta·C, where op(A) is m×k, op(B)
// k×n and C m×n, all row-major with leading dimensions lda, ldb and ldc.
func (impl Implementation) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if !gemmArgs(tA, tB, m, n, k, lda, len(a), ldb, len(b), ldc, len(c)) || m*n*k < smallGemm {
		impl.Implementation.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if (alpha == 0 || k == 0) && beta == 1 {
		return
	}
	gemm(&active.d, calls64, tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, nil, beta, c, ldc)
}

// Sgemm is Dgemm in float32.
func (impl Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !gemmArgs(tA, tB, m, n, k, lda, len(a), ldb, len(b), ldc, len(c)) || m*n*k < smallGemm {
		impl.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if (alpha == 0 || k == 0) && beta == 1 {
		return
	}
	gemm(&active.s, calls32, tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, nil, beta, c, ldc)
}

// Dgemv computes y = alpha·op(A)·x + beta·y for a row-major m×n A with
// leading dimension lda; x and y have strides incX and incY.
func (impl Implementation) Dgemv(tA blas.Transpose, m, n int, alpha float64, a []float64, lda int, x []float64, incX int, beta float64, y []float64, incY int) {
	if !gemvArgs(tA, m, n, lda, len(a), len(x), incX, len(y), incY) || m*n < smallGemv {
		impl.Implementation.Dgemv(tA, m, n, alpha, a, lda, x, incX, beta, y, incY)
		return
	}
	gemv(&active.dv, gemvs64, tA != blas.NoTrans, m, n, alpha, a, lda, x, incX, beta, y, incY)
}

// Sgemv is Dgemv in float32.
func (impl Implementation) Sgemv(tA blas.Transpose, m, n int, alpha float32, a []float32, lda int, x []float32, incX int, beta float32, y []float32, incY int) {
	if !gemvArgs(tA, m, n, lda, len(a), len(x), incX, len(y), incY) || m*n < smallGemv {
		impl.Implementation.Sgemv(tA, m, n, alpha, a, lda, x, incX, beta, y, incY)
		return
	}
	gemv(&active.sv, gemvs32, tA != blas.NoTrans, m, n, alpha, a, lda, x, incX, beta, y, incY)
}

// gemmArgs reports whether arguments of a GEMM are valid, checked as
// gonum checks them; invalid ones go to gonum to panic with its message.
func gemmArgs(tA, tB blas.Transpose, m, n, k, lda, lenA, ldb, lenB, ldc, lenC int) bool {
	if !validTrans(tA) || !validTrans(tB) || m < 0 || n < 0 || k < 0 {
		return false
	}
	rowA, colA := m, k
	if tA != blas.NoTrans {
		rowA, colA = k, m
	}
	rowB, colB := k, n
	if tB != blas.NoTrans {
		rowB, colB = n, k
	}
	if lda < max(1, colA) || ldb < max(1, colB) || ldc < max(1, n) {
		return false
	}
	if m == 0 || n == 0 {
		return true
	}
	return lenA >= (rowA-1)*lda+colA && lenB >= (rowB-1)*ldb+colB && lenC >= (m-1)*ldc+n
}

// gemvArgs is gemmArgs for a GEMV.
func gemvArgs(tA blas.Transpose, m, n, lda, lenA, lenX, incX, lenY, incY int) bool {
	if !validTrans(tA) || m < 0 || n < 0 || lda < max(1, n) || incX == 0 || incY == 0 {
		return false
	}
	if m == 0 || n == 0 {
		return true
	}
	lx, ly := n, m
	if tA != blas.NoTrans {
		lx, ly = m, n
	}
	return (lx-1)*abs(incX) < lenX && (ly-1)*abs(incY) < lenY && lenA >= lda*(m-1)+n
}

func validTrans(t blas.Transpose) bool {
	return t == blas.NoTrans || t == blas.Trans || t == blas.ConjTrans
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
