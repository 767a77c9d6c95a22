package metric

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"sgdlab/analysis"
	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/internal/registry"
	"sgdlab/models"
	"sgdlab/train"
)

// Env is what the metrics of one run measure: the model being trained,
// its loss and its data. An Env serves one call of Build: the metrics it
// builds share state (the sharpness and its step cosine).
type Env struct {
	Model       graph.Model
	Loss        graph.Loss
	Train, Test data.Set
	// Points is the number of evaluation points the run reaches. Metrics
	// computed only at every k-th point also compute the last.
	Points int
	// Batch is the run's batch size (batch_sharpness's default).
	Batch int
	// EvalBatch is the number of points the losses, errors and feature
	// maps are evaluated on at a time (all at once if 0): it bounds the
	// memory of a convolutional net's activations.
	EvalBatch      int
	Rank           RankOptions
	Sharpness      SharpnessOptions
	BlockSharpness BlockSharpnessOptions
	BatchSharpness BatchSharpnessOptions
	Features       FeatureOptions
	// Eval holds the data's evaluation points, if it has any.
	Eval data.Set

	sharp  *Sharpness       // shared by sharpness and step_cosine
	bsharp *BatchSharpness  // shared by batch_sharpness and its _se
	passes map[string]*pass // by set: shared by its loss and error
}

// Definition describes a registered metric.
type Definition struct {
	Name string
	// Doc says what the metric measures, with its units.
	Doc string
	// Needs names metrics that must be listed before this one (their
	// values are computed first at every point).
	Needs []string
	// New builds the metric for one run; a metric of the update itself
	// sets Step instead.
	New  func(env *Env) (train.Metric, error)
	Step func(env *Env) (train.StepMetric, error)
	// Layered marks a metric of the model's feature maps (see
	// FeatureOptions): the model must have one, and NAME_MAP names the
	// metric of map MAP.
	Layered bool
}

var registered = registry.New[Definition]("metric")

// Register makes a metric available to every model under d.Name. Like
// database/sql.Register it is meant for init functions, and panics if the
// name is empty or taken, or if d sets neither or both of New and Step.
func Register(d Definition) {
	if (d.New == nil) == (d.Step == nil) {
		panic("metric: Register needs exactly one of New and Step")
	}
	registered.Register(d.Name, d)
}

// Definitions returns the registered metrics, sorted by name.
func Definitions() []Definition {
	var out []Definition
	for _, name := range registered.Names() {
		d, _ := registered.Lookup(name)
		out = append(out, d)
	}
	return out
}

// Check reports every name in names that m cannot provide — unknown, or
// missing one of its Needs before it — and every repeated name, each as
// "metrics[i]: …". A model's own metric (models.Measured) may not take
// the name of a registered one.
func Check(names []string, m graph.Model) error {
	own := models.MetricNames(m)
	var errs []error
	var maps []string // the model's feature maps, once needed
	seen := make(map[string]bool, len(names))
	for i, name := range names {
		if seen[name] {
			errs = append(errs, fmt.Errorf("metrics[%d]: %q is listed twice", i, name))
			continue
		}
		seen[name] = true
		d, ok := registered.Lookup(name)
		if !ok && !slices.Contains(own, name) {
			if maps == nil {
				maps, _ = FeatureNames(m)
			}
			if _, _, found := splitLayer(name, maps); found {
				continue
			}
		}
		if ok && d.Layered {
			if maps == nil {
				maps, _ = FeatureNames(m)
			}
			if len(maps) == 0 {
				errs = append(errs, fmt.Errorf("metrics[%d]: %q needs a feature map, and this model (%T) tags none (see graph.Scope.Feature)", i, name, m))
				continue
			}
		}
		if slices.Contains(own, name) {
			// A shadowed metric would change meaning with the model, and
			// its dependants (step_cosine of sharpness) would silently
			// measure nothing.
			if ok {
				errs = append(errs, fmt.Errorf("metrics[%d]: the model (%T) offers its own %q, the name of a metric of every model; it must be renamed", i, m, name))
			}
			continue
		}
		if !ok {
			errs = append(errs, fmt.Errorf("metrics[%d]: %s", i, unknown(name, m, own)))
			continue
		}
		for _, need := range d.Needs {
			if !seen[need] {
				errs = append(errs, fmt.Errorf("metrics[%d]: %q needs %q listed before it", i, name, need))
			}
		}
	}
	return errors.Join(errs...)
}

// unknown explains that name is not a metric of m, listing those that are.
func unknown(name string, m graph.Model, own []string) string {
	var all []string
	for _, d := range Definitions() {
		all = append(all, d.Name)
	}
	mine := "none"
	if len(own) > 0 {
		mine = strings.Join(own, ", ")
	}
	return fmt.Sprintf("%q is not a metric of this model, %T (every model: %s; this model's own: %s)",
		name, m, strings.Join(all, ", "), mine)
}

// Build returns the metrics names for one run, in order, split into those
// measured at evaluation points and those of the update (see
// train.StepMetric). Check must have accepted names for env.Model.
func Build(names []string, env *Env) ([]train.Metric, []train.StepMetric, error) {
	var own []models.Metric
	if mm, ok := env.Model.(models.Measured); ok {
		own = mm.Metrics()
	}
	var ms []train.Metric
	var steps []train.StepMetric
	var maps []string // the model's feature maps, once needed
	for _, name := range names {
		if k := slices.IndexFunc(own, func(x models.Metric) bool { return x.Name == name }); k >= 0 {
			f := own[k].Measure
			ms = append(ms, train.Metric{Name: name, Measure: func() (float64, error) { return f(), nil }})
			continue
		}
		d, ok := registered.Lookup(name)
		if !ok {
			if maps == nil {
				// Building the graph once serves every NAME_MAP.
				maps, _ = FeatureNames(env.Model)
			}
			base, layer, found := splitLayer(name, maps)
			if !found {
				return nil, nil, fmt.Errorf("metric: unknown %q", name)
			}
			m, err := newFeatureMetric(env, base, layer)
			if err != nil {
				return nil, nil, fmt.Errorf("metric %s: %w", name, err)
			}
			m.Name = name
			ms = append(ms, m)
			continue
		}
		if d.Step != nil {
			s, err := d.Step(env)
			if err != nil {
				return nil, nil, fmt.Errorf("metric %s: %w", name, err)
			}
			s.Name = name
			steps = append(steps, s)
			continue
		}
		m, err := d.New(env)
		if err != nil {
			return nil, nil, fmt.Errorf("metric %s: %w", name, err)
		}
		m.Name = name
		ms = append(ms, m)
	}
	return ms, steps, nil
}

// ParamNorm returns the metric ‖θ‖₂ over all parameters of m, e.g.
// ‖(u, v)‖₂ for a DLN.
func ParamNorm(m graph.Model) train.Metric {
	return train.Metric{Name: "l2_uv", Measure: func() (float64, error) {
		return analysis.L2(graph.Flatten(m.Params())), nil
	}}
}

// every reports, for the i-th of points calls, whether a metric measured
// at every k-th point is due: at multiples of k and at the last point.
func every(i, k, points int) bool { return i%k == 0 || i == points-1 }

// RankOptions configure the rank of φ_θ(X) (spec §3.1): the Jacobian of
// the model's outputs on the first Examples test points, its singular
// values counted above Threshold·σ₁, at every Every-th evaluation point
// and the last.
type RankOptions struct {
	Examples  int     `json:"examples,omitempty"`
	Threshold float64 `json:"threshold,omitempty"`
	Every     int     `json:"every,omitempty"`
	// Set is the points the Jacobian is taken on: "test" (the default),
	// "train", or "eval" (the data's evaluation points, data.Evaluator).
	Set string `json:"set,omitempty"`
}

// Rank returns the metric rank(φ_θ(X)) of m on the first opt.Examples
// rows of x (a set of examples of m's input shape), NaN at the points it
// skips. points is the number of evaluation points of the run.
func Rank(m graph.Model, x data.Set, opt RankOptions, points int) (train.Metric, error) {
	k := opt.Examples
	if k < 1 || k > x.N || !(opt.Threshold > 0 && opt.Threshold < 1) || opt.Every < 1 {
		return train.Metric{}, fmt.Errorf("rank: need 1 ≤ examples ≤ %d, 0 < threshold < 1 and every ≥ 1, got %+v", x.N, opt)
	}
	jac, err := analysis.NewJacobian(m, x.X[:k*x.D], k)
	if err != nil {
		return train.Metric{}, err
	}
	call := 0
	return train.Metric{Name: "rank", Measure: func() (float64, error) {
		i := call
		call++
		if !every(i, opt.Every, points) {
			return math.NaN(), nil
		}
		r, err := jac.Rank(opt.Threshold)
		return float64(r), err
	}, Skip: func(n int) { call = n }}, nil
}

func init() {
	for name, l := range layered {
		Register(Definition{Name: name, Doc: l.doc + "; NAME_MAP for map MAP (see FeatureOptions)", Layered: true,
			New: func(e *Env) (train.Metric, error) { return newFeatureMetric(e, name, "") }})
	}
	Register(Definition{Name: "train_loss", Doc: "the loss on the whole training set",
		New: func(e *Env) (train.Metric, error) { return setMetric(e, "train_loss", "train", false) }})
	Register(Definition{Name: "test_loss", Doc: "the loss on the whole test set",
		New: func(e *Env) (train.Metric, error) { return setMetric(e, "test_loss", "test", false) }})
	Register(Definition{Name: "train_error", Doc: "fraction of the training set a classifier gets wrong (largest output not at the label)",
		New: func(e *Env) (train.Metric, error) { return setMetric(e, "train_error", "train", true) }})
	Register(Definition{Name: "test_error", Doc: "fraction of the test set a classifier gets wrong (largest output not at the label)",
		New: func(e *Env) (train.Metric, error) { return setMetric(e, "test_error", "test", true) }})
	Register(Definition{Name: "l2_uv", Doc: "‖θ‖₂ over all parameters, ‖(u, v)‖₂ for a DLN",
		New: func(e *Env) (train.Metric, error) { return ParamNorm(e.Model), nil }})
	Register(Definition{Name: "rank", Doc: "rank of the Jacobian φ_θ(X_test[:examples]) of the outputs, singular values above threshold·σ₁ (see RankOptions)",
		New: func(e *Env) (train.Metric, error) {
			set := e.Test
			switch e.Rank.Set {
			case "train":
				set = e.Train
			case "eval":
				set = e.Eval
			}
			return Rank(e.Model, set, e.Rank, e.Points)
		}})
	Register(Definition{Name: "sharpness", Doc: "λ_max of the Hessian of the training loss, Lanczos on exact Hessian-vector products (see SharpnessOptions)",
		New: func(e *Env) (train.Metric, error) {
			s, err := e.sharpness()
			if err != nil {
				return train.Metric{}, err
			}
			return s.Metric(), nil
		}})
	Register(Definition{Name: "block_sharpness", Doc: "λ_max of the diagonal block of the training-loss Hessian in some parameters, their curvature alone (see BlockSharpnessOptions)",
		New: func(e *Env) (train.Metric, error) {
			s, err := NewBlockSharpness(e.Model, e.Loss, e.Train, e.BlockSharpness, e.Points)
			if err != nil {
				return train.Metric{}, err
			}
			return s.Metric(), nil
		}})
	Register(Definition{Name: "batch_sharpness", Doc: "E_B[g_Bᵀ H_B g_B / ‖g_B‖²] over training batches, the curvature of each batch loss along its own gradient (edge of stochastic stability; see BatchSharpnessOptions)",
		New: func(e *Env) (train.Metric, error) {
			s, err := e.batchSharpness()
			if err != nil {
				return train.Metric{}, err
			}
			return s.Metric(), nil
		}})
	Register(Definition{Name: "batch_sharpness_se", Doc: "the standard error of batch_sharpness's Monte-Carlo mean at the same point",
		Needs: []string{"batch_sharpness"},
		New: func(e *Env) (train.Metric, error) {
			s, err := e.batchSharpness()
			if err != nil {
				return train.Metric{}, err
			}
			return s.SEMetric(), nil
		}})
	Register(Definition{Name: "step_cosine", Doc: "|cos| between the update and the top Hessian eigenvector of the same point",
		Needs: []string{"sharpness"},
		Step: func(e *Env) (train.StepMetric, error) {
			s, err := e.sharpness()
			if err != nil {
				return train.StepMetric{}, err
			}
			return s.StepCosine(), nil
		}})
}
