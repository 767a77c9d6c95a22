package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"sgdlab/graph"
)

// TestDLNGradientMatchesClosedForm checks the autodiff gradient of
// ½·mean((X(u⊙v)−y)²) against ∇u = (1/n)(Xᵀr)⊙v, ∇v = (1/n)(Xᵀr)⊙u.
func TestDLNGradientMatchesClosedForm(t *testing.T) {
	const n, d = 12, 9
	r := rand.New(rand.NewPCG(7, 8))
	m := NewDLN(d)
	m.InitRandom(0.7, r)
	x := make([]float64, n*d)
	y := make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	for i := range y {
		y[i] = r.NormFloat64()
	}
	p, err := graph.Compile(m, graph.HalfMSE, n)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := p.Run(x, y)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float64, 2*d)
	p.Gradient(got)

	u, v := m.U.Float64s(), m.V.Float64s()
	beta := make([]float64, d)
	m.Beta(beta)
	xtr := make([]float64, d)
	var want2 float64
	for i := 0; i < n; i++ {
		ri := -y[i]
		for j := 0; j < d; j++ {
			ri += x[i*d+j] * beta[j]
		}
		want2 += ri * ri
		for j := 0; j < d; j++ {
			xtr[j] += x[i*d+j] * ri
		}
	}
	if wantLoss := want2 / (2 * n); math.Abs(loss-wantLoss) > 1e-14*wantLoss {
		t.Errorf("loss %v, closed form %v", loss, wantLoss)
	}
	for j := 0; j < d; j++ {
		for k, want := range []float64{xtr[j] * v[j] / n, xtr[j] * u[j] / n} {
			g := got[k*d+j]
			if math.Abs(g-want) > 1e-12*math.Abs(want) {
				t.Errorf("gradient %d[%d] = %v, closed form %v", k, j, g, want)
			}
		}
	}
}
