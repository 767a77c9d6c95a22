package graph

import (
	"math/rand/v2"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
)

// float32Net returns a float32 copy of a test net.
func float32Net(m *testNet) *testNet {
	c := &testNet{in: m.in, hidden: m.hidden, out: m.out, block: m.block,
		w1: NewParam("w1", Float32, m.in, m.hidden), b1: NewParam("b1", Float32, m.hidden),
		w2: NewParam("w2", Float32, m.hidden, m.out), gate: NewParam("gate", Float32, m.in)}
	Unflatten(c.Params(), Flatten(m.Params()))
	return c
}

// TestExecutorMatchesTapeMachine runs every test net with every loss, in
// both types, for several steps with fresh batches and an SGD update in
// between, and demands bit-identical losses, outputs and gradients from
// the executor and Gorgonia's TapeMachine. Later steps catch kernels that
// read stale buffers.
func TestExecutorMatchesTapeMachine(t *testing.T) {
	for _, tc := range []struct {
		block string
		loss  Loss
		out   int
		batch int
	}{
		{"matvec", HalfMSE, 1, 1},
		{"matvec", HalfMSE, 1, 6},
		{"matvec", Logistic, 1, 4},
		{"hadamard", MSE, 1, 3},
		{"relu", MSE, 1, 1},
		{"relu", OutputSum, 1, 1},
		{"relu", SoftmaxCE, 4, 5},
		{"tanh", Logistic, 1, 4},
		{"tanh", SoftmaxCE, 3, 2},
		// Large enough for the blocked, parallel matrix product.
		{"relu", SoftmaxCE, 130, 140},
	} {
		for _, dt := range []Dtype{Float64, Float32} {
			name := tc.block + "/" + string(tc.loss) + "/" + dt.String()
			t.Run(name, func(t *testing.T) {
				r := rand.New(rand.NewPCG(3, 4))
				in, hidden := 5, 7
				if tc.out > 100 {
					in, hidden = 150, 200
				}
				m := newTestNet(tc.block, in, hidden, tc.out, r)
				for _, p := range m.Params() {
					w := p.Float64s()
					for i := range w {
						w[i] *= 0.3
					}
				}
				if dt == Float32 {
					m = float32Net(m)
				}
				p, err := Compile(m, tc.loss, tc.batch)
				if err != nil {
					t.Fatal(err)
				}
				for step := 0; step < 4; step++ {
					x, y := batchFor(tc.loss, tc.batch, in, tc.out, r)
					if err := p.CheckTapeMachine(x, y); err != nil {
						t.Fatalf("step %d: %v", step, err)
					}
					p.Descend(0.05)
				}
			})
		}
	}
}

// TestExecutorNativeKernels checks that the programs of every test net
// and loss run without Gorgonia's generic path.
func TestExecutorNativeKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		block string
		loss  Loss
		out   int
		want  string
	}{
		{"matvec", HalfMSE, 1, ""},
		{"hadamard", MSE, 1, ""},
		{"relu", SoftmaxCE, 3, ""},
		{"tanh", OutputSum, 1, ""},
		{"tanh", Logistic, 1, ""},
	} {
		p, err := Compile(newTestNet(tc.block, 4, 5, tc.out, r), tc.loss, 3)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(p.exec.fallbacks, "; ")
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s/%s: generic operations %q, want %q", tc.block, tc.loss, got, tc.want)
		}
	}
}

// TestTrainingStepAllocatesNothing measures a DLN-shaped SGD step (a
// program run and the update) after warm-up, and reading the gradient
// (the rank metric reads one per example).
func TestTrainingStepAllocatesNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct {
		block string
		loss  Loss
		out   int
		dt    Dtype
	}{
		{"hadamard", HalfMSE, 1, Float64},
		{"relu", SoftmaxCE, 4, Float64},
		{"tanh", MSE, 1, Float32},
		{"tanh", Logistic, 1, Float64},
	} {
		m := newTestNet(tc.block, 6, 5, tc.out, r)
		if tc.dt == Float32 {
			m = float32Net(m)
		}
		p, err := Compile(m, tc.loss, 2)
		if err != nil {
			t.Fatal(err)
		}
		x, y := batchFor(tc.loss, 2, 6, tc.out, r)
		g := make([]float64, len(Flatten(m.Params())))
		allocs := testing.AllocsPerRun(50, func() {
			if _, err := p.Run(x, y); err != nil {
				t.Fatal(err)
			}
			p.Descend(1e-3)
			p.Gradient(g)
		})
		if allocs != 0 {
			t.Errorf("%s/%s/%v: %v allocations per step and gradient read, want 0", tc.block, tc.loss, tc.dt, allocs)
		}
	}
}

// cubeNet uses an operation without a native kernel (Cube) between two
// layers, so Gorgonia's generic path runs in the middle of the program.
type cubeNet struct{ w1, w2 *Param }

func (m cubeNet) Params() []*Param { return []*Param{m.w1, m.w2} }
func (m cubeNet) Input() []int     { return []int{3} }
func (m cubeNet) Forward(s *Scope, x *Node) *Node {
	return s.Flat(s.Dense(s.Must(gorgonia.Cube(s.Dense(x, m.w1, nil))), m.w2, nil), 1)
}

// TestExecutorGenericPath: a generic operation must still give results
// bit-identical to the TapeMachine, be the only one off the native
// kernels (its output is copied into a fixed buffer, so what follows stays
// native) and cost only its own allocations.
func TestExecutorGenericPath(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, dt := range []Dtype{Float64, Float32} {
		m := cubeNet{NewParam("w1", dt, 3, 4), NewParam("w2", dt, 4, 1)}
		w := make([]float64, 16)
		for i := range w {
			w[i] = 0.5 * r.NormFloat64()
		}
		Unflatten(m.Params(), w)
		p, err := Compile(m, MSE, 2)
		if err != nil {
			t.Fatal(err)
		}
		generic := p.exec.fallbacks
		if len(generic) != 1 || !strings.Contains(generic[0], "cube") {
			t.Errorf("%v: generic operations %q, want only cube", dt, generic)
		}
		for step := 0; step < 3; step++ {
			x, y := batchFor(MSE, 2, 3, 1, r)
			if err := p.CheckTapeMachine(x, y); err != nil {
				t.Fatalf("%v step %d: %v", dt, step, err)
			}
			p.Descend(0.1)
		}
		x, y := batchFor(MSE, 2, 3, 1, r)
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := p.Run(x, y); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("%v: %v allocations per run", dt, allocs)
		if allocs == 0 || allocs > 20 {
			t.Errorf("%v: %v allocations per run, want Gorgonia's few for the cube alone", dt, allocs)
		}
	}
}
