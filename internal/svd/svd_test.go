package svd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/gonum"
	"gonum.org/v1/gonum/mat"

	"sgdlab/internal/gemm"
)

// TestMain installs sgdlab's BLAS, as the program does: mat.SVD and
// Values must agree on it, and on it Values allocates nothing.
func TestMain(m *testing.M) {
	blas64.Use(gemm.Implementation{})
	os.Exit(m.Run())
}

// bidiagonals returns upper bidiagonal matrices (diagonal d, superdiagonal
// e, len(e) = len(d)) of n rows of several kinds, chosen to reach dqds's
// branches: splits, deflations of one and two values, failed shifts,
// reversals, and values over many orders of magnitude.
func bidiagonals(n int, r *rand.Rand) map[string][2][]float64 {
	gen := func(fd, fe func(i int) float64) [2][]float64 {
		d, e := make([]float64, n), make([]float64, n)
		for i := range n {
			d[i] = fd(i)
			if i < n-1 {
				e[i] = fe(i)
			}
		}
		return [2][]float64{d, e}
	}
	u := func(int) float64 { return 2*r.Float64() - 1 }
	out := map[string][2][]float64{
		"uniform": gen(u, u),
		"graded": gen(func(i int) float64 { return math.Pow(10, -float64(i)/4) * (1 + r.Float64()) },
			func(i int) float64 { return math.Pow(10, -float64(i)/4) * r.Float64() }),
		"reversed grading": gen(func(i int) float64 { return math.Pow(10, -float64(n-i)/4) * (1 + r.Float64()) },
			func(i int) float64 { return math.Pow(10, -float64(n-i)/4) * r.Float64() }),
		"splits": gen(u, func(i int) float64 {
			if i%5 == 2 {
				return 0
			}
			return u(i)
		}),
		"negligible e":   gen(u, func(i int) float64 { return 1e-200 * u(i) }),
		"underflowing e": gen(u, func(i int) float64 { return 1e-320 * u(i) }),
		"diagonal":       gen(u, func(int) float64 { return 0 }),
		"clustered": gen(func(int) float64 { return 1 + 1e-14*r.Float64() },
			func(int) float64 { return 1e-9 * r.Float64() }),
		"zero pivots": gen(func(i int) float64 {
			if i%3 == 1 {
				return 0
			}
			return u(i)
		}, u),
		"wide range": gen(func(int) float64 { return math.Pow(10, 100*u(0)) },
			func(int) float64 { return math.Pow(10, 100*u(0)) }),
	}
	// Random magnitudes over 40 orders, with zeros: many draws, for the
	// rarer branches.
	wild := func(int) float64 {
		if r.IntN(8) == 0 {
			return 0
		}
		return math.Pow(10, 20*u(0)) * u(0)
	}
	for k := range 30 {
		out[fmt.Sprint("wild ", k)] = gen(wild, wild)
	}
	// Bidiagonals of dense matrices, as the SVD makes them: full rank and
	// of rank n/4 (most values near zero, as the rank metric's Jacobians).
	for name, rank := range map[string]int{"dense": n, "low rank": max(1, n/4)} {
		a := lowRank(n, n, rank, r)
		d, e := make([]float64, n), make([]float64, n)
		tau := make([]float64, 2*n)
		var impl gonum.Implementation
		work := make([]float64, 1)
		impl.Dgebrd(n, n, a, n, d, e, tau[:n], tau[n:], work, -1)
		work = make([]float64, int(work[0]))
		impl.Dgebrd(n, n, a, n, d, e, tau[:n], tau[n:], work, len(work))
		out[name] = [2][]float64{d, e}
	}
	return out
}

// lowRank returns an m×n row-major matrix of the given rank: a product of
// uniform m×rank and rank×n factors.
func lowRank(m, n, rank int, r *rand.Rand) []float64 {
	f := mat.NewDense(m, rank, nil)
	g := mat.NewDense(rank, n, nil)
	for _, x := range []*mat.Dense{f, g} {
		raw := x.RawMatrix().Data
		for i := range raw {
			raw[i] = 2*r.Float64() - 1
		}
	}
	var a mat.Dense
	a.Mul(f, g)
	return a.RawMatrix().Data
}

func sameBits(a, b []float64) int {
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return i
		}
	}
	return -1
}

func TestDqdsMatchesGonum(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var impl gonum.Implementation
	for _, n := range []int{1, 2, 3, 4, 5, 7, 10, 33, 100, 400} {
		for name, de := range bidiagonals(n, r) {
			want, wantE := append([]float64(nil), de[0]...), append([]float64(nil), de[1]...)
			got, gotE := append([]float64(nil), de[0]...), append([]float64(nil), de[1]...)
			wantInfo := impl.Dlasq1(n, want, wantE, make([]float64, 4*n))
			gotInfo := dlasq1(n, got, gotE, make([]float64, 4*n+1))
			if gotInfo != wantInfo {
				t.Errorf("n=%d %s: info %d, gonum %d", n, name, gotInfo, wantInfo)
				continue
			}
			if gotInfo != 0 {
				continue
			}
			if i := sameBits(got, want); i >= 0 {
				t.Errorf("n=%d %s: σ_%d = %v, gonum %v", n, name, i, got[i], want[i])
			}
		}
	}
}

func TestValuesMatchesSVD(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	// A DLN Jacobian [X∘v, X∘u] at v = 0: its first half of columns is zero.
	zeroHalf := func(a []float64, n int) []float64 {
		for i := range len(a) / n {
			clear(a[i*n : i*n+n/2])
		}
		return a
	}
	var shared Work
	scaled := func(a []float64, c float64) []float64 {
		for i := range a {
			a[i] *= c
		}
		return a
	}
	for _, c := range []struct {
		name    string
		m, n    int
		lda     int
		a       []float64
		inPlace bool
	}{
		{"square", 400, 400, 400, lowRank(400, 400, 400, r), true},
		{"rank 40", 400, 400, 400, lowRank(400, 400, 40, r), true},
		{"half the columns zero", 400, 400, 400, zeroHalf(lowRank(400, 400, 400, r), 400), true},
		{"tall", 300, 200, 200, lowRank(300, 200, 200, r), true},
		{"stride", 60, 50, 64, lowRank(60, 64, 64, r), true},
		{"zero", 20, 20, 20, make([]float64, 400), true},
		{"wide", 200, 300, 300, lowRank(200, 300, 200, r), false},
		{"past the QR crossover", 400, 200, 200, lowRank(400, 200, 200, r), false},
		{"tiny", 50, 50, 50, scaled(lowRank(50, 50, 50, r), 1e-300), false},
		{"huge", 50, 50, 50, scaled(lowRank(50, 50, 50, r), 1e300), false},
		{"one", 1, 1, 1, []float64{-3}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var w Work
			if got := w.inPlace(c.m, c.n, c.a, c.lda); got != c.inPlace {
				t.Fatalf("inPlace = %v, want %v", got, c.inPlace)
			}
			var d mat.Dense
			d.SetRawMatrix(mat.NewDense(c.m, c.lda, c.a).Slice(0, c.m, 0, c.n).(*mat.Dense).RawMatrix())
			var svd mat.SVD
			if !svd.Factorize(&d, mat.SVDNone) {
				t.Fatal("mat.SVD did not converge")
			}
			want := svd.Values(nil)
			// Twice, so that the second call runs in kept workspace, and
			// in the workspace kept from the cases before, of other
			// shapes.
			for _, w := range []*Work{&w, &w, &shared} {
				a := append([]float64(nil), c.a...)
				got, err := w.Values(c.m, c.n, a, c.lda)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want) {
					t.Fatalf("%d values, want %d", len(got), len(want))
				}
				if i := sameBits(got, want); i >= 0 {
					t.Fatalf("σ_%d = %v, mat.SVD %v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestValuesAllocatesNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	a0 := lowRank(100, 100, 100, r)
	a := make([]float64, len(a0))
	var w Work
	if _, err := w.Values(100, 100, append(a, a0...), 100); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(5, func() {
		copy(a, a0)
		if _, err := w.Values(100, 100, a, 100); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per call in kept workspace", allocs)
	}
}

func benchmarkMatrix() []float64 {
	r := rand.New(rand.NewPCG(6, 7))
	a := make([]float64, 400*400)
	for i := range a {
		a[i] = 2*r.Float64() - 1
	}
	return a
}

// BenchmarkValues400 and BenchmarkMatSVD400 compare Values with mat.SVD
// on the rank metric's size, both on sgdlab's BLAS.
func BenchmarkValues400(b *testing.B) {
	a0 := benchmarkMatrix()
	a := make([]float64, len(a0))
	var w Work
	for b.Loop() {
		copy(a, a0)
		if _, err := w.Values(400, 400, a, 400); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatSVD400(b *testing.B) {
	a := mat.NewDense(400, 400, benchmarkMatrix())
	var svd mat.SVD
	for b.Loop() {
		if !svd.Factorize(a, mat.SVDNone) {
			b.Fatal("no convergence")
		}
	}
}

// BenchmarkDqds400 times dqds alone on the bidiagonal of the benchmark
// matrix, against gonum's Dlasq1 in BenchmarkGonumDlasq1.
func BenchmarkDqds400(b *testing.B) { benchmarkDqds(b, dlasq1) }

func BenchmarkGonumDlasq1(b *testing.B) {
	var impl gonum.Implementation
	benchmarkDqds(b, impl.Dlasq1)
}

func benchmarkDqds(b *testing.B, f func(n int, d, e, work []float64) int) {
	const n = 400
	a := benchmarkMatrix()
	var impl gonum.Implementation
	d0, e0, tau := make([]float64, n), make([]float64, n), make([]float64, 2*n)
	work := make([]float64, 1)
	impl.Dgebrd(n, n, a, n, d0, e0, tau[:n], tau[n:], work, -1)
	work = make([]float64, max(int(work[0]), 4*n+1))
	impl.Dgebrd(n, n, a, n, d0, e0, tau[:n], tau[n:], work, len(work))
	d, e := make([]float64, n), make([]float64, n)
	for b.Loop() {
		copy(d, d0)
		copy(e, e0)
		if f(n, d, e, work) != 0 {
			b.Fatal("dqds did not converge")
		}
	}
}
