package train_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/models"
	"sgdlab/train"
)

// classData is a classification set of n points in d dimensions with k
// classes: standard normal inputs, uniform labels as one-hot rows.
func classData(n, d, k int, seed uint64) data.Set {
	r := rand.New(rand.NewPCG(seed, 1))
	s := data.Set{N: n, D: d, K: k, X: make([]float64, n*d), Y: make([]float64, n*k)}
	for i := range s.X {
		s.X[i] = r.NormFloat64()
	}
	for i := 0; i < n; i++ {
		s.Y[i*k+r.IntN(k)] = 1
	}
	return s
}

// classNet is an MLP d → 6 → k with biases, He-initialised from seed.
func classNet(dt graph.Dtype, d, k int, seed uint32) *models.MLP {
	m := models.NewMLP(dt, true, d, 6, k)
	m.InitHe(data.NewNumpyRand(seed))
	return m
}

// TestMomentumAndWeightDecayMatchAReferenceLoop trains with momentum and
// the L2 term and replays the same batches in a hand-written loop of
// torch.optim.SGD's update on the program's gradients: v ← g + λθ at the
// first step, v ← μ·v + (g + λθ) later, θ ← θ − η·v, each product rounded
// in the parameters' type. Parameters must agree bit for bit.
func TestMomentumAndWeightDecayMatchAReferenceLoop(t *testing.T) {
	const n, d, k, batch, steps = 40, 4, 3, 5, 30
	set := classData(n, d, k, 1)
	sched := train.Piecewise{LR: 0.2, Decays: []train.Decay{{At: 20, Factor: 10}}}
	for _, tc := range []struct {
		name   string
		dt     graph.Dtype
		mu, wd float64
	}{
		{"momentum", graph.Float64, 0.9, 0},
		{"weight decay", graph.Float64, 0, 5e-3},
		{"both", graph.Float64, 0.9, 5e-3},
		{"both float32", graph.Float32, 0.9, 5e-3},
	} {
		m := classNet(tc.dt, d, k, 3)
		start := graph.Flatten(m.Params())
		_, err := train.Run{Model: m, Loss: graph.SoftmaxCE, Data: set, Batch: batch, Sampler: train.NewUniform(n, 4),
			Schedule: sched, Iterations: steps, Momentum: tc.mu, WeightDecay: tc.wd}.Train(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got := graph.Flatten(m.Params())

		ref := classNet(tc.dt, d, k, 3)
		prog, err := graph.Compile(ref, graph.SoftmaxCE, batch)
		if err != nil {
			t.Fatal(err)
		}
		s := train.NewUniform(n, 4)
		idx, x, y := make([]int, batch), make([]float64, batch*d), make([]float64, batch*k)
		g := make([]float64, len(start))
		theta := slices.Clone(start)
		v := make([]float64, len(start))
		w32, v32 := make([]float32, len(start)), make([]float32, len(start))
		for j := range start {
			w32[j] = float32(start[j])
		}
		for i := 0; i < steps; i++ {
			s.Next(idx)
			set.Gather(idx, x, y)
			if _, err := prog.Run(x, y); err != nil {
				t.Fatal(err)
			}
			prog.Gradient(g)
			lr := sched.Rate(i)
			if tc.dt == graph.Float32 {
				lr32, mu32, wd32 := float32(lr), float32(tc.mu), float32(tc.wd)
				for j := range w32 {
					gj := float32(g[j]) + float32(wd32*w32[j])
					if tc.mu == 0 {
						v32[j] = gj
					} else if i == 0 {
						v32[j] = gj
					} else {
						v32[j] = float32(mu32*v32[j]) + gj
					}
					w32[j] -= float32(lr32 * v32[j])
					theta[j] = float64(w32[j])
				}
			} else {
				for j := range theta {
					gj := g[j] + float64(tc.wd*theta[j])
					if tc.mu == 0 || i == 0 {
						v[j] = gj
					} else {
						v[j] = float64(tc.mu*v[j]) + gj
					}
					theta[j] -= float64(lr * v[j])
				}
			}
			graph.Unflatten(ref.Params(), theta)
		}
		for j := range got {
			if math.Float64bits(got[j]) != math.Float64bits(theta[j]) {
				t.Fatalf("%s: θ[%d] = %v after %d steps, reference loop %v", tc.name, j, got[j], steps, theta[j])
			}
		}
		if slices.Equal(got, start) {
			t.Fatalf("%s: the parameters did not move", tc.name)
		}
	}
}

// TestClassNoiseReachesTheBatch reads the target row of every update off
// the gradient of the logits w (a 1 → K linear map at w = 0, x = 1): for
// the softmax cross-entropy it is 1/K − ỹ. Each row must be the one the
// NoiseSeed stream gives (u, then c; the one-hot of c if u < p_i), the
// data set must be untouched, and the rate of changed labels must be
// p·(K−1)/K in each half of a decayed schedule.
func TestClassNoiseReachesTheBatch(t *testing.T) {
	const steps, k, label = 8000, 4, 2
	m := models.NewMLP(graph.Float64, false, 1, k)
	set := data.Set{N: 1, D: 1, K: k, X: []float64{1}, Y: []float64{0, 0, 1, 0}}
	var got []int
	step := train.StepMetric{Name: "label", Measure: func(g []float64) (float64, error) {
		best := 0
		for j := range g {
			if 1.0/k-g[j] > 1.0/k-g[best] {
				best = j
			}
		}
		got = append(got, best)
		return 0, nil
	}}
	eval := make([]int, steps)
	for i := range eval {
		eval[i] = i
	}
	p := train.Piecewise{LR: 0.6, Decays: []train.Decay{{At: steps / 2, Factor: 3}}}
	_, err := train.Run{Model: m, Loss: graph.SoftmaxCE, Data: set, Batch: 1, Sampler: train.Full{},
		Schedule: train.Constant{LR: 0}, Iterations: steps, Eval: eval, StepMetrics: []train.StepMetric{step},
		ClassNoise: p, NoiseSeed: 9}.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(set.Y, []float64{0, 0, 1, 0}) {
		t.Errorf("Data.Y = %v after training, want it untouched", set.Y)
	}
	ref := data.NewNumpyRand(9)
	for _, half := range []struct {
		from, to int
		p        float64
	}{{0, steps / 2, 0.6}, {steps / 2, steps, 0.2}} {
		changed := 0
		for i := half.from; i < half.to; i++ {
			u, c := ref.Float64(), ref.Intn(k)
			want := label
			if u < half.p {
				want = c
			}
			if got[i] != want {
				t.Fatalf("update %d: label %d, want %d from the NoiseSeed stream", i, got[i], want)
			}
			if got[i] != label {
				changed++
			}
		}
		// 4000 updates: the rate of changed labels is within 5 standard
		// errors of p·(K−1)/K.
		nn := float64(half.to - half.from)
		rate, want := float64(changed)/nn, half.p*(k-1)/k
		if se := math.Sqrt(want * (1 - want) / nn); math.Abs(rate-want) > 5*se {
			t.Errorf("updates [%d, %d): %.4f of the labels changed, want %.4f ± %.4f", half.from, half.to, rate, want, 5*se)
		}
	}
}

// TestGridFinal: Final adds the end of the run to a grid once.
func TestGridFinal(t *testing.T) {
	for _, tc := range []struct {
		g    train.Grid
		want []int
	}{
		{train.Grid{Kind: "every", T: 10, Every: 4, Final: true}, []int{0, 4, 8, 10}},
		{train.Grid{Kind: "every", T: 8, Every: 4, Final: true}, []int{0, 4, 8}},
		{train.Grid{Kind: "every", T: 10, Every: 4}, []int{0, 4, 8}},
		{train.Grid{Kind: "every", T: 9, Every: 4, After: true, Final: true}, []int{0, 1, 5, 9}},
	} {
		got, err := tc.g.Iterations()
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %v, %v; want %v", tc.g, got, err, tc.want)
		}
	}
}

// deepRun is the run of the resume tests: an MLP on a 3-class set, a
// Epochs sampler (8 updates per epoch), a decayed schedule, a metric
// and a step metric on a grid of every 5 updates and the end.
func deepRun(t testing.TB, dt graph.Dtype, mod func(*train.Run)) train.Run {
	t.Helper()
	const n, d, k, batch, iters = 40, 4, 3, 5, 43
	set := classData(n, d, k, 2)
	m := classNet(dt, d, k, 7)
	loss, err := train.LossMetric("train_loss", m, graph.SoftmaxCE, set)
	if err != nil {
		t.Fatal(err)
	}
	norm := train.StepMetric{Name: "grad_norm", Measure: func(g []float64) (float64, error) {
		s := 0.0
		for _, v := range g {
			s += v * v
		}
		return math.Sqrt(s), nil
	}}
	eval, err := train.Grid{Kind: "every", T: iters, Every: 5, Final: true}.Iterations()
	if err != nil {
		t.Fatal(err)
	}
	r := train.Run{Model: m, Loss: graph.SoftmaxCE, Data: set, Batch: batch, Sampler: epochs(t, n, 5),
		Schedule: train.Piecewise{LR: 0.3, Decays: []train.Decay{{At: 30, Factor: 10}}}, Iterations: iters,
		Eval: eval, Metrics: []train.Metric{loss}, StepMetrics: []train.StepMetric{norm}}
	if mod != nil {
		mod(&r)
	}
	return r
}

var errStop = errors.New("stop here")

// sameFloats reports the first index where a and b differ in any bit
// (NaNs of the step metrics included), or −1.
func sameFloats(a, b []float64) int {
	if len(a) != len(b) {
		return 0
	}
	for j := range a {
		if math.Float64bits(a[j]) != math.Float64bits(b[j]) {
			return j
		}
	}
	return -1
}

// TestResumeIsBitIdentical runs each configuration straight through, then
// again stopped by its Checkpoint at update stop (half way, or mid-epoch
// at an odd update), saved with SaveState, read back with LoadState into a
// fresh model and resumed with a fresh sampler: the final parameters, the
// average, and every History value must be the straight run's, bit for
// bit, and the stopped run must have stopped.
func TestResumeIsBitIdentical(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		dt   graph.Dtype
		stop int
		mod  func(*train.Run)
	}{
		{"sgd half way", graph.Float64, 20, nil},
		{"momentum, weight decay, average, class noise mid-epoch", graph.Float64, 13, func(r *train.Run) {
			r.Momentum, r.WeightDecay, r.Average = 0.9, 5e-4, 0.9
			r.ClassNoise, r.NoiseSeed = train.Piecewise{LR: 0.5, Decays: []train.Decay{{At: 25, Factor: 5}}}, 3
			r.Snapshots = true
		}},
		{"float32, all on, at an evaluation point", graph.Float32, 25, func(r *train.Run) {
			r.Momentum, r.WeightDecay, r.Average = 0.9, 5e-4, 0.99
			r.ClassNoise, r.NoiseSeed = train.Constant{LR: 0.3}, 4
		}},
		{"without replacement, momentum, at update 1", graph.Float64, 1, func(r *train.Run) {
			r.Sampler, r.Momentum = train.NewWithoutReplacement(40, 6), 0.5
		}},
		{"augmented images, momentum, mid-epoch", graph.Float64, 11, func(r *train.Run) {
			r.Augment = &data.Augmentation{Shape: data.ImageShape{C: 1, H: 2, W: 2}, Pad: 1, Flip: true}
			r.AugmentSeed, r.Momentum = 9, 0.9
		}},
		{"regression-style Gaussian label noise", graph.Float64, 17, func(r *train.Run) {
			r.Loss = graph.MSE
			r.LabelNoise, r.NoiseSeed, r.Momentum, r.Schedule = train.Constant{LR: 0.1}, 8, 0.5, train.Constant{LR: 0.05}
			loss, err := train.LossMetric("train_loss", r.Model, graph.MSE, r.Data)
			if err != nil {
				t.Fatal(err)
			}
			r.Metrics = []train.Metric{loss}
		}},
	} {
		straight := deepRun(t, tc.dt, tc.mod)
		want, err := straight.Train(context.Background())
		if err != nil || want.Diverged {
			t.Fatalf("%s: straight run: %v, diverged %v", tc.name, err, want.Diverged)
		}
		wantParams := graph.Flatten(straight.Model.Params())

		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".safetensors")
		stopped := deepRun(t, tc.dt, tc.mod)
		calls := 0
		stopped.CheckpointEvery = tc.stop
		stopped.Checkpoint = func(s *train.State) error {
			calls++
			if s.Iteration != tc.stop {
				t.Errorf("%s: checkpoint at %d, want %d", tc.name, s.Iteration, tc.stop)
			}
			s.Tag = tc.name
			if err := train.SaveState(path, s); err != nil {
				return err
			}
			return errStop
		}
		part, err := stopped.Train(context.Background())
		if !errors.Is(err, errStop) || calls != 1 {
			t.Fatalf("%s: stopped run: %v after %d checkpoints, want errStop after 1", tc.name, err, calls)
		}
		if len(part.Iters) >= len(want.Iters) {
			t.Fatalf("%s: the stopped run reached %d evaluation points of %d", tc.name, len(part.Iters), len(want.Iters))
		}

		resumed := deepRun(t, tc.dt, tc.mod)
		// A fresh model with other values: everything must come from the file.
		graph.Unflatten(resumed.Model.Params(), make([]float64, len(wantParams)))
		if resumed.Resume, err = train.LoadState(path, resumed.Model); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if resumed.Resume.Tag != tc.name {
			t.Errorf("%s: the file's tag is %q", tc.name, resumed.Resume.Tag)
		}
		got, err := resumed.Train(context.Background())
		if err != nil {
			t.Fatalf("%s: resumed run: %v", tc.name, err)
		}
		if j := sameFloats(graph.Flatten(resumed.Model.Params()), wantParams); j >= 0 {
			t.Errorf("%s: final θ[%d] differs from the straight run's", tc.name, j)
		}
		if j := sameFloats(got.Averaged, want.Averaged); j >= 0 {
			t.Errorf("%s: final θ̄[%d] differs from the straight run's", tc.name, j)
		}
		if !slices.Equal(got.Iters, want.Iters) || sameFloats(got.Rates, want.Rates) >= 0 || !slices.Equal(got.Names, want.Names) {
			t.Errorf("%s: History Iters %v rates %v, straight %v %v", tc.name, got.Iters, got.Rates, want.Iters, want.Rates)
		}
		if len(got.Values) != len(want.Values) || len(got.Params) != len(want.Params) {
			t.Fatalf("%s: %d rows and %d snapshots, straight %d and %d", tc.name, len(got.Values), len(got.Params), len(want.Values), len(want.Params))
		}
		for r := range want.Values {
			if sameFloats(got.Values[r], want.Values[r]) >= 0 {
				t.Errorf("%s: History row %d (iteration %d) = %v, straight %v", tc.name, r, want.Iters[r], got.Values[r], want.Values[r])
			}
		}
		for r := range want.Params {
			if sameFloats(got.Params[r], want.Params[r]) >= 0 {
				t.Errorf("%s: snapshot %d differs", tc.name, r)
			}
		}
	}
}

// TestResumeRejectsAnotherRun: a state that does not fit the run is an
// error of Train naming the field, before any update.
func TestResumeRejectsAnotherRun(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.safetensors")
	first := deepRun(t, graph.Float64, func(r *train.Run) { r.Momentum = 0.9 })
	first.CheckpointEvery = 10
	first.Checkpoint = func(s *train.State) error {
		if err := train.SaveState(path, s); err != nil {
			return err
		}
		return errStop
	}
	if _, err := first.Train(context.Background()); !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*train.Run)
		want string
	}{
		{"no momentum", func(r *train.Run) { r.Momentum = 0 }, "Resume.Velocity holds 4 momentum buffers, but Momentum = 0"},
		{"averaging", func(r *train.Run) { r.Momentum, r.Average = 0.9, 0.5 }, "Resume.Averaged has 0 values"},
		{"shorter", func(r *train.Run) { r.Momentum, r.Iterations, r.Eval = 0.9, 5, nil }, "Resume.Iteration = 10"},
		{"other grid", func(r *train.Run) { r.Momentum, r.Eval = 0.9, []int{0, 3, 43} }, "Resume.History.Iters = [0 5], want the points of Eval before Iteration 10: [0 3]"},
		{"other metrics", func(r *train.Run) { r.Momentum, r.StepMetrics = 0.9, nil }, `Resume.History.Names = ["train_loss" "grad_norm"]`},
	} {
		r := deepRun(t, graph.Float64, tc.mod)
		s, err := train.LoadState(path, r.Model)
		if err != nil {
			t.Fatal(err)
		}
		r.Resume = s
		before := graph.Flatten(r.Model.Params())
		_, err = r.Train(context.Background())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Train = %v, want an error containing %q", tc.name, err, tc.want)
		}
		if sameFloats(graph.Flatten(r.Model.Params()), before) >= 0 {
			t.Errorf("%s: a rejected resume changed the model", tc.name)
		}
	}
}

// TestLoadStateRejectsBadFiles: truncated, foreign and mismatched files
// are errors naming the file and what is wrong.
func TestLoadStateRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.safetensors")
	r := deepRun(t, graph.Float64, nil)
	r.CheckpointEvery = 10
	r.Checkpoint = func(s *train.State) error {
		if err := train.SaveState(path, s); err != nil {
			return err
		}
		return errStop
	}
	if _, err := r.Train(context.Background()); !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	truncated := write("truncated.safetensors", good[:len(good)-3])
	header := write("header.safetensors", good[:20])
	foreign := filepath.Join(dir, "foreign.safetensors")
	if err := train.SaveState(foreign, &train.State{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		model      graph.Model
		want       string
	}{
		{"truncated data", truncated, classNet(graph.Float64, 4, 3, 1), "truncated.safetensors"},
		{"truncated header", header, classNet(graph.Float64, 4, 3, 1), "header length"},
		{"missing", filepath.Join(dir, "none"), classNet(graph.Float64, 4, 3, 1), "no such file"},
		{"other width", path, models.NewMLP(graph.Float64, true, 4, 7, 3), `tensor "param.w1" has shape [4 6], want [4 7]`},
		{"other dtype", path, classNet(graph.Float32, 4, 3, 1), `tensor "param.w1" has dtype F64, want F32`},
		{"other depth", path, models.NewMLP(graph.Float64, true, 4, 6, 6, 3), "4 parameters, the model (*models.MLP) has 6"},
		{"no biases", foreign, classNet(graph.Float64, 4, 3, 1), "0 parameters"},
	} {
		_, err := train.LoadState(tc.path, tc.model)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), filepath.Base(tc.path)) {
			t.Errorf("%s: LoadState = %v, want an error naming %s and containing %q", tc.name, err, filepath.Base(tc.path), tc.want)
		}
	}
}

// TestTrainLoopAllocatesNothingWithMomentumAndClassNoise: momentum,
// weight decay, class noise, the Epochs sampler and averaging allocate
// nothing per update (the buffers are allocated once per Train).
func TestTrainLoopAllocatesNothingWithMomentumAndClassNoise(t *testing.T) {
	set := classData(40, 4, 3, 1)
	for _, dt := range []graph.Dtype{graph.Float64, graph.Float32} {
		allocs := func(iters int) float64 {
			return testing.AllocsPerRun(3, func() {
				_, err := train.Run{Model: classNet(dt, 4, 3, 1), Loss: graph.SoftmaxCE, Data: set, Batch: 5, Sampler: epochs(t, 40, 1),
					Schedule: train.Constant{LR: 0.01}, Iterations: iters, Momentum: 0.9, WeightDecay: 5e-4,
					ClassNoise: train.Constant{LR: 0.2}, Average: 0.9}.Train(context.Background())
				if err != nil {
					t.Fatal(err)
				}
			})
		}
		if few, many := allocs(10), allocs(1000); many > few+10 {
			t.Errorf("%v: Train allocates %v times for 10 updates and %v for 1000, want no allocation per update", dt, few, many)
		}
	}
}

// TestValidateDeepFields: each bad value of the new fields is an error
// naming the field, before any update.
func TestValidateDeepFields(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*train.Run)
		want string
	}{
		{func(r *train.Run) { r.Momentum = 1 }, "Run.Momentum = 1, want a momentum μ in [0, 1)"},
		{func(r *train.Run) { r.Momentum = -0.1 }, "Run.Momentum = -0.1"},
		{func(r *train.Run) { r.Momentum = math.NaN() }, "Run.Momentum = NaN"},
		{func(r *train.Run) { r.WeightDecay = -1 }, "Run.WeightDecay = -1"},
		{func(r *train.Run) { r.WeightDecay = math.Inf(1) }, "Run.WeightDecay = +Inf"},
		{func(r *train.Run) { r.ClassNoise = train.Constant{LR: 1.5} }, "Run.ClassNoise.Rate(0) = 1.5, want a probability in [0, 1]"},
		{func(r *train.Run) { r.ClassNoise = (*train.Cosine)(nil) }, "Run.ClassNoise holds a nil *train.Cosine"},
		{func(r *train.Run) { r.ClassNoise, r.LabelNoise = train.Constant{LR: 0.1}, train.Constant{LR: 0.1} }, "ClassNoise and LabelNoise are both set"},
		{func(r *train.Run) { r.ClassNoise, r.Loss = train.Constant{LR: 0.1}, graph.MSE }, "Run.ClassNoise is set with Loss mse, want softmax_ce"},
		{func(r *train.Run) { r.ClassNoise, r.Data.K = train.Constant{LR: 0.1}, 1 }, "Run.ClassNoise is set with Data.K = 1"},
		{func(r *train.Run) { r.CheckpointEvery = -2 }, "Run.CheckpointEvery = -2"},
		{func(r *train.Run) { r.CheckpointEvery = 5 }, "Run.CheckpointEvery = 5 without a Checkpoint function"},
		{func(r *train.Run) { r.Checkpoint = func(*train.State) error { return nil } }, "Run.Checkpoint is set with CheckpointEvery = 0"},
	} {
		r := deepRun(t, graph.Float64, nil)
		if tc.mod != nil {
			tc.mod(&r)
		}
		if r.Data.K == 1 {
			r.Data.Y = r.Data.Y[:r.Data.N] // keep the set itself valid
		}
		before := graph.Flatten(r.Model.Params())
		_, err := r.Train(context.Background())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Train = %v, want an error containing %q", err, tc.want)
		}
		if sameFloats(graph.Flatten(r.Model.Params()), before) >= 0 {
			t.Errorf("%q: the model changed", tc.want)
		}
	}
}

// statefulMLP is an MLP with a non-trainable state tensor, as batch
// normalisation's running statistics will be.
type statefulMLP struct {
	*models.MLP
	running *graph.Param
}

func (m statefulMLP) Buffers() []*graph.Param { return []*graph.Param{m.running} }

// TestCheckpointKeepsModelState: the state of a graph.Buffered model is
// saved with the checkpoint and written back into a fresh model on
// resume, and a state file of a model without state does not load into
// one with it.
func TestCheckpointKeepsModelState(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bn.safetensors")
	newModel := func(fill float64) statefulMLP {
		m := statefulMLP{MLP: classNet(graph.Float32, 4, 3, 7), running: graph.NewParam("bn.mean", graph.Float32, 2, 3)}
		m.running.Set([]float64{fill, 2 * fill, 3 * fill, -fill, 0.5, 0.25})
		return m
	}
	first := deepRun(t, graph.Float32, nil)
	m := newModel(1.5)
	first.Model = m
	first.Metrics = nil
	first.StepMetrics = nil
	first.CheckpointEvery = 10
	first.Checkpoint = func(s *train.State) error {
		if len(s.ModelState) != 1 || s.ModelState[0].Name() != "bn.mean" {
			t.Errorf("State.ModelState = %v, want bn.mean", s.ModelState)
		}
		if err := train.SaveState(path, s); err != nil {
			return err
		}
		return errStop
	}
	if _, err := first.Train(context.Background()); !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	fresh := newModel(0)
	s, err := train.LoadState(path, fresh)
	if err != nil {
		t.Fatal(err)
	}
	again := deepRun(t, graph.Float32, nil)
	again.Model, again.Metrics, again.StepMetrics, again.Resume = fresh, nil, nil, s
	if _, err := again.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := graph.Flatten(fresh.Buffers()); !slices.Equal(got, []float64{1.5, 3, 4.5, -1.5, 0.5, 0.25}) {
		t.Errorf("restored state %v, want the saved one", got)
	}
	plain := filepath.Join(dir, "plain.safetensors")
	r := deepRun(t, graph.Float32, nil)
	r.CheckpointEvery = 10
	r.Checkpoint = func(s *train.State) error {
		if err := train.SaveState(plain, s); err != nil {
			return err
		}
		return errStop
	}
	if _, err := r.Train(context.Background()); !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	if _, err := train.LoadState(plain, newModel(0)); err == nil || !strings.Contains(err.Error(), "0 state tensors, the model (train_test.statefulMLP) has 1") {
		t.Errorf("LoadState of a stateless file into a stateful model = %v", err)
	}
}

// epochs returns an Epochs sampler over n examples seeded with seed.
func epochs(t testing.TB, n int, seed uint32) *train.Epochs {
	t.Helper()
	e, err := train.NewEpochs(n, seed)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestAugmentReachesTheBatch checks that Augment changes what is trained
// on (another result than without it, another with another seed) and
// leaves Data alone.
func TestAugmentReachesTheBatch(t *testing.T) {
	final := func(mod func(*train.Run)) []float64 {
		r := deepRun(t, graph.Float64, mod)
		orig := slices.Clone(r.Data.X)
		if _, err := r.Train(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.Data.X, orig) {
			t.Fatal("Augment changed Data")
		}
		return graph.Flatten(r.Model.Params())
	}
	aug := func(seed uint32) func(*train.Run) {
		return func(r *train.Run) {
			r.Augment = &data.Augmentation{Shape: data.ImageShape{C: 1, H: 2, W: 2}, Pad: 1, Flip: true}
			r.AugmentSeed = seed
		}
	}
	plain, one, again, two := final(nil), final(aug(1)), final(aug(1)), final(aug(2))
	if slices.Equal(plain, one) || slices.Equal(one, two) || !slices.Equal(one, again) {
		t.Error("want: augmentation changes the run, its seed matters, and a seed repeats")
	}
	bad := deepRun(t, graph.Float64, func(r *train.Run) {
		r.Augment = &data.Augmentation{Shape: data.ImageShape{C: 3, H: 2, W: 2}}
	})
	if _, err := bad.Train(context.Background()); err == nil || !strings.Contains(err.Error(), "Augment is for 3×2×2 images") {
		t.Errorf("images of the wrong size: error %v", err)
	}
}

// TestAverageRefreshesBatchNorm trains a CNN with batch normalisation,
// momentum and iterate averaging: the running statistics follow training
// under momentum; the metrics see θ̄ with statistics recomputed for θ̄
// over the training set (graph.RefreshBatchNorm); and training itself,
// θ's statistics included, is bit for bit that of a run without
// averaging.
func TestAverageRefreshesBatchNorm(t *testing.T) {
	const n, batch, iters = 32, 8, 12
	set := classData(n, 16, 3, 4)
	newRun := func(average float64) (train.Run, *models.CNN) {
		m := models.NewCNN(graph.Float64, [3]int{1, 4, 4}, []int{2}, 3, 3, true, 5)
		return train.Run{Model: m, Loss: graph.SoftmaxCE, Data: set, Batch: batch, Sampler: epochs(t, n, 2),
			Schedule: train.Constant{LR: 0.1}, Iterations: iters, Momentum: 0.9, Average: average}, m
	}
	plain, pm := newRun(0)
	if _, err := plain.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	avg, am := newRun(0.8)
	var seen []float64 // the statistics the metric saw at the end
	avg.Eval = []int{iters}
	avg.Metrics = []train.Metric{{Name: "stats", Measure: func() (float64, error) {
		seen = graph.Flatten(am.Buffers())
		return 0, nil
	}}}
	res, err := avg.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fresh := models.NewCNN(graph.Float64, [3]int{1, 4, 4}, []int{2}, 3, 3, true, 5)
	if slices.Equal(graph.Flatten(pm.Buffers()), graph.Flatten(fresh.Buffers())) {
		t.Error("the running statistics did not move under momentum")
	}
	if !slices.Equal(graph.Flatten(am.Params()), graph.Flatten(pm.Params())) || !slices.Equal(graph.Flatten(am.Buffers()), graph.Flatten(pm.Buffers())) {
		t.Error("averaging changed training: θ or its statistics differ from the run without it")
	}
	graph.Unflatten(fresh.Params(), res.Averaged)
	if err := graph.RefreshBatchNorm(fresh, set.X, n, batch); err != nil {
		t.Fatal(err)
	}
	if want := graph.Flatten(fresh.Buffers()); !slices.Equal(seen, want) {
		t.Errorf("the metric saw statistics %v, want θ̄'s %v", seen, want)
	}
}
