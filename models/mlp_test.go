package models

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats"

	"sgdlab/data"
	"sgdlab/graph"
)

// TestMLPOutputByHand checks a 2-3-2 net, with and without biases, in
// both types, against the forward pass written out by hand.
func TestMLPOutputByHand(t *testing.T) {
	w1 := []float64{1, -1, 0.5, 2, 0, -0.25} // (2, 3)
	b1 := []float64{0.1, 0.2, -3}
	w2 := []float64{1, 2, -1, 0.5, 3, 1} // (3, 2)
	b2 := []float64{-0.5, 0.25}
	x := []float64{0.5, -1, 2, 1} // two examples
	for _, dt := range []graph.Dtype{graph.Float64, graph.Float32} {
		for _, bias := range []bool{true, false} {
			m := NewMLP(dt, bias, 2, 3, 2)
			m.W[0].Set(w1)
			m.W[1].Set(w2)
			if bias {
				m.B[0].Set(b1)
				m.B[1].Set(b2)
			}
			want := make([]float64, 4)
			for i := 0; i < 2; i++ {
				h := make([]float64, 3)
				for j := range h {
					h[j] = x[2*i]*w1[j] + x[2*i+1]*w1[3+j]
					if bias {
						h[j] += b1[j]
					}
					h[j] = math.Max(h[j], 0)
				}
				for k := 0; k < 2; k++ {
					for j := range h {
						want[2*i+k] += h[j] * w2[2*j+k]
					}
					if bias {
						want[2*i+k] += b2[k]
					}
				}
			}
			p, err := graph.CompileLoss(m, graph.SoftmaxCE, 2)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Run(x, []float64{1, 0, 0, 1}); err != nil {
				t.Fatal(err)
			}
			got := make([]float64, 4)
			p.Output(got)
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-6*(1+math.Abs(want[i])) {
					t.Errorf("%v bias=%t: output %v, by hand %v", dt, bias, got, want)
					break
				}
			}
		}
	}
}

// TestTwoLayerOutputByHand checks Σ_j a_j·relu(⟨w_j, x⟩) on two examples.
func TestTwoLayerOutputByHand(t *testing.T) {
	m := NewTwoLayer(graph.Float64, 2, 3)
	m.W.Set([]float64{1, -1, 0.5, 2, 0, -0.25}) // w_j are the columns
	m.A.Set([]float64{2, -1, 4})
	x := []float64{0.5, -1, 2, 1}
	want := []float64{
		2*math.Max(0.5-2, 0) - math.Max(-0.5, 0) + 4*math.Max(0.25+0.25, 0),
		2*math.Max(2+2, 0) - math.Max(-2, 0) + 4*math.Max(1-0.25, 0),
	}
	p, err := graph.CompileLoss(m, graph.MSE, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(x, []float64{0, 0}); err != nil {
		t.Fatal(err)
	}
	got := make([]float64, 2)
	p.Output(got)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("output %v, by hand %v", got, want)
			break
		}
	}
}

// TestModelsMatchTapeMachine trains each new model for a few SGD steps on
// fresh batches and demands results bit-identical to the TapeMachine.
func TestModelsMatchTapeMachine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		model func(r *rand.Rand) graph.Model
		loss  graph.Loss
		batch int
	}{
		{"mlp-f32-ce", func(r *rand.Rand) graph.Model {
			m := NewMLP(graph.Float32, true, 30, 70, 70, 10)
			m.InitHe(r)
			return m
		}, graph.SoftmaxCE, 16},
		{"mlp-f64-mse", func(r *rand.Rand) graph.Model {
			m := NewMLP(graph.Float64, true, 5, 9, 1)
			m.InitHe(r)
			return m
		}, graph.MSE, 4},
		{"mlp-f32-wide", func(r *rand.Rand) graph.Model {
			m := NewMLP(graph.Float32, true, 100, 256, 10)
			m.InitHe(r)
			return m
		}, graph.SoftmaxCE, 128},
		{"two-layer", func(r *rand.Rand) graph.Model {
			m := NewTwoLayer(graph.Float64, 2, 20)
			m.InitScaled(0.5, r)
			return m
		}, graph.MSE, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(11, 12))
			m := tc.model(r)
			p, err := graph.Compile(m, tc.loss, tc.batch)
			if err != nil {
				t.Fatal(err)
			}
			in := m.Input()[0]
			x := make([]float64, tc.batch*in)
			out := 1
			if tc.loss == graph.SoftmaxCE {
				out = 10
			}
			for step := 0; step < 4; step++ {
				for i := range x {
					x[i] = r.NormFloat64()
				}
				y := make([]float64, tc.batch*out)
				for i := 0; i < tc.batch; i++ {
					if out == 1 {
						y[i] = r.NormFloat64()
					} else {
						y[i*out+r.IntN(out)] = 1
					}
				}
				if err := p.CheckTapeMachine(x, y); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				p.Descend(0.05)
			}
		})
	}
}

// TestMLPFeatureMaps reads the hidden layers of a compiled MLP through
// its feature maps and compares them with relu(h·W + b) by hand.
func TestMLPFeatureMaps(t *testing.T) {
	const batch = 5
	m := NewMLP(graph.Float64, true, 3, 4, 2, 1)
	m.InitUniform(data.NewNumpyRand(4))
	r := data.NewNumpyRand(5)
	x := make([]float64, batch*3)
	r.Normals(x)
	p, err := graph.CompileLoss(m, graph.OutputSum, batch)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.FeatureNames(); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("FeatureNames() = %v, want [1 2]", got)
	}
	if _, err := p.Run(x, nil); err != nil {
		t.Fatal(err)
	}
	h := x
	for i, name := range []string{"1", "2"} {
		in, out := m.Sizes[i], m.Sizes[i+1]
		w, b := m.W[i].Float64s(), m.B[i].Float64s()
		want := make([]float64, batch*out)
		for n := 0; n < batch; n++ {
			for j := 0; j < out; j++ {
				s := b[j]
				for k := 0; k < in; k++ {
					s += h[n*in+k] * w[k*out+j]
				}
				want[n*out+j] = math.Max(s, 0)
			}
		}
		if p.FeatureWidth(name) != out {
			t.Errorf("FeatureWidth(%s) = %d, want %d", name, p.FeatureWidth(name), out)
		}
		got := make([]float64, batch*out)
		if err := p.Feature(name, got); err != nil {
			t.Fatal(err)
		}
		for k := range got {
			if math.Abs(got[k]-want[k]) > 1e-12 {
				t.Fatalf("%s[%d] = %v, want %v", name, k, got[k], want[k])
			}
		}
		h = want
	}
	if err := p.Feature("3", make([]float64, batch)); err == nil {
		t.Error("Feature(3) of a net with two hidden layers gave no error")
	}
	if err := p.Feature("1", make([]float64, 3)); err == nil {
		t.Error("Feature into a short buffer gave no error")
	}
}

// twiceTagged tags two nodes with one feature name.
type twiceTagged struct{ *DLN }

func (m twiceTagged) Forward(s *graph.Scope, x *graph.Node) *graph.Node {
	s.Feature("h", x)
	s.Feature("h", x)
	return m.DLN.Forward(s, x)
}

func TestFeatureNamesAreDistinct(t *testing.T) {
	if _, err := graph.CompileLoss(twiceTagged{NewDLN(3)}, graph.OutputSum, 2); err == nil || !strings.Contains(err.Error(), `feature map name "h"`) {
		t.Errorf("two feature maps named h: %v, want an error naming it", err)
	}
}

// TestReLUNetDerivatives checks the gradients of the paper's ReLU nets,
// as their specs build them, against central differences of the loss
// (float64, 1e-7 relative), and their HVPs with HVP.Check: at random
// inputs no pre-activation lies within the differencing step of a kink.
func TestReLUNetDerivatives(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
		d    int
	}{
		{"E4 net, Blanc et al. init", &MLPSpec{Sizes: []int{1, 100, 1}, Biases: []bool{true, false}, Init: "blanc", Scales: []float64{1, 1}, Seed: 3}, 1},
		{"E6 net, Gaussian init, biases", &MLPSpec{Sizes: []int{5, 10, 10, 1}, Bias: true, Init: "gaussian", Scales: []float64{0.8}, Seed: 5}, 5},
		{"He init, no biases", &MLPSpec{Sizes: []int{4, 7, 6, 1}, Init: "he", Seed: 2}, 4},
		{"E5 student", &TwoLayerSpec{D: 2, M: 20, Scale: 0.5, Seed: 1}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.spec.New()
			if err != nil {
				t.Fatal(err)
			}
			if tl, ok := m.(*TwoLayer); ok {
				// a = 0 at this init makes every W-gradient vanish.
				a := make([]float64, tl.A.Len())
				data.NewNumpyRand(9).Normals(a)
				tl.A.Set(a)
			}
			const n = 7
			r := data.NewNumpyRand(21)
			x, y := make([]float64, n*tc.d), make([]float64, n)
			r.Normals(x)
			r.Normals(y)
			p, err := graph.Compile(m, graph.MSE, n)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Run(x, y); err != nil {
				t.Fatal(err)
			}
			w := graph.Flatten(m.Params())
			g := make([]float64, len(w))
			p.Gradient(g)
			loss := func(v []float64) float64 {
				graph.Unflatten(m.Params(), v)
				l, err := p.Run(x, y)
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			fd := make([]float64, len(w))
			for i := range w {
				const eps = 1e-6
				v := append([]float64(nil), w...)
				v[i] += eps
				up := loss(v)
				v[i] -= 2 * eps
				fd[i] = (up - loss(v)) / (2 * eps)
			}
			graph.Unflatten(m.Params(), w)
			if e := floats.Distance(g, fd, 2) / floats.Norm(g, 2); e > 1e-7 || floats.Norm(g, 2) == 0 {
				t.Errorf("‖∇L − finite differences‖/‖∇L‖ = %.3g (‖∇L‖ = %.3g)", e, floats.Norm(g, 2))
			}
			h, err := graph.CompileHVP(m, graph.MSE, n)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.SetData(x, y); err != nil {
				t.Fatal(err)
			}
			c, err := h.Check(3)
			if err != nil {
				t.Fatal(err)
			}
			if c.Symmetry > 1e-12 || c.FiniteDifference > 1e-6 {
				t.Errorf("HVP check: symmetry %.3g, finite differences %.3g", c.Symmetry, c.FiniteDifference)
			}
		})
	}
}

// TestTorchInit compares the authors' initialisations drawn with RNG
// "torch" with what their code gives under PyTorch 1.13 (CPU, AVX2):
//
//	np.random.seed(3); torch.manual_seed(3)
//	net = FCNet2Layers(1, 100, biases=[True, False]); net.init_blanc_et_al([1, 1])
//	np.random.seed(5); torch.manual_seed(5)
//	net = FCNet(5, [10, 10]); net.init_gaussian([0.8, 0.8, 0.8])
//
// printing the first entries of each torch weight (out, in), row-major,
// and bias.
func TestTorchInit(t *testing.T) {
	e4, err := (&MLPSpec{Sizes: []int{1, 100, 1}, Biases: []bool{true, false}, Init: "blanc", Scales: []float64{1, 1}, Seed: 3, RNG: "torch"}).New()
	if err != nil {
		t.Fatal(err)
	}
	e6, err := (&MLPSpec{Sizes: []int{5, 10, 10, 1}, Bias: true, Init: "gaussian", Scales: []float64{0.8}, Seed: 5, RNG: "torch"}).New()
	if err != nil {
		t.Fatal(err)
	}
	// torchW returns entry (j, k) of torch's (out, in) weight of layer i.
	torchW := func(m *MLP, i, j, k int) float64 { return m.W[i].Float64s()[k*m.Sizes[i+1]+j] }
	first := func(m *MLP, i, n int) []float64 {
		var v []float64
		for e := 0; e < n; e++ {
			in := m.Sizes[i]
			v = append(v, torchW(m, i, e/in, e%in))
		}
		return v
	}
	a, b := e4.(*MLP), e6.(*MLP)
	for _, tc := range []struct {
		name      string
		got, want []float64
	}{
		{"E4 w", first(a, 0, 5), []float64{-2.5, -2.5, -2.5, -2.5, 2.5}},
		{"E4 b", a.B[0].Float64s()[:5], []float64{3.0247628688812256, 1.3201212882995605, -0.8742892146110535, 2.9340898990631104, -5.26633358001709}},
		{"E4 a", first(a, 1, 5), []float64{6.048444747924805, -3.1541049480438232, 5.7866668701171875, -7.923575401306152, -0.5672205686569214}},
		{"E6 W1", first(b, 0, 3), []float64{0.06292812526226044, -0.4254462718963623, -0.3244154453277588}},
		{"E6 b1", b.B[0].Float64s()[:2], []float64{0.3631906509399414, -0.038262780755758286}},
		{"E6 W2", first(b, 1, 3), []float64{0.7712725400924683, 1.0395742654800415, 0.14505979418754578}},
		{"E6 b2", b.B[1].Float64s()[:2], []float64{0.029258636757731438, 0.18144352734088898}},
		{"E6 W3", first(b, 2, 3), []float64{-0.0359812006354332, 0.38985416293144226, 0.03885175660252571}},
		{"E6 b3", b.B[2].Float64s(), []float64{-0.262491375207901}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s = %v, want torch's %v", tc.name, tc.got, tc.want)
		}
	}
	// E5's student: torch.manual_seed(0); FCNet2Layers(2, 20);
	// init_gaussian([0.5, 0]) gives w_1 = (0.29716152, 0.7709713),
	// w_2 = (0.2536672, −0.29551658) in float32.
	e5, err := (&TwoLayerSpec{D: 2, M: 20, Scale: 0.5, RNG: "torch"}).New()
	if err != nil {
		t.Fatal(err)
	}
	w := e5.(*TwoLayer).W.Float64s() // (2, 20): column j is w_j
	if got, want := []float32{float32(w[0]), float32(w[20]), float32(w[1]), float32(w[21])}, []float32{0.29716152, 0.7709713, 0.2536672, -0.29551658}; !slices.Equal(got, want) {
		t.Errorf("E5 student w_1, w_2 = %v, want torch's %v", got, want)
	}
	if err := (&MLPSpec{Sizes: []int{2, 1}, Init: "he", RNG: "torch"}).Validate(); err == nil || !strings.Contains(err.Error(), "rng: torch draws uniform, gaussian and blanc") {
		t.Errorf("he with torch: %v", err)
	}
	if err := (&TwoLayerSpec{D: 2, M: 3, Scale: 1, RNG: "mt"}).Validate(); err == nil || !strings.Contains(err.Error(), `rng: unknown "mt"`) {
		t.Errorf("two_layer rng mt: %v", err)
	}
}
