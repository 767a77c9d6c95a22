package train_test

import (
	"context"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/models"
	"sgdlab/train"
)

func TestWithoutReplacementBatchesAreDistinctAndUniform(t *testing.T) {
	const n, b, batches = 50, 20, 20000
	s := train.NewWithoutReplacement(n, 7)
	if s.Size() != n {
		t.Fatalf("Size() = %d, want %d", s.Size(), n)
	}
	idx := make([]int, b)
	count := make([]float64, n)
	first := make([]float64, n) // the law of the first position, too
	for it := 0; it < batches; it++ {
		s.Next(idx)
		seen := make(map[int]bool, b)
		for _, j := range idx {
			if j < 0 || j >= n || seen[j] {
				t.Fatalf("batch %d = %v: want %d distinct indices in [0, %d)", it, idx, b, n)
			}
			seen[j] = true
			count[j]++
		}
		first[idx[0]]++
	}
	// Each index is in a batch with probability p = B/n, independently
	// across batches, so count_j has mean T·p and variance T·p(1−p); the
	// counts sum to T·B, with covariance T·p(1−p)·n/(n−1)·(I − 11ᵀ/n), so
	// Σ (c−μ)²/v with v = T·p(1−p)·n/(n−1) is approximately χ² with n−1 =
	// 49 degrees of freedom (sd ≈ 10). 110 is 6 sd above the mean: a
	// correct sampler exceeds it with probability ~10⁻⁶ (and the seed is
	// fixed, so the test is deterministic).
	p := float64(b) / n
	mu, v := batches*p, batches*p*(1-p)*float64(n)/float64(n-1)
	chi := 0.0
	for _, c := range count {
		chi += (c - mu) * (c - mu) / v
	}
	if chi > 110 {
		t.Errorf("membership chi-square %.1f over %d indices, want ≲ 110 (mean %d): %v", chi, n, n-1, count)
	}
	// The first position is uniform over n: a chi-square with n−1 degrees.
	mu1 := float64(batches) / n
	chi1 := 0.0
	for _, c := range first {
		chi1 += (c - mu1) * (c - mu1) / mu1
	}
	if chi1 > 110 {
		t.Errorf("first-position chi-square %.1f over %d indices, want ≲ 110 (mean %d)", chi1, n, n-1)
	}
}

func TestWithoutReplacementSeedGivesTheStream(t *testing.T) {
	a, b, c := train.NewWithoutReplacement(30, 3), train.NewWithoutReplacement(30, 3), train.NewWithoutReplacement(30, 4)
	x, y, z := make([]int, 10), make([]int, 10), make([]int, 10)
	differ := false
	for it := 0; it < 100; it++ {
		a.Next(x)
		b.Next(y)
		c.Next(z)
		if !slices.Equal(x, y) {
			t.Fatalf("batch %d: %v and %v from the same seed", it, x, y)
		}
		differ = differ || !slices.Equal(x, z)
	}
	if !differ {
		t.Error("seeds 3 and 4 gave the same 100 batches")
	}
	// A full batch is a permutation.
	full := make([]int, 30)
	a.Next(full)
	sorted := slices.Sorted(slices.Values(full))
	for i, j := range sorted {
		if i != j {
			t.Fatalf("batch of 30 from 30 = %v, want a permutation", full)
		}
	}
}

// TestWithoutReplacementIsNumpyChoice compares the batches with those of
// numpy 1.24's legacy np.random.choice(n, B, replace=False) after
// np.random.seed(seed), printed by
//
//	np.random.seed(0); [np.random.choice(15, 1, replace=False)[0] for _ in range(12)]
//	np.random.seed(3); [np.random.choice(12, 3, replace=False) for _ in range(4)]
func TestWithoutReplacementIsNumpyChoice(t *testing.T) {
	for _, tc := range []struct {
		n, batch int
		seed     uint32
		want     [][]int
	}{
		{15, 1, 0, [][]int{{1}, {2}, {4}, {13}, {0}, {1}, {2}, {10}, {13}, {8}, {10}, {4}}},
		{12, 3, 3, [][]int{{5, 4, 1}, {3, 11, 1}, {4, 7, 8}, {5, 2, 4}}},
	} {
		s := train.NewWithoutReplacement(tc.n, tc.seed)
		for k, want := range tc.want {
			got := make([]int, tc.batch)
			s.Next(got)
			if !slices.Equal(got, want) {
				t.Errorf("n=%d seed %d batch %d = %v, want numpy's %v", tc.n, tc.seed, k, got, want)
			}
		}
	}
}

func TestWithoutReplacementNextAllocatesNothing(t *testing.T) {
	s := train.NewWithoutReplacement(100, 1)
	idx := make([]int, 32)
	if n := testing.AllocsPerRun(100, func() { s.Next(idx) }); n != 0 {
		t.Errorf("Next allocates %v times per call, want 0", n)
	}
}

// lineData is the set of n examples x = 1 with target y.
func lineData(n int, y float64) data.Set {
	s := data.Set{N: n, D: 1, X: make([]float64, n), Y: make([]float64, n)}
	for i := range s.X {
		s.X[i], s.Y[i] = 1, y
	}
	return s
}

// TestLabelNoiseReachesTheBatch reads the noisy target of each update off
// the gradient of ŷ = w·x at w = 0, x = 1: for ½(ŷ−ỹ)² it is −ỹ.
func TestLabelNoiseReachesTheBatch(t *testing.T) {
	const steps, y = 20000, 0.5
	m := models.NewMLP(graph.Float64, false, 1, 1)
	set := lineData(1, y)
	var got []float64
	step := train.StepMetric{Name: "target", Measure: func(g []float64) (float64, error) {
		got = append(got, -g[0])
		return 0, nil
	}}
	eval := make([]int, steps)
	for i := range eval {
		eval[i] = i
	}
	sigma := train.Piecewise{LR: 0.3, Decays: []train.Decay{{At: steps / 2, Factor: 3}}}
	_, err := train.Run{Model: m, Loss: graph.HalfMSE, Data: set, Batch: 1, Sampler: train.Full{},
		Schedule: train.Constant{LR: 0}, Iterations: steps, Eval: eval, StepMetrics: []train.StepMetric{step},
		LabelNoise: sigma, NoiseSeed: 11}.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if set.Y[0] != y {
		t.Errorf("Data.Y[0] = %v after training, want %v (the noise goes into the batch only)", set.Y[0], y)
	}
	ref := data.NewNumpyRand(11)
	for _, half := range []struct {
		from, to int
		sigma    float64
	}{{0, steps / 2, 0.3}, {steps / 2, steps, 0.1}} {
		var sum, sq float64
		for i := half.from; i < half.to; i++ {
			want := y + half.sigma*ref.NormFloat64()
			if math.Abs(got[i]-want) > 1e-15 {
				t.Fatalf("update %d: target %v, want %v from the NoiseSeed stream", i, got[i], want)
			}
			e := got[i] - y
			sum += e
			sq += e * e
		}
		k := float64(half.to - half.from)
		mean, std := sum/k, math.Sqrt(sq/k-(sum/k)*(sum/k))
		// 10⁴ draws: the mean is within 5 standard errors (σ/100), the
		// std within 5% (its standard error is σ/√(2k) ≈ 0.7%).
		if math.Abs(mean) > 5*half.sigma/100 || math.Abs(std/half.sigma-1) > 0.05 {
			t.Errorf("updates [%d, %d): noise mean %.4g, std %.4g, want 0 and σ = %v", half.from, half.to, mean, std, half.sigma)
		}
	}
}

// e1Run is a short SGD run of E1 with its train loss at a few points.
func e1Run(t *testing.T, mod func(*train.Run)) (train.Result, *models.DLN) {
	t.Helper()
	tr, _ := e1Data(t)
	m := models.NewDLN(200)
	m.InitConst(0.1)
	loss, err := train.LossMetric("train_loss", m, graph.HalfMSE, tr)
	if err != nil {
		t.Fatal(err)
	}
	r := train.Run{Model: m, Loss: graph.HalfMSE, Data: tr, Batch: 4, Sampler: train.NewWithoutReplacement(80, 1),
		Schedule: train.Constant{LR: 0.05}, Iterations: 300, Eval: []int{0, 10, 100, 300}, Metrics: []train.Metric{loss}, Snapshots: true}
	if mod != nil {
		mod(&r)
	}
	res, err := r.Train(context.Background())
	if err != nil || res.Diverged {
		t.Fatal(err, res.Diverged)
	}
	return res, m
}

func TestZeroNoiseAndZeroAverageChangeNothing(t *testing.T) {
	base, m0 := e1Run(t, nil)
	for name, mod := range map[string]func(*train.Run){
		"σ=0":         func(r *train.Run) { r.LabelNoise, r.NoiseSeed = train.Constant{LR: 0}, 5 },
		"ω=0":         func(r *train.Run) { r.Average = 0 },
		"σ=0 and ω=0": func(r *train.Run) { r.LabelNoise = train.Constant{LR: 0} },
	} {
		res, m := e1Run(t, mod)
		if !reflect.DeepEqual(res, base) {
			t.Errorf("%s: result differs from the plain run", name)
		}
		if !slices.Equal(graph.Flatten(m.Params()), graph.Flatten(m0.Params())) {
			t.Errorf("%s: final parameters differ from the plain run", name)
		}
	}
	noisy, _ := e1Run(t, func(r *train.Run) { r.LabelNoise = train.Constant{LR: 0.1} })
	if reflect.DeepEqual(noisy.Values, base.Values) {
		t.Error("σ = 0.1: the losses are those of the run without noise")
	}
}

// TestAverageMeasuresTheEMA runs GD on ½w² (x = 1, y = 0), where
// w_t = w₀(1−η)^t, and checks that the metrics, snapshots and
// Result.Averaged follow θ̄_{t+1} = ω·θ̄_t + (1−ω)·w_{t+1}, θ̄₀ = w₀,
// while the model ends at w_T.
func TestAverageMeasuresTheEMA(t *testing.T) {
	const w0, eta, omega, steps = 2.0, 0.1, 0.9, 50
	m := models.NewMLP(graph.Float64, false, 1, 1)
	m.W[0].Float64s()[0] = w0
	probe := train.Metric{Name: "w", Measure: func() (float64, error) { return m.W[0].Float64s()[0], nil }}
	var stepW []float64
	step := train.StepMetric{Name: "w_at_step", Measure: func([]float64) (float64, error) {
		stepW = append(stepW, m.W[0].Float64s()[0])
		return 0, nil
	}}
	eval := []int{0, 1, 2, 10, 49, 50}
	res, err := train.Run{Model: m, Loss: graph.HalfMSE, Data: lineData(1, 0), Batch: 1, Sampler: train.Full{},
		Schedule: train.Constant{LR: eta}, Iterations: steps, Eval: eval, Metrics: []train.Metric{probe},
		StepMetrics: []train.StepMetric{step}, Snapshots: true, Average: omega}.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w, avg := w0, w0
	ws, avgs := []float64{w}, []float64{avg}
	for i := 0; i < steps; i++ {
		w = w0 * math.Pow(1-eta, float64(i+1))
		avg = omega*avg + (1-omega)*w
		ws, avgs = append(ws, w), append(avgs, avg)
	}
	close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-12*(1+math.Abs(b)) }
	for k, i := range res.Iters {
		if !close(res.Values[k][0], avgs[i]) || !close(res.Params[k][0], avgs[i]) {
			t.Errorf("iteration %d: measured %v, snapshot %v, want θ̄ = %v (θ = %v)", i, res.Values[k][0], res.Params[k][0], avgs[i], ws[i])
		}
	}
	for k, got := range stepW {
		if i := res.Iters[k]; !close(got, ws[i]) {
			t.Errorf("iteration %d: step metric saw w = %v, want θ = %v", i, got, ws[i])
		}
	}
	if got := m.W[0].Float64s()[0]; !close(got, ws[steps]) {
		t.Errorf("model after Train holds %v, want θ_T = %v", got, ws[steps])
	}
	if len(res.Averaged) != 1 || !close(res.Averaged[0], avgs[steps]) {
		t.Errorf("Result.Averaged = %v, want [%v]", res.Averaged, avgs[steps])
	}
	if avgs[steps] == ws[steps] {
		t.Fatal("test is vacuous: θ̄ = θ")
	}
}

func TestTrainLoopAllocatesNothingWithNoiseAndAverage(t *testing.T) {
	tr, _ := e1Data(t)
	allocs := func(iters int) float64 {
		return testing.AllocsPerRun(3, func() {
			m := models.NewDLN(200)
			m.InitConst(0.1)
			_, err := train.Run{Model: m, Loss: graph.HalfMSE, Data: tr, Batch: 4, Sampler: train.NewWithoutReplacement(80, 1),
				Schedule: train.Constant{LR: 0.01}, Iterations: iters, LabelNoise: train.Constant{LR: 0.1}, Average: 0.5}.Train(context.Background())
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	// One allocation per update would add 990; the runtime's own (a
	// timer, the scheduler) can add one or two to a measurement.
	if few, many := allocs(10), allocs(1000); many > few+10 {
		t.Errorf("Train allocates %v times for 10 updates and %v for 1000, want no allocation per update", few, many)
	}
}

func TestValidateNoiseAndAverage(t *testing.T) {
	tr, _ := e1Data(t)
	base := train.Run{Model: models.NewDLN(200), Loss: graph.HalfMSE, Data: tr, Batch: 1, Sampler: train.NewUniform(80, 1),
		Schedule: train.Constant{LR: 0.1}, Iterations: 10}
	for _, tc := range []struct {
		mod  func(*train.Run)
		want string
	}{
		{func(r *train.Run) { r.Average = 1 }, "train: Run.Average = 1, want"},
		{func(r *train.Run) { r.Average = -0.1 }, "train: Run.Average = -0.1, want"},
		{func(r *train.Run) { r.Average = math.NaN() }, "train: Run.Average = NaN, want"},
		{func(r *train.Run) { r.LabelNoise = train.Constant{LR: -1} }, "train: Run.LabelNoise.Rate(0) = -1"},
		{func(r *train.Run) { r.LabelNoise = (*train.Cosine)(nil) }, "train: Run.LabelNoise holds a nil *train.Cosine"},
		{func(r *train.Run) { r.LabelNoise = train.Constant{LR: 1}; r.Loss = graph.SoftmaxCE }, "train: Run.LabelNoise is set with Loss softmax_ce"},
		{func(r *train.Run) { r.Sampler = train.NewWithoutReplacement(79, 1) }, "train: Run.Sampler (*train.WithoutReplacement) draws indices from [0, 79)"},
	} {
		r := base
		tc.mod(&r)
		_, err := r.Train(context.Background())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one containing %q", err, tc.want)
		}
	}
	ok := base
	ok.Average, ok.LabelNoise = 0.99, train.Constant{LR: 0}
	if _, err := ok.Train(context.Background()); err != nil {
		t.Errorf("ω = 0.99, σ = 0: %v", err)
	}
}
