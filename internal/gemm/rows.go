package gemm

import "fmt"

// SgemmRows computes C = alpha·A·op(R) + beta·C for a row-major m×k A
// (leading dimension lda) and m×n C (ldc), where R is a matrix whose rows
// lie anywhere in b: row i of R is b[rows[i]:], and op(R) is R (k×n, k
// rows) if !trans, Rᵀ (n rows of length k) if trans. Rows may overlap —
// the unfolded windows of a convolution's padded input are such a
// matrix, each row its input shifted — so a product reads R without
// copying it out first.
//
// Every element is the fma chain of Sgemm on a stored R (whatever the
// size: products below gonum's threshold as well), so SgemmRows equals
// Sgemm of the stored R bit for bit where Sgemm runs on these kernels.
// It panics if an argument is invalid, naming it.
func SgemmRows(trans bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, rows []int, beta float32, c []float32, ldc int) {
	rowArgs(trans, m, n, k, lda, len(a), len(b), rows, ldc, len(c))
	gemm(&active.s, calls32, false, trans, m, n, k, alpha, a, lda, b, 0, rows, beta, c, ldc)
}

// DgemmRows is SgemmRows in float64.
func DgemmRows(trans bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, rows []int, beta float64, c []float64, ldc int) {
	rowArgs(trans, m, n, k, lda, len(a), len(b), rows, ldc, len(c))
	gemm(&active.d, calls64, false, trans, m, n, k, alpha, a, lda, b, 0, rows, beta, c, ldc)
}

// rowArgs panics unless the arguments of SgemmRows are valid.
func rowArgs(trans bool, m, n, k, lda, lenA, lenB int, rows []int, ldc, lenC int) {
	nrows, width := k, n
	if trans {
		nrows, width = n, k
	}
	fail := func(format string, v ...any) {
		panic(fmt.Sprintf("gemm: product with rows: "+format, v...))
	}
	if m < 0 || n < 0 || k < 0 {
		fail("negative size m %d, n %d, k %d", m, n, k)
	}
	if lda < max(1, k) || ldc < max(1, n) {
		fail("lda %d < k %d or ldc %d < n %d", lda, k, ldc, n)
	}
	if len(rows) != nrows {
		fail("%d row offsets, want %d", len(rows), nrows)
	}
	if m > 0 && k > 0 && lenA < (m-1)*lda+k {
		fail("A of %d values, want %d", lenA, (m-1)*lda+k)
	}
	if m > 0 && n > 0 && lenC < (m-1)*ldc+n {
		fail("C of %d values, want %d", lenC, (m-1)*ldc+n)
	}
	for i, off := range rows {
		if off < 0 || off+width > lenB {
			fail("row %d at %d: %d values past it, b has %d", i, off, width, lenB)
		}
	}
}
