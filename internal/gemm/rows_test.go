package gemm

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// TestGemmRows checks products with rows at offsets on every path:
// against the reference on rows that overlap at random offsets, and
// against Sgemm and Dgemm of the same rows stored as a matrix, bit for
// bit where those run on these kernels.
func TestGemmRows(t *testing.T) {
	onPaths(t, func(t *testing.T) {
		testGemmRows(t, Implementation{}.Sgemm, SgemmRows, 1e-6)
		testGemmRows(t, Implementation{}.Dgemm, DgemmRows, 1e-14)
	})
}

func testGemmRows[T float](t *testing.T,
	stored func(tA, tB blas.Transpose, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int),
	rowsProduct func(trans bool, m, n, k int, alpha T, a []T, lda int, b []T, rows []int, beta T, c []T, ldc int), tol float64) {
	rng := rand.New(rand.NewPCG(9, 10))
	sizes := [][3]int{{1, 1, 1}, {3, 0, 2}, {7, 5, 3}, {8, 32, 17}, {16, 33, 9}, {13, 70, 300}, {64, 300, 144}, {256, 700, 300}}
	for _, sz := range sizes {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tr := range []bool{false, true} {
			nrows, width := k, n
			if tr {
				nrows, width = n, k
			}
			// Rows of a long vector at increasing, overlapping offsets.
			b := randSlice[T](rng, nrows*3+width+5)
			rows := make([]int, nrows)
			for i := range rows {
				rows[i] = i*3 + rng.IntN(3)
			}
			// The same rows stored as a matrix, ld = width.
			ld := max(1, width)
			mat := make([]T, nrows*ld)
			for i, off := range rows {
				copy(mat[i*ld:], b[off:off+width])
			}
			a := randSlice[T](rng, m*k)
			c := randSlice[T](rng, m*n)
			const alpha, beta = 1.5, 0.5
			want := naiveGemm(false, tr, m, n, k, T(alpha), a, max(1, k), mat, ld, T(beta), c, max(1, n))
			got := append([]T(nil), c...)
			rowsProduct(tr, m, n, k, alpha, a, max(1, k), b, rows, beta, got, max(1, n))
			for i, w := range want {
				if g := float64(got[i]); math.Abs(g-w) > tol*(1+float64(k)) || math.IsNaN(g) {
					t.Fatalf("%v trans %v: C[%d] = %v, want %v", sz, tr, i, g, w)
				}
			}
			if m*n*k < smallGemm {
				continue
			}
			ref := append([]T(nil), c...)
			stored(blas.NoTrans, trans(tr), m, n, k, alpha, a, max(1, k), mat, ld, beta, ref, max(1, n))
			for i := range ref {
				if got[i] != ref[i] {
					t.Fatalf("%v trans %v: C[%d] = %v from rows, %v from the stored matrix", sz, tr, i, got[i], ref[i])
				}
			}
		}
	}
}

func TestGemmRowsRejectsInvalidArguments(t *testing.T) {
	b := make([]float32, 10)
	for _, tc := range []struct {
		name  string
		rows  []int
		trans bool
		want  string
	}{
		{"row past the end", []int{0, 8}, false, "row 1 at 8"},
		{"negative offset", []int{-1, 0}, false, "row 0 at -1"},
		{"too few rows", []int{0}, false, "1 row offsets, want 2"},
		{"transposed count", []int{0, 1}, true, "2 row offsets, want 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, tc.want) {
					t.Errorf("panic %q, want it to name %q", msg, tc.want)
				}
			}()
			// m 2, n 3, k 2.
			SgemmRows(tc.trans, 2, 3, 2, 1, make([]float32, 4), 2, b, tc.rows, 0, make([]float32, 6), 3)
		})
	}
}
