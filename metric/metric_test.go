package metric_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"sgdlab/analysis"
	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/metric"
	"sgdlab/models"
	"sgdlab/train"
)

// builtins are the metrics this package registers for every model.
var builtins = []string{"l2_uv", "rank", "sharpness", "step_cosine", "test_loss", "train_loss"}

// gaussianSet returns n examples of dimension d with standard normal
// features and targets, drawn from seed.
func gaussianSet(n, d int, seed uint64) data.Set {
	r := rand.New(rand.NewPCG(seed, 7))
	s := data.Set{X: make([]float64, n*d), Y: make([]float64, n), N: n, D: d}
	for i := range s.X {
		s.X[i] = r.NormFloat64()
	}
	for i := range s.Y {
		s.Y[i] = r.NormFloat64()
	}
	return s
}

// randomDLN returns a DLN of dimension d with u, v drawn from seed.
func randomDLN(d int, seed uint64) *models.DLN {
	m := models.NewDLN(d)
	r := rand.New(rand.NewPCG(seed, 11))
	for _, p := range m.Params() {
		for j, w := 0, p.Float64s(); j < len(w); j++ {
			w[j] = r.NormFloat64()
		}
	}
	return m
}

// joined returns the errors that errors.Join combined into err (err
// itself if it is a single error).
func joined(err error) []error {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		return u.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// ownModel is a DLN that offers metrics of its own: "train_loss", which
// would shadow the registered metric of that name (Check refuses it), and
// the new "answer".
type ownModel struct{ *models.DLN }

func (ownModel) Metrics() []models.Metric {
	return []models.Metric{
		{Name: "train_loss", Doc: "a constant standing in for the loss", Measure: func() float64 { return 42 }},
		{Name: "answer", Doc: "another constant", Measure: func() float64 { return 7 }},
	}
}

// Compile-time checks that the test model is what Check and Build see.
var (
	_ graph.Model     = ownModel{}
	_ models.Measured = ownModel{}
)

func TestCheck(t *testing.T) {
	dln := models.NewDLN(3)
	mlp := models.NewMLP(graph.Float64, true, 3, 4, 1)
	tests := []struct {
		name  string
		names []string
		model graph.Model
		// want are the substrings each joined error must contain, one
		// list per error, in order; nil means Check must accept.
		want [][]string
	}{
		{name: "DLN built-ins and own", model: dln,
			names: []string{"train_loss", "test_loss", "l2_uv", "rank", "sharpness", "step_cosine", "l0", "l1", "balancedness"}},
		{name: "MLP built-ins", model: mlp,
			names: []string{"train_loss", "test_loss", "l2_uv", "rank", "sharpness", "step_cosine"}},
		{name: "empty list", model: mlp, names: nil},
		{name: "own metric of a test model", model: ownModel{models.NewDLN(3)},
			names: []string{"answer", "l2_uv"}},
		// A model's own metric may not shadow a registered one.
		{name: "own metric shadowing a registered one", model: ownModel{models.NewDLN(3)},
			names: []string{"answer", "train_loss"},
			want:  [][]string{{"metrics[1]", `"train_loss"`, "must be renamed"}}},
		// l0 is the DLN's own: an MLP must reject it, naming the index,
		// the metric and the model type, and listing its alternatives.
		{name: "DLN-only l0 on an MLP", model: mlp,
			names: []string{"train_loss", "l0"},
			want:  [][]string{{"metrics[1]", `"l0"`, "*models.MLP", "train_loss", "this model's own: none"}}},
		{name: "unknown on a DLN lists the DLN's own", model: dln,
			names: []string{"nope"},
			want:  [][]string{{"metrics[0]", `"nope"`, "*models.DLN", "l0, l1, balancedness"}}},
		{name: "step_cosine first", model: dln,
			names: []string{"step_cosine", "sharpness"},
			want:  [][]string{{"metrics[0]", `"step_cosine" needs "sharpness"`}}},
		{name: "step_cosine alone", model: dln,
			names: []string{"step_cosine"},
			want:  [][]string{{"metrics[0]", `needs "sharpness"`}}},
		{name: "listed twice", model: dln,
			names: []string{"train_loss", "l0", "train_loss"},
			want:  [][]string{{"metrics[2]", `"train_loss" is listed twice`}}},
		{name: "own metric listed twice", model: dln,
			names: []string{"l0", "l0"},
			want:  [][]string{{"metrics[1]", `"l0" is listed twice`}}},
		// Every problem is reported, in the order of names.
		{name: "several at once", model: mlp,
			names: []string{"nope", "step_cosine", "l0", "train_loss", "train_loss"},
			want: [][]string{
				{"metrics[0]", `"nope"`},
				{"metrics[1]", `needs "sharpness"`},
				{"metrics[2]", `"l0"`, "*models.MLP"},
				{"metrics[4]", "listed twice"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := metric.Check(tt.names, tt.model)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want nil", tt.names, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check(%q) = nil, want %d errors", tt.names, len(tt.want))
			}
			errs := joined(err)
			if len(errs) != len(tt.want) {
				t.Fatalf("Check(%q) gave %d errors, want %d:\n%v", tt.names, len(errs), len(tt.want), err)
			}
			for k, subs := range tt.want {
				for _, s := range subs {
					if !strings.Contains(errs[k].Error(), s) {
						t.Errorf("error %d = %q, want it to contain %q", k, errs[k], s)
					}
				}
			}
		})
	}
}

func TestBuild(t *testing.T) {
	trainSet := gaussianSet(6, 3, 1)
	testSet := gaussianSet(4, 3, 2)

	t.Run("order and names", func(t *testing.T) {
		m := randomDLN(3, 1)
		env := &metric.Env{Model: m, Loss: graph.HalfMSE, Train: trainSet, Test: testSet, Points: 1,
			Rank: metric.RankOptions{Examples: 2, Threshold: 1e-10, Every: 1}, Sharpness: metric.SharpnessOptions{Every: 1}}
		names := []string{"sharpness", "l0", "step_cosine", "test_loss", "rank", "l2_uv", "train_loss"}
		if err := metric.Check(names, m); err != nil {
			t.Fatal(err)
		}
		ms, steps, err := metric.Build(names, env)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range ms {
			got = append(got, x.Name)
		}
		if want := []string{"sharpness", "l0", "test_loss", "rank", "l2_uv", "train_loss"}; !slices.Equal(got, want) {
			t.Errorf("metric names = %q, want %q", got, want)
		}
		if len(steps) != 1 || steps[0].Name != "step_cosine" {
			t.Fatalf("step metrics = %+v, want just step_cosine", steps)
		}
		// Each metric measures what its name says: compare with the
		// same quantity computed directly.
		beta := make([]float64, 3)
		want := map[string]float64{
			"l0":    float64(m.L0(beta)),
			"l2_uv": floats.Norm(graph.Flatten(m.Params()), 2),
			"rank":  2, // two examples of a generic DLN
		}
		for _, tc := range []struct {
			name string
			set  data.Set
		}{{"train_loss", trainSet}, {"test_loss", testSet}} {
			lm, err := train.LossMetric(tc.name, m, graph.HalfMSE, tc.set)
			if err != nil {
				t.Fatal(err)
			}
			if want[tc.name], err = lm.Measure(); err != nil {
				t.Fatal(err)
			}
		}
		for _, x := range ms {
			v, err := x.Measure()
			if err != nil {
				t.Fatalf("%s: %v", x.Name, err)
			}
			if w, ok := want[x.Name]; ok && math.Abs(v-w) > 1e-12*math.Max(1, math.Abs(w)) {
				t.Errorf("%s = %v, want %v", x.Name, v, w)
			}
			if x.Name == "sharpness" && !(v > 0) {
				t.Errorf("sharpness = %v, want > 0 for a generic DLN", v)
			}
		}
		// sharpness and step_cosine share one Sharpness through env: the
		// step metric sees the eigenvector that the metric just found.
		c, err := steps[0].Measure([]float64{1, 2, 3, 4, 5, 6})
		if err != nil {
			t.Fatal(err)
		}
		if math.IsNaN(c) || c < 0 || c > 1+1e-12 {
			t.Errorf("step_cosine after sharpness = %v, want a value in [0, 1]", c)
		}
	})

	t.Run("own metrics beside registered ones", func(t *testing.T) {
		m := ownModel{randomDLN(3, 2)}
		env := &metric.Env{Model: m, Loss: graph.HalfMSE, Train: trainSet, Test: testSet, Points: 1}
		names := []string{"answer", "l2_uv"}
		if err := metric.Check(names, m); err != nil {
			t.Fatal(err)
		}
		ms, steps, err := metric.Build(names, env)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 2 || len(steps) != 0 {
			t.Fatalf("Build gave %d metrics and %d step metrics, want 2 and 0", len(ms), len(steps))
		}
		for k, want := range []struct {
			name  string
			value float64
		}{{"answer", 7}, {"l2_uv", floats.Norm(graph.Flatten(m.Params()), 2)}} {
			v, err := ms[k].Measure()
			if err != nil {
				t.Fatal(err)
			}
			if ms[k].Name != want.name || math.Abs(v-want.value) > 1e-14*want.value {
				t.Errorf("metric %d = %s: %v, want %s: %v", k, ms[k].Name, v, want.name, want.value)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		m := models.NewDLN(3)
		for _, tc := range []struct {
			name  string
			names []string
			env   metric.Env
			want  string
		}{
			{"unknown", []string{"train_loss", "nope"}, metric.Env{}, `unknown "nope"`},
			// The zero RankOptions are invalid (Examples 0).
			{"bad rank options", []string{"rank"}, metric.Env{}, "metric rank: rank:"},
			{"bad sharpness options", []string{"sharpness"}, metric.Env{}, "metric sharpness: sharpness:"},
			{"bad options through step_cosine", []string{"step_cosine"}, metric.Env{}, "metric step_cosine: sharpness:"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				env := tc.env
				env.Model, env.Loss, env.Train, env.Test, env.Points = m, graph.HalfMSE, trainSet, testSet, 1
				_, _, err := metric.Build(tc.names, &env)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Build(%q) error = %v, want one containing %q", tc.names, err, tc.want)
				}
			})
		}
	})
}

func TestParamNorm(t *testing.T) {
	for _, tc := range []struct {
		name  string
		model graph.Model
	}{
		{"DLN", randomDLN(5, 3)},
		{"zero DLN", models.NewDLN(4)},
		{"MLP", func() graph.Model {
			m := models.NewMLP(graph.Float64, true, 3, 4, 1)
			m.InitHe(data.NewNumpyRand(5))
			return m
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pm := metric.ParamNorm(tc.model)
			if pm.Name != "l2_uv" {
				t.Errorf("Name = %q, want l2_uv", pm.Name)
			}
			w := graph.Flatten(tc.model.Params())
			var ss float64
			for _, x := range w {
				ss += x * x
			}
			got, err := pm.Measure()
			if err != nil {
				t.Fatal(err)
			}
			if want := math.Sqrt(ss); math.Abs(got-want) > 1e-14*math.Max(1, want) {
				t.Errorf("ParamNorm = %v, want ‖Flatten(Params)‖₂ = %v", got, want)
			}
			// The metric reads the parameters when measured: doubling
			// them doubles it.
			for i := range w {
				w[i] *= 2
			}
			graph.Unflatten(tc.model.Params(), w)
			again, err := pm.Measure()
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(again-2*got) > 1e-13*math.Max(1, got) {
				t.Errorf("after doubling θ, ParamNorm = %v, want %v", again, 2*got)
			}
		})
	}
}

func TestRank(t *testing.T) {
	const d = 5
	// φ of h(x) = ⟨u⊙v, x⟩ w.r.t. (u, v) is [X·diag(v), X·diag(u)]:
	// its column space is spanned by the columns j of X with
	// (u_j, v_j) ≠ 0, so for Gaussian X the rank is
	// min(examples, #{j : (u_j, v_j) ≠ 0}).
	ones := []float64{1, 1, 1, 1, 1}
	zeros := make([]float64, d)
	tests := []struct {
		name     string
		u, v     []float64
		examples int
		want     int
	}{
		{"u=1, v=0, fewer examples than d", ones, zeros, 3, 3},
		{"u=1, v=0, more examples than d", ones, zeros, 8, 5},
		{"u=v=0", zeros, zeros, 8, 0},
		{"two coordinates of u", []float64{0, 2, 0, -1, 0}, zeros, 8, 2},
		{"u and v on disjoint coordinates", []float64{1, 0, 0, 0, 0}, []float64{0, 0, 3, 0, 0}, 8, 2},
		{"generic u and v, coordinate 4 off in both", []float64{0.3, -1, 2, 0.5, 0}, []float64{1, 0.7, -0.2, 0, 0}, 8, 4},
		{"one example", []float64{0.3, -1, 2, 0.5, 1}, ones, 1, 1},
	}
	// Ten examples: Rank must use only the first opt.Examples of them.
	x := gaussianSet(10, d, 4)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := models.NewDLN(d)
			m.U.Set(tt.u)
			m.V.Set(tt.v)
			r, err := metric.Rank(m, x, metric.RankOptions{Examples: tt.examples, Threshold: 1e-10, Every: 1}, 1)
			if err != nil {
				t.Fatal(err)
			}
			if r.Name != "rank" {
				t.Errorf("Name = %q, want rank", r.Name)
			}
			got, err := r.Measure()
			if err != nil {
				t.Fatal(err)
			}
			if got != float64(tt.want) {
				t.Errorf("rank = %v, want %d", got, tt.want)
			}
		})
	}

	t.Run("follows the parameters", func(t *testing.T) {
		m := models.NewDLN(d)
		r, err := metric.Rank(m, x, metric.RankOptions{Examples: 8, Threshold: 1e-10, Every: 1}, 2)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := r.Measure(); err != nil || got != 0 {
			t.Fatalf("rank at u = v = 0 is %v (%v), want 0", got, err)
		}
		m.U.Set([]float64{1, 1, 0, 0, 0})
		if got, err := r.Measure(); err != nil || got != 2 {
			t.Errorf("rank after setting u = (1,1,0,0,0) is %v (%v), want 2", got, err)
		}
	})

	t.Run("every", func(t *testing.T) {
		for _, tc := range []struct {
			every, points int
			due           []int // calls that measure; NaN at the others
		}{
			{3, 7, []int{0, 3, 6}},
			{3, 8, []int{0, 3, 6, 7}}, // the last point is always measured
			{1, 4, []int{0, 1, 2, 3}},
			{10, 4, []int{0, 3}},
		} {
			m := models.NewDLN(d)
			m.InitConst(1)
			r, err := metric.Rank(m, x, metric.RankOptions{Examples: 3, Threshold: 1e-10, Every: tc.every}, tc.points)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.points {
				got, err := r.Measure()
				if err != nil {
					t.Fatal(err)
				}
				if slices.Contains(tc.due, i) {
					if got != 3 {
						t.Errorf("every %d of %d: call %d = %v, want 3", tc.every, tc.points, i, got)
					}
				} else if !math.IsNaN(got) {
					t.Errorf("every %d of %d: call %d = %v, want NaN", tc.every, tc.points, i, got)
				}
			}
		}
	})

	t.Run("bad options", func(t *testing.T) {
		for _, opt := range []metric.RankOptions{
			{Examples: 11, Threshold: 1e-10, Every: 1}, // examples > N = 10
			{Examples: 0, Threshold: 1e-10, Every: 1},
			{Examples: -1, Threshold: 1e-10, Every: 1},
			{Examples: 3, Threshold: 0, Every: 1},
			{Examples: 3, Threshold: -1e-10, Every: 1},
			{Examples: 3, Threshold: math.NaN(), Every: 1},
			{Examples: 3, Threshold: 1e-10, Every: 0},
			{Examples: 3, Threshold: 1e-10, Every: -2},
		} {
			if _, err := metric.Rank(models.NewDLN(d), x, opt, 1); err == nil {
				t.Errorf("Rank with %+v: no error", opt)
			}
		}
	})
}

// denseHessian assembles the Hessian of loss for m on the first n
// examples of set column by column from exact Hessian-vector products,
// and returns its eigendecomposition (values increasing).
func denseHessian(t *testing.T, m graph.Model, loss graph.Loss, set data.Set, n int) (values []float64, vectors *mat.Dense) {
	t.Helper()
	h, err := graph.CompileHVP(m, loss, n)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SetData(set.X[:n*set.D], set.Y[:n]); err != nil {
		t.Fatal(err)
	}
	p := h.Dim()
	cols := make([][]float64, p)
	e := make([]float64, p)
	for j := range p {
		clear(e)
		e[j] = 1
		cols[j] = make([]float64, p)
		if err := h.Apply(cols[j], e); err != nil {
			t.Fatal(err)
		}
	}
	sym := mat.NewSymDense(p, nil)
	for i := range p {
		for j := i; j < p; j++ {
			sym.SetSym(i, j, (cols[j][i]+cols[i][j])/2)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(sym, true) {
		t.Fatal("EigenSym did not converge")
	}
	vectors = new(mat.Dense)
	eig.VectorsTo(vectors)
	return eig.Values(nil), vectors
}

func TestSharpness(t *testing.T) {
	const d = 4
	set := gaussianSet(6, d, 5)

	for _, tc := range []struct {
		name     string
		examples int // 0: all
		steps    int
	}{
		{"all examples", 0, 0},
		{"first three examples", 3, 0},
		{"steps above the dimension", 0, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := randomDLN(d, 6)
			n := tc.examples
			if n == 0 {
				n = set.N
			}
			values, vectors := denseHessian(t, m, graph.HalfMSE, set, n)
			top := values[len(values)-1]
			if gap := top - values[len(values)-2]; !(gap > 1e-6*math.Abs(top)) {
				t.Fatalf("λ₁ = %v is not simple (gap %v): pick another point", top, gap)
			}
			s, err := metric.NewSharpness(m, graph.HalfMSE, set, metric.SharpnessOptions{Examples: tc.examples, Steps: tc.steps, Every: 1}, 1)
			if err != nil {
				t.Fatal(err)
			}
			sm := s.Metric()
			if sm.Name != "sharpness" {
				t.Errorf("Name = %q, want sharpness", sm.Name)
			}
			got, err := sm.Measure()
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-top) > 1e-8*math.Abs(top) {
				t.Errorf("sharpness = %v, want λ_max of the dense Hessian %v", got, top)
			}

			sc := s.StepCosine()
			if sc.Name != "step_cosine" {
				t.Errorf("StepCosine Name = %q, want step_cosine", sc.Name)
			}
			p := 2 * d
			v1 := mat.Col(nil, p-1, vectors)
			v2 := mat.Col(nil, p-2, vectors)
			scaled := func(v []float64, a float64) []float64 {
				g := slices.Clone(v)
				floats.Scale(a, g)
				return g
			}
			random := gaussianSet(1, p, 9).X
			for _, g := range []struct {
				name string
				grad []float64
				want float64
				tol  float64
			}{
				// |cos| ignores the sign and the length of g.
				{"along v₁", scaled(v1, 3.7), 1, 1e-10},
				{"along −v₁", scaled(v1, -0.01), 1, 1e-10},
				// v₂ is orthogonal to v₁.
				{"along v₂", scaled(v2, 5), 0, 1e-8},
				{"random", random, math.Abs(floats.Dot(random, v1)) / floats.Norm(random, 2), 1e-8},
				{"zero", make([]float64, p), 0, 0},
			} {
				c, err := sc.Measure(g.grad)
				if err != nil {
					t.Fatal(err)
				}
				if !(math.Abs(c-g.want) <= g.tol) {
					t.Errorf("step_cosine %s = %v, want %v ± %g", g.name, c, g.want, g.tol)
				}
			}
		})
	}

	t.Run("every", func(t *testing.T) {
		m := randomDLN(d, 7)
		values, _ := denseHessian(t, m, graph.HalfMSE, set, set.N)
		top := values[len(values)-1]
		const every, points = 2, 6
		s, err := metric.NewSharpness(m, graph.HalfMSE, set, metric.SharpnessOptions{Every: every}, points)
		if err != nil {
			t.Fatal(err)
		}
		sm, sc := s.Metric(), s.StepCosine()
		g := gaussianSet(1, 2*d, 10).X
		// Before any measurement there is no eigenvector.
		if c, err := sc.Measure(g); err != nil || !math.IsNaN(c) {
			t.Errorf("step_cosine before sharpness = %v (%v), want NaN", c, err)
		}
		for i := range points {
			v, err := sm.Measure()
			if err != nil {
				t.Fatal(err)
			}
			c, err := sc.Measure(g)
			if err != nil {
				t.Fatal(err)
			}
			if due := i%every == 0 || i == points-1; due {
				if math.Abs(v-top) > 1e-8*math.Abs(top) {
					t.Errorf("point %d: sharpness = %v, want %v", i, v, top)
				}
				if math.IsNaN(c) || c < 0 || c > 1+1e-12 {
					t.Errorf("point %d: step_cosine = %v, want a value in [0, 1]", i, c)
				}
			} else {
				if !math.IsNaN(v) {
					t.Errorf("point %d: sharpness = %v, want NaN (skipped)", i, v)
				}
				// The eigenvector of the previous point must not be
				// reused for this one.
				if !math.IsNaN(c) {
					t.Errorf("point %d: step_cosine = %v, want NaN where sharpness was skipped", i, c)
				}
			}
		}
	})

	t.Run("bad options", func(t *testing.T) {
		m := models.NewDLN(d)
		for _, opt := range []metric.SharpnessOptions{
			{Every: 0},
			{Every: -1},
			{Examples: 7, Every: 1}, // > N = 6
			{Examples: -1, Every: 1},
			{Steps: -1, Every: 1},
		} {
			if _, err := metric.NewSharpness(m, graph.HalfMSE, set, opt, 1); err == nil {
				t.Errorf("NewSharpness with %+v: no error", opt)
			}
		}
		if _, err := metric.NewSharpness(m, graph.HalfMSE, data.Set{D: d}, metric.SharpnessOptions{Every: 1}, 1); err == nil {
			t.Error("NewSharpness on an empty set: no error")
		}
	})
}

func TestTrainRun(t *testing.T) {
	trainSet, testSet, _, err := data.SparseRegression{N: 20, D: 10, R: 2, NTest: 50}.Generate()
	if err != nil {
		t.Fatal(err)
	}
	m := models.NewDLN(10)
	m.InitConst(0.5)
	names := []string{"train_loss", "l0", "sharpness", "step_cosine"}
	if err := metric.Check(names, m); err != nil {
		t.Fatal(err)
	}
	eval := []int{0, 10, 20, 30, 40, 50}
	env := &metric.Env{Model: m, Loss: graph.HalfMSE, Train: trainSet, Test: testSet,
		Points: len(eval), Sharpness: metric.SharpnessOptions{Every: 1}}
	ms, steps, err := metric.Build(names, env)
	if err != nil {
		t.Fatal(err)
	}
	res, err := train.Run{
		Model: m, Loss: graph.HalfMSE, Data: trainSet,
		Batch: 1, Sampler: train.NewUniform(trainSet.N, 1),
		Schedule: train.Constant{LR: 0.05}, Iterations: eval[len(eval)-1], Eval: eval,
		Metrics: ms, StepMetrics: steps,
	}.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Diverged || !slices.Equal(res.Iters, eval) {
		t.Fatalf("run diverged (%v) or reached %v, want all of %v", res.Diverged, res.Iters, eval)
	}
	if want := []string{"train_loss", "l0", "sharpness", "step_cosine"}; !slices.Equal(res.Names, want) {
		t.Errorf("History.Names = %q, want %q", res.Names, want)
	}
	col := func(name string) []float64 {
		c, err := res.Column(name)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	l0, sharp, cos, loss := col("l0"), col("sharpness"), col("step_cosine"), col("train_loss")
	for k, it := range res.Iters {
		if v := l0[k]; v != math.Trunc(v) || v < 0 || v > 10 {
			t.Errorf("iteration %d: l0 = %v, want an integer in [0, 10]", it, v)
		}
		if v := sharp[k]; math.IsNaN(v) || !(v > 0) {
			t.Errorf("iteration %d: sharpness = %v, want > 0 at every point with Every = 1", it, v)
		}
		// There is no step after the last point.
		if last := k == len(res.Iters)-1; last != math.IsNaN(cos[k]) || (!last && (cos[k] < 0 || cos[k] > 1+1e-12)) {
			t.Errorf("iteration %d: step_cosine = %v, want a value in [0, 1] (NaN at the last point)", it, cos[k])
		}
	}
	// At u = 0.5·1, v = 0 the predictor is β = 0, and one step moves
	// every v_j off zero.
	if l0[0] != 0 || l0[1] != 10 {
		t.Errorf("l0 = %v, want 0 at the start and 10 after some steps", l0)
	}
	if !(loss[len(loss)-1] < loss[0]) {
		t.Errorf("train_loss = %v, want it lower at the end than at the start", loss)
	}
	// The metrics followed training: the last sharpness is that of the
	// final parameters, measured afresh.
	s, err := metric.NewSharpness(m, graph.HalfMSE, trainSet, metric.SharpnessOptions{Every: 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Metric().Measure()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := res.Last("sharpness"); err != nil || math.Abs(got-want) > 1e-10*want {
		t.Errorf("History.Last(sharpness) = %v (%v), want %v", got, err, want)
	}
}

// registerOnce keeps go test -count=N from registering test_grad_norm
// twice, which would panic.
var registerOnce sync.Once

// registerTestGradNorm registers the step metric test_grad_norm, ‖g‖₂ of
// the batch gradient.
func registerTestGradNorm() {
	registerOnce.Do(func() {
		metric.Register(metric.Definition{Name: "test_grad_norm", Doc: "‖g‖₂ of the batch gradient, for the tests",
			Step: func(*metric.Env) (train.StepMetric, error) {
				return train.StepMetric{Name: "ignored", Measure: func(g []float64) (float64, error) { return floats.Norm(g, 2), nil }}, nil
			}})
	})
}

func TestRegister(t *testing.T) {
	noMetric := func(*metric.Env) (train.Metric, error) { return train.Metric{}, nil }
	noStep := func(*metric.Env) (train.StepMetric, error) { return train.StepMetric{}, nil }
	for _, tc := range []struct {
		name string
		def  metric.Definition
		want string // in the panic message
	}{
		{"duplicate built-in", metric.Definition{Name: "train_loss", New: noMetric}, `twice for "train_loss"`},
		{"neither New nor Step", metric.Definition{Name: "test_neither"}, "exactly one of New and Step"},
		{"both New and Step", metric.Definition{Name: "test_both", New: noMetric, Step: noStep}, "exactly one of New and Step"},
		{"empty name", metric.Definition{New: noMetric}, "needs a name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if r == nil || !strings.Contains(msg, tc.want) {
					t.Errorf("Register(%+v) panicked with %v, want a panic containing %q", tc.def.Name, r, tc.want)
				}
			}()
			metric.Register(tc.def)
		})
	}
	// The rejected definitions were not registered.
	for _, d := range metric.Definitions() {
		if d.Name == "test_neither" || d.Name == "test_both" || d.Name == "" {
			t.Errorf("a rejected Definition %q is listed", d.Name)
		}
	}

	m := models.NewDLN(3)
	if err := metric.Check([]string{"test_grad_norm_unregistered"}, m); err == nil {
		t.Error("Check accepted a name never registered")
	}
	registerTestGradNorm()
	if err := metric.Check([]string{"l0", "test_grad_norm"}, m); err != nil {
		t.Errorf("Check after Register: %v", err)
	}
	// A registered metric is for every model, not only the DLN.
	if err := metric.Check([]string{"test_grad_norm"}, models.NewMLP(graph.Float64, true, 3, 4, 1)); err != nil {
		t.Errorf("Check on an MLP after Register: %v", err)
	}
	defs := metric.Definitions()
	var got []string
	for _, d := range defs {
		got = append(got, d.Name)
	}
	if !slices.IsSorted(got) {
		t.Errorf("Definitions are not sorted by name: %q", got)
	}
	for _, name := range append(slices.Clone(builtins), "test_grad_norm") {
		if !slices.Contains(got, name) {
			t.Errorf("Definitions %q lack %q", got, name)
		}
	}
	// The DLN's own metrics are the model's, not registered ones.
	for _, name := range []string{"l0", "l1", "balancedness"} {
		if slices.Contains(got, name) {
			t.Errorf("Definitions list the DLN's own %q", name)
		}
	}
	for _, d := range defs {
		if d.Doc == "" {
			t.Errorf("Definition %q has no Doc", d.Name)
		}
	}

	// Build uses it as a step metric under its registered name.
	ms, steps, err := metric.Build([]string{"l0", "test_grad_norm"}, &metric.Env{Model: m})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || len(steps) != 1 || steps[0].Name != "test_grad_norm" {
		t.Fatalf("Build gave metrics %d and steps %+v, want l0 and test_grad_norm", len(ms), steps)
	}
	if v, err := steps[0].Measure([]float64{3, 4}); err != nil || v != 5 {
		t.Errorf("test_grad_norm of (3, 4) = %v (%v), want 5", v, err)
	}
}

// TestCheckErrorsAreJoined makes sure the problems can be told apart by
// errors.Join's Unwrap, as a configuration validator that prefixes each
// one needs.
func TestCheckErrorsAreJoined(t *testing.T) {
	err := metric.Check([]string{"a", "b"}, models.NewDLN(2))
	var u interface{ Unwrap() []error }
	if !errors.As(err, &u) || len(u.Unwrap()) != 2 {
		t.Fatalf("Check of two unknown names = %v, want two joined errors", err)
	}
}

// TestFeatureMetricNames checks the names of the metrics of feature maps:
// the plain name for the last map, NAME_MAP for any map, and errors for
// a map the model lacks or a model without maps.
func TestFeatureMetricNames(t *testing.T) {
	mlp := models.NewMLP(graph.Float64, true, 3, 4, 2, 1)
	for _, tc := range []struct {
		names []string
		model graph.Model
		want  string // substring of the error; "" to accept
	}{
		{[]string{"feature_sparsity", "feature_sparsity_1", "feature_sparsity_2", "dead_or_duplicate_1", "active_fraction"}, mlp, ""},
		{[]string{"feature_sparsity_3"}, mlp, `"feature_sparsity_3" is not a metric`},
		{[]string{"feature_sparsity"}, models.NewDLN(3), "needs a feature map"},
		{[]string{"feature_sparsity_1"}, models.NewDLN(3), `"feature_sparsity_1" is not a metric`},
	} {
		err := metric.Check(tc.names, tc.model)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Check(%v) = %v, want %q", tc.names, err, tc.want)
		}
	}
	// The plain name measures the last map, 2; NAME_1 the first.
	mlp.InitUniform(data.NewNumpyRand(1))
	set := data.Set{X: []float64{1, 2, 3, -1, 0, 2, 0.5, -2, 1, 3, 1, -1}, Y: make([]float64, 4), N: 4, D: 3}
	env := &metric.Env{Model: mlp, Loss: graph.MSE, Train: set, Test: set, Points: 1, Features: metric.FeatureOptions{Threshold: 0.999}}
	ms, _, err := metric.Build([]string{"active_fraction", "active_fraction_2", "active_fraction_1"}, env)
	if err != nil {
		t.Fatal(err)
	}
	var v [3]float64
	for i, m := range ms {
		if v[i], err = m.Measure(); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := graph.CompileLoss(mlp, graph.OutputSum, 4)
	p.Run(set.X, nil)
	for k, name := range []string{"2", "1"} {
		phi := make([]float64, 4*p.FeatureWidth(name))
		p.Feature(name, phi)
		nz := 0
		for _, a := range phi {
			if a != 0 {
				nz++
			}
		}
		if want := float64(nz) / float64(len(phi)); v[k+1] != want {
			t.Errorf("active_fraction_%s = %v, want %v", name, v[k+1], want)
		}
	}
	if v[0] != v[1] {
		t.Errorf("active_fraction %v differs from that of the last map, 2: %v", v[0], v[1])
	}
	// The exported constructor, for train.Run without a configuration.
	fs, err := metric.FeatureSparsity(mlp, set, "1", 4, 0.999)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fs.Measure()
	if err != nil {
		t.Fatal(err)
	}
	phi := mat.NewDense(4, p.FeatureWidth("1"), nil)
	p.Feature("1", phi.RawMatrix().Data)
	if want, _ := analysis.FeatureSparsity(phi, 0.999); fs.Name != "feature_sparsity" || got != want {
		t.Errorf("FeatureSparsity metric %s = %v, want feature_sparsity = %v", fs.Name, got, want)
	}
}

// TestScaledAndRankMetrics checks effective_rank and the scaled_ metrics
// against the analysis functions on the map read directly, after the
// readout weights have moved, and that a map the output is not linear in
// is refused.
func TestScaledAndRankMetrics(t *testing.T) {
	net := models.NewTwoLayer(graph.Float64, 3, 5)
	net.InitScaled(0.7, data.NewNumpyRand(2))
	set := gaussianSet(6, 3, 4)
	env := &metric.Env{Model: net, Loss: graph.MSE, Train: set, Test: set, Points: 1}
	ms, _, err := metric.Build([]string{"effective_rank", "scaled_nuclear_norm", "scaled_active_fraction"}, env)
	if err != nil {
		t.Fatal(err)
	}
	// a = 0 at initialisation; give it values, one of them zero.
	a := []float64{1.5, -0.5, 0, 2, -1}
	net.A.Set(a)
	p, _ := graph.CompileLoss(net, graph.OutputSum, set.N)
	p.Run(set.X, nil)
	phi := mat.NewDense(set.N, 5, nil)
	p.Feature("1", phi.RawMatrix().Data)
	scaled := mat.DenseCopyOf(phi)
	for i := 0; i < set.N; i++ {
		for j, aj := range a {
			scaled.Set(i, j, scaled.At(i, j)*aj)
		}
	}
	er, _ := analysis.FeatureEffectiveRank(phi)
	nn, _ := analysis.NuclearNorm(scaled)
	for i, want := range []float64{er, nn, analysis.NonZeroFraction(scaled)} {
		got, err := ms[i].Measure()
		if err != nil || math.Abs(got-want) > 1e-12*math.Max(1, want) {
			t.Errorf("metric %d = %v (%v), want %v", i, got, err, want)
		}
	}
	if nz := analysis.NonZeroFraction(scaled); nz >= analysis.NonZeroFraction(phi) && analysis.NonZeroFraction(phi) > 0 {
		t.Errorf("a zero readout weight left the scaled non-zero fraction at %v ≥ %v", nz, analysis.NonZeroFraction(phi))
	}
	// The first hidden layer of a two-hidden-layer net does not feed the
	// output linearly.
	mlp := models.NewMLP(graph.Float64, true, 3, 4, 2, 1)
	env.Model = mlp
	if _, _, err := metric.Build([]string{"scaled_nuclear_norm_1"}, env); err == nil || !strings.Contains(err.Error(), "not linear") {
		t.Errorf("scaled metric of a hidden layer before the last: %v, want a 'not linear' error", err)
	}
	if _, _, err := metric.Build([]string{"scaled_nuclear_norm_2"}, env); err != nil {
		t.Errorf("scaled metric of the last hidden layer of a one-output MLP: %v", err)
	}
}

// TestBatchSharpnessOnQuadratic checks the Monte-Carlo batch sharpness of
// a linear model under ½·MSE, whose batch Hessians are known: H_B =
// (1/B)Σ x_i x_iᵀ and g_B = (1/B)Σ r_i x_i. The estimate must lie within
// three of its standard errors of the exact mean of g_Bᵀ H_B g_B / ‖g_B‖²
// over all batches of distinct examples, and stop at the requested
// relative error.
func TestBatchSharpnessOnQuadratic(t *testing.T) {
	const n, d = 7, 3
	set := gaussianSet(n, d, 5)
	lin := models.NewMLP(graph.Float64, false, d, 1)
	lin.W[0].Set([]float64{0.3, -1.2, 0.8})
	w := lin.W[0].Float64s()
	x := func(i int) []float64 { return set.X[i*d : (i+1)*d] }
	r := func(i int) float64 { return floats.Dot(x(i), w) - set.Y[i] }
	for _, batch := range []int{1, 2, 3} {
		// The exact mean over the C(n, batch) batches.
		var sum float64
		var count int
		var subsets func(start int, chosen []int)
		subsets = func(start int, chosen []int) {
			if len(chosen) == batch {
				g, hg := make([]float64, d), make([]float64, d)
				for _, i := range chosen {
					floats.AddScaled(g, r(i)/float64(batch), x(i))
				}
				for _, i := range chosen {
					floats.AddScaled(hg, floats.Dot(x(i), g)/float64(batch), x(i))
				}
				sum += floats.Dot(g, hg) / floats.Dot(g, g)
				count++
				return
			}
			for i := start; i < n; i++ {
				subsets(i+1, append(chosen, i))
			}
		}
		subsets(0, nil)
		want := sum / float64(count)
		s, err := metric.NewBatchSharpness(lin, graph.HalfMSE, set, metric.BatchSharpnessOptions{Batch: batch, RelErr: 0.01, Seed: 3}, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		got, se, batches, err := s.Estimate()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("batch %d: estimate %.5g ± %.2g over %d batches, exact %.5g", batch, got, se, batches, want)
		if math.Abs(got-want) > 3*se || !(se > 0) {
			t.Errorf("batch %d: estimate %v ± %v, exact %v: off by %.1f standard errors", batch, got, se, want, math.Abs(got-want)/se)
		}
		if se > 0.01*got && batches < 1000 {
			t.Errorf("batch %d: stopped at %d batches with relative error %.3g > 0.01", batch, batches, se/got)
		}
	}
	if _, err := metric.NewBatchSharpness(lin, graph.HalfMSE, set, metric.BatchSharpnessOptions{Batch: n + 1}, 1, 1); err == nil {
		t.Error("batch larger than the data: no error")
	}
	// In a run: the standard error comes with each estimate, NaN where
	// the estimate is skipped.
	env := &metric.Env{Model: lin, Loss: graph.HalfMSE, Train: set, Test: set, Points: 3, Batch: 2, BatchSharpness: metric.BatchSharpnessOptions{Every: 2}}
	ms, _, err := metric.Build([]string{"batch_sharpness", "batch_sharpness_se"}, env)
	if err != nil {
		t.Fatal(err)
	}
	for point := 0; point < 3; point++ {
		v, _ := ms[0].Measure()
		se, _ := ms[1].Measure()
		if due := point != 1; due != !math.IsNaN(v) || math.IsNaN(v) != math.IsNaN(se) || due && !(se > 0 && se < 0.05*v) {
			t.Errorf("point %d: batch_sharpness %v ± %v", point, v, se)
		}
	}
}

// TestBlockSharpness checks the in-loop block sharpness against λ_max of
// the block of the assembled Hessian, through analysis.Block.
func TestBlockSharpness(t *testing.T) {
	net := models.NewTwoLayer(graph.Float64, 3, 5)
	net.InitScaled(0.7, data.NewNumpyRand(2))
	a := make([]float64, 5)
	data.NewNumpyRand(8).Normals(a)
	net.A.Set(a)
	set := gaussianSet(6, 3, 4)
	env := &metric.Env{Model: net, Loss: graph.MSE, Train: set, Test: set, Points: 1, BlockSharpness: metric.BlockSharpnessOptions{Params: []string{"a"}}}
	ms, _, err := metric.Build([]string{"block_sharpness"}, env)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ms[0].Measure()
	if err != nil {
		t.Fatal(err)
	}
	// The a-block of MSE is (2/n)·ΦᵀΦ with Φ = relu(XW): its λ_max.
	p, _ := graph.CompileLoss(net, graph.OutputSum, set.N)
	p.Run(set.X, nil)
	phi := mat.NewDense(set.N, 5, nil)
	p.Feature("1", phi.RawMatrix().Data)
	var g mat.SymDense
	g.SymOuterK(2/float64(set.N), phi.T())
	var es mat.EigenSym
	es.Factorize(&g, false)
	want := es.Values(nil)[4]
	if math.Abs(got-want) > 1e-9*want {
		t.Errorf("block_sharpness of a = %v, want λ_max((2/n)ΦᵀΦ) = %v", got, want)
	}
	env.BlockSharpness.Params = []string{"b"}
	if _, _, err := metric.Build([]string{"block_sharpness"}, env); err == nil || !strings.Contains(err.Error(), `no parameter "b"`) {
		t.Errorf("block of an unknown parameter: %v", err)
	}
}
