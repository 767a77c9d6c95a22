package analysis_test

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"sgdlab/analysis"
)

func TestBlockSparsity(t *testing.T) {
	// Columns of the 4-point block below: a unit, twice that unit (a
	// duplicate at correlation 1), a dead unit, a pre-activation sum with
	// negative entries, and a unit uncorrelated with the others.
	phi := mat.NewDense(4, 5, []float64{
		1, 2, 0, -1, 1,
		0, 0, 0, 2, 1,
		2, 4, 0, 3, 0,
		0, 0, 0, -4, 0,
	})
	for _, tc := range []struct {
		name      string
		threshold float64
		cols      []int
		want      analysis.UnitSparsity
	}{
		// Positives: 2 + 2 + 0 + 2 + 2 = 8 of 20. Columns 0 and 1
		// correlate at 1, so 0 goes (the last of a group survives); 2
		// is dead; ρ(1, 3) = 10/√330 ≈ 0.55, ρ(1, 4) = −1/√11 and
		// ρ(3, 4) = 1/√30; survivors 1, 3, 4 hold 6 positives, over
		// all 5 units: 6/20.
		{"all units", 0.95, nil, analysis.UnitSparsity{Active: 8.0 / 20, Distinct: 6.0 / 20, Removed: 2}},
		// A threshold below ρ(1, 3) also removes 1; 3 and 4 keep 4
		// positives.
		{"low threshold", 0.5, nil, analysis.UnitSparsity{Active: 8.0 / 20, Distinct: 4.0 / 20, Removed: 3}},
		// Sampled units 2 and 0: 0 survives alone (2 is dead); Active
		// still counts every unit.
		{"sample", 0.95, []int{2, 0}, analysis.UnitSparsity{Active: 8.0 / 20, Distinct: 2.0 / 8, Removed: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := analysis.BlockSparsity(phi, tc.threshold, tc.cols)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got.Active-tc.want.Active) > 1e-15 || math.Abs(got.Distinct-tc.want.Distinct) > 1e-15 || got.Removed != tc.want.Removed {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	for _, bad := range [][]int{{5}, {-1}} {
		if _, err := analysis.BlockSparsity(phi, 0.95, bad); err == nil {
			t.Errorf("cols %v: no error", bad)
		}
	}
}

func TestSampleUnits(t *testing.T) {
	// The reference lists are numpy 1.24's
	// np.random.seed(seed); np.random.choice(d, k, replace=False).
	for _, tc := range []struct {
		d, k int
		seed uint32
		want []int
	}{
		{20, 5, 7, []int{1, 17, 2, 5, 11}},
		{3000, 6, 123, []int{1690, 1798, 417, 1599, 1206, 647}},
		{5, 5, 1, nil},
		{4, 9, 1, nil},
	} {
		if got := analysis.SampleUnits(tc.d, tc.k, tc.seed); !slices.Equal(got, tc.want) {
			t.Errorf("SampleUnits(%d, %d, %d) = %v, want %v", tc.d, tc.k, tc.seed, got, tc.want)
		}
	}
}
