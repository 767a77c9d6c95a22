package analysis

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"sgdlab/data"
)

// UnitSparsity is what the authors' deep-net code reports of one block's
// features (compute_feature_sparsity, spec §3.4).
type UnitSparsity struct {
	// Active is the fraction of all (point, unit) activations that are
	// > 0, over every unit of the block ("sparsity", "raw").
	Active float64
	// Distinct is the feature sparsity coefficient ("sparsity_rmdup"):
	// the fraction of (point, unit) activations > 0 on the sampled units
	// that are neither dead nor a near-duplicate of another sampled unit,
	// over all sampled units, dead and duplicate ones included.
	Distinct float64
	// Removed is the number of sampled units that are dead or duplicate
	// ("n_highly_corr").
	Removed int
}

// BlockSparsity measures phi (N×D: rows are points, columns the units of a
// block, C·H·W of a convolutional one), as the authors' deep-net code does
// and unlike FeatureSparsity: the rows are not normalised, an activation
// counts when it is > 0 (the pre-activation sums of a pre-activation
// ResNet's blocks can be negative), and the de-duplication (DistinctColumns
// with threshold, 0.95 in the paper) runs on the columns cols of phi only
// (all if nil), the authors' random subsample of 1000 units of a wide
// block (see SampleUnits).
func BlockSparsity(phi mat.Matrix, threshold float64, cols []int) (UnitSparsity, error) {
	if err := checkColumnsInput("block sparsity", phi, threshold); err != nil {
		return UnitSparsity{}, err
	}
	n, d := phi.Dims()
	for _, j := range cols {
		if j < 0 || j >= d {
			return UnitSparsity{}, fmt.Errorf("block sparsity: sampled unit %d outside [0, %d)", j, d)
		}
	}
	var s UnitSparsity
	s.Active = positiveFraction(phi, nil)
	sub := phi
	if cols != nil {
		m := mat.NewDense(n, len(cols), nil)
		for c, j := range cols {
			for i := 0; i < n; i++ {
				m.Set(i, c, phi.At(i, j))
			}
		}
		sub = m
	}
	keep := distinctColumns(sub, threshold)
	_, q := sub.Dims()
	s.Removed = q - len(keep)
	s.Distinct = positiveFraction(sub, keep) * float64(len(keep)) / float64(q)
	return s, nil
}

// positiveFraction returns the fraction of the entries of the columns cols
// of a (all if nil) that are > 0; 0 for no column.
func positiveFraction(a mat.Matrix, cols []int) float64 {
	n, d := a.Dims()
	if cols == nil {
		cols = make([]int, d)
		for j := range cols {
			cols[j] = j
		}
	}
	if len(cols) == 0 {
		return 0
	}
	pos := 0
	for _, j := range cols {
		for i := 0; i < n; i++ {
			if a.At(i, j) > 0 {
				pos++
			}
		}
	}
	return float64(pos) / float64(n*len(cols))
}

// SampleUnits returns k distinct units of a block of d, in the order
// numpy's legacy np.random.seed(seed); np.random.choice(d, k,
// replace=False) draws them (the first k entries of a Fisher–Yates
// permutation), or nil — all units — when d ≤ k. The authors draw a new
// subsample at every evaluation from numpy's global stream; a fixed one per
// run keeps the units of a curve the same from point to point.
func SampleUnits(d, k int, seed uint32) []int {
	if d <= k {
		return nil
	}
	perm := make([]int, d)
	data.NewNumpyRand(seed).Permute(perm)
	return perm[:k:k]
}
