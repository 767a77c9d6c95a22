package train_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/models"
	"sgdlab/train"
)

// e2Data is the 40-point training set of E2 (N, D, R) = (40, 100, 20).
func e2Data(t *testing.T) data.Set {
	t.Helper()
	tr, _, _, err := data.SparseRegression{N: 40, D: 100, R: 20, NTest: 0, Seed: 0}.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// badSampler draws 0 except at update at, where its first index is index:
// a user's sampler without Size that goes wrong mid-run.
type badSampler struct{ at, index, calls int }

func (s *badSampler) Next(idx []int) {
	for i := range idx {
		idx[i] = 0
	}
	if s.calls == s.at {
		idx[0] = s.index
	}
	s.calls++
}

// roundRobin cycles through [0, n) without implementing Sized.
type roundRobin struct{ n, next int }

func (s *roundRobin) Next(idx []int) {
	for i := range idx {
		idx[i] = s.next
		s.next = (s.next + 1) % s.n
	}
}

// validRun is a correct run of 20 SGD steps on the E2 set, evaluated
// before the first update, midway and after the last one.
func validRun(t *testing.T) (train.Run, *models.DLN) {
	t.Helper()
	tr := e2Data(t)
	m := models.NewDLN(100)
	m.InitConst(0.1)
	loss, err := train.LossMetric("train_loss", m, graph.HalfMSE, tr)
	if err != nil {
		t.Fatal(err)
	}
	return train.Run{Model: m, Loss: graph.HalfMSE, Data: tr, Batch: 1, Sampler: train.NewUniform(40, 1),
		Schedule: train.Constant{LR: 0.05}, Iterations: 20, Eval: []int{0, 10, 20}, Metrics: []train.Metric{loss}}, m
}

// trainNoPanic runs r, turning a panic into a test failure that says so.
func trainNoPanic(t *testing.T, r train.Run) (res train.Result, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("Train panicked: %v", p)
		}
	}()
	return r.Train(context.Background())
}

func TestRunMisuseIsAnError(t *testing.T) {
	// The losses of validRun at iterations 0, 10 and 20, from the code
	// before Run was validated: validation must not change a valid run.
	uniform := []float64{0.51398206070515318, 0.48309704208522691, 0.46956328299508987}
	full := []float64{0.51398206070515318, 0.49453145773993007, 0.47370018129671793}
	for _, tc := range []struct {
		name   string
		modify func(r *train.Run)
		// want holds substrings of the error; none for a valid run,
		// whose losses must be wantLoss.
		want     []string
		wantLoss []float64
		// during is set for an error found during training, after
		// updates: the others must leave the model untouched.
		during bool
	}{
		{name: "valid, Eval includes Iterations", modify: func(*train.Run) {}, wantLoss: uniform},
		{name: "valid full batch", modify: func(r *train.Run) { r.Batch, r.Sampler = 40, train.Full{} }, wantLoss: full},
		{name: "valid full batch by pointer", modify: func(r *train.Run) { r.Batch, r.Sampler = 40, &train.Full{} }, wantLoss: full},
		{name: "valid sampler without Size", modify: func(r *train.Run) { r.Sampler = &roundRobin{n: 40} }},
		{name: "nil Model", modify: func(r *train.Run) { r.Model = nil }, want: []string{"Run.Model is nil"}},
		{name: "nil *DLN Model", modify: func(r *train.Run) { r.Model = (*models.DLN)(nil) }, want: []string{"Run.Model is nil"}},
		{name: "nil Sampler", modify: func(r *train.Run) { r.Sampler = nil }, want: []string{"Run.Sampler is nil"}},
		{name: "nil *Uniform Sampler", modify: func(r *train.Run) { r.Sampler = (*train.Uniform)(nil) }, want: []string{"Run.Sampler is nil"}},
		{name: "nil Schedule", modify: func(r *train.Run) { r.Schedule = nil }, want: []string{"Run.Schedule is nil"}},
		{name: "sampler range > N", modify: func(r *train.Run) { r.Sampler = train.NewUniform(100, 1) },
			want: []string{"Run.Sampler", "[0, 100)", "Data.N = 40"}},
		{name: "sampler range < N", modify: func(r *train.Run) { r.Sampler = train.NewUniform(20, 1) },
			want: []string{"Run.Sampler", "[0, 20)", "Data.N = 40"}},
		{name: "sampler index N", modify: func(r *train.Run) { r.Sampler = &badSampler{at: 3, index: 40} },
			want: []string{"iteration 3", "Run.Sampler", "index 40", "Data.N = 40"}, during: true},
		{name: "sampler index -1", modify: func(r *train.Run) { r.Sampler = &badSampler{at: 7, index: -1} },
			want: []string{"iteration 7", "Run.Sampler", "index -1"}, during: true},
		{name: "Eval unsorted", modify: func(r *train.Run) { r.Eval = []int{0, 10, 5} },
			want: []string{"Run.Eval[2] = 5 is not after Eval[1] = 10", "strictly increasing"}},
		{name: "Eval duplicated", modify: func(r *train.Run) { r.Eval = []int{0, 10, 10, 20} },
			want: []string{"Run.Eval[2] = 10 is not after Eval[1] = 10"}},
		{name: "Eval negative", modify: func(r *train.Run) { r.Eval = []int{-1, 10} },
			want: []string{"Run.Eval[0] = -1 is negative"}},
		{name: "Eval past Iterations", modify: func(r *train.Run) { r.Eval = []int{0, 21} },
			want: []string{"Run.Eval[1] = 21 is past Iterations = 20"}},
		{name: "Full with Batch < N", modify: func(r *train.Run) { r.Batch, r.Sampler = 10, train.Full{} },
			want: []string{"Run.Batch = 10 with the full-batch sampler", "Data.N = 40"}},
		{name: "Batch > N", modify: func(r *train.Run) { r.Batch = 41 }, want: []string{"Run.Batch = 41", "[1, Data.N = 40]"}},
		{name: "Batch 0", modify: func(r *train.Run) { r.Batch = 0 }, want: []string{"Run.Batch = 0", "[1, Data.N = 40]"}},
		{name: "negative Iterations", modify: func(r *train.Run) { r.Iterations, r.Eval = -1, nil },
			want: []string{"Run.Iterations = -1"}},
		{name: "NaN DivergeAbove", modify: func(r *train.Run) { r.DivergeAbove = math.NaN() }, want: []string{"Run.DivergeAbove = NaN"}},
		{name: "negative DivergeAbove", modify: func(r *train.Run) { r.DivergeAbove = -1 }, want: []string{"Run.DivergeAbove = -1"}},
		{name: "unknown Loss", modify: func(r *train.Run) { r.Loss = "l1" }, want: []string{"Run.Loss"}},
		{name: "inconsistent Data", modify: func(r *train.Run) { r.Data.Y = r.Data.Y[:39] }, want: []string{"Run.Data", "39"}},
		{name: "nil Measure", modify: func(r *train.Run) { r.Metrics = append(r.Metrics, train.Metric{Name: "lost"}) },
			want: []string{`Run.Metrics[1] ("lost") has a nil Measure`}},
		{name: "nil step Measure", modify: func(r *train.Run) { r.StepMetrics = []train.StepMetric{{Name: "cos"}} },
			want: []string{`Run.StepMetrics[0] ("cos") has a nil Measure`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, m := validRun(t)
			tc.modify(&r)
			res, err := trainNoPanic(t, r)
			if len(tc.want) == 0 {
				if err != nil || res.Diverged {
					t.Fatalf("valid run: error %v, diverged %v", err, res.Diverged)
				}
				if fmt.Sprint(res.Iters) != fmt.Sprint(r.Eval) {
					t.Fatalf("evaluated at %v, want every point of Eval %v", res.Iters, r.Eval)
				}
				for k, want := range tc.wantLoss {
					if got := res.Values[k][0]; math.Abs(got-want) > 1e-12*want {
						t.Errorf("loss at iteration %d = %.17g, want %.17g as before validation", res.Iters[k], got, want)
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
			if u := m.U.Float64s()[0]; !tc.during && u != 0.1 {
				t.Errorf("u[0] = %v after a configuration error, want the initial 0.1: Train updated the model", u)
			}
			if !tc.during && (len(res.Iters) > 0 || len(res.Names) > 0) {
				t.Errorf("result %+v after a configuration error, want an empty one", res.History)
			}
		})
	}
}

// TestRunReportsEveryProblem checks that one error lists every problem of
// a run, as separate joined errors (in any order), and that a long list is
// cut short.
func TestRunReportsEveryProblem(t *testing.T) {
	reversed := make([]int, 100)
	for k := range reversed {
		reversed[k] = 100 - k
	}
	for _, tc := range []struct {
		name   string
		modify func(r *train.Run)
		want   []string
	}{
		{"eval, sampler and batch", func(r *train.Run) { r.Eval, r.Sampler, r.Batch = []int{5, 3, 3, -1, 30}, nil, 0 }, []string{
			"Run.Eval[1] = 3 is not after Eval[0] = 5",
			"Run.Eval[2] = 3 is not after Eval[1] = 3",
			"Run.Eval[3] = -1 is negative",
			"Run.Eval[4] = 30 is past Iterations = 20",
			"Run.Sampler is nil",
			"Run.Batch = 0",
		}},
		{"model, schedule, iterations", func(r *train.Run) { r.Model, r.Schedule, r.Iterations, r.DivergeAbove = nil, nil, -5, math.NaN() }, []string{
			"Run.Model is nil",
			"Run.Schedule is nil",
			"Run.Iterations = -5",
			"Run.Eval[0] = 0 is past Iterations = -5",
			"Run.Eval[1] = 10 is past Iterations = -5",
			"Run.Eval[2] = 20 is past Iterations = -5",
			"Run.DivergeAbove = NaN",
		}},
		{"99 unordered points", func(r *train.Run) { r.Eval, r.Iterations = reversed, 100 }, []string{
			"Run.Eval[1] = 99 is not after Eval[0] = 100",
			"Run.Eval[2] = 98 is not after Eval[1] = 99",
			"Run.Eval[3] = 97", "Run.Eval[4] = 96", "Run.Eval[5] = 95", "Run.Eval[6] = 94", "Run.Eval[7] = 93",
			"Run.Eval[8] = 92 is not after Eval[7] = 93",
			"Run.Eval: 91 more problems",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := validRun(t)
			tc.modify(&r)
			_, err := trainNoPanic(t, r)
			var joined interface{ Unwrap() []error }
			if !errors.As(err, &joined) {
				t.Fatalf("error %v (%T), want the errors.Join of %d problems", err, err, len(tc.want))
			}
			errs := joined.Unwrap()
			if len(errs) != len(tc.want) {
				t.Errorf("%d problems reported, want %d:\n%v", len(errs), len(tc.want), err)
			}
			// Each wanted problem must be its own error, in any order.
			used := make([]bool, len(errs))
		wants:
			for _, w := range tc.want {
				for k, e := range errs {
					if !used[k] && strings.Contains(e.Error(), w) {
						used[k] = true
						continue wants
					}
				}
				t.Errorf("no problem reported contains %q:\n%v", w, err)
			}
		})
	}
}

func TestSizedSamplers(t *testing.T) {
	var s train.Sampler = train.NewUniform(37, 1)
	sized, ok := s.(train.Sized)
	if !ok || sized.Size() != 37 {
		t.Fatalf("NewUniform(37, 1): Sized %v, want Size() = 37", ok)
	}
	if _, ok := train.Sampler(train.Full{}).(train.Sized); ok {
		t.Error("Full implements Sized, but its range is the batch size, not fixed")
	}
}

func TestHistoryLookup(t *testing.T) {
	h := train.History{
		Names:  []string{"train_loss", "test_loss"},
		Iters:  []int{0, 10, 20},
		Values: [][]float64{{3, 30}, {2, 20}, {1, 10}},
	}
	dup := h
	dup.Names = []string{"loss", "loss"}
	ragged := h
	ragged.Values = [][]float64{{3, 30}, {2}, {1, 10}}
	empty := train.History{Names: h.Names}
	for _, tc := range []struct {
		name     string
		h        train.History
		metric   string
		wantCol  []float64
		wantLast float64
		// colErr and lastErr are substrings of the errors, "" for none.
		colErr, lastErr string
	}{
		{"first metric", h, "train_loss", []float64{3, 2, 1}, 1, "", ""},
		{"second metric", h, "test_loss", []float64{30, 20, 10}, 10, "", ""},
		{"unknown", h, "loss", nil, 0, `no metric "loss" (its metrics: "train_loss", "test_loss")`, `no metric "loss"`},
		{"duplicated name", dup, "loss", nil, 0, `metrics 0 and 1 are both named "loss"`, "both named"},
		{"ragged values", ragged, "test_loss", nil, 0, "Values[1] has 1 values for 2 Names", "Values[1]"},
		{"no point reached", empty, "test_loss", []float64{}, 0, "", "no evaluation point"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col, err := tc.h.Column(tc.metric)
			switch {
			case tc.colErr == "" && err != nil:
				t.Errorf("Column(%q): %v", tc.metric, err)
			case tc.colErr != "" && (err == nil || !strings.Contains(err.Error(), tc.colErr)):
				t.Errorf("Column(%q) error %v, want one containing %q", tc.metric, err, tc.colErr)
			case fmt.Sprint(col) != fmt.Sprint(tc.wantCol) || (tc.wantCol != nil) != (col != nil):
				t.Errorf("Column(%q) = %v, want %v", tc.metric, col, tc.wantCol)
			}
			last, err := tc.h.Last(tc.metric)
			switch {
			case tc.lastErr == "" && err != nil:
				t.Errorf("Last(%q): %v", tc.metric, err)
			case tc.lastErr != "" && (err == nil || !strings.Contains(err.Error(), tc.lastErr)):
				t.Errorf("Last(%q) error %v, want one containing %q", tc.metric, err, tc.lastErr)
			case last != tc.wantLast:
				t.Errorf("Last(%q) = %v, want %v", tc.metric, last, tc.wantLast)
			}
		})
	}
	// Column returns a copy: changing it must not change the history.
	col, _ := h.Column("train_loss")
	col[0] = -1
	if h.Values[0][0] != 3 {
		t.Errorf("writing the column changed History.Values to %v", h.Values)
	}
}
