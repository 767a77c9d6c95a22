package analysis

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestSVDWorkMatchesMatSVD checks that the rank metric's in-place
// singular values are mat.SVD's, bit for bit, on the shapes it takes
// (square and taller than wide, a DLN Jacobian [X∘v, X∘u] with v = 0
// among them), and that it declines the shapes it does not take.
func TestSVDWorkMatchesMatSVD(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dln := func(n, d int, vZero bool) *mat.Dense {
		a := mat.NewDense(n, 2*d, nil)
		for i := range n {
			for j := range d {
				x := rng.NormFloat64()
				u, v := 0.1+rng.Float64(), rng.Float64()
				if vZero {
					v = 0
				}
				a.Set(i, j, x*v)
				a.Set(i, d+j, x*u)
			}
		}
		return a
	}
	random := func(m, n int) *mat.Dense {
		a := mat.NewDense(m, n, nil)
		for i := range m {
			for j := range n {
				a.Set(i, j, rng.Float64()*2-1)
			}
		}
		return a
	}
	var w svdWork
	for _, tc := range []struct {
		name string
		a    *mat.Dense
		ok   bool
	}{
		{"random 400×400", random(400, 400), true},
		{"DLN 400×400", dln(400, 200, false), true},
		{"DLN 400×400, v = 0", dln(400, 200, true), true},
		{"random 90×70", random(90, 70), true},
		{"random 30×70 (wide)", random(30, 70), false},
		{"random 300×70 (QR first)", random(300, 70), false},
		{"tiny 1e-200", func() *mat.Dense { a := random(20, 20); a.Scale(1e-200, a); return a }(), false},
	} {
		var svd mat.SVD
		if !svd.Factorize(tc.a, mat.SVDNone) {
			t.Fatalf("%s: mat.SVD did not converge", tc.name)
		}
		want := svd.Values(nil)
		raw := mat.DenseCopyOf(tc.a).RawMatrix()
		got, ok := w.values(raw.Rows, raw.Cols, raw.Data, raw.Stride)
		if ok != tc.ok {
			t.Fatalf("%s: computed %v, want %v", tc.name, ok, tc.ok)
		}
		if !ok {
			continue
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: σ_%d = %v, mat.SVD %v", tc.name, i, got[i], want[i])
			}
		}
	}
}
