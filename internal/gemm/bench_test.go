package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"
	"gonum.org/v1/gonum/mat"
)

// mlpShapes are the products of one step of the 784-256-256-10 MLP at
// batch 128: forward X·W, and backward dX = dY·Wᵀ and dW = Xᵀ·dY.
var mlpShapes = []struct {
	name    string
	m, n, k int
	tA, tB  bool
}{
	{"fwd-128x784x256", 128, 256, 784, false, false},
	{"dX-128x256x784", 128, 784, 256, false, true},
	{"dW-784x128x256", 784, 256, 128, true, false},
	{"fwd-128x256x256", 128, 256, 256, false, false},
	{"dX-128x256x256", 128, 256, 256, false, true},
	{"dW-256x128x256", 256, 256, 128, true, false},
}

func BenchmarkGemm(b *testing.B) {
	for _, p := range usablePaths() {
		for _, s := range mlpShapes {
			b.Run(fmt.Sprintf("%s/float32/%s", p.name, s.name), func(b *testing.B) {
				benchGemm[float32](b, p, Implementation{}.Sgemm, s.m, s.n, s.k, s.tA, s.tB)
			})
			b.Run(fmt.Sprintf("%s/float64/%s", p.name, s.name), func(b *testing.B) {
				benchGemm[float64](b, p, Implementation{}.Dgemm, s.m, s.n, s.k, s.tA, s.tB)
			})
		}
	}
}

func benchGemm[T float](b *testing.B, p *path, f func(tA, tB blas.Transpose, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int), m, n, k int, tA, tB bool) {
	saved := active
	active = p
	defer func() { active = saved }()
	rng := rand.New(rand.NewPCG(1, 1))
	a := randSlice[T](rng, m*k)
	bb := randSlice[T](rng, k*n)
	c := make([]T, m*n)
	lda, ldb := k, n
	if tA {
		lda = m
	}
	if tB {
		ldb = k
	}
	b.ResetTimer()
	for b.Loop() {
		f(trans(tA), trans(tB), m, n, k, 1, a, lda, bb, ldb, 0, c, n)
	}
	b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkSVD400 times the singular values (no vectors) of a 400×400
// matrix, the rank metric's Jacobian size, with gonum's LAPACK on each
// path's BLAS and on gonum's own.
func BenchmarkSVD400(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	a := mat.NewDense(400, 400, randSlice[float64](rng, 400*400))
	run := func(b *testing.B, impl blas.Float64) {
		blas64.Use(impl)
		defer blas64.Use(gonum.Implementation{})
		var svd mat.SVD
		for b.Loop() {
			if !svd.Factorize(a, mat.SVDNone) {
				b.Fatal("SVD did not converge")
			}
		}
	}
	for _, p := range usablePaths() {
		b.Run(p.name, func(b *testing.B) {
			saved := active
			active = p
			defer func() { active = saved }()
			run(b, Implementation{})
		})
	}
	b.Run("gonum", func(b *testing.B) { run(b, gonum.Implementation{}) })
}

// BenchmarkGemv times float64 matrix–vector products of the sizes in the
// SVD of a 400×400 matrix (gonum's Dlabrd), reporting GB/s of A read.
func BenchmarkGemv(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, p := range usablePaths() {
		for _, s := range [][2]int{{400, 400}, {200, 200}, {400, 16}} {
			for _, tA := range []bool{false, true} {
				m, n := s[0], s[1]
				a := randSlice[float64](rng, m*n)
				x := randSlice[float64](rng, max(m, n))
				y := make([]float64, max(m, n))
				b.Run(fmt.Sprintf("%s/%dx%d/trans=%v", p.name, m, n, tA), func(b *testing.B) {
					saved := active
					active = p
					defer func() { active = saved }()
					for b.Loop() {
						Implementation{}.Dgemv(trans(tA), m, n, 1, a, n, x, 1, 0, y, 1)
					}
					b.ReportMetric(8*float64(m*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
				})
			}
		}
	}
}
