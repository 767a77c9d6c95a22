package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// usablePaths returns the paths this CPU runs; each test runs on all of
// them.
func usablePaths() []*path {
	var ps []*path
	for _, p := range paths() {
		if p.usable {
			ps = append(ps, p)
		}
	}
	return ps
}

// onPaths runs f once per usable path with that path active.
func onPaths(t *testing.T, f func(t *testing.T)) {
	for _, p := range usablePaths() {
		t.Run(p.name, func(t *testing.T) {
			saved := active
			active = p
			defer func() { active = saved }()
			f(t)
		})
	}
}

func randSlice[T float](rng *rand.Rand, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(rng.Float64()*2 - 1)
	}
	return s
}

// naiveGemm is the triple-loop reference in float64.
func naiveGemm[T float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) []float64 {
	want := make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s float64
			for l := range k {
				var av, bv T
				if tA {
					av = a[l*lda+i]
				} else {
					av = a[i*lda+l]
				}
				if tB {
					bv = b[j*ldb+l]
				} else {
					bv = b[l*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			w := float64(alpha) * s
			if beta != 0 {
				w += float64(beta) * float64(c[i*ldc+j])
			}
			want[i*n+j] = w
		}
	}
	return want
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

type gemmCase struct {
	m, n, k     int
	tA, tB      bool
	alpha, beta float64
	pad         int // extra leading dimension
}

func gemmCases() []gemmCase {
	var cs []gemmCase
	sizes := [][3]int{{0, 3, 3}, {3, 0, 3}, {3, 3, 0}, {1, 1, 1}, {2, 3, 4}, {7, 5, 3}, {6, 16, 9}, {8, 32, 17},
		{13, 17, 19}, {33, 65, 31}, {121, 97, 257}, {128, 256, 100}, {300, 31, 280}, {5, 300, 513}, {250, 260, 70}}
	for _, s := range sizes {
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				cs = append(cs, gemmCase{m: s[0], n: s[1], k: s[2], tA: tA, tB: tB, alpha: 1, beta: 0})
			}
		}
		cs = append(cs, gemmCase{m: s[0], n: s[1], k: s[2], alpha: -0.5, beta: 2, pad: 3},
			gemmCase{m: s[0], n: s[1], k: s[2], tA: true, alpha: 1.5, beta: 1, pad: 1},
			gemmCase{m: s[0], n: s[1], k: s[2], tB: true, alpha: 0, beta: 0.5})
	}
	return cs
}

func testGemm[T float](t *testing.T, call func(tA, tB blas.Transpose, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int), tol float64) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range gemmCases() {
		rowA, colA := tc.m, tc.k
		if tc.tA {
			rowA, colA = tc.k, tc.m
		}
		rowB, colB := tc.k, tc.n
		if tc.tB {
			rowB, colB = tc.n, tc.k
		}
		lda, ldb, ldc := max(1, colA+tc.pad), max(1, colB+tc.pad), max(1, tc.n+tc.pad)
		a := randSlice[T](rng, max(0, rowA*lda))
		b := randSlice[T](rng, max(0, rowB*ldb))
		c := randSlice[T](rng, max(0, tc.m*ldc))
		if tc.beta == 0 {
			for i := range c {
				c[i] = T(math.NaN())
			}
		}
		orig := append([]T(nil), c...)
		want := naiveGemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, T(tc.alpha), a, lda, b, ldb, T(tc.beta), orig, ldc)
		call(trans(tc.tA), trans(tc.tB), tc.m, tc.n, tc.k, T(tc.alpha), a, lda, b, ldb, T(tc.beta), c, ldc)
		for i := range tc.m {
			for j := range ldc {
				got := float64(c[i*ldc+j])
				if j >= tc.n {
					if c[i*ldc+j] != orig[i*ldc+j] && !(math.IsNaN(got) && math.IsNaN(float64(orig[i*ldc+j]))) {
						t.Fatalf("%+v: C[%d,%d] beyond n changed", tc, i, j)
					}
					continue
				}
				w := want[i*tc.n+j]
				if math.Abs(got-w) > tol*(1+float64(tc.k)) || math.IsNaN(got) {
					t.Fatalf("%+v: C[%d,%d] = %v, want %v", tc, i, j, got, w)
				}
			}
		}
	}
}

func TestDgemm(t *testing.T) {
	onPaths(t, func(t *testing.T) { testGemm(t, Implementation{}.Dgemm, 1e-14) })
}

func TestSgemm(t *testing.T) {
	onPaths(t, func(t *testing.T) { testGemm(t, Implementation{}.Sgemm, 1e-6) })
}

// TestGemmChain checks the determinism promise: every element is the
// same fma chain whatever the path (float64), the transposition and the
// number of parts.
func TestGemmChain(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m, n, k := 150, 170, 600
	a := randSlice[float64](rng, m*k)
	at := make([]float64, k*m)
	for i := range m {
		for l := range k {
			at[l*m+i] = a[i*k+l]
		}
	}
	b := randSlice[float64](rng, k*n)
	want := make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s float64
			for l := range k {
				s = math.FMA(a[i*k+l], b[l*n+j], s)
			}
			want[i*n+j] = s
		}
	}
	onPaths(t, func(t *testing.T) {
		for _, tA := range []bool{false, true} {
			for _, procs := range []int{1, 2, 3} {
				c := make([]float64, m*n)
				aa, lda := a, k
				if tA {
					aa, lda = at, m
				}
				g := &call[float64]{k: &active.d, tA: tA, m: m, n: n, kk: k, alpha: 1, a: aa, lda: lda, b: b, ldb: n, c: c, ldc: n, parts: 1}
				if procs > 1 {
					g.split(procs)
				}
				for p := range g.parts {
					g.do(p)
				}
				for i := range c {
					if c[i] != want[i] {
						t.Fatalf("tA %v, %d parts: C[%d] = %v, want the fma chain %v", tA, g.parts, i, c[i], want[i])
					}
				}
			}
		}
	})
}

func TestGemv(t *testing.T) {
	onPaths(t, func(t *testing.T) {
		testGemv(t, Implementation{}.Dgemv, 1e-14)
		testGemv(t, Implementation{}.Sgemv, 1e-6)
	})
}

func testGemv[T float](t *testing.T, call func(tA blas.Transpose, m, n int, alpha T, a []T, lda int, x []T, incX int, beta T, y []T, incY int), tol float64) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, mn := range [][2]int{{0, 4}, {4, 0}, {1, 1}, {3, 7}, {5, 33}, {17, 16}, {64, 9}, {130, 401}, {400, 400}} {
		for _, tA := range []bool{false, true} {
			for _, inc := range [][2]int{{1, 1}, {2, 3}, {-1, 1}, {1, -2}} {
				for _, ab := range [][2]float64{{1, 0}, {-2, 0.5}, {0, 3}} {
					m, n := mn[0], mn[1]
					name := fmt.Sprintf("%dx%d tA %v inc %v alpha, beta %v", m, n, tA, inc, ab)
					lda := n + 2
					a := randSlice[T](rng, m*lda)
					lx, ly := n, m
					if tA {
						lx, ly = m, n
					}
					incX, incY := inc[0], inc[1]
					x := randSlice[T](rng, max(0, (lx-1)*abs(incX)+1))
					y := randSlice[T](rng, max(0, (ly-1)*abs(incY)+1))
					if ab[1] == 0 {
						for i := range y {
							y[i] = T(math.NaN())
						}
					}
					xi := func(i int) float64 {
						if incX < 0 {
							return float64(x[(lx-1-i)*-incX])
						}
						return float64(x[i*incX])
					}
					yIdx := func(i int) int {
						if incY < 0 {
							return (ly - 1 - i) * -incY
						}
						return i * incY
					}
					want := make([]float64, ly)
					for i := range ly {
						var s float64
						for j := range lx {
							if tA {
								s += float64(a[j*lda+i]) * xi(j)
							} else {
								s += float64(a[i*lda+j]) * xi(j)
							}
						}
						want[i] = ab[0] * s
						if ab[1] != 0 {
							want[i] += ab[1] * float64(y[yIdx(i)])
						}
					}
					if m == 0 || n == 0 {
						continue
					}
					call(trans(tA), m, n, T(ab[0]), a, lda, x, incX, T(ab[1]), y, incY)
					for i := range ly {
						got := float64(y[yIdx(i)])
						if math.Abs(got-want[i]) > tol*float64(1+lx) || math.IsNaN(got) {
							t.Fatalf("%s: y[%d] = %v, want %v", name, i, got, want[i])
						}
					}
				}
			}
		}
	}
}

// TestFloat64PathsAgree checks that every path computes the same float64
// bits, products and matrix–vector products alike, on shapes with and
// without vector tails and on rows shorter than one vector.
func TestFloat64PathsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, s := range [][3]int{{37, 301, 45}, {9, 16, 5}, {130, 7, 3}, {23, 64, 17}} {
		m, n, k := s[0], s[1], s[2]
		a := randSlice[float64](rng, m*k)
		b := randSlice[float64](rng, k*n)
		x := randSlice[float64](rng, n)
		xt := randSlice[float64](rng, m)
		bt := randSlice[float64](rng, n*k)
		var want [][]float64
		for i, p := range usablePaths() {
			saved := active
			active = p
			c1 := make([]float64, m*n)
			Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, 0.7, a, k, b, n, 0, c1, n)
			c2 := make([]float64, m*n)
			Implementation{}.Dgemm(blas.Trans, blas.Trans, m, n, k, 1, a, m, bt, k, 0, c2, n)
			ab := make([]float64, m*n)
			copy(ab, c1)
			// The vector kernels directly, as Dgemv calls them only
			// above gonum's sizes.
			y1 := make([]float64, m)
			gemv(&p.dv, gemvs64, false, m, n, 1, ab, n, x, 1, 0, y1, 1)
			y2 := make([]float64, n)
			gemv(&p.dv, gemvs64, true, m, n, 1.5, ab, n, xt, 1, 0, y2, 1)
			active = saved
			got := [][]float64{c1, c2, y1, y2}
			if i == 0 {
				want = got
				continue
			}
			for r := range got {
				for j := range got[r] {
					if got[r][j] != want[r][j] {
						t.Fatalf("%v %s: result %d [%d] = %v, want %v as on %s", s, p.name, r, j, got[r][j], want[r][j], usablePaths()[0].name)
					}
				}
			}
		}
	}
}

// TestParallelMatchesSerial runs products large enough to be split over
// the worker pool and checks them against the same products on one
// thread, bit for bit.
func TestParallelMatchesSerial(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	m, n, k := 420, 410, 200
	if m*n*k < parallelWork {
		t.Fatalf("%d×%d×%d is below parallelWork", m, n, k)
	}
	a := randSlice[float32](rng, m*k)
	b := randSlice[float32](rng, k*n)
	gm, gn := 1100, 1000
	if gm*gn < gemvWork {
		t.Fatalf("%d×%d is below gemvWork", gm, gn)
	}
	ga := randSlice[float64](rng, gm*gn)
	x := randSlice[float64](rng, gm)
	onPaths(t, func(t *testing.T) {
		results := func() ([]float32, []float64, []float64) {
			c := make([]float32, m*n)
			Implementation{}.Sgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, k, b, k, 0, c, n)
			y := make([]float64, gm)
			Implementation{}.Dgemv(blas.NoTrans, gm, gn, 1, ga, gn, x[:gn], 1, 0, y, 1)
			yt := make([]float64, gn)
			Implementation{}.Dgemv(blas.Trans, gm, gn, 1, ga, gn, x, 1, 0, yt, 1)
			return c, y, yt
		}
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		c1, y1, yt1 := results()
		runtime.GOMAXPROCS(3)
		c3, y3, yt3 := results()
		if !slices.Equal(c1, c3) || !slices.Equal(y1, y3) || !slices.Equal(yt1, yt3) {
			t.Error("results on 3 threads differ from those on 1")
		}
	})
}

// TestFloat32AssemblyPathsAgree checks that the AVX2 and AVX-512 paths
// compute the same float32 bits: the same fma chains in hardware.
func TestFloat32AssemblyPathsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	m, n, k := 45, 77, 300
	a := randSlice[float32](rng, m*k)
	b := randSlice[float32](rng, n*k)
	x := randSlice[float32](rng, k)
	var want [][]float32
	var first string
	for _, p := range usablePaths() {
		if p.name == "go" {
			continue
		}
		saved := active
		active = p
		c := make([]float32, m*n)
		Implementation{}.Sgemm(blas.Trans, blas.Trans, m, n, k, 1, a, m, b, k, 0, c, n)
		y := make([]float32, m)
		Implementation{}.Sgemv(blas.NoTrans, m, k, 1, a, k, x, 1, 0, y, 1)
		yt := make([]float32, k)
		Implementation{}.Sgemv(blas.Trans, m, k, 0.5, a, k, x[:m], 1, 0, yt, 1)
		active = saved
		got := [][]float32{c, y, yt}
		if want == nil {
			want, first = got, p.name
			continue
		}
		for r := range got {
			if !slices.Equal(got[r], want[r]) {
				t.Errorf("%s: result %d differs from %s's", p.name, r, first)
			}
		}
	}
}

// TestChoose checks SGDLAB_KERNEL's values: a path by name, the fastest
// for "" and "auto", and a panic naming the valid values otherwise.
func TestChoose(t *testing.T) {
	fastest := usablePaths()[0]
	for _, env := range []string{"", "auto"} {
		if p := choose(env); p != fastest {
			t.Errorf("choose(%q) = %s, want %s", env, p.name, fastest.name)
		}
	}
	for _, p := range usablePaths() {
		if got := choose(p.name); got != p {
			t.Errorf("choose(%q) = %s", p.name, got.name)
		}
	}
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, `SGDLAB_KERNEL="avx3"`) || !strings.Contains(msg, "go") {
			t.Errorf("choose(avx3) panicked with %q, want the value and the valid ones", msg)
		}
	}()
	choose("avx3")
}

// TestPackingKernels compares the packing of every path with plain
// loops, value for value, on panels of every width and odd depths and
// leading dimensions.
func TestPackingKernels(t *testing.T) {
	onPaths(t, func(t *testing.T) {
		testPacking[float32](t, &active.s.pack)
		testPacking[float64](t, &active.d.pack)
	})
}

func testPacking[T float](t *testing.T, pk *packers[T]) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, width := range []int{4, 6, 8, 16, 32} {
		for _, rows := range []int{1, 3, 4, 7, 8, 9, 16, 17, 32} {
			if rows > width {
				continue
			}
			for _, depth := range []int{1, 5, 8, 9, 31, 64, 257} {
				ld := depth + rng.IntN(5)
				src := randSlice[T](rng, (rows-1)*ld+depth)
				got := make([]T, depth*width)
				interleave(pk, got, width, src, ld, rows, depth)
				for l := range depth {
					for r := range rows {
						if v, want := got[l*width+r], src[r*ld+l]; v != want {
							t.Fatalf("interleave width %d, %d×%d: dst[%d·%d+%d] = %v, want %v", width, rows, depth, l, width, r, v, want)
						}
					}
				}
				// copyRows reads depth rows of rows values, ld apart.
				ld = rows + rng.IntN(5)
				src = randSlice[T](rng, (depth-1)*ld+rows)
				got = make([]T, depth*width)
				copyRows(pk, got, width, src, ld, rows, depth)
				for l := range depth {
					for r := range rows {
						if v, want := got[l*width+r], src[l*ld+r]; v != want {
							t.Fatalf("copyRows width %d, %d×%d: dst[%d·%d+%d] = %v, want %v", width, rows, depth, l, width, r, v, want)
						}
					}
				}
			}
		}
	}
}
