package train_test

import (
	"context"
	"math"
	"testing"

	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/models"
	"sgdlab/train"
)

func e1Data(t *testing.T) (data.Set, data.Set) {
	t.Helper()
	tr, te, _, err := data.SparseRegression{N: 80, D: 200, R: 20, NTest: 1000, Seed: 0}.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return tr, te
}

func TestUniformSamplerIsNumpyRandint(t *testing.T) {
	// np.random.seed(1); [np.random.randint(80) for _ in range(8)] (spec Appendix A).
	s := train.NewUniform(80, 1)
	got := make([]int, 8)
	s.Next(got)
	for i, want := range []int{37, 12, 72, 9, 75, 5, 79, 64} {
		if got[i] != want {
			t.Fatalf("indices %v, want 37 12 72 9 75 5 79 64", got)
		}
	}
}

// TestSGDStepMatchesAuthorsUpdate replays 300 SGD steps of the authors'
// update (simultaneous u, v update with e = x_kᵀ(u⊙v) − y_k) in plain Go.
func TestSGDStepMatchesAuthorsUpdate(t *testing.T) {
	tr, _ := e1Data(t)
	m := models.NewDLN(200)
	m.InitConst(0.1)
	const steps, eta = 300, 0.25
	res, err := train.Run{Model: m, Loss: graph.HalfMSE, Data: tr, Batch: 1, Sampler: train.NewUniform(80, 1),
		Schedule: train.Constant{LR: eta}, Iterations: steps}.Train(context.Background())
	if err != nil || res.Diverged {
		t.Fatal(err, res.Diverged)
	}
	u, v := make([]float64, 200), make([]float64, 200)
	for j := range u {
		u[j] = 0.1
	}
	r := data.NewNumpyRand(1)
	for i := 0; i < steps; i++ {
		k := r.Intn(80)
		x := tr.Row(k)
		e := -tr.Y[k]
		for j := range x {
			e += x[j] * u[j] * v[j]
		}
		for j := range x {
			u[j], v[j] = u[j]-eta*e*x[j]*v[j], v[j]-eta*e*x[j]*u[j]
		}
	}
	gu, gv := m.U.Float64s(), m.V.Float64s()
	for j := range u {
		if math.Abs(gu[j]-u[j]) > 1e-12*(1+math.Abs(u[j])) || math.Abs(gv[j]-v[j]) > 1e-12*(1+math.Abs(v[j])) {
			t.Fatalf("coordinate %d: graph (%v, %v), hand-written (%v, %v)", j, gu[j], gv[j], u[j], v[j])
		}
	}
}

func TestDivergenceIsReportedWithItsIteration(t *testing.T) {
	tr, _ := e1Data(t)
	m := models.NewDLN(200)
	m.InitConst(0.1)
	loss, err := train.LossMetric("train_loss", m, graph.HalfMSE, tr)
	if err != nil {
		t.Fatal(err)
	}
	res, err := train.Run{Model: m, Loss: graph.HalfMSE, Data: tr, Batch: 1, Sampler: train.NewUniform(80, 1),
		Schedule: train.Constant{LR: 1}, Iterations: 5000, Eval: []int{0, 1, 2, 3, 4000}, Metrics: []train.Metric{loss}}.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Diverged || res.DivergedAt < 1 || res.DivergedAt >= 4000 {
		t.Fatalf("η=1: diverged=%v at %d, want a divergence before iteration 4000", res.Diverged, res.DivergedAt)
	}
	if last := res.Iters[len(res.Iters)-1]; last > res.DivergedAt {
		t.Errorf("history goes on to %d after the divergence at %d", last, res.DivergedAt)
	}
	for _, row := range res.Values {
		if math.IsNaN(row[0]) || math.IsInf(row[0], 0) {
			t.Errorf("non-finite loss recorded before the divergence: %v", row)
		}
	}
}

func TestRatesAndEvaluationOrder(t *testing.T) {
	// The metric at iteration i sees the parameters after i updates, and
	// the recorded rate is the one of update i (decay after update 2).
	tr, _ := e1Data(t)
	m := models.NewDLN(200)
	m.InitConst(0.1)
	calls := 0
	probe := train.Metric{Name: "u0", Measure: func() (float64, error) { calls++; return m.U.Float64s()[0], nil }}
	res, err := train.Run{Model: m, Loss: graph.HalfMSE, Data: tr, Batch: 1, Sampler: train.NewUniform(80, 1),
		Schedule: train.Piecewise{LR: 0.2, Decays: []train.Decay{{At: 3, Factor: 2}}}, Iterations: 5,
		Eval: []int{0, 2, 3, 4}, Metrics: []train.Metric{probe}}.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if calls != 4 || res.Values[0][0] != 0.1 {
		t.Errorf("%d calls, first value %v: want 4 calls and the initial u0 = 0.1", calls, res.Values[0][0])
	}
	want := []float64{0.2, 0.2, 0.1, 0.1}
	for k, r := range res.Rates {
		if r != want[k] {
			t.Errorf("rate at iteration %d = %v, want %v", res.Iters[k], r, want[k])
		}
	}
}

func TestTrainStopsOnCancel(t *testing.T) {
	tr, _ := e1Data(t)
	m := models.NewDLN(200)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := train.Run{Model: m, Loss: graph.HalfMSE, Data: tr, Batch: 1, Sampler: train.NewUniform(80, 1),
		Schedule: train.Constant{LR: 0.1}, Iterations: 10}.Train(ctx)
	if err != context.Canceled {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

// TestStepMetricSeesTheBatchGradient checks that a step metric gets the
// gradient of the update of its iteration, and that an evaluation at
// Iterations sees the parameters after the last update.
func TestStepMetricSeesTheBatchGradient(t *testing.T) {
	tr, _ := e1Data(t)
	m := models.NewDLN(200)
	m.InitConst(0.1)
	m.V.Float64s()[3] = 0.2
	var want []float64
	before := train.Metric{Name: "grad_u3", Measure: func() (float64, error) {
		// The first index of seed 1 is 37: ∇u = e·x⊙v.
		x := tr.Row(37)
		u, v := m.U.Float64s(), m.V.Float64s()
		e := -tr.Y[37]
		for j := range x {
			e += x[j] * u[j] * v[j]
		}
		want = append(want, e*x[3]*v[3])
		return 0, nil
	}}
	var got []float64
	step := train.StepMetric{Name: "step", Measure: func(g []float64) (float64, error) {
		got = append(got, g[3])
		return g[3], nil
	}}
	u3 := train.Metric{Name: "u3", Measure: func() (float64, error) { return m.U.Float64s()[3], nil }}
	res, err := train.Run{Model: m, Loss: graph.HalfMSE, Data: tr, Batch: 1, Sampler: train.NewUniform(80, 1),
		Schedule: train.Constant{LR: 0.1}, Iterations: 1, Eval: []int{0, 1},
		Metrics: []train.Metric{before, u3}, StepMetrics: []train.StepMetric{step}, Snapshots: true}.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != want[0] {
		t.Fatalf("step metric saw %v, want the gradient %v", got, want[:1])
	}
	if len(res.Iters) != 2 || res.Iters[1] != 1 {
		t.Fatalf("evaluated at %v, want [0 1]", res.Iters)
	}
	if after, wantU := res.Values[1][1], 0.1-0.1*want[0]; math.Abs(after-wantU) > 1e-15 {
		t.Errorf("u3 after the update %v, want %v", after, wantU)
	}
	if len(res.Params) != 2 || res.Params[0][3] != 0.1 || res.Params[1][3] != res.Values[1][1] {
		t.Errorf("snapshots of u3: %v, want 0.1 then %v", res.Params, res.Values[1][1])
	}
	if !math.IsNaN(res.Values[1][2]) {
		t.Errorf("step metric after the last update = %v, want NaN (no step)", res.Values[1][2])
	}
}
