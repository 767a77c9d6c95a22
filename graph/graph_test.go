package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
)

// testNet is a model assembled from every building block.
type testNet struct {
	in, hidden, out  int
	w1, b1, w2, gate *Param
	block            string
}

func newTestNet(block string, in, hidden, out int, r *rand.Rand) *testNet {
	m := &testNet{in: in, hidden: hidden, out: out, block: block,
		w1: NewParam("w1", Float64, in, hidden), b1: NewParam("b1", Float64, hidden),
		w2: NewParam("w2", Float64, hidden, out), gate: NewParam("gate", Float64, in)}
	for _, p := range m.Params() {
		w := p.Float64s()
		for i := range w {
			w[i] = r.NormFloat64()
		}
	}
	return m
}

func (m *testNet) Params() []*Param {
	switch m.block {
	case "matvec":
		return []*Param{m.gate}
	case "hadamard":
		return []*Param{m.gate, m.w1}
	}
	return []*Param{m.w1, m.b1, m.w2}
}

func (m *testNet) Input() []int { return []int{m.in} }

func (m *testNet) Forward(s *Scope, x *Node) *Node {
	switch m.block {
	case "matvec":
		return s.MatVec(x, s.Param(m.gate))
	case "hadamard":
		gated := s.Must(gorgonia.BroadcastHadamardProd(x, s.Param(m.gate), nil, []byte{0}))
		h := s.Dense(gated, m.w1, nil)
		return s.Flat(s.Must(gorgonia.Sum(s.Hadamard(h, h), 1)), m.out)
	case "relu":
		return s.Flat(s.Dense(s.ReLU(s.Dense(x, m.w1, m.b1)), m.w2, nil), m.out)
	}
	return s.Flat(s.Dense(s.Must(gorgonia.Tanh(s.Dense(x, m.w1, m.b1))), m.w2, nil), m.out)
}

// batchFor draws inputs and targets suited to the loss.
func batchFor(loss Loss, n, in, out int, r *rand.Rand) (x, y []float64) {
	x = make([]float64, n*in)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	y = make([]float64, n*out)
	switch loss {
	case Logistic:
		for i := range y {
			y[i] = float64(2*r.IntN(2) - 1)
		}
	case SoftmaxCE:
		for i := 0; i < n; i++ {
			y[i*out+r.IntN(out)] = 1
		}
	default:
		for i := range y {
			y[i] = r.NormFloat64()
		}
	}
	return x, y
}

func TestGradientMatchesFiniteDifferences(t *testing.T) {
	for _, tc := range []struct {
		block string
		loss  Loss
		out   int
	}{
		{"matvec", HalfMSE, 1},
		{"matvec", MSE, 1},
		{"matvec", Logistic, 1},
		{"hadamard", HalfMSE, 1},
		{"relu", MSE, 1},
		{"relu", OutputSum, 1},
		{"tanh", Logistic, 1},
		{"relu", SoftmaxCE, 4},
		{"tanh", SoftmaxCE, 3},
	} {
		t.Run(tc.block+"/"+string(tc.loss), func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			m := newTestNet(tc.block, 5, 7, tc.out, r)
			const batch = 6
			p, err := Compile(m, tc.loss, batch)
			if err != nil {
				t.Fatal(err)
			}
			x, y := batchFor(tc.loss, batch, 5, tc.out, r)
			if _, err := p.Run(x, y); err != nil {
				t.Fatal(err)
			}
			w := Flatten(m.Params())
			g := make([]float64, len(w))
			p.Gradient(g)
			fd := make([]float64, len(w))
			const h = 1e-5
			for i := range w {
				old := w[i]
				w[i] = old + h
				Unflatten(m.Params(), w)
				lp, _ := p.Run(x, y)
				w[i] = old - h
				Unflatten(m.Params(), w)
				lm, _ := p.Run(x, y)
				w[i] = old
				fd[i] = (lp - lm) / (2 * h)
			}
			Unflatten(m.Params(), w)
			if e := relErr(g, fd); e > 1e-7 {
				t.Errorf("gradient vs central differences: relative error %.3g > 1e-7", e)
			}
		})
	}
}

func relErr(a, b []float64) float64 {
	var d, n float64
	for i := range a {
		d += (a[i] - b[i]) * (a[i] - b[i])
		n += b[i] * b[i]
	}
	return math.Sqrt(d / n)
}

func TestLossValues(t *testing.T) {
	// One example, output 2, target 0.5: closed forms of every loss.
	m := &testNet{in: 1, out: 1, block: "matvec", gate: NewParam("gate", Float64, 1)}
	m.gate.Float64s()[0] = 2
	for _, tc := range []struct {
		loss Loss
		y    float64
		want float64
	}{
		{HalfMSE, 0.5, 0.5 * 1.5 * 1.5},
		{MSE, 0.5, 1.5 * 1.5},
		{Logistic, -1, math.Log1p(math.Exp(2))},
		{OutputSum, 0, 2},
	} {
		p, err := CompileLoss(m, tc.loss, 1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Run([]float64{1}, []float64{tc.y})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-tc.want) > 1e-15*math.Abs(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.loss, got, tc.want)
		}
	}
}

func TestSoftmaxCEIsStableForLargeLogits(t *testing.T) {
	// Logits (1000, 0) overflow a naive exp. Both examples have them; the
	// first is labelled 0 (loss ≈ e^-1000), the second 1 (loss 1000).
	m := &testNet{in: 2, hidden: 2, out: 2, block: "relu",
		w1: NewParam("w1", Float64, 2, 2), b1: NewParam("b1", Float64, 2), w2: NewParam("w2", Float64, 2, 2)}
	copy(m.w1.Float64s(), []float64{1, 0, 0, 1})
	copy(m.w2.Float64s(), []float64{1000, 0, 0, -1000})
	p, err := CompileLoss(m, SoftmaxCE, 2)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Run([]float64{1, 0, 1, 0}, []float64{1, 0, 0, 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := 500.0; math.Abs(got-want) > 1e-9 {
		t.Errorf("cross-entropy %v, want %v", got, want)
	}
}

func TestCompileErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	m := newTestNet("relu", 3, 4, 1, r)
	for _, tc := range []struct {
		name  string
		loss  Loss
		batch int
		want  string
	}{
		{"unknown loss", "hinge", 1, `unknown loss "hinge" (allowed: half_mse, mse, logistic, softmax_ce, output_sum)`},
		{"zero batch", MSE, 0, "batch size must be ≥ 1, got 0"},
		{"softmax on scalar outputs", SoftmaxCE, 2, "softmax cross-entropy needs outputs of shape (batch, k)"},
	} {
		_, err := Compile(m, tc.loss, tc.batch)
		if err == nil || !contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	p, err := Compile(m, MSE, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(make([]float64, 5), make([]float64, 2)); err == nil || !contains(err.Error(), "want 2×3") {
		t.Errorf("short batch: error %v", err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestFloat32MatchesFloat64 trains nothing but compares a float32 copy of
// a model with its float64 original: same loss and gradient to float32
// precision, and Descend updates in float32.
func TestFloat32MatchesFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	m64 := newTestNet("relu", 4, 6, 1, r)
	m32 := &testNet{in: 4, hidden: 6, out: 1, block: "relu",
		w1: NewParam("w1", Float32, 4, 6), b1: NewParam("b1", Float32, 6), w2: NewParam("w2", Float32, 6, 1)}
	Unflatten(m32.Params(), Flatten(m64.Params()))
	x, y := batchFor(MSE, 5, 4, 1, r)
	var losses [2]float64
	var grads [2][]float64
	for k, m := range []*testNet{m64, m32} {
		p, err := Compile(m, MSE, 5)
		if err != nil {
			t.Fatal(err)
		}
		if losses[k], err = p.Run(x, y); err != nil {
			t.Fatal(err)
		}
		grads[k] = make([]float64, len(Flatten(m.Params())))
		p.Gradient(grads[k])
		p.Descend(0.01)
	}
	if math.Abs(losses[1]-losses[0]) > 1e-5*losses[0] {
		t.Errorf("float32 loss %v, float64 %v", losses[1], losses[0])
	}
	if e := relErr(grads[1], grads[0]); e > 1e-5 {
		t.Errorf("float32 gradient differs from float64 by %.3g relative", e)
	}
	if e := relErr(Flatten(m32.Params()), Flatten(m64.Params())); e > 1e-6 {
		t.Errorf("after one step the float32 parameters differ by %.3g relative", e)
	}
	if _, err := Compile(&testNet{in: 1, out: 1, block: "hadamard", gate: NewParam("gate", Float32, 1), w1: NewParam("w1", Float64, 1, 1)}, MSE, 1); err == nil || !contains(err.Error(), `parameter "w1" is float64, the graph is float32`) {
		t.Errorf("mixed types: error %v", err)
	}
}
