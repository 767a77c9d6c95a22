package train_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"sgdlab/analysis"
	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/models"
	"sgdlab/train"
)

// runSpec is one run of the ensemble tests: its index seed (0 for full
// batches) and schedule.
type runSpec struct {
	seed  uint32
	sched train.Schedule
}

// setup is the part of a run shared by all members.
type setup struct {
	train, test data.Set
	batch       int
	iters       int
	eval        []int
	snapshots   bool
}

// member builds a DLN starting at u = 0.1·1, v = 0, its sampler and its
// metrics: train and test loss, ‖β‖₁ and, as a step metric, the norm of
// the batch gradient.
func (s setup) member(t *testing.T, r runSpec) (*models.DLN, train.Member) {
	t.Helper()
	m := models.NewDLN(s.train.D)
	m.InitConst(0.1)
	trainLoss, err := train.LossMetric("train_loss", m, graph.HalfMSE, s.train)
	if err != nil {
		t.Fatal(err)
	}
	testLoss, err := train.LossMetric("test_loss", m, graph.HalfMSE, s.test)
	if err != nil {
		t.Fatal(err)
	}
	beta := make([]float64, s.train.D)
	l1 := train.Metric{Name: "l1", Measure: func() (float64, error) { return m.L1(beta), nil }}
	norm := train.StepMetric{Name: "grad_norm", Measure: func(g []float64) (float64, error) { return analysis.L2(g), nil }}
	var sampler train.Sampler = train.Full{}
	if r.seed != 0 {
		sampler = train.NewUniform(s.train.N, r.seed)
	}
	return m, train.Member{Model: m, Sampler: sampler, Schedule: r.sched,
		Metrics: []train.Metric{trainLoss, testLoss, l1}, StepMetrics: []train.StepMetric{norm}}
}

// separate trains every run with train.Run and returns the results and
// the final parameters.
func (s setup) separate(t *testing.T, runs []runSpec) ([]train.Result, [][]float64) {
	t.Helper()
	res := make([]train.Result, len(runs))
	params := make([][]float64, len(runs))
	for k, r := range runs {
		m, mem := s.member(t, r)
		var err error
		res[k], err = train.Run{Model: m, Loss: graph.HalfMSE, Data: s.train, Batch: s.batch, Sampler: mem.Sampler,
			Schedule: mem.Schedule, Iterations: s.iters, Eval: s.eval, Metrics: mem.Metrics,
			StepMetrics: mem.StepMetrics, Snapshots: s.snapshots}.Train(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		params[k] = graph.Flatten(m.Params())
	}
	return res, params
}

// together trains the runs as one ensemble.
func (s setup) together(t *testing.T, runs []runSpec) ([]train.Result, [][]float64) {
	t.Helper()
	ms := make([]*models.DLN, len(runs))
	mems := make([]train.Member, len(runs))
	for k, r := range runs {
		ms[k], mems[k] = s.member(t, r)
	}
	res, err := train.Ensemble{Model: models.NewDLNEnsemble(len(runs), s.train.D), Members: mems,
		Loss: graph.HalfMSE, Data: s.train, Batch: s.batch, Iterations: s.iters, Eval: s.eval,
		Snapshots: s.snapshots}.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	params := make([][]float64, len(runs))
	for k, m := range ms {
		params[k] = graph.Flatten(m.Params())
	}
	return res, params
}

// diffBits describes the first difference between a and b, or returns "".
func diffBits(a, b []float64) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d values, want %d", len(a), len(b))
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return fmt.Sprintf("[%d] = %v, want %v", i, a[i], b[i])
		}
	}
	return ""
}

// sameResult reports the first difference between an ensemble member's
// result and its separate run's, or "".
func sameResult(got, want train.Result) string {
	switch {
	case got.Diverged != want.Diverged || got.DivergedAt != want.DivergedAt:
		return fmt.Sprintf("diverged %v at %d, want %v at %d", got.Diverged, got.DivergedAt, want.Diverged, want.DivergedAt)
	case strings.Join(got.Names, ",") != strings.Join(want.Names, ","):
		return fmt.Sprintf("metrics %v, want %v", got.Names, want.Names)
	case fmt.Sprint(got.Iters) != fmt.Sprint(want.Iters):
		return fmt.Sprintf("evaluated at %v, want %v", got.Iters, want.Iters)
	case len(got.Params) != len(want.Params):
		return fmt.Sprintf("%d snapshots, want %d", len(got.Params), len(want.Params))
	}
	if d := diffBits(got.Rates, want.Rates); d != "" {
		return "rates" + d
	}
	for j := range want.Values {
		if d := diffBits(got.Values[j], want.Values[j]); d != "" {
			return fmt.Sprintf("metrics at iteration %d: %v%s", want.Iters[j], want.Names, d)
		}
	}
	for j := range want.Params {
		if d := diffBits(got.Params[j], want.Params[j]); d != "" {
			return fmt.Sprintf("snapshot at iteration %d: %s", want.Iters[j], d)
		}
	}
	return ""
}

func decayed(lr float64, at int, factor float64) train.Schedule {
	return train.Piecewise{LR: lr, Decays: []train.Decay{{At: at, Factor: factor}}}
}

// TestEnsembleMatchesSeparateRuns trains DLN runs on the E1 data as one
// ensemble and one by one, and demands bit-identical histories (every
// metric, step metric, rate and snapshot), divergences and final
// parameters. The runs differ in index seed, step size and decay point;
// the large-step ones (η = 0.282) are chaotic, so any difference in
// arithmetic order would grow to the size of the values within a few
// thousand steps. In each case one member diverges (η = 1 for SGD, η = 5
// for GD) while the others train on.
func TestEnsembleMatchesSeparateRuns(t *testing.T) {
	tr, te := e1Data(t)
	every := func(n, step int, last bool) []int {
		var its []int
		for i := 0; i < n; i += step {
			its = append(its, i)
		}
		if last {
			its = append(its, n)
		}
		return its
	}
	for _, tc := range []struct {
		name      string
		batch     int
		iters     int
		eval      []int
		snapshots bool
		runs      []runSpec
		diverge   int // the member that must diverge
	}{
		{"sgd batch 1", 1, 12000, every(12000, 250, true), false, []runSpec{
			{1, train.Constant{LR: 0.25}},
			{1, decayed(0.282, 1001, 4.8)},
			{1, decayed(0.282, 3001, 3.4)},
			{2, decayed(0.282, 6001, 1.5)},
			{1, train.Constant{LR: 1}},
			{3, train.Constant{LR: 0.1}},
			{7, decayed(0.285, 501, 2)},
		}, 4},
		{"sgd batch 8", 8, 3000, every(3000, 100, false), true, []runSpec{
			{1, train.Constant{LR: 0.5}},
			{2, decayed(0.9, 1500, 3)},
			{3, train.Constant{LR: 4}},
		}, 2},
		{"gd", 80, 2000, every(2000, 50, true), false, []runSpec{
			{0, train.Constant{LR: 2}},
			{0, decayed(2.5, 1000, 4.8)},
			{0, train.Constant{LR: 5}},
		}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := setup{train: tr, test: te, batch: tc.batch, iters: tc.iters, eval: tc.eval, snapshots: tc.snapshots}
			want, wantParams := s.separate(t, tc.runs)
			got, gotParams := s.together(t, tc.runs)
			for k := range tc.runs {
				if d := sameResult(got[k], want[k]); d != "" {
					t.Errorf("member %d: %s", k, d)
				}
				if d := diffBits(gotParams[k], wantParams[k]); d != "" {
					t.Errorf("member %d: final parameters%s", k, d)
				}
				if diverged := want[k].Diverged; diverged != (k == tc.diverge) {
					t.Errorf("member %d: diverged %v (at %d); the test expects member %d alone to diverge", k, diverged, want[k].DivergedAt, tc.diverge)
				}
			}
		})
	}
}

// TestEnsembleE1IsBitIdentical trains the four E1 runs (η = 0.25, and
// η = 0.282 decayed at 10 / 30 / 50 %) and the decay-50 run of two more
// index seeds for the full 100 001 steps, with the losses on the paper's
// grid, together and one by one.
func TestEnsembleE1IsBitIdentical(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 6 runs of 100 001 steps twice; skipped with -short")
	}
	tr, te := e1Data(t)
	evals, err := train.Grid{Kind: "paper", T: 100001, First: 100, Linspace: 250}.Iterations()
	if err != nil {
		t.Fatal(err)
	}
	runs := []runSpec{
		{1, train.Constant{LR: 0.25}},
		{1, decayed(0.282, 10001, 4.8)},
		{1, decayed(0.282, 30001, 3.4)},
		{1, decayed(0.282, 50001, 1.5)},
		{2, decayed(0.282, 50001, 1.5)},
		{3, decayed(0.282, 50001, 1.5)},
	}
	s := setup{train: tr, test: te, batch: 1, iters: 100001, eval: evals}
	want, wantParams := s.separate(t, runs)
	got, gotParams := s.together(t, runs)
	for k := range runs {
		if d := sameResult(got[k], want[k]); d != "" {
			t.Errorf("member %d: %s", k, d)
		}
		if d := diffBits(gotParams[k], wantParams[k]); d != "" {
			t.Errorf("member %d: final parameters%s", k, d)
		}
	}
}

// TestEnsembleStepAllocatesNothing counts the heap allocations of an
// ensemble's updates 1024 to 3071, between two progress reports and away
// from the evaluation points. The collector is off meanwhile: a
// collection that starts in the window may start the runtime's mark
// workers, each a heap-allocated goroutine that testing.AllocsPerRun's
// averaging would hide but an exact count does not (about 1 run in 40).
func TestEnsembleStepAllocatesNothing(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	tr, te := e1Data(t)
	s := setup{train: tr, test: te, batch: 2}
	mems := make([]train.Member, 4)
	for k := range mems {
		_, mems[k] = s.member(t, runSpec{uint32(k + 1), decayed(0.1, 2000, 2)})
	}
	var at1024, at3072 runtime.MemStats
	progress := func(done int) {
		switch done {
		case 1024:
			runtime.ReadMemStats(&at1024)
		case 3072:
			runtime.ReadMemStats(&at3072)
		}
	}
	if _, err := (train.Ensemble{Model: models.NewDLNEnsemble(4, tr.D), Members: mems, Loss: graph.HalfMSE,
		Data: tr, Batch: 2, Iterations: 4000, Eval: []int{0, 10, 3500}, Progress: progress}).Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := at3072.Mallocs - at1024.Mallocs; n != 0 {
		t.Errorf("%d allocations in 2048 ensemble updates, want 0", n)
	}
}

func TestEnsembleErrors(t *testing.T) {
	tr, te := e1Data(t)
	s := setup{train: tr, test: te}
	_, good := s.member(t, runSpec{1, train.Constant{LR: 0.1}})
	small := good
	small.Model = models.NewDLN(10)
	noSampler := good
	noSampler.Sampler = nil
	for _, tc := range []struct {
		name string
		e    train.Ensemble
		want string
	}{
		{"too few members", train.Ensemble{Model: models.NewDLNEnsemble(2, 200), Members: []train.Member{good}},
			"Ensemble.Model has 2 members, want len(Members) = 1"},
		{"member of another size", train.Ensemble{Model: models.NewDLNEnsemble(2, 200), Members: []train.Member{good, small}},
			`Ensemble.Members[1].Model: parameter "u" (float64 [10]) does not fit Model's stacked parameter "u" (float64 [2 200])`},
		{"no sampler", train.Ensemble{Model: models.NewDLNEnsemble(1, 200), Members: []train.Member{noSampler}},
			"Ensemble.Members[0].Sampler is nil"},
		{"batch", train.Ensemble{Model: models.NewDLNEnsemble(1, 200), Members: []train.Member{good}, Batch: 81},
			"Ensemble.Batch = 81, want Batch in [1, Data.N = 80]"},
		{"loss", train.Ensemble{Model: models.NewDLNEnsemble(1, 200), Members: []train.Member{good}, Batch: 1, Loss: graph.SoftmaxCE},
			"Ensemble.Loss: the softmax_ce loss is not available for ensembles"},
	} {
		e := tc.e
		e.Data = tr
		if e.Loss == "" {
			e.Loss = graph.HalfMSE
		}
		if e.Batch == 0 {
			e.Batch = 1
		}
		if _, err := e.Train(context.Background()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (train.Ensemble{Model: models.NewDLNEnsemble(1, 200), Members: []train.Member{good}, Loss: graph.HalfMSE,
		Data: tr, Batch: 1, Iterations: 10}).Train(ctx); err != context.Canceled {
		t.Errorf("cancelled: error %v, want context.Canceled", err)
	}
}

// validEnsemble is a correct ensemble of three members on the E2 set, 20
// updates of batch 1 evaluated before the first update, midway and after
// the last one: member 0 is validRun, member 1 cycles through the set
// with a sampler that does not implement Sized and a decayed step size,
// member 2 has another index seed and step metric too. It returns the
// members' models too.
func validEnsemble(t *testing.T) (train.Ensemble, []*models.DLN) {
	t.Helper()
	tr := e2Data(t)
	samplers := []train.Sampler{train.NewUniform(40, 1), &roundRobin{n: 40}, train.NewUniform(40, 7)}
	scheds := []train.Schedule{train.Constant{LR: 0.05}, decayed(0.08, 10, 2), train.Constant{LR: 0.03}}
	ms := make([]*models.DLN, len(samplers))
	mems := make([]train.Member, len(samplers))
	for k := range mems {
		m := models.NewDLN(100)
		m.InitConst(0.1)
		loss, err := train.LossMetric("train_loss", m, graph.HalfMSE, tr)
		if err != nil {
			t.Fatal(err)
		}
		ms[k] = m
		mems[k] = train.Member{Model: m, Sampler: samplers[k], Schedule: scheds[k], Metrics: []train.Metric{loss}}
	}
	mems[2].StepMetrics = []train.StepMetric{{Name: "grad_norm", Measure: func(g []float64) (float64, error) { return analysis.L2(g), nil }}}
	return train.Ensemble{Model: models.NewDLNEnsemble(3, 100), Members: mems, Loss: graph.HalfMSE, Data: tr,
		Batch: 1, Iterations: 20, Eval: []int{0, 10, 20}}, ms
}

// paramsHash is the FNV-1a hash of the bits of every parameter of m.
func paramsHash(m *models.DLN) uint64 {
	h := uint64(14695981039346656037)
	for _, v := range graph.Flatten(m.Params()) {
		b := math.Float64bits(v)
		for range 8 {
			h ^= b & 0xff
			h *= 1099511628211
			b >>= 8
		}
	}
	return h
}

// trainEnsembleNoPanic trains e, turning a panic into a test failure that
// says so.
func trainEnsembleNoPanic(t *testing.T, e train.Ensemble) (res []train.Result, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("Train panicked: %v", p)
		}
	}()
	return e.Train(context.Background())
}

// ensembleGolden is what a member of validEnsemble trained to before
// Ensemble was validated: its metric values at Eval (bits), and the hash
// of its final parameters (paramsHash).
type ensembleGolden struct {
	values []uint64
	params uint64
}

func TestEnsembleMisuseIsAnError(t *testing.T) {
	nan := uint64(0x7ff8000000000001) // the NaN of a step metric at Iterations
	// Member 0 of the batch-1 ensemble is validRun: its losses are those
	// of TestRunMisuseIsAnError (and of the code before Run was validated).
	minibatch := []ensembleGolden{
		{[]uint64{0x3fe0728a81aeb2bf, 0x3fdeeb0fdb233983, 0x3fde0d5327f77186}, 0x71751a6ac835f167},
		{[]uint64{0x3fe0728a81aeb2bf, 0x3fde64c1c5aeefeb, 0x3fdd7fbf33bc24e5}, 0x6fc5b853f04c1bd9},
		{[]uint64{0x3fe0728a81aeb2bf, 0x3fdc1fae82650e9b, 0x3fe04106fec3bab7, 0x3ff24604c44ee52e, 0x3fdfaff57466e7dd, nan}, 0xa046079ccbccde22},
	}
	full := []ensembleGolden{
		{[]uint64{0x3fe0728a81aeb2bf, 0x3fdfa66745758465, 0x3fde511a90b1d5cd}, 0x266e94643b850032},
		{[]uint64{0x3fe0728a81aeb2bf, 0x3fdedfc4e95ebbed, 0x3fddbbd53ce1d542}, 0x3583385b2ad5d023},
		{[]uint64{0x3fe0728a81aeb2bf, 0x3fc948272e2f60fe, 0x3fe0133b4bd8a146, 0x3fc9395eb05b6018, 0x3fdf64be6f5567ad, nan}, 0x8c5c26c9bc9a6780},
	}
	fullBatch := func(e *train.Ensemble) {
		e.Batch = 40
		for k := range e.Members {
			e.Members[k].Sampler = train.Full{}
		}
	}
	// wider is the E2 set seen as 80 examples of 50 values.
	wider := func(e *train.Ensemble) {
		e.Data.N, e.Data.D, e.Data.Y = 80, 50, append(append([]float64(nil), e.Data.Y...), e.Data.Y...)
	}
	for _, tc := range []struct {
		name   string
		modify func(e *train.Ensemble)
		// want holds substrings of the error; none for a valid ensemble,
		// whose members must train to golden.
		want   []string
		golden []ensembleGolden
		// during is set for an error found during training, after
		// updates: the others must leave every model untouched.
		during bool
	}{
		{name: "valid", modify: func(*train.Ensemble) {}, golden: minibatch},
		{name: "valid full batch", modify: fullBatch, golden: full},
		{name: "valid full batch by pointer", modify: func(e *train.Ensemble) {
			fullBatch(e)
			e.Members[1].Sampler = &train.Full{}
		}, golden: full},
		{name: "nil Model", modify: func(e *train.Ensemble) { e.Model = nil }, want: []string{"Ensemble.Model is nil"}},
		{name: "nil *DLNEnsemble Model", modify: func(e *train.Ensemble) { e.Model = (*models.DLNEnsemble)(nil) },
			want: []string{"Ensemble.Model is nil"}},
		{name: "Model of fewer members", modify: func(e *train.Ensemble) { e.Model = models.NewDLNEnsemble(2, 100) },
			want: []string{"Ensemble.Model has 2 members, want len(Members) = 3"}},
		{name: "no Members", modify: func(e *train.Ensemble) { e.Members = nil },
			want: []string{"Ensemble.Members is empty", "Ensemble.Model has 3 members, want len(Members) = 0"}},
		{name: "nil member Model", modify: func(e *train.Ensemble) { e.Members[1].Model = nil },
			want: []string{"Ensemble.Members[1].Model is nil"}},
		{name: "nil *DLN member Model", modify: func(e *train.Ensemble) { e.Members[2].Model = (*models.DLN)(nil) },
			want: []string{"Ensemble.Members[2].Model is nil"}},
		{name: "member Model of another size", modify: func(e *train.Ensemble) { e.Members[2].Model = models.NewDLN(10) },
			want: []string{`Ensemble.Members[2].Model: parameter "u" (float64 [10])`, `"v" (float64 [10])`, "[3 100]"}},
		{name: "nil Sampler", modify: func(e *train.Ensemble) { e.Members[0].Sampler = nil },
			want: []string{"Ensemble.Members[0].Sampler is nil"}},
		{name: "nil *Uniform Sampler", modify: func(e *train.Ensemble) { e.Members[2].Sampler = (*train.Uniform)(nil) },
			want: []string{"Ensemble.Members[2].Sampler is nil"}},
		{name: "nil *Full Sampler", modify: func(e *train.Ensemble) { fullBatch(e); e.Members[1].Sampler = (*train.Full)(nil) },
			want: []string{"Ensemble.Members[1].Sampler is nil"}},
		{name: "nil Schedule", modify: func(e *train.Ensemble) { e.Members[2].Schedule = nil },
			want: []string{"Ensemble.Members[2].Schedule is nil"}},
		{name: "sampler range > N", modify: func(e *train.Ensemble) { e.Members[1].Sampler = train.NewUniform(100, 1) },
			want: []string{"Ensemble.Members[1].Sampler", "[0, 100)", "Data.N = 40"}},
		{name: "sampler range < N", modify: func(e *train.Ensemble) { e.Members[2].Sampler = train.NewUniform(20, 1) },
			want: []string{"Ensemble.Members[2].Sampler", "[0, 20)", "Data.N = 40"}},
		{name: "sampler index N", modify: func(e *train.Ensemble) { e.Members[1].Sampler = &badSampler{at: 3, index: 40} },
			want: []string{"iteration 3", "Ensemble.Members[1].Sampler", "index 40", "Data.N = 40"}, during: true},
		{name: "sampler index -1", modify: func(e *train.Ensemble) { e.Members[2].Sampler = &badSampler{at: 7, index: -1} },
			want: []string{"iteration 7", "Ensemble.Members[2].Sampler", "index -1"}, during: true},
		{name: "Full with Batch < N", modify: func(e *train.Ensemble) { e.Members[2].Sampler = train.Full{} },
			want: []string{"Ensemble.Batch = 1 with the full-batch sampler in Members[2].Sampler", "Data.N = 40"}},
		{name: "Eval unsorted", modify: func(e *train.Ensemble) { e.Eval = []int{0, 10, 5} },
			want: []string{"Ensemble.Eval[2] = 5 is not after Eval[1] = 10", "strictly increasing"}},
		{name: "Eval duplicated", modify: func(e *train.Ensemble) { e.Eval = []int{0, 10, 10, 20} },
			want: []string{"Ensemble.Eval[2] = 10 is not after Eval[1] = 10"}},
		{name: "Eval negative", modify: func(e *train.Ensemble) { e.Eval = []int{-1, 10} },
			want: []string{"Ensemble.Eval[0] = -1 is negative"}},
		{name: "Eval past Iterations", modify: func(e *train.Ensemble) { e.Eval = []int{0, 21} },
			want: []string{"Ensemble.Eval[1] = 21 is past Iterations = 20"}},
		{name: "Batch > N", modify: func(e *train.Ensemble) { e.Batch = 41 }, want: []string{"Ensemble.Batch = 41", "[1, Data.N = 40]"}},
		{name: "Batch 0", modify: func(e *train.Ensemble) { e.Batch = 0 }, want: []string{"Ensemble.Batch = 0", "[1, Data.N = 40]"}},
		{name: "negative Iterations", modify: func(e *train.Ensemble) { e.Iterations, e.Eval = -1, nil },
			want: []string{"Ensemble.Iterations = -1"}},
		{name: "NaN DivergeAbove", modify: func(e *train.Ensemble) { e.DivergeAbove = math.NaN() },
			want: []string{"Ensemble.DivergeAbove = NaN"}},
		{name: "negative DivergeAbove", modify: func(e *train.Ensemble) { e.DivergeAbove = -1 },
			want: []string{"Ensemble.DivergeAbove = -1"}},
		{name: "unknown Loss", modify: func(e *train.Ensemble) { e.Loss = "l1" }, want: []string{"Ensemble.Loss"}},
		{name: "Loss not for ensembles", modify: func(e *train.Ensemble) { e.Loss = graph.SoftmaxCE },
			want: []string{"Ensemble.Loss: the softmax_ce loss is not available for ensembles"}},
		{name: "inconsistent Data", modify: func(e *train.Ensemble) { e.Data.Y = e.Data.Y[:39] },
			want: []string{"Ensemble.Data", "39"}},
		{name: "Data of another dimension", modify: wider,
			want: []string{"Ensemble.Data.D = 50, but Model takes examples of shape [100] (100 values)"}},
		{name: "nil Measure", modify: func(e *train.Ensemble) {
			e.Members[1].Metrics = append(e.Members[1].Metrics, train.Metric{Name: "lost"})
		}, want: []string{`Ensemble.Members[1].Metrics[1] ("lost") has a nil Measure`}},
		{name: "nil step Measure", modify: func(e *train.Ensemble) { e.Members[0].StepMetrics = []train.StepMetric{{Name: "cos"}} },
			want: []string{`Ensemble.Members[0].StepMetrics[0] ("cos") has a nil Measure`}},
		{name: "every problem at once", modify: func(e *train.Ensemble) {
			e.Members[0].Sampler, e.Members[2].Schedule, e.Eval, e.DivergeAbove = nil, nil, []int{5, 3}, -2
			e.Members[1].Sampler = train.NewUniform(41, 1)
		}, want: []string{"Ensemble.Members[0].Sampler is nil", "Ensemble.Members[2].Schedule is nil",
			"Ensemble.Eval[1] = 3 is not after Eval[0] = 5", "Ensemble.DivergeAbove = -2", "Ensemble.Members[1].Sampler (*train.Uniform) draws indices from [0, 41)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, ms := validEnsemble(t)
			tc.modify(&e)
			var stacked []float64
			if dln, ok := e.Model.(*models.DLNEnsemble); ok && dln != nil {
				stacked = graph.Flatten(dln.Params())
			}
			res, err := trainEnsembleNoPanic(t, e)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("valid ensemble: %v", err)
				}
				for k, g := range tc.golden {
					r := res[k]
					if r.Diverged || fmt.Sprint(r.Iters) != fmt.Sprint(e.Eval) {
						t.Fatalf("member %d: diverged %v, evaluated at %v, want every point of Eval %v", k, r.Diverged, r.Iters, e.Eval)
					}
					var got []uint64
					for _, row := range r.Values {
						for _, v := range row {
							got = append(got, math.Float64bits(v))
						}
					}
					if fmt.Sprintf("%#x", got) != fmt.Sprintf("%#x", g.values) {
						t.Errorf("member %d: metric bits %#x, want %#x as before validation", k, got, g.values)
					}
					if h := paramsHash(ms[k]); h != g.params {
						t.Errorf("member %d: final parameters hash %#x, want %#x as before validation", k, h, g.params)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tc.during {
				if len(res) != len(e.Members) {
					t.Errorf("%d results after an error during training, want the %d members' so far", len(res), len(e.Members))
				}
				return
			}
			if res != nil {
				t.Errorf("results %+v after a configuration error, want none", res)
			}
			for k, m := range ms {
				if u := m.U.Float64s()[0]; u != 0.1 {
					t.Errorf("member %d: u[0] = %v after a configuration error, want the initial 0.1: Train updated the model", k, u)
				}
			}
			if dln, ok := e.Model.(*models.DLNEnsemble); ok && dln != nil {
				if d := diffBits(graph.Flatten(dln.Params()), stacked); d != "" {
					t.Errorf("Ensemble.Model changed by a configuration error: %s", d)
				}
			}
		})
	}
}

// TestEnsembleReportsEveryProblem checks that the problems of an ensemble
// are separate joined errors (in any order), one per problem and member.
func TestEnsembleReportsEveryProblem(t *testing.T) {
	e, _ := validEnsemble(t)
	e.Members[0].Schedule, e.Members[1].Schedule = nil, nil
	e.Members[2].Metrics = append(e.Members[2].Metrics, train.Metric{Name: "a"}, train.Metric{Name: "b"})
	e.Iterations = -1
	want := []string{
		"Ensemble.Members[0].Schedule is nil",
		"Ensemble.Members[1].Schedule is nil",
		`Ensemble.Members[2].Metrics[1] ("a")`,
		`Ensemble.Members[2].Metrics[2] ("b")`,
		"Ensemble.Iterations = -1",
		"Ensemble.Eval[0] = 0 is past Iterations = -1",
		"Ensemble.Eval[1] = 10 is past Iterations = -1",
		"Ensemble.Eval[2] = 20 is past Iterations = -1",
	}
	_, err := trainEnsembleNoPanic(t, e)
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("error %v (%T), want the errors.Join of %d problems", err, err, len(want))
	}
	errs := joined.Unwrap()
	if len(errs) != len(want) {
		t.Errorf("%d problems reported, want %d:\n%v", len(errs), len(want), err)
	}
	// Each wanted problem must be its own error, in any order.
	used := make([]bool, len(errs))
wants:
	for _, w := range want {
		for k, e := range errs {
			if !used[k] && strings.Contains(e.Error(), w) {
				used[k] = true
				continue wants
			}
		}
		t.Errorf("no problem reported contains %q:\n%v", w, err)
	}
}
