package analysis_test

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"sgdlab/analysis"
)

// dense builds a matrix from its rows.
func dense(rows ...[]float64) *mat.Dense {
	m := mat.NewDense(len(rows), len(rows[0]), nil)
	for i, r := range rows {
		m.SetRow(i, r)
	}
	return m
}

// pearson is an independent np.corrcoef of columns a and b of x, used to
// check the preconditions the hand cases rely on.
func pearson(x mat.Matrix, a, b int) float64 {
	n, _ := x.Dims()
	var ma, mb float64
	for i := 0; i < n; i++ {
		ma += x.At(i, a)
		mb += x.At(i, b)
	}
	ma /= float64(n)
	mb /= float64(n)
	var sab, saa, sbb float64
	for i := 0; i < n; i++ {
		da, db := x.At(i, a)-ma, x.At(i, b)-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	return sab / math.Sqrt(saa*sbb)
}

// checkFeatures asserts FeatureSurvivors, FeatureSparsity and
// DeadOrDuplicate together.
func checkFeatures(t *testing.T, phi mat.Matrix, thr float64, surv []int, sparsity float64) {
	t.Helper()
	got, err := analysis.FeatureSurvivors(phi, thr)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, surv) {
		t.Errorf("survivors %v, want %v", got, surv)
	}
	s, err := analysis.FeatureSparsity(phi, thr)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(s-sparsity) > 1e-15 {
		t.Errorf("sparsity %v, want %v", s, sparsity)
	}
	_, m := phi.Dims()
	d, err := analysis.DeadOrDuplicate(phi, thr)
	if err != nil {
		t.Fatal(err)
	}
	if d != m-len(surv) {
		t.Errorf("dead or duplicate %d, want %d", d, m-len(surv))
	}
}

// The chain of E-style hand examples: columns a, b, c active on samples
// 0..2, padding neurons d, e active alone on samples 3 and 4. Rows 0 and 1
// are proportional (row 1 = 7·row 0), all rows of a, b, c have norm 3 or
// 21, so after normalisation (×3) a = (1,1,2,0,0), b = (2,2,2,0,0),
// c = (2,2,1,0,0), d, e = 3·unit vectors, and by hand
//
//	corr(a,b) = 3.2/√(2.8·4.8) = 4/√21   ≈ 0.873
//	corr(b,c) = 4/√(4.8·4)     = √(5/6)  ≈ 0.913
//	corr(a,c) = 2/√(2.8·4)     = √(5/14) ≈ 0.598
//
// and |corr| of d or e with anything is at most 0.612.
var chainRows = [][]float64{
	{1, 2, 2, 0, 0},
	{7, 14, 14, 0, 0},
	{2, 2, 1, 0, 0},
	{0, 0, 0, 5, 0},
	{0, 0, 0, 0, 1},
}

// permuteColumns returns rows with its columns in the order perm.
func permuteColumns(rows [][]float64, perm []int) *mat.Dense {
	out := make([][]float64, len(rows))
	for i, r := range rows {
		for _, j := range perm {
			out[i] = append(out[i], r[j])
		}
	}
	return dense(out...)
}

func TestChainPreconditions(t *testing.T) {
	psi := analysis.NormalizeRows(dense(chainRows...))
	for _, tc := range []struct {
		a, b int
		want float64
	}{
		{0, 1, 4 / math.Sqrt(21)},
		{1, 2, math.Sqrt(5.0 / 6)},
		{0, 2, math.Sqrt(5.0 / 14)},
	} {
		if got := pearson(psi, tc.a, tc.b); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("corr(%d,%d) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	for _, p := range []int{3, 4} {
		for q := 0; q < 5; q++ {
			if q != p && math.Abs(pearson(psi, p, q)) > 0.62 {
				t.Errorf("|corr(%d,%d)| = %v > 0.62", p, q, pearson(psi, p, q))
			}
		}
	}
}

// TestFeatureSparsityHandCases: each case is worked out by hand from the
// greedy rule "visit K in order; delete the visited column if |C| >
// threshold with any other column still present".
func TestFeatureSparsityHandCases(t *testing.T) {
	for _, tc := range []struct {
		name     string
		phi      *mat.Dense
		thr      float64
		surv     []int
		sparsity float64
	}{{
		// Neuron 0 is dead: dropped from K, but the denominator is still
		// N·m = 3·4. Normalised, the live columns correlate at about
		// 0.32, −0.79 and −0.84, so none is a duplicate at 0.99; the
		// non-zeros of the survivors are 2 + 2 + 1 = 5.
		name: "dead neuron counts in the denominator",
		phi:  dense([]float64{0, 1, 0, 1}, []float64{0, 0, 3, 0}, []float64{0, 2, 1, 0}),
		thr:  0.99, surv: []int{1, 2, 3}, sparsity: 5.0 / 12,
	}, {
		// Columns 0, 1 identical, column 2 = 2·column 0 (correlation 1
		// after the row normalisation too, which divides a row by one
		// number). Visiting 0: 1 present → deleted; 1: 2 present →
		// deleted; 2: survives. Column 3 correlates at −0.915 with them, below
		// 0.99. Survivors hold
		// 3 + 3 non-zeros out of 4·4.
		name: "identical and scaled copies: the last survives",
		phi: dense([]float64{1, 1, 2, 0}, []float64{0, 0, 0, 1},
			[]float64{2, 2, 4, 1}, []float64{1, 1, 2, 3}),
		thr: 0.99, surv: []int{2, 3}, sparsity: 6.0 / 16,
	}, {
		// Rows (3,4)/5, (4,3)/5, (3,4)/5: q = 1.4 − p, correlation −1,
		// so |C| > thr and the first of the pair goes.
		name: "anti-correlated pair",
		phi:  dense([]float64{3, 4}, []float64{4, 3}, []float64{3, 4}),
		thr:  0.99, surv: []int{1}, sparsity: 3.0 / 6,
	}, {
		// Chain a~b (0.873), b~c (0.913), a≁c (0.598) at 0.8, order
		// a, b, c, d, e. a: b present → deleted. b: c present →
		// deleted. c: a, b gone, d, e below 0.8 → kept; d, e kept.
		// Non-zeros: c 3, d 1, e 1 of 5·5.
		name: "chain a,b,c at 0.8",
		phi:  dense(chainRows...),
		thr:  0.8, surv: []int{2, 3, 4}, sparsity: 5.0 / 25,
	}, {
		// Same neurons in the order b, a, c, d, e. b: a present →
		// deleted. a: b gone, c only 0.598 → kept. c: a 0.598, b gone
		// → kept. Now a and c both survive: a 3 + c 3 + d + e = 8.
		name: "chain b,a,c at 0.8",
		phi:  permuteColumns(chainRows, []int{1, 0, 2, 3, 4}),
		thr:  0.8, surv: []int{1, 2, 3, 4}, sparsity: 8.0 / 25,
	}, {
		// Order a, c, b: a: b present (0.873) → deleted. c: b present
		// (0.913) → deleted. b (now column 2) survives alone.
		name: "chain a,c,b at 0.8",
		phi:  permuteColumns(chainRows, []int{0, 2, 1, 3, 4}),
		thr:  0.8, surv: []int{2, 3, 4}, sparsity: 5.0 / 25,
	}, {
		// At 0.9 only b~c is above: a has no partner and is kept, b is
		// deleted because c is present, c is kept.
		name: "chain a,b,c at 0.9",
		phi:  dense(chainRows...),
		thr:  0.9, surv: []int{0, 2, 3, 4}, sparsity: 8.0 / 25,
	}, {
		// Threshold 1 never deletes, even exact duplicates: the
		// correlation is clipped to [−1, 1] as np.corrcoef does, and
		// 1 > 1 is false.
		name: "threshold 1 keeps exact duplicates",
		phi:  dense([]float64{1, 1, 2, 0}, []float64{0, 0, 0, 1}, []float64{2, 2, 4, 1}, []float64{1, 1, 2, 3}),
		thr:  1, surv: []int{0, 1, 2, 3}, sparsity: 12.0 / 16,
	}, {
		// All neurons dead: K is empty, nothing survives.
		name: "all dead",
		phi:  dense([]float64{0, 0}, []float64{0, 0}),
		thr:  0.99, surv: nil, sparsity: 0,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			checkFeatures(t, tc.phi, tc.thr, tc.surv, tc.sparsity)
		})
	}
}

// TestThresholdBetween: normalised (×11) a = (0,6,11), b = (11,6,0),
// c = (0,7,0). Centred ×3, a = (−17,1,16) and b = (16,1,−17), so
// corr(a,b) = −543/546 ≈ −0.99451, between 0.99 and 0.999, while c
// correlates at 21/√(546·294) ≈ 0.052 with both.
func TestThresholdBetween(t *testing.T) {
	phi := dense([]float64{0, 11, 0}, []float64{6, 6, 7}, []float64{11, 0, 0})
	if got := pearson(analysis.NormalizeRows(phi), 0, 1); math.Abs(got+543.0/546) > 1e-12 {
		t.Fatalf("corr(a,b) = %v, want −543/546", got)
	}
	// 0.99: a is deleted (b present); b then has no partner. b 2 + c 1
	// non-zeros of 9.
	checkFeatures(t, phi, 0.99, []int{1, 2}, 3.0/9)
	// 0.999: nobody is deleted: 2 + 2 + 1 of 9.
	checkFeatures(t, phi, 0.999, []int{0, 1, 2}, 5.0/9)
}

// TestRowNormalisation: scaling any row by 7 changes nothing, and an
// all-zero row adds samples to the denominator but no non-zeros (and
// normalises to 0, not NaN).
func TestRowNormalisation(t *testing.T) {
	base := dense(chainRows...)
	want, _ := analysis.FeatureSurvivors(base, 0.8)
	wantS, _ := analysis.FeatureSparsity(base, 0.8)
	n, _ := base.Dims()
	for i := 0; i < n; i++ {
		phi := mat.DenseCopyOf(base)
		row := phi.RawRowView(i)
		for j := range row {
			row[j] *= 7
		}
		got, _ := analysis.FeatureSurvivors(phi, 0.8)
		s, _ := analysis.FeatureSparsity(phi, 0.8)
		if !slices.Equal(got, want) || s != wantS {
			t.Errorf("row %d ×7: survivors %v sparsity %v, want %v %v", i, got, s, want, wantS)
		}
	}

	// The dead-neuron case with a fourth, all-zero sample: the same 5
	// non-zeros over 4·4. With the extra 0 sample the live columns
	// correlate at about −0.27, 0.44, −0.51, still no duplicates.
	phi := dense([]float64{0, 1, 0, 1}, []float64{0, 0, 3, 0}, []float64{0, 2, 1, 0}, []float64{0, 0, 0, 0})
	psi := analysis.NormalizeRows(phi)
	for j := 0; j < 4; j++ {
		if v := psi.At(3, j); v != 0 {
			t.Errorf("zero row normalised to %v at column %d", v, j)
		}
	}
	checkFeatures(t, phi, 0.99, []int{1, 2, 3}, 5.0/16)
}

// TestZeroVarianceTolerance exercises both sides of ZeroVarianceTol on the
// shared de-duplication, without row normalisation. Z = 0.5·(1 + ε·s) and
// X = 1 + 0.5·s with s = (1,−1,1,−1) are perfectly correlated whenever Z
// varies at all; σ(Z)/max|Z| = ε/(1+ε).
func TestZeroVarianceTolerance(t *testing.T) {
	s := []float64{1, -1, 1, -1}
	col := func(c, e float64) []float64 {
		v := make([]float64, len(s))
		for i := range s {
			v[i] = c * (1 + e*s[i])
		}
		return v
	}
	build := func(cols ...[]float64) *mat.Dense {
		m := mat.NewDense(len(s), len(cols), nil)
		for j, c := range cols {
			m.SetCol(j, c)
		}
		return m
	}
	below, above := float64(analysis.ZeroVarianceTol)/2, 2*float64(analysis.ZeroVarianceTol)
	x := col(1, 0.5)
	for _, tc := range []struct {
		name string
		v    *mat.Dense
		want []int
	}{
		// Below: Z is constant (NaN correlations): never deleted, and
		// never the reason X is deleted, in either order.
		{"Z,X below", build(col(0.5, below), x), []int{0, 1}},
		{"X,Z below", build(x, col(0.5, below)), []int{0, 1}},
		// Above: Z is a normal column with corr(Z,X) = 1. Z first: Z is
		// deleted because X is present. X first: X is deleted because Z
		// is present, then Z survives (X gone).
		{"Z,X above", build(col(0.5, above), x), []int{1}},
		{"X,Z above", build(x, col(0.5, above)), []int{1}},
		// Two identical (near-)constant columns both survive, as in
		// numpy; varying just above the tolerance, they are duplicates.
		{"Z,Z exact constant", build(col(0.5, 0), col(0.5, 0)), []int{0, 1}},
		{"Z,Z below", build(col(0.5, below), col(0.5, below)), []int{0, 1}},
		{"Z,Z above", build(col(0.5, above), col(0.5, above)), []int{1}},
		// The rule is relative: a column of tiny numbers that does vary
		// is not constant, and a negative-only column is dead (K needs an
		// entry > 0) even though it is uncorrelated with X (centred it is
		// (1,1,−1,−1)/2 ⊥ s) and would otherwise survive.
		{"tiny varying", build(col(1e-20, 0.5), x), []int{1}},
		{"negative column dead", build([]float64{-1, -1, -2, -2}, x), []int{1}},
	} {
		got, err := analysis.DistinctColumns(tc.v, 0.99)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: survivors %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestZeroVarianceThroughFeatures: the same two sides through the row
// normalisation. Rows (A, A, D) with A = 0.2·(1 ± ε) and D = √(1 − 2A²)
// have unit norm already, so normalising moves them by ulps only. D varies
// by about 0.09·ε relative, so it is constant on both sides; A and B are
// identical columns.
func TestZeroVarianceThroughFeatures(t *testing.T) {
	build := func(e float64) *mat.Dense {
		m := mat.NewDense(4, 3, nil)
		for i, s := range []float64{1, -1, 1, -1} {
			a := 0.2 * (1 + e*s)
			m.SetRow(i, []float64{a, a, math.Sqrt(1 - 2*a*a)})
		}
		return m
	}
	// Below: all three constant → all survive.
	checkFeatures(t, build(float64(analysis.ZeroVarianceTol)/2), 0.99, []int{0, 1, 2}, 1)
	// Above: A, B duplicates (A goes), D constant.
	checkFeatures(t, build(2*float64(analysis.ZeroVarianceTol)), 0.99, []int{1, 2}, 8.0/12)

	// One-ulp noise from the normalisation itself: (1,1)/√2 and
	// (7,7)/√98 round to different doubles, so both columns "vary" by one
	// ulp and would correlate at 1 without the tolerance; numpy's intent
	// (constant columns are never duplicates) keeps both.
	phi := dense([]float64{1, 1}, []float64{7, 7}, []float64{1, 1})
	psi := analysis.NormalizeRows(phi)
	if psi.At(0, 0) == psi.At(1, 0) {
		t.Fatalf("precondition: normalised rows are bitwise equal (%v), no ulp noise to test", psi.At(0, 0))
	}
	checkFeatures(t, phi, 0.99, []int{0, 1}, 1)
}

func TestFeatureBadInputs(t *testing.T) {
	good := dense([]float64{1, 0}, []float64{0, 1})
	for _, thr := range []float64{0, -0.5, 1.5, math.NaN()} {
		if _, err := analysis.FeatureSparsity(good, thr); err == nil {
			t.Errorf("threshold %v: no error", thr)
		}
		if _, err := analysis.DistinctColumns(good, thr); err == nil {
			t.Errorf("DistinctColumns threshold %v: no error", thr)
		}
	}
	for name, phi := range map[string]mat.Matrix{
		"empty": &mat.Dense{},
		"NaN":   dense([]float64{1, math.NaN()}),
		"Inf":   dense([]float64{1, math.Inf(1)}),
	} {
		if _, err := analysis.FeatureSparsity(phi, 0.99); err == nil {
			t.Errorf("FeatureSparsity %s: no error", name)
		}
		if _, err := analysis.FeatureSurvivors(phi, 0.99); err == nil {
			t.Errorf("FeatureSurvivors %s: no error", name)
		}
		if _, err := analysis.DeadOrDuplicate(phi, 0.99); err == nil {
			t.Errorf("DeadOrDuplicate %s: no error", name)
		}
		if _, err := analysis.DistinctColumns(phi, 0.99); err == nil {
			t.Errorf("DistinctColumns %s: no error", name)
		}
	}
	if _, err := analysis.NuclearNorm(&mat.Dense{}); err == nil {
		t.Error("NuclearNorm of an empty matrix: no error")
	}
}

func TestEffectiveRank(t *testing.T) {
	for _, tc := range []struct {
		s    []float64
		want float64
	}{
		{[]float64{1, 1, 1, 1}, math.Log(4)}, // uniform: the maximum ln #s
		{[]float64{1, 0, 0}, 0},              // one non-zero value
		{[]float64{2, 2, 0}, math.Log(2)},    // zeros dropped, not counted in #s
		{[]float64{3, 1}, -(0.75*math.Log(0.75) + 0.25*math.Log(0.25))},
		{[]float64{6, 2}, -(0.75*math.Log(0.75) + 0.25*math.Log(0.25))}, // scale-free
		{nil, 0},
		{[]float64{0, 0}, 0},
	} {
		if got := analysis.EffectiveRank(tc.s); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("EffectiveRank(%v) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestNuclearNorm(t *testing.T) {
	for _, tc := range []struct {
		a    mat.Matrix
		want float64
	}{
		{mat.NewDiagDense(3, []float64{3, -2, 0.5}), 5.5}, // σ = |d_i|
		{dense([]float64{1, 2}, []float64{2, 4}), 5},      // rank 1: ‖u‖‖v‖ = √5·√5
		{dense([]float64{0, 0, 0}), 0},
	} {
		got, err := analysis.NuclearNorm(tc.a)
		if err != nil || math.Abs(got-tc.want) > 1e-14 {
			t.Errorf("NuclearNorm = %v (%v), want %v", got, err, tc.want)
		}
	}
}

func TestFeatureEffectiveRank(t *testing.T) {
	for _, tc := range []struct {
		name string
		phi  mat.Matrix
		want float64
	}{
		// Rows are normalised first, so scaling a sample changes nothing:
		// two orthogonal unit rows give σ = (1, 1).
		{"orthogonal rows", dense([]float64{5, 0}, []float64{0, 0.1}), math.Log(2)},
		{"one direction", dense([]float64{1, 1}, []float64{3, 3}, []float64{0.5, 0.5}), 0},
		// Normalised: four rows e2 and two rows e1, so σ = (√4, √2).
		{"weighted directions", dense([]float64{0, 2}, []float64{0, 1}, []float64{0, 3}, []float64{0, 1}, []float64{7, 0}, []float64{1, 0}),
			-(2/(2+math.Sqrt2)*math.Log(2/(2+math.Sqrt2)) + math.Sqrt2/(2+math.Sqrt2)*math.Log(math.Sqrt2/(2+math.Sqrt2)))},
		{"all-zero row dropped", dense([]float64{3, 0}, []float64{0, 0}, []float64{0, 0}, []float64{1, 0}, []float64{0, 0}, []float64{0, 0}), 0},
		{"unequal", mat.NewDiagDense(2, []float64{3, 1}), math.Log(2)},
	} {
		got, err := analysis.FeatureEffectiveRank(tc.phi)
		if err != nil || math.Abs(got-tc.want) > 1e-14 {
			t.Errorf("%s: FeatureEffectiveRank = %v (%v), want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := analysis.FeatureEffectiveRank(&mat.Dense{}); err == nil {
		t.Error("FeatureEffectiveRank of an empty map: no error")
	}
}

func TestNonZeroFraction(t *testing.T) {
	if got := analysis.NonZeroFraction(dense([]float64{0, 1, -2}, []float64{0, 0, 3})); got != 0.5 {
		t.Errorf("NonZeroFraction = %v, want 3/6", got)
	}
	if got := analysis.NonZeroFraction(&mat.Dense{}); got != 0 {
		t.Errorf("NonZeroFraction of empty = %v, want 0", got)
	}
}

func TestPatternDistance(t *testing.T) {
	// Patterns [>0]: before TFF/TTF, after FFT/FTF. They differ at (0,0),
	// (0,2) and (1,0) — the last because a pre-activation of exactly 0 is
	// inactive — so 3 of 6.
	pre0 := dense([]float64{1, -1, 0}, []float64{2, 0.5, -3})
	pre1 := dense([]float64{-1, -1, 2}, []float64{0, 0.5, -1})
	got, err := analysis.PatternDistance(pre0, pre1)
	if err != nil || got != 0.5 {
		t.Errorf("PatternDistance = %v (%v), want 0.5", got, err)
	}
	if got, _ := analysis.PatternDistance(pre0, pre0); got != 0 {
		t.Errorf("distance to itself = %v", got)
	}
	// Same number of entries, different shape: still an error.
	if _, err := analysis.PatternDistance(pre0, dense([]float64{1, 1}, []float64{1, 1}, []float64{1, 1})); err == nil {
		t.Error("2×3 vs 3×2: no error")
	}
	if _, err := analysis.PatternDistance(&mat.Dense{}, &mat.Dense{}); err == nil {
		t.Error("empty: no error")
	}
}
