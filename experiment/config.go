package experiment

import (
	"errors"
	"fmt"
	"strings"

	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/models"
	"sgdlab/train"
)

// Config is one experiment: everything needed to reproduce its numbers
// and figures.
type Config struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Data        DataSpec   `json:"data"`
	Model       ModelSpec  `json:"model"`
	Loss        graph.Loss `json:"loss"`
	Iterations  int        `json:"iterations"` // updates per run
	Grid        train.Grid `json:"grid"`       // evaluation iterations
	Metrics     []string   `json:"metrics"`    // names, see MetricNames
	Rank        RankSpec   `json:"rank"`       // used by the "rank" metric
	// Sharpness configures the "sharpness" and "step_cosine" metrics.
	Sharpness SharpnessSpec `json:"sharpness,omitempty"`
	Runs      []RunSpec     `json:"runs"`
	Figures   []FigureSpec  `json:"figures"`
	// Surface, if set, draws loss surfaces with trajectories (E3).
	Surface *SurfaceSpec `json:"surface,omitempty"`
	// DivergeAbove is the batch loss above which a run counts as diverged
	// (train.DefaultDivergence if 0).
	DivergeAbove float64 `json:"diverge_above,omitempty"`
}

// DataSpec selects the data set. Kind "sparse_regression" is the only
// kind so far; its parameters are those of data.SparseRegression.
type DataSpec struct {
	Kind string `json:"kind"`
	data.SparseRegression
}

// ModelSpec selects the model. Kind "dln" is the only kind so far; its
// parameters are those of models.DLNSpec.
type ModelSpec struct {
	Kind string `json:"kind"`
	models.DLNSpec
}

// RankSpec configures rank(φ_θ(X)) (§3.1 of the spec): the Jacobian on
// the first Examples test points, singular values counted above
// Threshold·σ₁, computed at every Every-th evaluation point and at the
// last one (other points are left empty, as it costs an SVD).
type RankSpec struct {
	Examples  int     `json:"examples,omitempty"`
	Threshold float64 `json:"threshold,omitempty"`
	Every     int     `json:"every,omitempty"`
}

// SharpnessSpec configures the sharpness λ_max of the Hessian of the
// training loss on the first Examples training points (all if 0), found
// by Lanczos with Steps Hessian-vector products (20 if 0), at every
// Every-th evaluation point and the last.
type SharpnessSpec struct {
	Examples int `json:"examples,omitempty"`
	Steps    int `json:"steps,omitempty"`
	Every    int `json:"every,omitempty"`
}

// RunSpec is one training run of an experiment.
type RunSpec struct {
	Name string `json:"name"` // identifier in files, e.g. "decay-10"
	// Label is the legend text; "{eta}" in it stands for the initial
	// step size actually used (it differs from the schedule's after a
	// retry).
	Label     string             `json:"label"`
	Optimizer Optimizer          `json:"optimizer"`
	Schedule  train.ScheduleSpec `json:"schedule"`
	// Palette is the colour family of the run in figures: "blues"
	// (default) or "reds". Runs of one family get a light-to-dark ramp.
	Palette string `json:"palette,omitempty"`
	// Retry, if set, reruns a diverged run with a smaller step size.
	Retry *Retry `json:"retry,omitempty"`
}

// Optimizer is "sgd" (Batch examples drawn uniformly with replacement by
// numpy's legacy randint seeded with Seed) or "gd" (the full batch).
type Optimizer struct {
	Kind  string `json:"kind"`
	Batch int    `json:"batch,omitempty"`
	Seed  uint32 `json:"seed,omitempty"`
}

// Retry lowers the schedule's lr by Step after each divergence, at most
// Max times. Every diverged attempt stays in the summary; the figure
// shows the first attempt that survives and says so in its legend. The
// paper's step sizes sit at the divergence edge of the authors' own float
// summation order (spec C1, C2), so a replay may need a slightly smaller
// one to draw the figure at all.
type Retry struct {
	Step float64 `json:"step"`
	Max  int     `json:"max"`
}

// FigureSpec is one PNG: a row of panels sharing the iteration axis.
type FigureSpec struct {
	File   string      `json:"file"`
	Title  string      `json:"title,omitempty"`
	Panels []PanelSpec `json:"panels"`
}

// PanelSpec draws one metric for every run.
type PanelSpec struct {
	Metric string `json:"metric"`
	Title  string `json:"title"`
	YLabel string `json:"y_label,omitempty"`
	// Reference "2/lr" adds, for every run, 2/η(t) from the run's actual
	// schedule, dashed: the stability threshold of GD on a quadratic,
	// against which sharpness is read (edge of stability).
	Reference string  `json:"reference,omitempty"`
	LogY      bool    `json:"log_y,omitempty"`
	YMin      float64 `json:"y_min,omitempty"`
	YMax      float64 `json:"y_max,omitempty"`
}

// nameChars are the characters allowed in run names, which name files.
const nameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

// Validate reports every problem of c, naming the offending keys.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Name == "" {
		add("name: must not be empty")
	}
	switch c.Data.Kind {
	case "sparse_regression":
		if err := c.Data.SparseRegression.Validate(); err != nil {
			add("data: %v", err)
		}
	default:
		add("data.kind: unknown %q (allowed: sparse_regression)", c.Data.Kind)
	}
	switch c.Model.Kind {
	case "dln":
		if err := c.Model.DLNSpec.Validate(); err != nil {
			add("model: %v", err)
		}
		if c.Model.D != c.Data.D {
			add("model.d: %d does not match data.d %d", c.Model.D, c.Data.D)
		}
	default:
		add("model.kind: unknown %q (allowed: dln)", c.Model.Kind)
	}
	if err := c.Loss.Validate(); err != nil {
		add("loss: %v", err)
	}
	if c.Iterations < 1 {
		add("iterations: must be ≥ 1, got %d", c.Iterations)
	}
	if _, err := c.Grid.Iterations(); err != nil {
		add("grid: %v", err)
	}
	known := make(map[string]bool)
	for i, m := range c.Metrics {
		if !isMetric(m) {
			add("metrics[%d]: unknown %q (allowed: %s)", i, m, strings.Join(MetricNames, ", "))
		}
		known[m] = true
	}
	if known["rank"] && (c.Rank.Examples < 1 || c.Rank.Examples > c.Data.NTest || !(c.Rank.Threshold > 0) || c.Rank.Every < 1) {
		add("rank: need 1 ≤ examples ≤ data.n_test (%d), threshold > 0 and every ≥ 1, got %+v", c.Data.NTest, c.Rank)
	}
	if (known["sharpness"] || known["step_cosine"]) && (c.Sharpness.Every < 1 || c.Sharpness.Examples < 0 || c.Sharpness.Examples > c.Data.N || c.Sharpness.Steps < 0) {
		add("sharpness: need every ≥ 1, 0 ≤ examples ≤ data.n (%d) and steps ≥ 0, got %+v", c.Data.N, c.Sharpness)
	}
	if known["step_cosine"] && !known["sharpness"] {
		add("metrics: step_cosine needs the sharpness metric")
	}
	if len(c.Runs) == 0 {
		add("runs: at least one run is needed")
	}
	names := make(map[string]bool)
	for i, r := range c.Runs {
		if r.Name == "" || names[r.Name] || strings.Trim(r.Name, nameChars) != "" {
			add("runs[%d].name: must be non-empty, unique and made of [A-Za-z0-9._-] (it names files), got %q", i, r.Name)
		}
		names[r.Name] = true
		switch r.Optimizer.Kind {
		case "sgd":
			if r.Optimizer.Batch < 1 || r.Optimizer.Batch > c.Data.N {
				add("runs[%d].optimizer.batch: must be in [1, %d], got %d", i, c.Data.N, r.Optimizer.Batch)
			}
		case "gd":
		default:
			add("runs[%d].optimizer.kind: unknown %q (allowed: sgd, gd)", i, r.Optimizer.Kind)
		}
		if _, err := r.Schedule.Schedule(); err != nil {
			add("runs[%d].schedule: %v", i, err)
		}
		if r.Palette != "" && r.Palette != "blues" && r.Palette != "reds" {
			add("runs[%d].palette: unknown %q (allowed: blues, reds)", i, r.Palette)
		}
		if r.Retry != nil && (!(r.Retry.Step > 0) || r.Retry.Max < 1 || !(r.Retry.Step*float64(r.Retry.Max) < r.Schedule.LR)) {
			add("runs[%d].retry: need step > 0, max ≥ 1 and step·max < schedule.lr, got %+v", i, *r.Retry)
		}
	}
	for i, f := range c.Figures {
		if !strings.HasSuffix(f.File, ".png") || strings.ContainsAny(f.File, `/\`) {
			add("figures[%d].file: must be a plain file name ending in .png, got %q", i, f.File)
		}
		if len(f.Panels) == 0 {
			add("figures[%d].panels: at least one panel is needed", i)
		}
		for j, p := range f.Panels {
			if !known[p.Metric] {
				add("figures[%d].panels[%d].metric: %q is not among the experiment's metrics", i, j, p.Metric)
			}
			if p.Reference != "" && p.Reference != "2/lr" {
				add("figures[%d].panels[%d].reference: unknown %q (allowed: 2/lr)", i, j, p.Reference)
			}
		}
	}
	c.Surface.validate(c, add)
	if c.DivergeAbove < 0 {
		add("diverge_above: must be ≥ 0, got %v", c.DivergeAbove)
	}
	if len(errs) > 0 {
		return fmt.Errorf("experiment %q: %w", c.Name, errors.Join(errs...))
	}
	return nil
}
