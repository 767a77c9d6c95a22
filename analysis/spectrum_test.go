package analysis_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"sgdlab/analysis"
)

// specOrthogonal returns a Haar-ish random n×n orthogonal matrix (QR of a
// Gaussian matrix).
func specOrthogonal(n int, rng *rand.Rand) *mat.Dense {
	g := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q mat.Dense
	qr.QTo(&q)
	return &q
}

// specMatrix returns Q·diag(lam)·Qᵀ for a random orthogonal Q.
func specMatrix(lam []float64, seed uint64) *mat.SymDense {
	n := len(lam)
	q := specOrthogonal(n, rand.New(rand.NewPCG(seed, 7)))
	a := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			var s float64
			for l := 0; l < n; l++ {
				s += q.At(i, l) * lam[l] * q.At(j, l)
			}
			a.SetSym(i, j, s)
		}
	}
	return a
}

// specCounter counts operator applications.
type specCounter struct {
	analysis.Operator
	n int
}

func (c *specCounter) Apply(dst, v []float64) error { c.n++; return c.Operator.Apply(dst, v) }

// specDiag is a diagonal operator (cheap for large n).
type specDiag []float64

func (d specDiag) Dim() int { return len(d) }
func (d specDiag) Apply(dst, v []float64) error {
	for i, x := range d {
		dst[i] = x * v[i]
	}
	return nil
}

func specSortedDesc(x []float64) []float64 {
	y := slices.Clone(x)
	sort.Sort(sort.Reverse(sort.Float64Slice(y)))
	return y
}

func specLinspace(a, b float64, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = a + (b-a)*float64(i)/float64(n-1)
	}
	return x
}

// specCheckEigen asserts values against want (same order) to relTol relative,
// residuals ‖Av − λv‖ ≤ resTol·|λ| and orthonormality of the vectors.
func specCheckEigen(t *testing.T, a *mat.SymDense, e analysis.Eigen, want []float64, relTol, resTol float64) {
	t.Helper()
	n := a.SymmetricDim()
	if len(e.Values) != len(want) || len(e.Vectors) != len(want) {
		t.Fatalf("got %d values, %d vectors, want %d", len(e.Values), len(e.Vectors), len(want))
	}
	var worstVal, worstRes, worstOrth float64
	for i, w := range want {
		if d := math.Abs(e.Values[i]-w) / math.Abs(w); d > relTol {
			t.Errorf("value %d = %.15g, want %.15g (rel err %.2e > %.0e)", i, e.Values[i], w, d, relTol)
		} else {
			worstVal = max(worstVal, d)
		}
		v := e.Vectors[i]
		if len(v) != n {
			t.Fatalf("vector %d has length %d, want %d", i, len(v), n)
		}
		av := mat.NewVecDense(n, nil)
		av.MulVec(a, mat.NewVecDense(n, v))
		av.AddScaledVec(av, -e.Values[i], mat.NewVecDense(n, v))
		r := mat.Norm(av, 2) / math.Abs(e.Values[i])
		worstRes = max(worstRes, r)
		if r > resTol {
			t.Errorf("vector %d: ‖Av−λv‖/|λ| = %.2e > %.0e", i, r, resTol)
		}
		for j := 0; j <= i; j++ {
			var dot float64
			for l := range v {
				dot += v[l] * e.Vectors[j][l]
			}
			if i == j {
				dot--
			}
			worstOrth = max(worstOrth, math.Abs(dot))
		}
	}
	if worstOrth > 1e-10 {
		t.Errorf("vectors not orthonormal: max |vᵢ·vⱼ − δᵢⱼ| = %.2e", worstOrth)
	}
	t.Logf("max rel value err %.1e, max rel residual %.1e, max orthogonality err %.1e", worstVal, worstRes, worstOrth)
}

func TestTopBottomEigenKnownSpectrum(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	uniform := func(n int, lo, hi float64) []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = lo + (hi-lo)*rng.Float64()
		}
		return x
	}
	cases := []struct {
		name string
		lam  []float64
		k    int
		opt  analysis.LanczosOptions
	}{
		{"n50 random in [-3,10]", uniform(50, -3, 10), 5, analysis.LanczosOptions{Seed: 1}},
		{"n200 outliers and bulk", append([]float64{50, 30, 20, 15, 12, -8, -6, -5, -4, -3.5}, uniform(190, -1, 1)...), 5, analysis.LanczosOptions{Seed: 2}},
		{"n200 evenly spaced", specLinspace(-1, 2, 200), 5, analysis.LanczosOptions{Seed: 3}},
		// Exact triple top eigenvalue, a cluster 1e-7 below it, an exact
		// double bottom eigenvalue: single-vector Lanczos alone sees one
		// copy of each; the values must come back with multiplicity and
		// without ghosts.
		{"n200 repeated and clustered", append([]float64{10, 10, 10, 10 - 1e-7, 9, -5, -5, -4.9}, uniform(192, -2, 2)...), 6, analysis.LanczosOptions{Seed: 4}},
		// A basis of k+2 vectors: many thick restarts.
		{"n50 triple bottom, Steps = k+2", append([]float64{-7, -7, -7, 6, 5}, uniform(45, -1, 1)...), 4, analysis.LanczosOptions{Seed: 5, Steps: 6}},
		{"n50 Steps = Dim", uniform(50, 1, 3), 5, analysis.LanczosOptions{Seed: 6, Steps: 50}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := specMatrix(tc.lam, 11)
			desc := specSortedDesc(tc.lam)
			asc := slices.Clone(desc)
			slices.Reverse(asc)
			op := &specCounter{Operator: analysis.DenseOperator{A: a}}
			top, err := analysis.TopEigen(op, tc.k, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("TopEigen: %d matvecs", op.n)
			specCheckEigen(t, a, top, desc[:tc.k], 1e-10, 1e-8)
			op.n = 0
			bot, err := analysis.BottomEigen(op, tc.k, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("BottomEigen: %d matvecs", op.n)
			specCheckEigen(t, a, bot, asc[:tc.k], 1e-10, 1e-8)
		})
	}
}

// specNaiveLanczos runs Lanczos without any re-orthogonalisation and returns
// the Ritz values in decreasing order.
func specNaiveLanczos(op analysis.Operator, steps int, seed uint64) []float64 {
	n := op.Dim()
	rng := rand.New(rand.NewPCG(seed, 0))
	q := make([]float64, n)
	var nrm float64
	for i := range q {
		q[i] = rng.NormFloat64()
		nrm += q[i] * q[i]
	}
	for i := range q {
		q[i] /= math.Sqrt(nrm)
	}
	prev := make([]float64, n)
	w := make([]float64, n)
	alpha := make([]float64, steps)
	beta := make([]float64, steps)
	for j := 0; j < steps; j++ {
		_ = op.Apply(w, q)
		var a float64
		for i := range w {
			a += w[i] * q[i]
		}
		var b float64
		for i := range w {
			w[i] -= a*q[i] + specBetaPrev(beta, j)*prev[i]
			b += w[i] * w[i]
		}
		alpha[j], beta[j] = a, math.Sqrt(b)
		copy(prev, q)
		for i := range q {
			q[i] = w[i] / beta[j]
		}
	}
	t := mat.NewSymDense(steps, nil)
	for j := 0; j < steps; j++ {
		t.SetSym(j, j, alpha[j])
		if j+1 < steps {
			t.SetSym(j, j+1, beta[j])
		}
	}
	var es mat.EigenSym
	es.Factorize(t, false)
	return specSortedDesc(es.Values(nil))
}

func specBetaPrev(beta []float64, j int) float64 {
	if j == 0 {
		return 0
	}
	return beta[j-1]
}

// A dominant, well separated eigenvalue is where Lanczos without
// re-orthogonalisation produces ghost copies; with full
// re-orthogonalisation none may appear.
func TestNoGhostCopies(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	lam := []float64{100}
	for i := 1; i < 200; i++ {
		lam = append(lam, rng.Float64())
	}
	a := specMatrix(lam, 12)
	op := analysis.DenseOperator{A: a}
	const steps = 80
	// The test has teeth: the naive recurrence does show a ghost here.
	naive := specNaiveLanczos(op, steps, 1)
	if math.Abs(naive[1]-100) > 1e-6 {
		t.Fatalf("expected the naive Lanczos to produce a ghost of 100; Ritz values %v", naive[:3])
	}
	// λ₂ ≈ 1 = ‖A‖/100, so ‖Av − λv‖ ≤ 1e-8·|λ| needs a residual of
	// 1e-10·|λ| = 1e-12·‖A‖ (the default Tol is relative to ‖A‖).
	e, err := analysis.TopEigen(op, 3, analysis.LanczosOptions{Steps: steps, Seed: 1, Tol: 1e-12})
	if err != nil {
		t.Fatal(err)
	}
	want := specSortedDesc(lam)[:3]
	specCheckEigen(t, a, e, want, 1e-10, 1e-8)
	t.Logf("naive top-3 Ritz values %v; TopEigen %v", naive[:3], e.Values)
}

// A single Krylov sequence never sees the second copy of a double
// eigenvalue; the verification run must find it, for every seed, also when
// the Krylov space is a small part of a large space.
func TestRepeatedEigenvalueEverySeed(t *testing.T) {
	const n = 3000
	rng := rand.New(rand.NewPCG(5, 5))
	d := specDiag{10, 5, 10}
	for len(d) < n {
		d = append(d, rng.Float64())
	}
	for seed := uint64(0); seed < 10; seed++ {
		for _, tc := range []struct {
			k    int
			want []float64
		}{{2, []float64{10, 10}}, {3, []float64{10, 10, 5}}} {
			op := &specCounter{Operator: d}
			e, err := analysis.TopEigen(op, tc.k, analysis.LanczosOptions{Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tc.want {
				if math.Abs(e.Values[i]-w) > 1e-9 {
					t.Errorf("seed %d, k = %d: %v, want %v", seed, tc.k, e.Values, tc.want)
					break
				}
			}
			if seed == 0 {
				t.Logf("k = %d: %d matvecs", tc.k, op.n)
			}
		}
	}
}

func TestEigenAgreesWithEigenSym(t *testing.T) {
	const n = 200
	rng := rand.New(rand.NewPCG(42, 1))
	a := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			a.SetSym(i, j, rng.NormFloat64())
		}
	}
	var es mat.EigenSym
	if !es.Factorize(a, true) {
		t.Fatal("EigenSym failed")
	}
	vals := es.Values(nil) // ascending
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	op := &specCounter{Operator: analysis.DenseOperator{A: a}}
	for _, tc := range []struct {
		name string
		f    func(analysis.Operator, int, analysis.LanczosOptions) (analysis.Eigen, error)
		idx  func(i int) int
	}{
		{"top", analysis.TopEigen, func(i int) int { return n - 1 - i }},
		{"bottom", analysis.BottomEigen, func(i int) int { return i }},
	} {
		op.n = 0
		e, err := tc.f(op, 5, analysis.LanczosOptions{Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		var worstVal, worstVec float64
		for i := 0; i < 5; i++ {
			j := tc.idx(i)
			d := math.Abs(e.Values[i]-vals[j]) / math.Abs(vals[j])
			worstVal = max(worstVal, d)
			if d > 1e-10 {
				t.Errorf("%s %d: %.15g, EigenSym %.15g (rel %.1e)", tc.name, i, e.Values[i], vals[j], d)
			}
			var dot float64
			for l := 0; l < n; l++ {
				dot += e.Vectors[i][l] * vecs.At(l, j)
			}
			worstVec = max(worstVec, 1-math.Abs(dot))
			if 1-math.Abs(dot) > 1e-8 {
				t.Errorf("%s %d: |⟨v, v_EigenSym⟩| = %.12f", tc.name, i, math.Abs(dot))
			}
		}
		t.Logf("%s 5: %d matvecs, max rel value err %.1e, max 1−|cos| %.1e", tc.name, op.n, worstVal, worstVec)
	}
}

func TestEigenBreakdown(t *testing.T) {
	identity := mat.NewSymDense(30, nil)
	for i := 0; i < 30; i++ {
		identity.SetSym(i, i, 1)
	}
	// Three distinct eigenvalues: every Krylov space from one vector is
	// invariant after three steps.
	d := []float64{5, 5, 5, 1, 1}
	for len(d) < 20 {
		d = append(d, 0)
	}
	fewDistinct := specMatrix(d, 5)
	// Rank two.
	u, w := make([]float64, 100), make([]float64, 100)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range u {
		u[i], w[i] = rng.NormFloat64(), rng.NormFloat64()
	}
	lowRank := mat.NewSymDense(100, nil)
	for i := 0; i < 100; i++ {
		for j := i; j < 100; j++ {
			lowRank.SetSym(i, j, u[i]*u[j]+2*w[i]*w[j])
		}
	}
	var es mat.EigenSym
	es.Factorize(lowRank, false)
	lr := specSortedDesc(es.Values(nil))
	zero := mat.NewSymDense(10, nil)

	for _, tc := range []struct {
		name      string
		a         *mat.SymDense
		bottom    bool
		k         int
		want      []float64
		maxMatvec int
	}{
		{"identity top 3", identity, false, 3, []float64{1, 1, 1}, 10},
		{"identity bottom 3", identity, true, 3, []float64{1, 1, 1}, 10},
		{"few distinct top 4", fewDistinct, false, 4, []float64{5, 5, 5, 1}, 40},
		{"few distinct bottom 3", fewDistinct, true, 3, []float64{0, 0, 0}, 40},
		{"rank two top 2", lowRank, false, 2, lr[:2], 20},
		{"zero operator", zero, false, 2, []float64{0, 0}, 10},
		{"1×1", mat.NewSymDense(1, []float64{-3}), false, 1, []float64{-3}, 1},
		{"2×2 both", mat.NewSymDense(2, []float64{1, 2, 2, 1}), true, 2, []float64{-1, 3}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := &specCounter{Operator: analysis.DenseOperator{A: tc.a}}
			f := analysis.TopEigen
			if tc.bottom {
				f = analysis.BottomEigen
			}
			e, err := f(op, tc.k, analysis.LanczosOptions{Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			scale := max(1, math.Abs(tc.want[0]))
			for i, v := range tc.want {
				if math.Abs(e.Values[i]-v) > 1e-10*scale {
					t.Errorf("values %v, want %v", e.Values, tc.want)
					break
				}
			}
			for i := range e.Vectors {
				for j := 0; j <= i; j++ {
					var dot float64
					for l := range e.Vectors[i] {
						dot += e.Vectors[i][l] * e.Vectors[j][l]
					}
					if i == j {
						dot--
					}
					if math.Abs(dot) > 1e-10 {
						t.Errorf("vectors %d, %d: vᵢ·vⱼ − δᵢⱼ = %.1e", i, j, dot)
					}
				}
			}
			if op.n > tc.maxMatvec {
				t.Errorf("%d matvecs, want ≤ %d", op.n, tc.maxMatvec)
			}
			t.Logf("%v in %d matvecs", e.Values, op.n)
		})
	}
}

func TestEigenNotConverged(t *testing.T) {
	// 2000 evenly spaced eigenvalues, one Lanczos vector plus one for
	// restarts: 100 restarts cannot reach 1e-10.
	d := specDiag(specLinspace(0, 1, 2000))
	e, err := analysis.TopEigen(d, 1, analysis.LanczosOptions{Steps: 1, Seed: 1})
	if !errors.Is(err, analysis.ErrNotConverged) {
		t.Fatalf("err = %v, want ErrNotConverged", err)
	}
	if len(e.Values) != 1 || !(e.Values[0] > 0.9 && e.Values[0] <= 1) {
		t.Errorf("best approximation %v, want one value in (0.9, 1]", e.Values)
	}
	// The same problem converges with a loose tolerance.
	if _, err := analysis.TopEigen(d, 1, analysis.LanczosOptions{Seed: 1, Tol: 1e-4}); err != nil {
		t.Errorf("Tol 1e-4: %v", err)
	}
}

func TestTolStopsEarly(t *testing.T) {
	lam := append([]float64{10, 8, 6}, specLinspace(-1, 1, 197)...)
	a := specMatrix(lam, 3)
	op := &specCounter{Operator: analysis.DenseOperator{A: a}}
	e, err := analysis.TopEigen(op, 1, analysis.LanczosOptions{Seed: 1, Steps: 100, Tol: 1e-6})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(e.Values[0]-10) > 1e-5 {
		t.Errorf("λ = %v, want 10 ± 1e-5", e.Values[0])
	}
	if op.n >= 100 {
		t.Errorf("%d matvecs with Tol 1e-6 and Steps 100, want an early stop", op.n)
	}
	t.Logf("Tol 1e-6: λ = %.12f after %d matvecs", e.Values[0], op.n)
}

// specDecayingPSD returns a 200×200 PSD matrix with eigenvalues i^-1.5.
func specDecayingPSD() (*mat.SymDense, float64) {
	lam := make([]float64, 200)
	var tr float64
	for i := range lam {
		lam[i] = math.Pow(float64(i+1), -1.5)
		tr += lam[i]
	}
	return specMatrix(lam, 21), tr
}

func TestHutchPP(t *testing.T) {
	a, tr := specDecayingPSD()
	op := &specCounter{Operator: analysis.DenseOperator{A: a}}
	got, err := analysis.HutchPP(op, 30, 1)
	if err != nil {
		t.Fatal(err)
	}
	if op.n > 30 {
		t.Errorf("%d matvecs, want ≤ 30", op.n)
	}
	rel := math.Abs(got-tr) / tr
	if rel > 0.05 {
		t.Errorf("HutchPP(30) = %.6f, trace %.6f (rel err %.3f > 5%%)", got, tr, rel)
	}
	t.Logf("30 matvecs, seed 1: %.6f vs %.6f, rel err %.4f", got, tr, rel)

	meanErr := func(m int) float64 {
		var s float64
		for seed := uint64(100); seed < 120; seed++ {
			v, err := analysis.HutchPP(analysis.DenseOperator{A: a}, m, seed)
			if err != nil {
				t.Fatal(err)
			}
			s += math.Abs(v-tr) / tr
		}
		return s / 20
	}
	e30, e150 := meanErr(30), meanErr(150)
	if !(e150 < e30/2) {
		t.Errorf("mean rel err over 20 seeds: %.4f at 30 matvecs, %.4f at 150; want at least a halving", e30, e150)
	}
	t.Logf("mean rel err over 20 seeds: 30 matvecs %.4f, 150 matvecs %.4f", e30, e150)

	// A sketch as large as the space gives the exact trace.
	small := specMatrix(specLinspace(-2, 3, 20), 4)
	exact := 0.0
	for i := 0; i < 20; i++ {
		exact += small.At(i, i)
	}
	got, err = analysis.HutchPP(analysis.DenseOperator{A: small}, 60, 5)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-exact) > 1e-12*20 {
		t.Errorf("HutchPP(60) on 20×20 = %.15g, exact %.15g", got, exact)
	}
}

func TestSpectralDensity(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	lam := []float64{20, 12}
	for len(lam) < 200 {
		lam = append(lam, 0.5+2.5*rng.Float64())
	}
	a := specMatrix(lam, 31)
	var tr float64
	for _, l := range lam {
		tr += l
	}
	lmin, lmax := slices.Min(lam), slices.Max(lam)
	op := &specCounter{Operator: analysis.DenseOperator{A: a}}
	// The first moment of each probe is vᵀAv exactly, so Σwλ is
	// Hutchinson's estimate of tr(A)/n: relative std here ≈ 1.9%/√(probes/20).
	const steps, probes = 30, 40
	d, err := analysis.SpectralDensity(op, steps, probes, 1)
	if err != nil {
		t.Fatal(err)
	}
	if op.n != steps*probes {
		t.Errorf("%d matvecs, want %d", op.n, steps*probes)
	}
	if len(d.Nodes) != len(d.Weights) || len(d.Nodes) != steps*probes {
		t.Fatalf("%d nodes, %d weights, want %d", len(d.Nodes), len(d.Weights), steps*probes)
	}
	var sw, m1 float64
	for i, w := range d.Weights {
		if w < 0 {
			t.Errorf("weight %d = %g < 0", i, w)
		}
		sw += w
		m1 += w * d.Nodes[i]
	}
	if math.Abs(sw-1) > 1e-12 {
		t.Errorf("Σw = %.16f, want 1 ± 1e-12", sw)
	}
	if rel := math.Abs(m1-tr/200) / (tr / 200); rel > 0.05 {
		t.Errorf("Σwλ = %.5f, tr/n = %.5f (rel %.3f > 5%%)", m1, tr/200, rel)
	} else {
		t.Logf("Σw − 1 = %.1e; Σwλ = %.5f vs tr/n = %.5f (rel %.4f)", sw-1, m1, tr/200, rel)
	}
	if !sort.Float64sAreSorted(d.Nodes) {
		t.Error("nodes not sorted")
	}
	if d.Nodes[0] < lmin-1e-10*lmax || d.Nodes[len(d.Nodes)-1] > lmax+1e-10*lmax {
		t.Errorf("nodes span [%.12g, %.12g], spectrum [%.12g, %.12g]", d.Nodes[0], d.Nodes[len(d.Nodes)-1], lmin, lmax)
	}
	// The outliers are found: each probe's extreme node converges to λmax.
	if math.Abs(d.Nodes[len(d.Nodes)-1]-lmax) > 1e-8*lmax {
		t.Errorf("largest node %.12g, λmax %.12g", d.Nodes[len(d.Nodes)-1], lmax)
	}

	// Smooth integrates to 1 and is close to the true broadened density.
	const sigma = 0.25
	lo, hi := lmin-5*sigma, lmax+5*sigma
	grid := specLinspace(lo, hi, 4001)
	rho := d.Smooth(grid, sigma)
	exact := analysis.Density{Nodes: lam, Weights: slices.Repeat([]float64{1.0 / 200}, 200)}.Smooth(grid, sigma)
	h := grid[1] - grid[0]
	var integral, l1 float64
	for i := range grid {
		c := h
		if i == 0 || i == len(grid)-1 {
			c = h / 2
		}
		integral += c * rho[i]
		l1 += c * math.Abs(rho[i]-exact[i])
	}
	if math.Abs(integral-1) > 1e-3 {
		t.Errorf("∫ρ = %.6f, want 1 ± 1e-3", integral)
	}
	if l1 > 0.1 {
		t.Errorf("L1 distance to the exact broadened density %.3f > 0.1", l1)
	}
	t.Logf("∫ρ − 1 = %.1e; L1 distance to exact broadened density (σ = %g) = %.4f", integral-1, sigma, l1)
}

// For a diagonal operator every normalised Rademacher vector has
// vᵀAᵖv = tr(Aᵖ)/n, and Gauss quadrature with s nodes is exact for degree
// < 2s: one probe reproduces the moments exactly.
func TestSpectralDensityMoments(t *testing.T) {
	lam := specLinspace(-1, 1.5, 100)
	for i := range lam {
		lam[i] += 0.003 * math.Sin(float64(7*i))
	}
	const steps = 6
	d, err := analysis.SpectralDensity(specDiag(lam), steps, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	for p := 0; p < 2*steps; p++ {
		var got, want float64
		for i, x := range d.Nodes {
			got += d.Weights[i] * math.Pow(x, float64(p))
		}
		for _, x := range lam {
			want += math.Pow(x, float64(p)) / float64(len(lam))
		}
		if math.Abs(got-want) > 1e-12*max(1, math.Abs(want)) {
			t.Errorf("moment %d: %.15g, want %.15g", p, got, want)
		}
	}
	// Breakdown: 3 distinct eigenvalues stop the Lanczos run after 3 steps
	// and the quadrature is the exact spectral measure.
	d, err = analysis.SpectralDensity(specDiag([]float64{2, 2, -1, 3, 3, 3}), 6, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Nodes) != 3 {
		t.Fatalf("nodes %v, want 3 after breakdown", d.Nodes)
	}
	for i, want := range [][2]float64{{-1, 1.0 / 6}, {2, 2.0 / 6}, {3, 3.0 / 6}} {
		if math.Abs(d.Nodes[i]-want[0]) > 1e-12 || math.Abs(d.Weights[i]-want[1]) > 1e-12 {
			t.Errorf("node %d: (%.15g, %.15g), want %v", i, d.Nodes[i], d.Weights[i], want)
		}
	}
}

func TestSmoothPanics(t *testing.T) {
	for _, sigma := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Smooth(sigma = %v) did not panic", sigma)
				}
			}()
			analysis.Density{Nodes: []float64{0}, Weights: []float64{1}}.Smooth([]float64{0}, sigma)
		}()
	}
}

type specNilDim struct{}

func (specNilDim) Dim() int                   { return 0 }
func (specNilDim) Apply(_, _ []float64) error { return nil }

func TestSpectrumValidation(t *testing.T) {
	op := analysis.DenseOperator{A: specMatrix(specLinspace(1, 2, 10), 1)}
	top := func(k int, o analysis.LanczosOptions) error { _, err := analysis.TopEigen(op, k, o); return err }
	bottom := func(k int, o analysis.LanczosOptions) error { _, err := analysis.BottomEigen(op, k, o); return err }
	for _, tc := range []struct {
		name string
		err  error
		want []string
	}{
		{"k = 0", top(0, analysis.LanczosOptions{}), []string{"TopEigen", "k = 0", "1 ≤ k ≤ Dim = 10"}},
		{"k > Dim", bottom(11, analysis.LanczosOptions{}), []string{"BottomEigen", "k = 11", "1 ≤ k ≤ Dim = 10"}},
		{"Steps < k", top(4, analysis.LanczosOptions{Steps: 3}), []string{"Steps = 3", "k = 4 ≤ Steps"}},
		{"Steps < 0", top(1, analysis.LanczosOptions{Steps: -1}), []string{"Steps = -1"}},
		{"Tol < 0", top(1, analysis.LanczosOptions{Tol: -1}), []string{"Tol = -1", "Tol > 0"}},
		{"Tol NaN", top(1, analysis.LanczosOptions{Tol: math.NaN()}), []string{"Tol = NaN"}},
		{"nil op", func() error { _, err := analysis.TopEigen(nil, 1, analysis.LanczosOptions{}); return err }(), []string{"nil Operator"}},
		{"Dim 0", func() error { _, err := analysis.TopEigen(specNilDim{}, 1, analysis.LanczosOptions{}); return err }(), []string{"Dim = 0", "Dim ≥ 1"}},
		{"nil SymDense", func() error { _, err := analysis.HutchPP(analysis.DenseOperator{}, 3, 0); return err }(), []string{"Dim = 0"}},
		{"matvecs < 3", func() error { _, err := analysis.HutchPP(op, 2, 0); return err }(), []string{"HutchPP", "matvecs = 2", "matvecs ≥ 3"}},
		{"steps < 1", func() error { _, err := analysis.SpectralDensity(op, 0, 1, 0); return err }(), []string{"SpectralDensity", "steps = 0", "steps ≥ 1"}},
		{"probes < 1", func() error { _, err := analysis.SpectralDensity(op, 5, 0, 0); return err }(), []string{"probes = 0", "probes ≥ 1"}},
		{"Apply length", op.Apply(make([]float64, 3), make([]float64, 10)), []string{"len(dst) = 3", "Dim = 10"}},
	} {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(tc.err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.name, tc.err, w)
			}
		}
	}
	// Steps above Dim are clamped, not rejected.
	if _, err := analysis.TopEigen(op, 2, analysis.LanczosOptions{Steps: 1000}); err != nil {
		t.Errorf("Steps > Dim: %v", err)
	}
}

var specErrBoom = errors.New("boom")

// specFailAt fails at the at-th call of Apply.
type specFailAt struct {
	analysis.Operator
	at, calls int
}

func (f *specFailAt) Apply(dst, v []float64) error {
	f.calls++
	if f.calls == f.at {
		return specErrBoom
	}
	return f.Operator.Apply(dst, v)
}

func TestApplyErrors(t *testing.T) {
	base := analysis.DenseOperator{A: specMatrix(specLinspace(1, 2, 20), 1)}
	for _, tc := range []struct {
		name string
		run  func(analysis.Operator) error
		want string
	}{
		{"TopEigen", func(op analysis.Operator) error {
			_, err := analysis.TopEigen(op, 2, analysis.LanczosOptions{})
			return err
		}, "Lanczos step 3 (matvec 3)"},
		{"BottomEigen", func(op analysis.Operator) error {
			_, err := analysis.BottomEigen(op, 2, analysis.LanczosOptions{})
			return err
		}, "Lanczos step 3 (matvec 3)"},
		{"HutchPP", func(op analysis.Operator) error { _, err := analysis.HutchPP(op, 9, 1); return err }, "matvec 3 of 9"},
		{"SpectralDensity", func(op analysis.Operator) error { _, err := analysis.SpectralDensity(op, 2, 3, 1); return err }, "probe 2: analysis: SpectralDensity: Apply failed at Lanczos step 1 (matvec 3)"},
	} {
		err := tc.run(&specFailAt{Operator: base, at: 3})
		if !errors.Is(err, specErrBoom) {
			t.Errorf("%s: err = %v, want it to wrap specErrBoom", tc.name, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not mention %q", tc.name, err, tc.want)
		}
	}
	// Non-finite output is reported, not iterated on.
	nan := specDiag{1, math.NaN(), 2}
	if _, err := analysis.TopEigen(nan, 1, analysis.LanczosOptions{}); err == nil || !strings.Contains(err.Error(), "non-finite") {
		t.Errorf("NaN operator: err = %v", err)
	}
}

func TestSpectrumDeterminism(t *testing.T) {
	a := specMatrix(append([]float64{4, 4, 3}, specLinspace(-1, 1, 57)...), 2)
	op := analysis.DenseOperator{A: a}
	opt := analysis.LanczosOptions{Seed: 99}
	e1, err1 := analysis.TopEigen(op, 3, opt)
	e2, err2 := analysis.TopEigen(op, 3, opt)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for i := range e1.Values {
		if e1.Values[i] != e2.Values[i] || !slices.Equal(e1.Vectors[i], e2.Vectors[i]) {
			t.Errorf("TopEigen pair %d differs between identical calls", i)
		}
	}
	b1, _ := analysis.BottomEigen(op, 2, opt)
	b2, _ := analysis.BottomEigen(op, 2, opt)
	if !slices.Equal(b1.Values, b2.Values) || !slices.Equal(b1.Vectors[1], b2.Vectors[1]) {
		t.Error("BottomEigen differs between identical calls")
	}
	h1, _ := analysis.HutchPP(op, 12, 5)
	h2, _ := analysis.HutchPP(op, 12, 5)
	h3, _ := analysis.HutchPP(op, 12, 6)
	if h1 != h2 {
		t.Errorf("HutchPP: %v != %v for the same seed", h1, h2)
	}
	if h1 == h3 {
		t.Errorf("HutchPP: seeds 5 and 6 both gave %v", h1)
	}
	d1, _ := analysis.SpectralDensity(op, 8, 3, 5)
	d2, _ := analysis.SpectralDensity(op, 8, 3, 5)
	if !slices.Equal(d1.Nodes, d2.Nodes) || !slices.Equal(d1.Weights, d2.Weights) {
		t.Error("SpectralDensity differs between identical calls")
	}
	// Another seed gives the same eigenvalues to tolerance.
	e3, err := analysis.TopEigen(op, 3, analysis.LanczosOptions{Seed: 100})
	if err != nil {
		t.Fatal(err)
	}
	for i := range e3.Values {
		if math.Abs(e3.Values[i]-e1.Values[i]) > 1e-10*4 {
			t.Errorf("seed 100 value %d = %.15g, seed 99 %.15g", i, e3.Values[i], e1.Values[i])
		}
	}
}

// The Lanczos and Hutch++ loops allocate nothing per operator application:
// the allocation count does not grow with the number of steps.
func TestSpectrumAllocations(t *testing.T) {
	d := specDiag(specLinspace(0, 1, 300))
	allocs := func(f func()) float64 { return testing.AllocsPerRun(3, f) }
	slq10 := allocs(func() { _, _ = analysis.SpectralDensity(d, 10, 1, 1) })
	slq60 := allocs(func() { _, _ = analysis.SpectralDensity(d, 60, 1, 1) })
	if slq60 != slq10 {
		t.Errorf("SpectralDensity allocations: %v at 10 steps, %v at 60", slq10, slq60)
	}
	h30 := allocs(func() { _, _ = analysis.HutchPP(d, 30, 1) })
	h300 := allocs(func() { _, _ = analysis.HutchPP(d, 300, 1) })
	if h300 != h30 {
		t.Errorf("HutchPP allocations: %v at 30 matvecs, %v at 300", h30, h300)
	}
	// TopEigen: a run that needs many restarts allocates no more than one
	// that converges in the first Krylov space, apart from the result.
	easy := allocs(func() {
		_, _ = analysis.TopEigen(specDiag(append([]float64{10}, specLinspace(0, 1, 299)...)), 1, analysis.LanczosOptions{Steps: 20, Seed: 1, Tol: 1e-8})
	})
	hard := allocs(func() { _, _ = analysis.TopEigen(d, 1, analysis.LanczosOptions{Steps: 20, Seed: 1, Tol: 1e-8}) })
	if hard > easy+4 {
		t.Errorf("TopEigen allocations: %v converging at once, %v with restarts", easy, hard)
	}
	t.Logf("allocs: SLQ %v/%v, HutchPP %v/%v, TopEigen %v/%v", slq10, slq60, h30, h300, easy, hard)
}

func TestDenseOperator(t *testing.T) {
	a := mat.NewSymDense(3, []float64{2, 1, 0, 1, 3, 4, 0, 4, 5})
	op := analysis.DenseOperator{A: a}
	dst := []float64{math.NaN(), math.NaN(), math.NaN()}
	if err := op.Apply(dst, []float64{1, -1, 2}); err != nil {
		t.Fatal(err)
	}
	if want := []float64{1, 6, 6}; !slices.Equal(dst, want) {
		t.Errorf("A·v = %v, want %v", dst, want)
	}
	var _ analysis.Operator = &op
	if (analysis.DenseOperator{}).Dim() != 0 {
		t.Error("nil DenseOperator Dim != 0")
	}
}
