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

// TestDLNMatchesTapeMachine trains the E1-shaped DLN for a few SGD steps
// (batch 1 and a mini-batch) and demands every loss, output and gradient
// bit-identical to Gorgonia's TapeMachine.
func TestDLNMatchesTapeMachine(t *testing.T) {
	for _, batch := range []int{1, 80} {
		r := rand.New(rand.NewPCG(1, uint64(batch)))
		m := NewDLN(200)
		m.InitRandom(0.1, r)
		p, err := graph.Compile(m, graph.HalfMSE, batch)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float64, batch*200)
		y := make([]float64, batch)
		for step := 0; step < 5; step++ {
			for i := range x {
				x[i] = r.NormFloat64()
			}
			for i := range y {
				y[i] = r.NormFloat64()
			}
			if err := p.CheckTapeMachine(x, y); err != nil {
				t.Fatalf("batch %d, step %d: %v", batch, step, err)
			}
			p.Descend(0.1)
		}
	}
}

// TestDLNStepAllocatesNothing: an E1 SGD step (Program.Run and Descend,
// d = 200, batch 1) must not allocate once the program is compiled.
func TestDLNStepAllocatesNothing(t *testing.T) {
	m := NewDLN(200)
	m.InitConst(0.1)
	p, err := graph.Compile(m, graph.HalfMSE, 1)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, 200)
	for i := range x {
		x[i] = float64(i%5) - 2
	}
	y := []float64{0.5}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := p.Run(x, y); err != nil {
			t.Fatal(err)
		}
		p.Descend(1e-4)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per DLN SGD step, want 0", allocs)
	}
}
