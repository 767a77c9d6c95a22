package metric_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"sgdlab/analysis"
	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/metric"
	"sgdlab/models"
)

// randomMLP returns an MLP of the given widths (with biases) whose
// parameters are drawn from seed.
func randomMLP(seed uint64, sizes ...int) *models.MLP {
	m := models.NewMLP(graph.Float64, true, sizes...)
	r := rand.New(rand.NewPCG(seed, 3))
	for _, p := range m.Params() {
		for j, w := 0, p.Float64s(); j < len(w); j++ {
			w[j] = r.NormFloat64()
		}
	}
	return m
}

// classSet returns n examples of dimension d with standard normal
// features and one-hot targets of k classes, drawn from seed.
func classSet(n, d, k int, seed uint64) data.Set {
	r := rand.New(rand.NewPCG(seed, 5))
	s := data.Set{X: make([]float64, n*d), Y: make([]float64, n*k), N: n, D: d, K: k, Labels: make([]int, n)}
	for i := range s.X {
		s.X[i] = r.NormFloat64()
	}
	for i := range s.Labels {
		s.Labels[i] = r.IntN(k)
		s.Y[i*k+s.Labels[i]] = 1
	}
	return s
}

// measure builds the metric name for m on env and returns its value.
func measure(t *testing.T, name string, env metric.Env) float64 {
	t.Helper()
	ms, _, err := metric.Build([]string{name}, &env)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ms[0].Measure()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestEvalBatches checks that losses, errors and feature metrics computed
// a few points at a time, with a smaller last batch, agree with one pass
// over the whole set, and that the error is the fraction of points whose
// largest output misses the label.
func TestEvalBatches(t *testing.T) {
	m := randomMLP(1, 4, 6, 3)
	set := classSet(11, 4, 3, 2)
	// The error by hand: the outputs of the whole set, row by row.
	p, err := graph.CompileLoss(m, graph.SoftmaxCE, set.N)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(set.X, set.Y); err != nil {
		t.Fatal(err)
	}
	out := make([]float64, set.N*3)
	p.Output(out)
	wrong := 0
	for i := 0; i < set.N; i++ {
		o := out[i*3 : i*3+3]
		best := 0
		for c := range 3 {
			if o[c] > o[best] {
				best = c
			}
		}
		if best != set.Labels[i] {
			wrong++
		}
	}
	if wrong == 0 || wrong == set.N {
		t.Fatalf("%d of %d wrong: the check needs both kinds", wrong, set.N)
	}
	for _, name := range []string{"train_loss", "train_error", "feature_sparsity", "positive_fraction_1"} {
		t.Run(name, func(t *testing.T) {
			env := metric.Env{Model: m, Loss: graph.SoftmaxCE, Train: set, Test: set, Points: 1}
			whole := measure(t, name, env)
			env.EvalBatch = 4 // batches of 4, 4 and 3
			parts := measure(t, name, env)
			if math.Abs(parts-whole) > 1e-14*math.Abs(whole) {
				t.Errorf("in batches of 4: %.17g, at once: %.17g", parts, whole)
			}
			if name == "train_error" && whole != float64(wrong)/float64(set.N) {
				t.Errorf("error %v, want %d/%d", whole, wrong, set.N)
			}
		})
	}
	env := metric.Env{Model: randomMLP(1, 4, 1), Loss: graph.MSE, Train: gaussianSet(5, 4, 1)}
	if _, _, err := metric.Build([]string{"train_error"}, &env); err == nil || !strings.Contains(err.Error(), "no class labels") {
		t.Errorf("train_error of a regression set: error %v", err)
	}
}

// TestDeepFeatureMetrics checks that features.units selects the deep-net
// definitions on the map the model computes, with the subsample the seed
// draws.
func TestDeepFeatureMetrics(t *testing.T) {
	m := randomMLP(4, 3, 12, 2)
	set := gaussianSet(9, 3, 5)
	// The hidden map by hand: relu(x·W1 + b1).
	w, b := m.W[0].Float64s(), m.B[0].Float64s()
	phi := mat.NewDense(set.N, 12, nil)
	for i := 0; i < set.N; i++ {
		for j := 0; j < 12; j++ {
			z := b[j]
			for k := 0; k < 3; k++ {
				z += set.X[i*3+k] * w[k*12+j]
			}
			phi.Set(i, j, math.Max(z, 0))
		}
	}
	opt := metric.FeatureOptions{Threshold: 0.95, Units: 5, Seed: 8}
	want, err := analysis.BlockSparsity(phi, 0.95, analysis.SampleUnits(12, 5, 8))
	if err != nil {
		t.Fatal(err)
	}
	env := metric.Env{Model: m, Loss: graph.MSE, Train: set, Features: opt}
	for name, v := range map[string]float64{
		"feature_sparsity":  want.Distinct,
		"dead_or_duplicate": float64(want.Removed),
		"positive_fraction": want.Active,
	} {
		if got := measure(t, name, env); math.Abs(got-v) > 1e-15 {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
	// Without units, feature_sparsity is the row-normalised one of §3.2.
	env.Features.Units = 0
	plain, err := analysis.FeatureSparsity(phi, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if got := measure(t, "feature_sparsity", env); math.Abs(got-plain) > 1e-15 {
		t.Errorf("feature_sparsity without units = %v, want %v", got, plain)
	}
}
