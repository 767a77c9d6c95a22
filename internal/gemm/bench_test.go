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
