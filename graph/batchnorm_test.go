package graph

import (
	"math"
	"math/rand/v2"
	"testing"
)

// bnNet is batch normalisation alone on inputs of shape (c, h, w), or
// (c) if h = 0, with its flattened output as the model's output.
type bnNet struct {
	c, h, w int
	bn      *BatchNorm
}

func (m *bnNet) Params() []*Param { return m.bn.Params() }
func (m *bnNet) Input() []int {
	if m.h == 0 {
		return []int{m.c}
	}
	return []int{m.c, m.h, m.w}
}
func (m *bnNet) Forward(s *Scope, x *Node) *Node { return s.Flatten(s.BatchNorm(x, m.bn)) }

// channelStats returns the mean, biased and unbiased variance of channel
// ch of x, n examples of c channels of hw values each.
func channelStats(x []float64, n, c, hw, ch int) (mean, biased, unbiased float64) {
	var vals []float64
	for b := 0; b < n; b++ {
		vals = append(vals, x[(b*c+ch)*hw:(b*c+ch+1)*hw]...)
	}
	for _, v := range vals {
		mean += v
	}
	mean /= float64(len(vals))
	var ss float64
	for _, v := range vals {
		ss += (v - mean) * (v - mean)
	}
	return mean, ss / float64(len(vals)), ss / float64(len(vals)-1)
}

// TestBatchNormModes checks, against hand computations, the train-mode
// output (batch statistics), PyTorch's running-statistics update after
// each training step (momentum 0.1, unbiased variance), the eval-mode
// output (running statistics), and that evaluation programs and the
// Hessian tools leave the running statistics alone; for (N, C, H, W)
// and (N, C) inputs.
func TestBatchNormModes(t *testing.T) {
	for _, shape := range [][3]int{{3, 2, 5}, {4, 0, 0}} {
		r := rand.New(rand.NewPCG(41, uint64(shape[1])))
		m := &bnNet{c: shape[0], h: shape[1], w: shape[2], bn: NewBatchNorm("bn", Float64, shape[0])}
		c, hw := m.c, max(1, m.h*m.w)
		m.bn.Gamma.Set(randVec(r, c))
		m.bn.Beta.Set(randVec(r, c))
		gamma, beta := m.bn.Gamma.Float64s(), m.bn.Beta.Float64s()
		const n = 5
		train, err := Compile(m, OutputSum, n)
		if err != nil {
			t.Fatal(err)
		}
		eval, err := CompileLoss(m, OutputSum, n)
		if err != nil {
			t.Fatal(err)
		}
		hvp, err := CompileHVP(m, OutputSum, n)
		if err != nil {
			t.Fatal(err)
		}
		wantMean, wantVar := make([]float64, c), make([]float64, c)
		for i := range wantVar {
			wantVar[i] = 1
		}
		out := make([]float64, n*c*hw)
		for step := 0; step < 3; step++ {
			x := randVec(r, n*c*hw)
			for i := range x {
				x[i] = 3*x[i] + 2 // far from N(0, 1), so a missed normalisation shows
			}
			if _, err := train.Run(x, nil); err != nil {
				t.Fatal(err)
			}
			train.Output(out)
			for ch := 0; ch < c; ch++ {
				mu, v, vu := channelStats(x, n, c, hw, ch)
				for b := 0; b < n; b++ {
					for k := 0; k < hw; k++ {
						i := (b*c+ch)*hw + k
						want := (x[i]-mu)/math.Sqrt(v+1e-5)*gamma[ch] + beta[ch]
						if math.Abs(out[i]-want) > 1e-12 {
							t.Fatalf("%v step %d: train output %v, want %v", shape, step, out[i], want)
						}
					}
				}
				wantMean[ch] = 0.9*wantMean[ch] + 0.1*mu
				wantVar[ch] = 0.9*wantVar[ch] + 0.1*vu
			}
			train.Descend(0)
			// Neither evaluation nor the Hessian moves the statistics.
			if _, err := eval.Run(x, nil); err != nil {
				t.Fatal(err)
			}
			if err := hvp.SetData(x, nil); err != nil {
				t.Fatal(err)
			}
			d := make([]float64, hvp.Dim())
			if err := hvp.Apply(d, randVec(r, hvp.Dim())); err != nil {
				t.Fatal(err)
			}
			gotMean, gotVar := make([]float64, c), make([]float64, c)
			m.bn.Running(gotMean, gotVar)
			for ch := range gotMean {
				if math.Abs(gotMean[ch]-wantMean[ch]) > 1e-12 || math.Abs(gotVar[ch]-wantVar[ch]) > 1e-12 {
					t.Fatalf("%v step %d: running statistics (%v, %v), want (%v, %v)", shape, step, gotMean, gotVar, wantMean, wantVar)
				}
			}
			eval.Output(out)
			for i := range out {
				ch := (i / hw) % c
				want := (x[i]-wantMean[ch])/math.Sqrt(wantVar[ch]+1e-5)*gamma[ch] + beta[ch]
				if math.Abs(out[i]-want) > 1e-12 {
					t.Fatalf("%v step %d: eval output %v, want %v from the running statistics", shape, step, out[i], want)
				}
			}
		}
	}
}

// TestRefreshBatchNorm: the running statistics become the plain average,
// over the full batches, of the batch means and unbiased variances
// (update_bn's momentum None), whatever they were before; a partial last
// batch is left out, and the parameters are not touched.
func TestRefreshBatchNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	m := &bnNet{c: 2, h: 3, w: 2, bn: NewBatchNorm("bn", Float32, 2)}
	m.bn.SetRunning([]float64{5, -5}, []float64{7, 9})
	m.bn.Gamma.Set([]float64{2, 3})
	const n, batch, hw = 14, 4, 6
	x := randVec(r, n*m.c*hw)
	// float32 inputs: the hand computation uses the rounded values.
	for i := range x {
		x[i] = float64(float32(x[i]))
	}
	if err := RefreshBatchNorm(m, x, n, batch); err != nil {
		t.Fatal(err)
	}
	gotMean, gotVar := make([]float64, 2), make([]float64, 2)
	m.bn.Running(gotMean, gotVar)
	for ch := 0; ch < 2; ch++ {
		var wm, wv float64
		for k := 0; k < n/batch; k++ {
			mu, _, vu := channelStats(x[k*batch*m.c*hw:], batch, m.c, hw, ch)
			wm += mu
			wv += vu
		}
		wm /= n / batch
		wv /= n / batch
		if math.Abs(gotMean[ch]-wm) > 1e-5 || math.Abs(gotVar[ch]-wv) > 1e-5 {
			t.Errorf("channel %d: refreshed statistics (%v, %v), want (%v, %v)", ch, gotMean[ch], gotVar[ch], wm, wv)
		}
	}
	if g := m.bn.Gamma.Float32s(); g[0] != 2 || g[1] != 3 {
		t.Errorf("γ changed to %v", g)
	}
	if err := RefreshBatchNorm(m, x[:3*m.c*hw], 3, batch); err == nil {
		t.Errorf("RefreshBatchNorm with fewer examples than a batch: no error")
	}
	if err := RefreshBatchNorm(m, x[:10], n, batch); err == nil {
		t.Errorf("RefreshBatchNorm with a short x: no error")
	}
}

// TestBatchNormTrainStepAllocatesNothing: a training step of a
// batch-normalised conv net (run, update, running statistics) allocates
// nothing.
func TestConvTrainStepAllocatesNothing(t *testing.T) {
	for _, dt := range []Dtype{Float32, Float64} {
		r := rand.New(rand.NewPCG(61, 62))
		var bn *BatchNorm
		m := newOpNet(r, dt, 1, 6, 6, 3, 4, func(c1 int) []*Param {
			bn = NewBatchNorm("bn", dt, 4)
			return append([]*Param{NewParam("w", dt, 4, c1, 3, 3)}, bn.Params()...)
		}, func(s *Scope, ps []*Param, x *Node) *Node {
			h := s.ReLU(s.BatchNorm(s.Conv2D(x, ps[0], nil, 1, 1), bn))
			return s.MaxPool2D(h, 2, 2)
		})
		p, err := Compile(m, SoftmaxCE, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.exec.fallbacks) != 0 {
			t.Errorf("generic operations: %v", p.exec.fallbacks)
		}
		x, y := batchFor(SoftmaxCE, 4, 36, 4, r)
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := p.Run(x, y); err != nil {
				t.Fatal(err)
			}
			p.Descend(1e-3)
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per step, want 0", dt, allocs)
		}
	}
}
