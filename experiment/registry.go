package experiment

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/metric"
	"sgdlab/models"
	"sgdlab/train"
)

// dlnGrid is the evaluation grid of the diagonal-network notebooks: 348
// points, the last at 99 599.
var dlnGrid = train.Grid{Kind: "paper", T: 100001, First: 100, Linspace: 250}

// dlnDecay returns the paper's DLN schedule "η0, divided by factor at t".
// The authors divide after the update at t, so update t+1 is the first
// with the new step size.
func dlnDecay(lr float64, t int, factor float64) train.ScheduleSpec {
	return train.ScheduleSpec{Kind: "piecewise", LR: lr, Decays: []train.Decay{{At: t + 1, Factor: factor}}}
}

// paperRetry lowers a diverging step size in steps of 0.002, the grid on
// which the spec calibrated the E1 divergence threshold.
var paperRetry = &Retry{Step: 0.002, Max: 5}

func dlnSGD() Config {
	sgd := Optimizer{Kind: "sgd", Batch: 1, Seed: 1}
	return Config{
		Name: "dln-sgd",
		Description: "E1: diagonal linear network on sparse regression (n=80, d=200, r=20); " +
			"SGD with η=0.25, and with η=0.282 decayed at 10/30/50 % of the iterations",
		Data:       Data("sparse_regression", &data.SparseRegression{N: 80, D: 200, R: 20, NTest: 1000, Seed: 0}),
		Model:      Model("dln", &models.DLNSpec{D: 200, Alpha: 0.1, Init: "const"}),
		Loss:       graph.HalfMSE,
		Iterations: 100001,
		Grid:       dlnGrid,
		Metrics:    []string{"train_loss", "test_loss", "l0", "l1", "l2_uv", "balancedness", "rank", "sharpness", "step_cosine"},
		Rank:       metric.RankOptions{Examples: 400, Threshold: 1e-15, Every: 1},
		Sharpness:  metric.SharpnessOptions{Every: 1},
		Runs: []RunSpec{
			{Name: "baseline", Label: "SGD η=0.25", Optimizer: sgd, Schedule: train.ScheduleSpec{Kind: "constant", LR: 0.25}},
			{Name: "decay-10", Label: "SGD η={eta}, decay at 10 %", Optimizer: sgd, Schedule: dlnDecay(0.282, 10000, 4.8), Retry: paperRetry},
			{Name: "decay-30", Label: "SGD η={eta}, decay at 30 %", Optimizer: sgd, Schedule: dlnDecay(0.282, 30000, 3.4), Retry: paperRetry},
			{Name: "decay-50", Label: "SGD η={eta}, decay at 50 %", Optimizer: sgd, Schedule: dlnDecay(0.282, 50000, 1.5), Retry: paperRetry},
		},
		Figures: []FigureSpec{{
			File:  "dln-sgd.png",
			Title: "Diagonal linear network, SGD with large step sizes (E1)",
			Panels: []PanelSpec{
				{Metric: "train_loss", Title: "train loss", YLabel: "½·MSE", LogY: true, YMin: 1e-5, YMax: 1},
				{Metric: "test_loss", Title: "test loss", YLabel: "½·MSE", LogY: true},
				{Metric: "rank", Title: "rank of φ(X), threshold 1e-15", YLabel: "rank"},
				{Metric: "l0", Title: "‖β‖₀ of β = u·v, threshold 1e-50", YLabel: "non-zero coordinates"},
			},
		}, sharpnessFigure("dln-sgd-sharpness.png", "E1: sharpness and the bouncing direction")},
	}
}

// sharpnessFigure shows λ_max of the training-loss Hessian against 2/η(t)
// and how much of each update points along the top eigenvector.
func sharpnessFigure(file, title string) FigureSpec {
	return FigureSpec{
		File:  file,
		Title: title,
		Panels: []PanelSpec{
			{Metric: "train_loss", Title: "train loss", YLabel: "½·MSE", LogY: true},
			{Metric: "sharpness", Title: "λ_max of the train-loss Hessian (dashed: 2/η)", YLabel: "sharpness", LogY: true, Reference: "2/lr"},
			{Metric: "step_cosine", Title: "|cos(update, top eigenvector)|", YLabel: "cosine", YMin: 0, YMax: 1},
		},
	}
}

func dlnGD() Config {
	gd := Optimizer{Kind: "gd"}
	return Config{
		Name: "dln-gd",
		Description: "E2: diagonal linear network (n=40, d=100, r=20); full-batch GD with γ=2, " +
			"GD with γ=3.53 decayed at 10/30/50 %, and SGD with η=0.272 divided by 20 at 50 %",
		Data:       Data("sparse_regression", &data.SparseRegression{N: 40, D: 100, R: 20, NTest: 1000, Seed: 0}),
		Model:      Model("dln", &models.DLNSpec{D: 100, Alpha: 0.1, Init: "const"}),
		Loss:       graph.HalfMSE,
		Iterations: 100001,
		Grid:       dlnGrid,
		Metrics:    []string{"train_loss", "test_loss", "l0", "l1", "l2_uv", "balancedness", "sharpness", "step_cosine"},
		Sharpness:  metric.SharpnessOptions{Every: 1},
		Runs: []RunSpec{
			{Name: "gd", Label: "GD γ=2", Optimizer: gd, Schedule: train.ScheduleSpec{Kind: "constant", LR: 2}, Palette: "reds"},
			{Name: "gd-decay-10", Label: "GD γ=3.53, decay at 10 %", Optimizer: gd, Schedule: dlnDecay(3.53, 10000, 4.8), Palette: "reds"},
			{Name: "gd-decay-30", Label: "GD γ=3.53, decay at 30 %", Optimizer: gd, Schedule: dlnDecay(3.53, 30000, 3.4), Palette: "reds"},
			{Name: "gd-decay-50", Label: "GD γ=3.53, decay at 50 %", Optimizer: gd, Schedule: dlnDecay(3.53, 50000, 1.5), Palette: "reds"},
			{Name: "sgd-decay-50", Label: "SGD η={eta}, ÷20 at 50 %", Optimizer: Optimizer{Kind: "sgd", Batch: 1, Seed: 1},
				Schedule: dlnDecay(0.272, 50000, 20), Retry: paperRetry},
		},
		Figures: []FigureSpec{{
			File:  "dln-gd.png",
			Title: "Diagonal linear network, GD vs SGD with large step sizes (E2)",
			Panels: []PanelSpec{
				{Metric: "train_loss", Title: "train loss", YLabel: "½·MSE", LogY: true},
				{Metric: "test_loss", Title: "test loss", YLabel: "½·MSE", LogY: true},
				{Metric: "l0", Title: "‖β‖₀ of β = u·v, threshold 1e-50", YLabel: "non-zero coordinates"},
			},
		}, sharpnessFigure("dln-gd-sharpness.png", "E2: sharpness against 2/η (edge of stability) and the bouncing direction")},
		// GD with γ = 3.53 before its first decay, beside its central flow.
		CentralFlow: &CentralFlowSpec{Run: "gd-decay-10", Steps: 1000, File: "dln-gd-central-flow.png"},
	}
}

func dlnSurface() Config {
	gd := Optimizer{Kind: "gd"}
	return Config{
		Name: "dln-surface",
		Description: "E3: diagonal linear network (n=20, d=30, r=3); gradient flow (GD γ=0.03), GD γ=3 and " +
			"SGD γ=0.6 both divided by 3 at 50 %, and the train and test loss over the plane through w0, w* and the flow's end",
		Data:       Data("sparse_regression", &data.SparseRegression{N: 20, D: 30, R: 3, NTest: 1000, Seed: 0}),
		Model:      Model("dln", &models.DLNSpec{D: 30, Alpha: 0.1, Init: "const"}),
		Loss:       graph.HalfMSE,
		Iterations: 10001,
		// The notebook records after updates 0…499 and on a log grid, and
		// prepends the initial point: 567 points, the last after the
		// final update.
		Grid:    train.Grid{Kind: "log", T: 10001, First: 500, Points: 200, After: true},
		Metrics: []string{"train_loss", "test_loss", "l0", "l2_uv"},
		Runs: []RunSpec{
			{Name: "flow", Label: "gradient flow (GD γ=0.03)", Optimizer: gd, Schedule: train.ScheduleSpec{Kind: "constant", LR: 0.03}, Palette: "reds"},
			{Name: "gd", Label: "GD γ=3, ÷3 at 50 %", Optimizer: gd, Schedule: dlnDecay(3, 5000, 3), Palette: "reds"},
			{Name: "sgd", Label: "SGD γ=0.6, ÷3 at 50 %", Optimizer: Optimizer{Kind: "sgd", Batch: 1, Seed: 2}, Schedule: dlnDecay(0.6, 5000, 3)},
		},
		Figures: []FigureSpec{{
			File:  "dln-surface-losses.png",
			Title: "Diagonal linear network: gradient flow, GD and SGD (E3)",
			Panels: []PanelSpec{
				{Metric: "train_loss", Title: "train loss", YLabel: "½·MSE", LogY: true},
				{Metric: "test_loss", Title: "test loss", YLabel: "½·MSE", LogY: true},
				{Metric: "l0", Title: "‖β‖₀ of β = u·v, threshold 1e-50", YLabel: "non-zero coordinates"},
			},
		}},
		Surface: &SurfaceSpec{
			Flow:      "flow",
			Alpha:     Range{Min: -0.5, Max: 2.3, N: 100},
			Beta:      Range{Min: -0.5, Max: 2.3, N: 100},
			Clip:      100,
			Paths:     []SurfacePath{{Run: "gd", Style: "gd"}, {Run: "sgd", Abs: true, Style: "sgd"}},
			TrainFile: "dln-surface-train.png",
			TestFile:  "dln-surface-test.png",
		},
		CentralFlow: &CentralFlowSpec{Run: "gd", Steps: 1000, File: "dln-surface-central-flow.png"},
	}
}

// relu1dWarmup is E4's schedule: γ = 2e-4 warmed up linearly in i/T to
// the factor 400·p at update ⌊pT⌋ of T = 31 623, where it is divided by
// decay and then stays (spec E4, cell 1).
func relu1dWarmup(p, decay float64) train.ScheduleSpec {
	const t = 31623
	return train.ScheduleSpec{Kind: "warmup", LR: 2e-4, Total: t, Until: int(p * t), Factor: 400 * p, Exponent: 1, Decay: decay}
}

func relu1D() Config {
	// np.random.choice(12, 1, replace=False) after np.random.seed(3).
	sgd := Optimizer{Kind: "sgd_noreplace", Batch: 1, Seed: 3}
	return Config{
		Name: "relu-1d",
		Description: "E4: two-layer ReLU net (100 neurons, Blanc et al. init) on 12 fixed 1D points; SGD batch 1, " +
			"linear warm-up of γ=2e-4 in i/T, decayed at 2 % or 50 % of 31 623 iterations",
		Data:       Data("relu_1d", &data.ReLU1D{EvalPoints: 300, Seed: 3}),
		Model:      Model("mlp", &models.MLPSpec{Sizes: []int{1, 100, 1}, Biases: []bool{true, false}, Init: "blanc", Scales: []float64{1, 1}, Seed: 3, RNG: "torch"}),
		Loss:       graph.MSE,
		Iterations: 31623,
		Grid:       train.Grid{Kind: "paper", T: 31623, First: 100, Linspace: 151},
		Metrics:    []string{"train_loss", "test_loss", "rank", "feature_sparsity", "dead_or_duplicate", "pattern_distance", "scaled_nuclear_norm", "scaled_active_fraction"},
		Rank:       metric.RankOptions{Examples: 300, Threshold: 1e-4, Every: 1, Set: "eval"},
		Features:   metric.FeatureOptions{Threshold: 0.999},
		Runs: []RunSpec{
			{Name: "decay-2", Label: "SGD, warm-up to ×8, ÷2.5 at 2 %", Optimizer: sgd, Schedule: relu1dWarmup(0.02, 2.5)},
			{Name: "decay-50", Label: "SGD, warm-up to ×200, ÷3 at 50 %", Optimizer: sgd, Schedule: relu1dWarmup(0.5, 3)},
		},
		Figures: []FigureSpec{{
			File:  "relu-1d.png",
			Title: "Two-layer ReLU net on a 1D regression: a longer large-step phase, sparser features (E4)",
			Panels: []PanelSpec{
				{Metric: "train_loss", Title: "train loss", YLabel: "MSE", LogY: true, YMin: 1e-4, YMax: math.Pow(10, 1.5)},
				{Metric: "rank", Title: "rank of φ(X_eval), threshold 1e-4", YLabel: "rank"},
				{Metric: "feature_sparsity", Title: "feature sparsity, ρ* = 0.999", YLabel: "fraction"},
			},
		}},
		// The notebook's x grid: step 0.01 with a margin of 5 steps; the
		// snapshots of its cell 3, at evaluation points 99, 101, 105, 130,
		// 170 and 248.
		Function: &FunctionSpec{File: "relu-1d-function.png", Title: "E4: the learned functions", X: Range{Min: -1.355, Max: 1.495, N: 286},
			Snapshots: []int{99, 422, 1265, 6535, 14968, 31412}},
	}
}

// teacher2Layer is E5 as the authors ran it: their teacher, data,
// student initialisation and index stream (torch and numpy seeded as in
// fc_nets_two_layer.ipynb), and their step sizes. On fresh teachers
// η = 0.455 mostly diverges; the C4 test calibrates η per teacher.
func teacher2Layer() Config {
	const t = 14126
	// np.random.choice(15, 1, replace=False) after np.random.seed(0).
	sgd := Optimizer{Kind: "sgd_noreplace", Batch: 1, Seed: 0}
	decayed := func(name string, frac, factor float64) RunSpec {
		at := int(frac * t)
		return RunSpec{Name: name, Label: fmt.Sprintf("SGD η=0.455, ÷%g at %g %%", factor, 100*frac), Optimizer: sgd,
			Schedule: train.ScheduleSpec{Kind: "piecewise", LR: 0.455, Decays: []train.Decay{{At: at, Factor: factor}}}}
	}
	return Config{
		Name: "teacher-2layer",
		Description: "E5: two-layer ReLU teacher–student in d=2 (3 teacher neurons, 20 student neurons, 15 points), " +
			"the authors' draw; SGD batch 1 with η=0.13, and with η=0.455 decayed at 10/30/50 %",
		Data:       Data("teacher_student", &data.TeacherStudent{D: 2, N: 15, NTest: 1000, Hidden: []int{3}, Teacher: "unit", Seed: 1, RNG: "torch"}),
		Model:      Model("two_layer", &models.TwoLayerSpec{D: 2, M: 20, Scale: 0.5, Seed: 0, RNG: "torch"}),
		Loss:       graph.MSE,
		Iterations: t,
		Grid:       train.Grid{Kind: "paper", T: t, First: 100, Linspace: 151},
		Metrics: []string{"train_loss", "test_loss", "rank", "feature_sparsity", "scaled_nuclear_norm", "scaled_active_fraction", "pattern_distance",
			"sharpness", "batch_sharpness", "batch_sharpness_se"},
		Rank:           metric.RankOptions{Examples: 60, Threshold: 1e-4, Every: 1},
		Features:       metric.FeatureOptions{Threshold: 0.99},
		Sharpness:      metric.SharpnessOptions{Every: 2},
		BatchSharpness: metric.BatchSharpnessOptions{Every: 2},
		Runs: []RunSpec{
			{Name: "small", Label: "SGD η=0.13", Optimizer: sgd, Schedule: train.ScheduleSpec{Kind: "constant", LR: 0.13}},
			decayed("decay-10", 0.1, 2), decayed("decay-30", 0.3, 4), decayed("decay-50", 0.5, 5),
		},
		Figures: []FigureSpec{{
			File:  "teacher-2layer.png",
			Title: "Two-layer ReLU teacher–student, d = 2 (E5)",
			Panels: []PanelSpec{
				{Metric: "train_loss", Title: "train loss", YLabel: "MSE", LogY: true},
				{Metric: "test_loss", Title: "test loss", YLabel: "MSE", LogY: true},
				{Metric: "rank", Title: "rank of φ(X_test[:60]), threshold 1e-4", YLabel: "rank"},
				{Metric: "feature_sparsity", Title: "feature sparsity, ρ* = 0.99", YLabel: "fraction"},
			},
		}, {
			File:  "teacher-2layer-sharpness.png",
			Title: "E5: λ_max (lines) and batch sharpness (dots) against 2/η (dashed)",
			Panels: []PanelSpec{
				{Metric: "train_loss", Title: "train loss", YLabel: "MSE", LogY: true},
				{Metric: "sharpness", Also: "batch_sharpness", Title: "curvature", YLabel: "sharpness", LogY: true, Reference: "2/lr"},
			},
		}},
		Neurons: &NeuronSpec{File: "teacher-2layer-neurons.png"},
	}
}

func teacher3Layer() Config {
	const t = 10001
	// np.random.choice(50, 1, replace=False) after np.random.seed(5).
	sgd := Optimizer{Kind: "sgd_noreplace", Batch: 1, Seed: 5}
	// γ = 0.04 warmed up as γ(1 + 5·√(i/T)) up to ⌊pT⌋, divided there.
	warm := func(name string, p, decay float64) RunSpec {
		return RunSpec{Name: name, Label: fmt.Sprintf("SGD η={eta}, √ warm-up, ÷%g at %g %%", decay, 100*p), Optimizer: sgd,
			Schedule: train.ScheduleSpec{Kind: "warmup", LR: 0.04, Total: t, Until: int(p * t), Factor: 6, Exponent: 0.5, Decay: decay}}
	}
	return Config{
		Name: "teacher-3layer",
		Description: "E6: three-layer ReLU teacher–student (teacher 5-2-2-1, student 5-10-10-1 with biases, 50 points); " +
			"SGD batch 1 with η=0.011, and with η=0.04 warmed up (√) and decayed at 10/30/50 %",
		Data:       Data("teacher_student", &data.TeacherStudent{D: 5, N: 50, NTest: 1000, Hidden: []int{2, 2}, Teacher: "gaussian", Seed: 6, RNG: "torch"}),
		Model:      Model("mlp", &models.MLPSpec{Sizes: []int{5, 10, 10, 1}, Bias: true, Init: "gaussian", Scales: []float64{0.8}, Seed: 5, RNG: "torch"}),
		Loss:       graph.MSE,
		Iterations: t,
		Grid:       train.Grid{Kind: "paper", T: t, First: 100, Linspace: 151},
		Metrics:    []string{"train_loss", "test_loss", "rank", "feature_sparsity_1", "feature_sparsity_2", "active_fraction_1", "active_fraction_2", "effective_rank_2"},
		Rank:       metric.RankOptions{Examples: 181, Threshold: 1e-4, Every: 1},
		Features:   metric.FeatureOptions{Threshold: 0.99},
		Runs: []RunSpec{
			{Name: "small", Label: "SGD η=0.011", Optimizer: sgd, Schedule: train.ScheduleSpec{Kind: "constant", LR: 0.011}},
			warm("decay-10", 0.1, 3.5), warm("decay-30", 0.3, 2.5), warm("decay-50", 0.5, 5),
		},
		Figures: []FigureSpec{{
			File:  "teacher-3layer.png",
			Title: "Three-layer ReLU teacher–student (E6)",
			Panels: []PanelSpec{
				{Metric: "train_loss", Title: "train loss", YLabel: "MSE", LogY: true},
				{Metric: "test_loss", Title: "test loss", YLabel: "MSE", LogY: true},
				{Metric: "rank", Title: "rank of φ(X_test[:181]), threshold 1e-4", YLabel: "rank"},
				{Metric: "feature_sparsity_1", Title: "feature sparsity, layer 1", YLabel: "fraction"},
				{Metric: "feature_sparsity_2", Title: "feature sparsity, layer 2", YLabel: "fraction"},
			},
		}},
	}
}

// registry holds the paper's experiments in the order `sgdlab list`
// shows them; byName those that run only when named, on data a user
// supplies.
var (
	registry = []func() Config{dlnSGD, dlnGD, dlnSurface, relu1D, teacher2Layer, teacher3Layer, mnist}
	byName   = []func() Config{cifar10, cifar10Plain}
)

// All returns every experiment that runs on data sgdlab has: those of
// `sgdlab reproduce` without names.
func All() []Config {
	out := make([]Config, len(registry))
	for i, f := range registry {
		out[i] = f()
	}
	return out
}

// Names returns the names of the registered experiments, those of All
// first.
func Names() []string {
	var names []string
	for _, f := range append(slices.Clone(registry), byName...) {
		names = append(names, f().Name)
	}
	return names
}

// Lookup returns a fresh copy of the registered experiment name.
func Lookup(name string) (Config, error) {
	for _, f := range append(slices.Clone(registry), byName...) {
		if c := f(); c.Name == name {
			return c, nil
		}
	}
	return Config{}, fmt.Errorf("unknown experiment %q (valid: %s)", name, strings.Join(Names(), ", "))
}

// Quick returns c shrunk tenfold for a fast look: a tenth of the
// iterations, the grid, the decay points and warm-ups scaled alike, and
// the rank at every fourth evaluation point. The numbers are not the
// paper's.
func (c Config) Quick() Config {
	c.Iterations = c.Iterations/10 + 1
	c.Grid.T = c.Grid.T/10 + 1
	if c.Rank.Every > 0 {
		c.Rank.Every *= 4
	}
	runs := make([]RunSpec, len(c.Runs))
	for i, r := range c.Runs {
		decays := make([]train.Decay, len(r.Schedule.Decays))
		for k, d := range r.Schedule.Decays {
			decays[k] = train.Decay{At: d.At / 10, Factor: d.Factor}
		}
		r.Schedule.Decays = decays
		switch r.Schedule.Kind {
		case "warmup":
			r.Schedule.Total, r.Schedule.Until = r.Schedule.Total/10+1, r.Schedule.Until/10
		case "deep_piecewise":
			r.Schedule.Epochs = max(1, r.Schedule.Epochs/10)
		}
		runs[i] = r
	}
	c.Runs = runs
	if c.CentralFlow != nil {
		f := *c.CentralFlow
		f.Steps = max(1, f.Steps/10)
		c.CentralFlow = &f
	}
	if c.Function.snapshots() {
		f := *c.Function
		f.Snapshots = c.shrunkSnapshots()
		c.Function = &f
	}
	return c
}

// shrunkSnapshots maps the function snapshots, of a run ten times as
// long, to the nearest distinct evaluation iterations of c's grid.
func (c Config) shrunkSnapshots() []int {
	evals, err := c.Grid.Iterations()
	if err != nil {
		return nil // Validate reports it
	}
	evals = evals[:countUpTo(evals, c.Iterations)]
	var out []int
	for _, it := range c.Function.Snapshots {
		k, _ := slices.BinarySearch(evals, it/10)
		if k == len(evals) || k > 0 && it/10-evals[k-1] < evals[k]-it/10 {
			k--
		}
		if k >= 0 && (len(out) == 0 || evals[k] > out[len(out)-1]) {
			out = append(out, evals[k])
		}
	}
	return out
}
