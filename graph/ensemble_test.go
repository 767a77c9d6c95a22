package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
)

// gatedNet is one member: the diagonal linear network x·(u⊙v), or with
// tanh tanh(x·(u⊙v)), so that an element-wise operation sits between the
// batched product and the loss.
type gatedNet struct {
	u, v *Param
	tanh bool
}

func (m gatedNet) Params() []*Param { return []*Param{m.u, m.v} }
func (m gatedNet) Input() []int     { return m.u.Shape() }
func (m gatedNet) Forward(s *Scope, x *Node) *Node {
	out := s.MatVec(x, s.Hadamard(s.Param(m.u), s.Param(m.v)))
	if m.tanh {
		return s.Must(gorgonia.Tanh(out))
	}
	return out
}

// gatedEnsemble is K gatedNets with parameters of shape (K, d).
type gatedEnsemble gatedNet

func (m gatedEnsemble) Params() []*Param { return []*Param{m.u, m.v} }
func (m gatedEnsemble) Input() []int     { return m.u.Shape()[1:] }
func (m gatedEnsemble) Members() int     { return m.u.Shape()[0] }
func (m gatedEnsemble) Forward(s *Scope, x *Node) *Node {
	out := s.BatchedMatVec(x, s.Hadamard(s.Param(m.u), s.Param(m.v)))
	if m.tanh {
		return s.Must(gorgonia.Tanh(out))
	}
	return out
}

// newGated returns k random members and the ensemble holding copies of
// them.
func newGated(dt Dtype, k, d int, tanh bool, r *rand.Rand) (gatedEnsemble, []gatedNet) {
	e := gatedEnsemble{u: NewParam("u", dt, k, d), v: NewParam("v", dt, k, d), tanh: tanh}
	ms := make([]gatedNet, k)
	for i := range ms {
		ms[i] = gatedNet{u: NewParam("u", dt, d), v: NewParam("v", dt, d), tanh: tanh}
		w := make([]float64, 2*d)
		for j := range w {
			w[j] = 0.8 * r.NormFloat64()
		}
		Unflatten(ms[i].Params(), w)
		if err := SetMember(e.Params(), i, ms[i].Params()); err != nil {
			panic(err)
		}
	}
	return e, ms
}

func sameBits(a, b []float64) int {
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return i
		}
	}
	return -1
}

// agree returns the first index where a and b differ: in any bit if
// exact, else by more than float32 rounding (1e-5 of b's largest entry).
func agree(a, b []float64, exact bool) int {
	if exact {
		return sameBits(a, b)
	}
	var scale float64
	for _, v := range b {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range a {
		if !(math.Abs(a[i]-b[i]) <= 1e-5*scale) {
			return i
		}
	}
	return -1
}

// TestEnsembleMatchesSeparatePrograms trains K members in one ensemble
// program and each member in its own Program, on the same batches, with
// their own step sizes and one member frozen half-way, and demands
// bit-identical losses, gradients and parameters at every step. Float64
// members are bit-identical whatever their dimension; float32 members
// only when d is a multiple of 4 (gonum's float32 dot and axpy kernels sum
// in an order that depends on the address modulo 16 bytes, and a member's
// rows then sit on the 16-byte boundaries of a separate run's buffers),
// and to float32 rounding otherwise.
func TestEnsembleMatchesSeparatePrograms(t *testing.T) {
	for _, tc := range []struct {
		loss        Loss
		k, batch, d int
		tanh        bool
		dt          Dtype
	}{
		{HalfMSE, 5, 1, 200, false, Float64},
		{HalfMSE, 4, 7, 13, false, Float64},
		{MSE, 3, 4, 9, true, Float64},
		{Logistic, 4, 3, 11, false, Float64},
		{HalfMSE, 1, 2, 6, true, Float64},
		{HalfMSE, 5, 1, 200, false, Float32},
		{HalfMSE, 4, 7, 12, false, Float32},
		{MSE, 3, 4, 8, true, Float32},
		{Logistic, 4, 3, 12, false, Float32},
		{HalfMSE, 3, 2, 7, false, Float32}, // misaligned: to rounding
	} {
		exact := tc.dt == Float64 || tc.d%4 == 0
		name := fmt.Sprintf("%s/%v/K=%d/b=%d/d=%d", tc.loss, tc.dt, tc.k, tc.batch, tc.d)
		t.Run(name, func(t *testing.T) {
			dt := tc.dt
			r := rand.New(rand.NewPCG(uint64(tc.k), uint64(tc.d)))
			ens, ms := newGated(dt, tc.k, tc.d, tc.tanh, r)
			ep, err := CompileEnsemble(ens, tc.loss, tc.batch)
			if err != nil {
				t.Fatal(err)
			}
			progs := make([]*Program, tc.k)
			for i := range ms {
				if progs[i], err = Compile(ms[i], tc.loss, tc.batch); err != nil {
					t.Fatal(err)
				}
			}
			lrs := make([]float64, tc.k)
			for i := range lrs {
				lrs[i] = 0.02 * float64(i+1)
			}
			active := make([]bool, tc.k)
			got, want := make([]float64, 2*tc.d), make([]float64, 2*tc.d)
			member := []*Param{NewParam("u", dt, tc.d), NewParam("v", dt, tc.d)}
			for step := 0; step < 6; step++ {
				for i := range active {
					active[i] = !(i == tc.k-1 && step >= 3)
				}
				xs, ys := make([][]float64, tc.k), make([][]float64, tc.k)
				for i := range ms {
					xs[i], ys[i] = batchFor(tc.loss, tc.batch, tc.d, 1, r)
					for j := 0; j < tc.batch; j++ {
						ep.SetExample(i, j, xs[i][j*tc.d:(j+1)*tc.d], ys[i][j:j+1])
					}
				}
				losses, err := ep.Run()
				if err != nil {
					t.Fatal(err)
				}
				for i, p := range progs {
					l, err := p.Run(xs[i], ys[i])
					if err != nil {
						t.Fatal(err)
					}
					if agree([]float64{losses[i]}, []float64{l}, exact) >= 0 {
						t.Fatalf("step %d, member %d: loss %v, separate %v", step, i, losses[i], l)
					}
					ep.Gradient(i, got)
					p.Gradient(want)
					if j := agree(got, want, exact); j >= 0 {
						t.Fatalf("step %d, member %d: gradient[%d] = %v, separate %v", step, i, j, got[j], want[j])
					}
					if active[i] {
						p.Descend(lrs[i])
					}
				}
				ep.Descend(lrs, active)
				for i, m := range ms {
					if err := GetMember(ens.Params(), i, member); err != nil {
						t.Fatal(err)
					}
					if j := agree(Flatten(member), Flatten(m.Params()), exact); j >= 0 {
						t.Fatalf("step %d, member %d: parameter %d differs from the separate run", step, i, j)
					}
				}
			}
		})
	}
}

// TestEnsembleMatchesTapeMachine: the executor's kernels for the batched
// product and the per-member loss agree bit for bit with Gorgonia's own
// evaluation of the same graph.
func TestEnsembleMatchesTapeMachine(t *testing.T) {
	for _, loss := range EnsembleLosses {
		for _, dt := range []Dtype{Float64, Float32} {
			r := rand.New(rand.NewPCG(11, 12))
			ens, _ := newGated(dt, 3, 8, loss == MSE, r)
			p, err := CompileEnsemble(ens, loss, 5)
			if err != nil {
				t.Fatal(err)
			}
			if f := p.exec.fallbacks; len(f) != 0 {
				t.Errorf("%s/%v: generic operations %q, want none", loss, dt, f)
			}
			lrs := []float64{0.01, 0.02, 0.03}
			for step := 0; step < 3; step++ {
				x, y := batchFor(loss, 3*5, 8, 1, r)
				if err := p.CheckTapeMachine(x, y); err != nil {
					t.Fatalf("%s/%v step %d: %v", loss, dt, step, err)
				}
				p.Descend(lrs, nil)
			}
		}
	}
}

// TestEnsembleStepAllocatesNothing measures a whole ensemble step:
// writing every member's example, the run and the update.
func TestEnsembleStepAllocatesNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, dt := range []Dtype{Float64, Float32} {
		const k, b, d = 6, 2, 20
		ens, _ := newGated(dt, k, d, false, r)
		p, err := CompileEnsemble(ens, HalfMSE, b)
		if err != nil {
			t.Fatal(err)
		}
		x, y := batchFor(HalfMSE, 1, d, 1, r)
		lrs := make([]float64, k)
		active := make([]bool, k)
		for i := range lrs {
			lrs[i], active[i] = 1e-3, i%2 == 0
		}
		allocs := testing.AllocsPerRun(50, func() {
			for i := 0; i < k; i++ {
				for j := 0; j < b; j++ {
					p.SetExample(i, j, x, y)
				}
			}
			if _, err := p.Run(); err != nil {
				t.Fatal(err)
			}
			p.Descend(lrs, active)
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per ensemble step, want 0", dt, allocs)
		}
	}
}

// badEnsemble returns parameters without the leading run dimension.
type badEnsemble struct{ gatedEnsemble }

func (m badEnsemble) Members() int { return 3 }

// wrongX feeds the batched product a matrix instead of a (K, batch, d)
// tensor.
type wrongX struct{ gatedEnsemble }

func (m wrongX) Forward(s *Scope, x *Node) *Node {
	return s.BatchedMatVec(s.Must(gorgonia.Reshape(x, []int{2 * 3, 4})), s.Param(m.u))
}

func TestCompileEnsembleErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ens, _ := newGated(Float64, 2, 4, false, r)
	for _, tc := range []struct {
		name  string
		m     EnsembleModel
		loss  Loss
		batch int
		want  string
	}{
		{"softmax", ens, SoftmaxCE, 1, "the softmax_ce loss is not available for ensembles"},
		{"unknown loss", ens, "hinge", 1, `unknown loss "hinge"`},
		{"zero batch", ens, HalfMSE, 0, "batch size must be ≥ 1, got 0"},
		{"no run dimension", badEnsemble{ens}, HalfMSE, 1, `ensemble parameter "u" has shape [2 4], want (3, ...)`},
		{"matrix input", wrongX{ens}, HalfMSE, 3, "want (K, batch, d) and (K, d)"},
	} {
		_, err := CompileEnsemble(tc.m, tc.loss, tc.batch)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	p, err := CompileEnsemble(ens, HalfMSE, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.RunBatch(make([]float64, 5), make([]float64, 6)); err == nil || !strings.Contains(err.Error(), "want 2×3×4") {
		t.Errorf("short batch: error %v", err)
	}
}

// TestSetGetMember: a member's parameters go into its own row of the
// stack and come back unchanged, and mismatched parameters are refused.
func TestSetGetMember(t *testing.T) {
	stacked := []*Param{NewParam("u", Float64, 3, 2), NewParam("w", Float64, 3, 2, 2)}
	member := []*Param{NewParam("u", Float64, 2), NewParam("w", Float64, 2, 2)}
	Unflatten(member, []float64{1, 2, 3, 4, 5, 6})
	if err := SetMember(stacked, 1, member); err != nil {
		t.Fatal(err)
	}
	want := []float64{0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 3, 4, 5, 6, 0, 0, 0, 0}
	if got := Flatten(stacked); sameBits(got, want) >= 0 || len(got) != len(want) {
		t.Errorf("stack %v, want %v", got, want)
	}
	back := []*Param{NewParam("u", Float64, 2), NewParam("w", Float64, 2, 2)}
	if err := GetMember(stacked, 1, back); err != nil {
		t.Fatal(err)
	}
	if got := Flatten(back); sameBits(got, Flatten(member)) >= 0 {
		t.Errorf("member 1 read back as %v", got)
	}
	for _, tc := range []struct {
		name   string
		k      int
		member []*Param
		want   string
	}{
		{"member out of range", 3, member, "member 3 of 3"},
		{"too few parameters", 0, member[:1], "2 stacked parameters, 1 member parameters"},
		{"wrong shape", 0, []*Param{NewParam("u", Float64, 3), member[1]}, `does not hold member parameter "u"`},
		{"wrong type", 0, []*Param{NewParam("u", Float32, 2), member[1]}, `does not hold member parameter "u"`},
	} {
		if err := GetMember(stacked, tc.k, tc.member); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}
