package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// opNet is a test model around one operation: a first convolution
// (so the operation's input depends on parameters and its gradient is
// taken), tanh (smooth, so finite differences hold), the operation under
// test, and a dense head.
type opNet struct {
	c, h, w int // input example shape
	ps      []*Param
	body    func(s *Scope, h *Node) *Node
	conv1   *Param
	bias1   *Param
	head    *Param
	out     int
}

func (m *opNet) Params() []*Param { return m.ps }
func (m *opNet) Input() []int     { return []int{m.c, m.h, m.w} }
func (m *opNet) Forward(s *Scope, x *Node) *Node {
	h := s.Must(gorgonia.Tanh(s.Conv2D(x, m.conv1, m.bias1, 1, 1)))
	h = s.Flatten(m.body(s, h))
	return s.Dense(h, m.head, nil)
}

// newOpNet builds an opNet whose body maps (batch, c1, h, w) to a tensor
// of batch·width values per example, with extra parameters made by
// extra(c1); the head's input width is found by building once.
func newOpNet(r *rand.Rand, dt Dtype, c, h, w, c1, out int, extra func(c1 int) []*Param, body func(s *Scope, ps []*Param, x *Node) *Node) *opNet {
	m := &opNet{c: c, h: h, w: w, out: out,
		conv1: NewParam("conv1", dt, c1, c, 3, 3), bias1: NewParam("bias1", dt, c1)}
	var ex []*Param
	if extra != nil {
		ex = extra(c1)
	}
	m.body = func(s *Scope, x *Node) *Node { return body(s, ex, x) }
	// Width of the body's output: build it once on a batch of 1.
	s := newScope(dt)
	s.mode = Train
	x := s.input("x", []int{2, c, h, w})
	hb := s.Flatten(m.body(s, s.Must(gorgonia.Tanh(s.Conv2D(x, m.conv1, m.bias1, 1, 1)))))
	if s.err != nil {
		panic(s.err)
	}
	m.head = NewParam("head", dt, hb.Shape()[1], out)
	m.ps = append([]*Param{m.conv1, m.bias1}, ex...)
	m.ps = append(m.ps, m.head)
	for _, p := range m.ps {
		v := make([]float64, p.Len())
		for i := range v {
			v[i] = 0.5 * r.NormFloat64()
		}
		p.Set(v)
	}
	return m
}

// opCases are the operations whose derivatives are checked, each on
// inputs of several shapes, strides and paddings.
func opCases(dt Dtype) []struct {
	name    string
	c, h, w int
	extra   func(c1 int) []*Param
	body    func(s *Scope, ps []*Param, x *Node) *Node
	c1      int
} {
	conv := func(cout, k, stride, pad int, bias bool) (func(int) []*Param, func(*Scope, []*Param, *Node) *Node) {
		return func(c1 int) []*Param {
				ps := []*Param{NewParam("w", dt, cout, c1, k, k)}
				if bias {
					ps = append(ps, NewParam("b", dt, cout))
				}
				return ps
			}, func(s *Scope, ps []*Param, x *Node) *Node {
				var b *Param
				if bias {
					b = ps[1]
				}
				return s.Conv2D(x, ps[0], b, stride, pad)
			}
	}
	type tc = struct {
		name    string
		c, h, w int
		extra   func(c1 int) []*Param
		body    func(s *Scope, ps []*Param, x *Node) *Node
		c1      int
	}
	var cases []tc
	var bnCase func(name string, c, h, w, c1 int, flat bool) tc
	bnCase = func(name string, c, h, w, c1 int, flat bool) tc {
		var bn *BatchNorm
		return tc{name, c, h, w, func(c1 int) []*Param {
			ch := c1
			if flat {
				ch = c1 * h * w
			}
			bn = NewBatchNorm("bn", dt, ch)
			return bn.Params()
		}, func(s *Scope, _ []*Param, x *Node) *Node {
			if flat {
				x = s.Flatten(x)
			}
			return s.BatchNorm(x, bn)
		}, c1}
	}
	for _, g := range []struct {
		h, w, cout, k, stride, pad int
		bias                       bool
	}{
		{5, 5, 3, 3, 1, 1, true},
		{7, 6, 2, 3, 2, 1, false},
		{6, 6, 3, 2, 2, 0, true},
		{5, 7, 4, 1, 2, 0, false},
		{4, 5, 2, 5, 1, 2, true},
		{6, 5, 2, 3, 3, 2, false},
	} {
		ex, body := conv(g.cout, g.k, g.stride, g.pad, g.bias)
		cases = append(cases, tc{fmt.Sprintf("conv%dx%d_k%d_s%d_p%d", g.h, g.w, g.k, g.stride, g.pad), 2, g.h, g.w, ex, body, 2})
	}
	for _, g := range []struct{ h, w, k, stride int }{{6, 6, 2, 2}, {7, 7, 3, 2}, {5, 6, 2, 2}, {5, 5, 2, 1}} {
		k, st := g.k, g.stride
		cases = append(cases, tc{fmt.Sprintf("maxpool%dx%d_k%d_s%d", g.h, g.w, k, st), 1, g.h, g.w, nil,
			func(s *Scope, _ []*Param, x *Node) *Node { return s.MaxPool2D(x, k, st) }, 2})
		cases = append(cases, tc{fmt.Sprintf("avgpool%dx%d_k%d_s%d", g.h, g.w, k, st), 1, g.h, g.w, nil,
			func(s *Scope, _ []*Param, x *Node) *Node { return s.AvgPool2D(x, k, st) }, 2})
	}
	cases = append(cases,
		tc{"global_avgpool", 2, 5, 4, nil, func(s *Scope, _ []*Param, x *Node) *Node { return s.GlobalAvgPool(x) }, 3},
		bnCase("batchnorm4d", 1, 4, 5, 3, false),
		bnCase("batchnorm2d", 1, 3, 3, 2, true),
		tc{"residual_1x1_shortcut", 1, 6, 6, func(c1 int) []*Param {
			return []*Param{NewParam("w", dt, 4, c1, 3, 3), NewParam("sc", dt, 4, c1, 1, 1)}
		}, func(s *Scope, ps []*Param, x *Node) *Node {
			return s.Add(s.Conv2D(x, ps[0], nil, 2, 1), s.Conv2D(x, ps[1], nil, 2, 0))
		}, 2},
		tc{"residual_identity", 1, 5, 5, func(c1 int) []*Param { return []*Param{NewParam("w", dt, c1, c1, 3, 3)} },
			func(s *Scope, ps []*Param, x *Node) *Node {
				return s.Add(s.Must(gorgonia.Tanh(s.Conv2D(x, ps[0], nil, 1, 1))), x)
			}, 3},
	)
	return cases
}

// TestOpGradientsAndHessians checks every operation's gradient against
// central finite differences of the loss, and its second derivatives
// with HVP.Check (symmetry, and finite differences of exact gradients),
// in float64.
func TestOpGradientsAndHessians(t *testing.T) {
	// Convolutions unfold groups of images: all 3 at once, one at a
	// time, and 2 then 1 (for the inputs of up to 7×7 positions here).
	// And every stride-1 convolution on grids as well as unfolded.
	defer func(c int, w float64) { convChunk, maxGridWaste = c, w }(convChunk, maxGridWaste)
	for _, chunk := range []int{2048, 1, 60} {
		for _, waste := range []float64{0, math.Inf(1)} {
			convChunk, maxGridWaste = chunk, waste
			testOpGradientsAndHessians(t, fmt.Sprintf("chunk%d_grid%v/", chunk, waste > 0))
		}
	}
}

func testOpGradientsAndHessians(t *testing.T, prefix string) {
	for i, tc := range opCases(Float64) {
		t.Run(prefix+tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(i), 77))
			m := newOpNet(r, Float64, tc.c, tc.h, tc.w, tc.c1, 3, tc.extra, tc.body)
			const batch = 3
			x, y := batchFor(SoftmaxCE, batch, tc.c*tc.h*tc.w, 3, r)
			p, err := Compile(m, SoftmaxCE, batch)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.exec.fallbacks) != 0 {
				t.Errorf("generic operations: %v", p.exec.fallbacks)
			}
			if _, err := p.Run(x, y); err != nil {
				t.Fatal(err)
			}
			w := Flatten(m.Params())
			g := make([]float64, len(w))
			p.Gradient(g)
			fd := make([]float64, len(w))
			const eps = 1e-5
			for j := range w {
				old := w[j]
				w[j] = old + eps
				Unflatten(m.Params(), w)
				lp, _ := p.Run(x, y)
				w[j] = old - eps
				Unflatten(m.Params(), w)
				lm, _ := p.Run(x, y)
				w[j] = old
				fd[j] = (lp - lm) / (2 * eps)
			}
			Unflatten(m.Params(), w)
			e := relErr(g, fd)
			if e > 1e-7 {
				t.Errorf("gradient vs central differences: relative error %.3g > 1e-7", e)
			}
			h, err := CompileHVP(m, SoftmaxCE, batch)
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
			t.Logf("gradient error %.2g, HVP symmetry %.2g, finite differences %.2g", e, c.Symmetry, c.FiniteDifference)
			if c.Symmetry > 1e-12 || c.FiniteDifference > 1e-6 {
				t.Errorf("HVP check: symmetry %.3g, finite differences %.3g", c.Symmetry, c.FiniteDifference)
			}
		})
	}
}

// TestIm2colMatchesDefinitionAndIsAdjoint compares im2col with its
// definition entry by entry, and checks ⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩
// and the same adjointness of the pooling pairs (scatter/gather at one
// argmax, average pooling and its adjoint), on odd shapes, strides and
// paddings.
func TestIm2colMatchesDefinitionAndIsAdjoint(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, g := range []struct{ b, c, h, w, k, s, p int }{
		{1, 1, 3, 3, 3, 1, 1}, {2, 3, 5, 7, 3, 2, 1}, {2, 2, 6, 5, 2, 2, 0}, {1, 2, 4, 4, 5, 1, 2},
		{3, 1, 7, 4, 3, 3, 2}, {2, 2, 5, 5, 1, 2, 0}, {1, 1, 1, 6, 1, 1, 0},
		{2, 3, 5, 6, 3, 1, 1}, {1, 2, 1, 1, 3, 1, 1}, {1, 1, 2, 1, 3, 1, 1},
	} {
		win, err := newWindow(tensor.Shape{g.b, g.c, g.h, g.w}, g.k, g.s, g.p)
		if err != nil {
			t.Fatal(err)
		}
		x := randVec(r, g.b*g.c*g.h*g.w)
		cols := make([]float64, win.colShape().TotalSize())
		im2col(win, x, cols)
		n := g.b * win.oh * win.ow
		for ci := 0; ci < g.c; ci++ {
			for ki := 0; ki < g.k; ki++ {
				for kj := 0; kj < g.k; kj++ {
					for b := 0; b < g.b; b++ {
						for i := 0; i < win.oh; i++ {
							for j := 0; j < win.ow; j++ {
								ih, iw := i*g.s-g.p+ki, j*g.s-g.p+kj
								want := 0.0
								if ih >= 0 && ih < g.h && iw >= 0 && iw < g.w {
									want = x[((b*g.c+ci)*g.h+ih)*g.w+iw]
								}
								if got := cols[((ci*g.k+ki)*g.k+kj)*n+(b*win.oh+i)*win.ow+j]; got != want {
									t.Fatalf("%+v: im2col entry (%d,%d,%d; %d,%d,%d) = %v, want %v", g, ci, ki, kj, b, i, j, got, want)
								}
							}
						}
					}
				}
			}
		}
		y := randVec(r, len(cols))
		back := make([]float64, len(x))
		col2im(win, y, back)
		// col2im against its definition, summed in the order of the
		// loops over (ci, ki, kj), so to the bit.
		want := make([]float64, len(x))
		for ci := 0; ci < g.c; ci++ {
			for ki := 0; ki < g.k; ki++ {
				for kj := 0; kj < g.k; kj++ {
					for b := 0; b < g.b; b++ {
						for i := 0; i < win.oh; i++ {
							for j := 0; j < win.ow; j++ {
								ih, iw := i*g.s-g.p+ki, j*g.s-g.p+kj
								if ih >= 0 && ih < g.h && iw >= 0 && iw < g.w {
									want[((b*g.c+ci)*g.h+ih)*g.w+iw] += y[((ci*g.k+ki)*g.k+kj)*n+(b*win.oh+i)*win.ow+j]
								}
							}
						}
					}
				}
			}
		}
		for i := range want {
			if back[i] != want[i] {
				t.Fatalf("%+v: col2im[%d] = %v, want %v", g, i, back[i], want[i])
			}
		}
		if a, b := dot(cols, y), dot(x, back); math.Abs(a-b) > 1e-12*math.Abs(a) {
			t.Errorf("%+v: ⟨im2col x, y⟩ = %v, ⟨x, col2im y⟩ = %v", g, a, b)
		}
		if g.p > 0 {
			continue
		}
		gy := randVec(r, g.b*g.c*win.oh*win.ow)
		gx := randVec(r, len(x))
		up, down := make([]float64, len(x)), make([]float64, len(gy))
		for _, pair := range [][2]poolKind{{poolScatter, poolGather}, {poolAvgAdj, poolAvg}} {
			pool(pair[0], win, up, x, gy)
			if pair[0] == poolAvgAdj {
				pool(pair[0], win, up, gy, nil)
				pool(pair[1], win, down, gx, nil)
			} else {
				pool(pair[1], win, down, x, gx)
			}
			if a, b := dot(up, gx), dot(gy, down); math.Abs(a-b) > 1e-12*math.Abs(a) {
				t.Errorf("%+v: %s/%s not adjoint: %v vs %v", g, poolNames[pair[0]], poolNames[pair[1]], a, b)
			}
		}
	}
}

func randVec(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// TestConvAndPoolForward compares Conv2D (with bias), MaxPool2D,
// AvgPool2D and GlobalAvgPool with direct loops over their definitions.
func TestConvAndPoolForward(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	const b, c, h, w, cout, k, st, pad = 2, 3, 7, 6, 4, 3, 2, 1
	wt, bias := NewParam("w", Float64, cout, c, k, k), NewParam("b", Float64, cout)
	wt.Set(randVec(r, wt.Len()))
	bias.Set(randVec(r, cout))
	x := randVec(r, b*c*h*w)
	s := newScope(Float64)
	xn := s.input("x", []int{b, c, h, w})
	copy(tensorOf(xn).Data().([]float64), x)
	conv := s.Conv2D(xn, wt, bias, st, pad)
	mp := s.MaxPool2D(xn, 3, 2)
	ap := s.AvgPool2D(xn, 2, 2)
	gp := s.GlobalAvgPool(xn)
	if s.err != nil {
		t.Fatal(s.err)
	}
	e, err := newExecutor(s.g, []*Node{conv, mp, ap, gp})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	at := func(bi, ci, i, j int) float64 {
		if i < 0 || i >= h || j < 0 || j >= w {
			return 0
		}
		return x[((bi*c+ci)*h+i)*w+j]
	}
	oh, ow := (h+2*pad-k)/st+1, (w+2*pad-k)/st+1
	if !conv.Shape().Eq(tensor.Shape{b, cout, oh, ow}) {
		t.Fatalf("conv shape %v", conv.Shape())
	}
	got := flat(e.value(conv))
	W := wt.Float64s()
	for bi := 0; bi < b; bi++ {
		for o := 0; o < cout; o++ {
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					want := bias.Float64s()[o]
					for ci := 0; ci < c; ci++ {
						for a := 0; a < k; a++ {
							for d := 0; d < k; d++ {
								want += W[((o*c+ci)*k+a)*k+d] * at(bi, ci, i*st-pad+a, j*st-pad+d)
							}
						}
					}
					if g := got[((bi*cout+o)*oh+i)*ow+j]; math.Abs(g-want) > 1e-12 {
						t.Fatalf("conv (%d,%d,%d,%d) = %v, want %v", bi, o, i, j, g, want)
					}
				}
			}
		}
	}
	check := func(name string, n *Node, kk, ss int, f func(vals []float64) float64) {
		got := flat(e.value(n))
		ph, pw := (h-kk)/ss+1, (w-kk)/ss+1
		for bi := 0; bi < b; bi++ {
			for ci := 0; ci < c; ci++ {
				for i := 0; i < ph; i++ {
					for j := 0; j < pw; j++ {
						var vals []float64
						for a := 0; a < kk; a++ {
							for d := 0; d < kk; d++ {
								vals = append(vals, at(bi, ci, i*ss+a, j*ss+d))
							}
						}
						if g, want := got[((bi*c+ci)*ph+i)*pw+j], f(vals); math.Abs(g-want) > 1e-14 {
							t.Fatalf("%s (%d,%d,%d,%d) = %v, want %v", name, bi, ci, i, j, g, want)
						}
					}
				}
			}
		}
	}
	check("maxpool", mp, 3, 2, func(v []float64) float64 {
		m := v[0]
		for _, u := range v {
			m = math.Max(m, u)
		}
		return m
	})
	check("avgpool", ap, 2, 2, func(v []float64) float64 { return (v[0] + v[1] + v[2] + v[3]) / 4 })
	gg := flat(e.value(gp))
	for bi := 0; bi < b; bi++ {
		for ci := 0; ci < c; ci++ {
			var sum float64
			for i := 0; i < h; i++ {
				for j := 0; j < w; j++ {
					sum += at(bi, ci, i, j)
				}
			}
			if g := gg[bi*c+ci]; math.Abs(g-sum/(h*w)) > 1e-14 {
				t.Fatalf("global average (%d,%d) = %v, want %v", bi, ci, g, sum/(h*w))
			}
		}
	}
}

func tensorOf(n *Node) *tensor.Dense { return n.Value().(*tensor.Dense) }

// TestBuildErrors: misfitting shapes are reported, not panics.
func TestConvBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(s *Scope, x *Node) *Node
		want  string
	}{
		{"channels", func(s *Scope, x *Node) *Node { return s.Conv2D(x, NewParam("w", Float64, 2, 3, 3, 3), nil, 1, 1) }, "input channels"},
		{"too big", func(s *Scope, x *Node) *Node { return s.Conv2D(x, NewParam("w", Float64, 2, 1, 9, 9), nil, 1, 0) }, "does not fit"},
		{"stride", func(s *Scope, x *Node) *Node { return s.MaxPool2D(x, 2, 0) }, "stride"},
		{"bias", func(s *Scope, x *Node) *Node {
			return s.Conv2D(x, NewParam("w", Float64, 2, 1, 3, 3), NewParam("b", Float64, 3), 1, 1)
		}, "bias"},
		{"bn channels", func(s *Scope, x *Node) *Node { return s.BatchNorm(x, NewBatchNorm("bn", Float64, 2)) }, "channels"},
	} {
		s := newScope(Float64)
		x := s.input("x", []int{2, 1, 5, 5})
		if tc.build(s, x) != nil || s.err == nil || !strings.Contains(s.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, s.err, tc.want)
		}
	}
}

// TestConvExecutorMatchesTapeMachine runs every operation's test net in
// both types for a few SGD steps and demands bit-identical losses,
// outputs and gradients from the executor and Gorgonia's TapeMachine,
// with every operation on a native kernel.
func TestConvExecutorMatchesTapeMachine(t *testing.T) {
	for _, dt := range []Dtype{Float64, Float32} {
		for i, tc := range opCases(dt) {
			t.Run(tc.name+"/"+dt.String(), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(i), 78))
				m := newOpNet(r, dt, tc.c, tc.h, tc.w, tc.c1, 3, tc.extra, tc.body)
				const batch = 3
				p, err := Compile(m, SoftmaxCE, batch)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.exec.fallbacks) != 0 {
					t.Errorf("generic operations: %v", p.exec.fallbacks)
				}
				for step := 0; step < 3; step++ {
					x, y := batchFor(SoftmaxCE, batch, tc.c*tc.h*tc.w, 3, r)
					if err := p.CheckTapeMachine(x, y); err != nil {
						t.Fatalf("step %d: %v", step, err)
					}
					p.Descend(0.1)
				}
			})
		}
	}
}
