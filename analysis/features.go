package analysis

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// ZeroVarianceTol decides which columns the correlation step treats as
// constant. A column x (N samples, on the scale the correlation is computed
// on: row-normalised features for FeatureSparsity, raw descriptors for
// DistinctColumns) counts as zero-variance when its population standard
// deviation satisfies
//
//	σ(x) ≤ ZeroVarianceTol · max_i |x_i|.
//
// numpy's corrcoef gives NaN correlations for an exactly constant column;
// NaN compares false, so such a neuron is never deleted as a duplicate and
// never causes another to be deleted. The reference code relies on exact
// equality, which rounding breaks: normalising the rows (s, s) and (3s, 3s)
// gives 0.7071067811865475 and 0.7071067811865476, and two such columns
// then correlate at ±1 and one is deleted. The rule is relative to the
// column's largest entry so that it does not depend on the units (features
// and descriptors alike), works for any mean, and never fires for a column
// with genuine relative variation (e.g. (1e-20, 0, 0) is a normal column).
//
// Why 1e-10: rounding in the row normalisation perturbs each entry by a
// relative error of at most about m·ε (m neurons, ε ≈ 1.1e-16), i.e. about
// 1e-13 for m = 1000 and 1e-11 for m = 10^5, so constant columns stay
// constant with ample margin. Conversely, a column whose relative variation
// is below 1e-10 has correlations that rounding alone can shift by
// m·ε/1e-10, about 1e-3 at m = 1000, which is the size of 1 − ρ* for the
// thresholds used (0.999, 0.99, 0.95); such correlations carry no
// information, so treating the column as constant loses nothing real.
const ZeroVarianceTol = 1e-10

// NormalizeRows returns a copy of a (N×m, rows = samples) with every row
// divided by its ℓ2 norm; all-zero rows stay zero (the reference code
// replaces the resulting NaN by 0). An empty a gives an empty matrix.
func NormalizeRows(a mat.Matrix) *mat.Dense {
	if r, c := a.Dims(); r == 0 || c == 0 {
		return &mat.Dense{}
	}
	out := mat.DenseCopyOf(a)
	r, _ := out.Dims()
	for i := 0; i < r; i++ {
		row := out.RawRowView(i)
		nrm := floats.Norm(row, 2)
		if nrm == 0 {
			continue
		}
		for j := range row {
			row[j] /= nrm
		}
	}
	return out
}

// FeatureSparsity is feature_sparsity of the paper (spec §3.2). phi is the
// N×m matrix of a layer's post-ReLU features (rows = samples, columns =
// neurons), not yet normalised. It normalises the rows (NormalizeRows),
// drops dead neurons and greedily removes neurons whose Pearson correlation
// with a neuron still present exceeds threshold in absolute value (see
// DistinctColumns), and returns
//
//	#{(i, j) : j ∈ K', Φ_ij ≠ 0} / (N·m),
//
// a fraction in [0, 1] (the paper prints it in %). The denominator counts
// all m neurons, dead and duplicate ones included. threshold must lie in
// (0, 1]; the paper uses 0.999 (1D problem) and 0.99.
func FeatureSparsity(phi mat.Matrix, threshold float64) (float64, error) {
	psi, keep, err := featureSurvivors("feature sparsity", phi, threshold)
	if err != nil {
		return 0, err
	}
	n, m := psi.Dims()
	nz := 0
	for _, j := range keep {
		for i := 0; i < n; i++ {
			if psi.At(i, j) != 0 {
				nz++
			}
		}
	}
	return float64(nz) / float64(n*m), nil
}

// FeatureSurvivors returns K', the neurons (column indices of phi, in
// increasing order) that FeatureSparsity keeps: alive and not a
// near-duplicate of a neuron still present. Arguments as in FeatureSparsity.
func FeatureSurvivors(phi mat.Matrix, threshold float64) ([]int, error) {
	_, keep, err := featureSurvivors("feature survivors", phi, threshold)
	return keep, err
}

// DeadOrDuplicate is n_highly_corr of the paper: m − |K'|, the number of
// dead and duplicate neurons together. Arguments as in FeatureSparsity.
func DeadOrDuplicate(phi mat.Matrix, threshold float64) (int, error) {
	psi, keep, err := featureSurvivors("dead or duplicate", phi, threshold)
	if err != nil {
		return 0, err
	}
	_, m := psi.Dims()
	return m - len(keep), nil
}

func featureSurvivors(name string, phi mat.Matrix, threshold float64) (*mat.Dense, []int, error) {
	if err := checkColumnsInput(name, phi, threshold); err != nil {
		return nil, nil, err
	}
	psi := NormalizeRows(phi)
	return psi, distinctColumns(psi, threshold), nil
}

// DistinctColumns is the dead-column filter and greedy de-duplication
// shared by feature_sparsity and rm_too_correlated (spec §3.2, §3.3),
// applied to v (N×q: N samples, q columns) as given, without row
// normalisation. It returns the surviving column indices in increasing
// order:
//
//  1. K = the columns with at least one entry > 0;
//  2. C = the Pearson correlations of the columns of K across the N rows
//     (np.corrcoef: centred, divided by the product of the standard
//     deviations, clipped to [−1, 1]); columns with zero variance (see
//     ZeroVarianceTol) get NaN correlations;
//  3. over K in increasing order, column a is deleted if |C[a, b]| >
//     threshold for any other column b still present (earlier kept ones and
//     all later ones); a deleted column is removed at once, so in a group
//     of duplicates the last one survives. NaN never exceeds the threshold.
//
// Since C is symmetric, an earlier column was kept only if it correlates
// with no later one, so step 3 amounts to: a is deleted iff |C[a, b]| >
// threshold for some b after a in K (whether or not b survives).
//
// threshold must lie in (0, 1].
func DistinctColumns(v mat.Matrix, threshold float64) ([]int, error) {
	if err := checkColumnsInput("distinct columns", v, threshold); err != nil {
		return nil, err
	}
	return distinctColumns(v, threshold), nil
}

func checkColumnsInput(name string, a mat.Matrix, threshold float64) error {
	if !(threshold > 0 && threshold <= 1) {
		return fmt.Errorf("%s: correlation threshold %g outside (0, 1]", name, threshold)
	}
	r, c := a.Dims()
	if r == 0 || c == 0 {
		return fmt.Errorf("%s: empty %d×%d matrix", name, r, c)
	}
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			if x := a.At(i, j); math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("%s: entry (%d, %d) is %g", name, i, j, x)
			}
		}
	}
	return nil
}

// distinctColumns implements DistinctColumns on validated input.
func distinctColumns(v mat.Matrix, threshold float64) []int {
	n, q := v.Dims()
	var k []int
	for j := 0; j < q; j++ {
		for i := 0; i < n; i++ {
			if v.At(i, j) > 0 {
				k = append(k, j)
				break
			}
		}
	}
	if len(k) == 0 {
		return nil
	}
	// z: the columns of K centred and scaled to unit norm, so that zᵀz is
	// the correlation matrix; zero-variance columns are flagged instead.
	z := mat.NewDense(n, len(k), nil)
	flat := make([]bool, len(k))
	col := make([]float64, n)
	for c, j := range k {
		mat.Col(col, j, v)
		mean, peak := 0.0, 0.0
		for _, x := range col {
			mean += x
			peak = math.Max(peak, math.Abs(x))
		}
		mean /= float64(n)
		ss := 0.0
		for i, x := range col {
			col[i] = x - mean
			ss += col[i] * col[i]
		}
		nrm := math.Sqrt(ss)
		if nrm/math.Sqrt(float64(n)) <= ZeroVarianceTol*peak {
			flat[c] = true
			continue
		}
		for i := range col {
			z.Set(i, c, col[i]/nrm)
		}
	}
	var corr mat.Dense
	corr.Mul(z.T(), z)

	present := make([]bool, len(k))
	for c := range present {
		present[c] = true
	}
	for a := range k {
		if flat[a] {
			continue
		}
		for b := range k {
			if b == a || !present[b] || flat[b] {
				continue
			}
			if math.Min(math.Abs(corr.At(a, b)), 1) > threshold {
				present[a] = false
				break
			}
		}
	}
	var keep []int
	for c, j := range k {
		if present[c] {
			keep = append(keep, j)
		}
	}
	return keep
}

// EffectiveRank is effective_rank of the paper (spec §3.3): the Shannon
// entropy −Σ p_i ln p_i, in nats and not exponentiated, of p = s/Σs after
// dropping the zeros of s (typically singular values, all ≥ 0). The value
// lies in [0, ln #{s_i ≠ 0}]; it is 0 when s has no non-zero entry.
// Negative entries make it NaN.
func EffectiveRank(s []float64) float64 {
	sum := 0.0
	for _, v := range s {
		sum += v
	}
	h := 0.0
	for _, v := range s {
		if v == 0 {
			continue
		}
		p := v / sum
		h -= p * math.Log(p)
	}
	return h
}

// NuclearNorm returns ‖a‖_* = Σ σ_i, the sum of the singular values of a
// (in the units of a's entries), e.g. of the N×m scaled features
// relu(Wx+b)·a of E4.
func NuclearNorm(a mat.Matrix) (float64, error) {
	s, err := singularValues("nuclear norm", a)
	sum := 0.0
	for _, v := range s {
		sum += v
	}
	return sum, err
}

// FeatureEffectiveRank is the effective rank of E6: EffectiveRank of the
// singular values of NormalizeRows(phi), phi an N×m feature map (rows =
// samples), in nats.
func FeatureEffectiveRank(phi mat.Matrix) (float64, error) {
	s, err := singularValues("effective rank", NormalizeRows(phi))
	return EffectiveRank(s), err
}

// singularValues returns the singular values of a, in decreasing order;
// name prefixes its errors.
func singularValues(name string, a mat.Matrix) ([]float64, error) {
	r, c := a.Dims()
	if r == 0 || c == 0 {
		return nil, fmt.Errorf("%s: empty %d×%d matrix", name, r, c)
	}
	var svd mat.SVD
	if !svd.Factorize(a, mat.SVDNone) {
		return nil, fmt.Errorf("%s: SVD did not converge", name)
	}
	return svd.Values(nil), nil
}

// PositiveFraction returns the fraction of the entries of a that are > 0
// (0 for an empty matrix): the raw sparsity of a block in the authors'
// deep-net code (spec §3.4), where a pre-activation sum can be negative.
func PositiveFraction(a mat.Matrix) float64 { return positiveFraction(a, nil) }

// NonZeroFraction returns the fraction of the entries of a that are ≠ 0
// (a number in [0, 1]; E4 prints it in %). It is 0 for an empty matrix.
func NonZeroFraction(a mat.Matrix) float64 {
	r, c := a.Dims()
	if r == 0 || c == 0 {
		return 0
	}
	nz := 0
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			if a.At(i, j) != 0 {
				nz++
			}
		}
	}
	return float64(nz) / float64(r*c)
}

// PatternDistance is the ReLU-pattern distance of E4: given two N×m
// matrices of pre-activations w_j·x_i + b_j (rows = samples, columns =
// neurons), e.g. at initialisation and now, it returns the fraction of the
// N·m (sample, neuron) pairs whose activation pattern [pre > 0] differs. A
// pre-activation of exactly 0 counts as inactive, as relu'(0) = 0.
func PatternDistance(pre0, pre1 mat.Matrix) (float64, error) {
	r0, c0 := pre0.Dims()
	r1, c1 := pre1.Dims()
	if r0 != r1 || c0 != c1 {
		return 0, fmt.Errorf("pattern distance: shapes %d×%d and %d×%d differ", r0, c0, r1, c1)
	}
	if r0 == 0 || c0 == 0 {
		return 0, fmt.Errorf("pattern distance: empty %d×%d matrices", r0, c0)
	}
	diff := 0
	for i := 0; i < r0; i++ {
		for j := 0; j < c0; j++ {
			if (pre0.At(i, j) > 0) != (pre1.At(i, j) > 0) {
				diff++
			}
		}
	}
	return float64(diff) / float64(r0*c0), nil
}
