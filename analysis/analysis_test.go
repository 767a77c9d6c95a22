package analysis_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"sgdlab/analysis"
	"sgdlab/models"
)

func TestL2(t *testing.T) {
	for _, tc := range []struct {
		vs   [][]float64
		want float64
	}{
		{[][]float64{{0.1, 0.1}, {0, 0}}, 0.1 * math.Sqrt2},
		{[][]float64{{2, -3}, {-2, 3}}, math.Sqrt(26)},
		{[][]float64{{1e-30, 1}, {1e-30, 0.5}}, math.Sqrt(1.25 + 2e-60)},
		{nil, 0},
	} {
		if got := analysis.L2(tc.vs...); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("L2(%v) = %v, want %v", tc.vs, got, tc.want)
		}
	}
}

func TestRank(t *testing.T) {
	// Singular values 1, 1e-3, 1e-9, 0: the rank depends on the threshold.
	a := mat.NewDiagDense(4, []float64{1e-3, 1, 0, 1e-9})
	for _, tc := range []struct {
		thr  float64
		want int
	}{{1e-15, 3}, {1e-6, 2}, {1e-2, 1}} {
		if got, err := analysis.Rank(a, tc.thr, nil); err != nil || got != tc.want {
			t.Errorf("threshold %g: rank %d (%v), want %d", tc.thr, got, err, tc.want)
		}
	}
	if got, _ := analysis.Rank(mat.NewDense(2, 2, nil), 1e-15, nil); got != 0 {
		t.Errorf("zero matrix: rank %d", got)
	}
}

// TestJacobianOfDLN compares φ from the graph with the closed form: row i
// is ∇_{u,v} ⟨u⊙v, x_i⟩ = [x_i⊙v, x_i⊙u].
func TestJacobianOfDLN(t *testing.T) {
	const n, d = 7, 5
	r := rand.New(rand.NewPCG(1, 1))
	m := models.NewDLN(d)
	m.InitRandom(1, r)
	m.V.Float64s()[2] = 0 // a dead coordinate lowers the rank by one
	m.U.Float64s()[2] = 0
	x := make([]float64, n*d)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	j, err := analysis.NewJacobian(m, x, n)
	if err != nil {
		t.Fatal(err)
	}
	phi, err := j.Matrix()
	if err != nil {
		t.Fatal(err)
	}
	u, v := m.U.Float64s(), m.V.Float64s()
	for i := 0; i < n; i++ {
		for k := 0; k < d; k++ {
			if got, want := phi.At(i, k), x[i*d+k]*v[k]; math.Abs(got-want) > 1e-15*math.Abs(want) {
				t.Fatalf("φ[%d][%d] = %v, want x⊙v = %v", i, k, got, want)
			}
			if got, want := phi.At(i, d+k), x[i*d+k]*u[k]; math.Abs(got-want) > 1e-15*math.Abs(want) {
				t.Fatalf("φ[%d][%d] = %v, want x⊙u = %v", i, d+k, got, want)
			}
		}
	}
	// φ = X·[diag(v) diag(u)] has rank min(n, #live coordinates) = 4.
	if rank, err := j.Rank(1e-12); err != nil || rank != 4 {
		t.Errorf("rank %d (%v), want 4", rank, err)
	}
}
