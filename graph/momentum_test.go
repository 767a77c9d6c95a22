package graph

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// quadNet is the model x·w: with HalfMSE, zero targets and the batch
// x = diag(√(d·a₁), …, √(d·a_d)) of d examples its loss is the quadratic
// ½·Σ a_k w_k² (the mean over the d examples of ½(x_k·w)²).
type quadNet struct{ w *Param }

func (m quadNet) Params() []*Param { return []*Param{m.w} }
func (m quadNet) Input() []int     { return []int{m.w.Len()} }
func (m quadNet) Forward(s *Scope, x *Node) *Node {
	return s.MatVec(x, s.Param(m.w))
}

// TestDescendMomentumOnAQuadratic runs torch.optim.SGD's recursion on
// L = ½·Σ a_k·w_k² with an L2 term ½λ‖w‖²,
// and compares the parameters after T steps with the matrix form of the
// same recursion, [w; v]_{t+1} = [[1 − lr·c, −lr·μ], [c, μ]]·[w; v]_t,
// c = a_k + λ, v₀ = 0, evaluated in float64 in another order.
func TestDescendMomentumOnAQuadratic(t *testing.T) {
	a := []float64{0.5, 2, 7}
	d := len(a)
	for _, tc := range []struct {
		name       string
		dt         Dtype
		lr, mu, wd float64
		steps      int
		tol        float64
	}{
		{"sgd", Float64, 0.1, 0, 0, 20, 1e-13},
		{"momentum", Float64, 0.1, 0.9, 0, 40, 1e-12},
		{"weight decay", Float64, 0.1, 0, 0.05, 20, 1e-13},
		{"momentum and weight decay", Float64, 0.05, 0.9, 5e-4, 60, 1e-12},
		{"float32", Float32, 0.05, 0.9, 5e-4, 60, 1e-5},
	} {
		m := quadNet{w: NewParam("w", tc.dt, d)}
		w0 := []float64{1, -0.5, 0.25}
		m.w.Set(w0)
		p, err := Compile(m, HalfMSE, d)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float64, d*d)
		for k := range a {
			x[k*d+k] = math.Sqrt(float64(d) * a[k])
		}
		y := make([]float64, d)
		v := p.NewVelocity()
		for s := 0; s < tc.steps; s++ {
			if _, err := p.Run(x, y); err != nil {
				t.Fatal(err)
			}
			if err := p.DescendMomentum(tc.lr, tc.mu, tc.wd, v); err != nil {
				t.Fatal(err)
			}
		}
		got := make([]float64, d)
		m.w.Get(got)
		for k := range a {
			c := a[k] + tc.wd
			wk, vk := w0[k], 0.0
			for s := 0; s < tc.steps; s++ {
				wk, vk = (1-tc.lr*c)*wk-tc.lr*tc.mu*vk, c*wk+tc.mu*vk
			}
			if math.Abs(got[k]-wk) > tc.tol*(math.Abs(w0[k])) {
				t.Errorf("%s: w[%d] = %v after %d steps, recursion %v", tc.name, k, got[k], tc.steps, wk)
			}
		}
		if tc.mu != 0 && !v.Started() {
			t.Errorf("%s: velocity not started after %d steps", tc.name, tc.steps)
		}
	}
}

// TestDescendMomentumFirstStepAndZero checks PyTorch's first step (the
// buffer is the gradient itself, so the first update is plain SGD), that
// mu = decay = 0 is Descend bit for bit, and the errors for a missing or
// foreign velocity.
func TestDescendMomentumFirstStepAndZero(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, dt := range []Dtype{Float64, Float32} {
		net := newTestNet("tanh", 3, 4, 2, r)
		if dt == Float32 {
			net = float32Net(net)
		}
		x, y := batchFor(HalfMSE, 5, 3, 2, r)
		p, err := Compile(net, HalfMSE, 5)
		if err != nil {
			t.Fatal(err)
		}
		start := Flatten(net.Params())
		run := func(step func()) []float64 {
			Unflatten(net.Params(), start)
			if _, err := p.Run(x, y); err != nil {
				t.Fatal(err)
			}
			step()
			return Flatten(net.Params())
		}
		sgd := run(func() { p.Descend(0.3) })
		v := p.NewVelocity()
		first := run(func() {
			if err := p.DescendMomentum(0.3, 0.9, 0, v); err != nil {
				t.Fatal(err)
			}
		})
		zero := run(func() {
			if err := p.DescendMomentum(0.3, 0, 0, nil); err != nil {
				t.Fatal(err)
			}
		})
		if j := sameBits(first, sgd); j >= 0 {
			t.Errorf("%v: first momentum step differs from SGD at %d: %v vs %v", dt, j, first[j], sgd[j])
		}
		if j := sameBits(zero, sgd); j >= 0 {
			t.Errorf("%v: mu = decay = 0 differs from Descend at %d", dt, j)
		}
		grad := make([]float64, len(start))
		p.Gradient(grad)
		buf := Flatten(v.Buffers())
		if j := sameBits(buf, grad); j >= 0 {
			t.Errorf("%v: buffer after the first step differs from the gradient at %d: %v vs %v", dt, j, buf[j], grad[j])
		}
		for _, bad := range []*Velocity{nil, newProgram(t, net).NewVelocity()} {
			if err := p.DescendMomentum(0.1, 0.9, 0, bad); err == nil || !strings.Contains(err.Error(), "Velocity of this program") {
				t.Errorf("%v: DescendMomentum with a nil or foreign velocity: %v", dt, err)
			}
		}
		if n := testing.AllocsPerRun(20, func() { _ = p.DescendMomentum(0.01, 0.9, 1e-3, v) }); n != 0 {
			t.Errorf("%v: DescendMomentum allocates %v times per step", dt, n)
		}
	}
}

func newProgram(t *testing.T, m Model) *Program {
	t.Helper()
	p, err := Compile(m, HalfMSE, 5)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
