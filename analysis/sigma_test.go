package analysis_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"sgdlab/analysis"
)

// gramOf returns a and the k²×k² Gram matrix of the vectors t[i][j]
// (t[i][j] = t[j][i]), as CentralFlow builds them.
func gramOf(t [][][]float64) *mat.SymDense {
	k := len(t)
	g := mat.NewSymDense(k*k, nil)
	for p := 0; p < k*k; p++ {
		for q := p; q < k*k; q++ {
			g.SetSym(p, q, floats.Dot(t[p/k][p%k], t[q/k][q%k]))
		}
	}
	return g
}

// TestEdgeCovarianceOneEigenvalue checks the general solver against the
// closed form σ² = max(0, −2a/‖∇S‖²) of one unstable eigenvalue.
func TestEdgeCovarianceOneEigenvalue(t *testing.T) {
	for _, tc := range []struct{ a, g float64 }{{-3, 2}, {-0.01, 7}, {1, 2}, {0, 1}, {-5e3, 1e-2}} {
		want := analysis.OneEdgeVariance(tc.a, tc.g)
		x, err := analysis.EdgeCovariance(mat.NewSymDense(1, []float64{tc.a}), mat.NewSymDense(1, []float64{tc.g}))
		if err != nil {
			t.Fatal(err)
		}
		if got := x.At(0, 0); math.Abs(got-want) > 1e-10*math.Max(1, want) {
			t.Errorf("a=%v g=%v: solver %v, closed form %v", tc.a, tc.g, got, want)
		}
	}
	if got := analysis.OneEdgeVariance(-3, 2); got != 3 {
		t.Errorf("OneEdgeVariance(−3, 2) = %v, want 3", got)
	}
}

// TestEdgeCovarianceKKT checks, on random problems of two to four
// unstable eigenvalues, that the solution satisfies the complementarity
// conditions X ⪰ 0, Y = a + ½G(X) ⪰ 0 and ⟨X, Y⟩ = 0, and, on a
// decoupled problem, that it reduces to one closed form per direction.
func TestEdgeCovarianceKKT(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 20; trial++ {
		k := 2 + trial%3
		tv := make([][][]float64, k)
		for i := range tv {
			tv[i] = make([][]float64, k)
		}
		for i := 0; i < k; i++ {
			for j := i; j < k; j++ {
				v := make([]float64, 20) // more than k(k+1)/2: G is definite
				for m := range v {
					v[m] = r.NormFloat64()
				}
				tv[i][j], tv[j][i] = v, v
			}
		}
		gram := gramOf(tv)
		a := mat.NewSymDense(k, nil)
		for i := 0; i < k; i++ {
			for j := i; j < k; j++ {
				a.SetSym(i, j, r.NormFloat64())
			}
		}
		x, err := analysis.EdgeCovariance(a, gram)
		if err != nil {
			t.Fatal(err)
		}
		// Y = a + ½G(X).
		y := mat.NewSymDense(k, nil)
		for i := 0; i < k; i++ {
			for j := i; j < k; j++ {
				v := a.At(i, j)
				for p := 0; p < k; p++ {
					for q := 0; q < k; q++ {
						v += 0.5 * gram.At(i*k+j, p*k+q) * x.At(p, q)
					}
				}
				y.SetSym(i, j, v)
			}
		}
		minEig := func(s *mat.SymDense) float64 {
			var es mat.EigenSym
			es.Factorize(s, false)
			return es.Values(nil)[0]
		}
		inner := 0.0
		for i := 0; i < k; i++ {
			for j := 0; j < k; j++ {
				inner += x.At(i, j) * y.At(i, j)
			}
		}
		scale := mat.Norm(a, 2)
		if minEig(x) < -1e-10*scale || minEig(y) < -1e-8*scale || math.Abs(inner) > 1e-8*scale*scale {
			t.Errorf("trial %d (k=%d): min eig X %.3g, min eig Y %.3g, ⟨X, Y⟩ %.3g", trial, k, minEig(x), minEig(y), inner)
		}
	}
	// Decoupled: orthogonal t's and a diagonal a give one closed form per
	// direction.
	e := func(m int) []float64 { v := make([]float64, 3); v[m] = 1; return v }
	tv := [][][]float64{{e(0), e(2)}, {e(2), scaled(2, e(1))}}
	a := mat.NewSymDense(2, []float64{-3, 0, 0, 1})
	x, err := analysis.EdgeCovariance(a, gramOf(tv))
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{analysis.OneEdgeVariance(-3, 1), 0, 0, analysis.OneEdgeVariance(1, 4)}; math.Abs(x.At(0, 0)-want[0]) > 1e-10 || math.Abs(x.At(0, 1)) > 1e-10 || math.Abs(x.At(1, 1)-want[3]) > 1e-10 {
		t.Errorf("decoupled problem: X = %v, want diag(%v, %v)", mat.Formatted(x), want[0], want[3])
	}
}

func scaled(c float64, v []float64) []float64 { floats.Scale(c, v); return v }
