package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
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
