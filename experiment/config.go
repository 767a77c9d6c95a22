package experiment

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/metric"
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
	// Metrics names what is measured at every evaluation point: metrics
	// registered with metric.Register and those the model offers itself
	// (`sgdlab list -metrics` shows them).
	Metrics []string           `json:"metrics"`
	Rank    metric.RankOptions `json:"rank,omitzero"` // used by the "rank" metric
	// Sharpness configures the "sharpness" and "step_cosine" metrics.
	Sharpness metric.SharpnessOptions `json:"sharpness,omitzero"`
	// BlockSharpness configures the "block_sharpness" metric.
	BlockSharpness metric.BlockSharpnessOptions `json:"block_sharpness,omitzero"`
	// BatchSharpness configures the "batch_sharpness" and
	// "batch_sharpness_se" metrics.
	BatchSharpness metric.BatchSharpnessOptions `json:"batch_sharpness,omitzero"`
	// Features configures the metrics of the model's feature maps
	// ("feature_sparsity", "dead_or_duplicate", "active_fraction", and
	// NAME_MAP for map MAP).
	Features metric.FeatureOptions `json:"features,omitzero"`
	Runs     []RunSpec             `json:"runs"`
	Figures  []FigureSpec          `json:"figures"`
	// Surface, if set, draws loss surfaces with trajectories (E3).
	Surface *SurfaceSpec `json:"surface,omitempty"`
	// Function, if set, draws the function each run learned (E4).
	Function *FunctionSpec `json:"function,omitempty"`
	// Neurons, if set, draws where the neurons of a two-layer net on 2D
	// inputs went (E5).
	Neurons *NeuronSpec `json:"neurons,omitempty"`
	// CentralFlow, if set, compares a GD run with its central flow.
	CentralFlow *CentralFlowSpec `json:"central_flow,omitempty"`
	// Calibration, if set, finds the largest constant step size that
	// survives (see train.Calibration), with the optimizer of the first
	// run that has an lr_factor; those runs start at it times lr_factor.
	Calibration *train.Calibration `json:"calibration,omitempty"`
	// DivergeAbove is the batch loss above which a run counts as diverged
	// (train.DefaultDivergence if 0).
	DivergeAbove float64 `json:"diverge_above,omitempty"`
	// EvalBatch is the number of points losses, errors and feature maps
	// are evaluated on at a time (0: a whole set at once); it bounds the
	// memory of a convolutional net's activations.
	EvalBatch int `json:"eval_batch,omitempty"`
	// CheckpointEvery, if > 0, saves the state of every run after every
	// CheckpointEvery updates (train.SaveState: safetensors), so that a
	// stopped experiment can go on where it was (Options.Resume,
	// `sgdlab reproduce -resume`).
	CheckpointEvery int `json:"checkpoint_every,omitempty"`
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
	// LRFactor, if set, makes the run's initial step size (schedule.lr)
	// the experiment's calibrated one (Config.Calibration) times LRFactor.
	// The resolved value is written to config.json, summary.json and the
	// legend ("{eta}").
	LRFactor float64 `json:"lr_factor,omitempty"`
	// LabelNoise, if set, is the level σ of Gaussian label noise per
	// update, as a schedule (train.Run.LabelNoise), drawn from a stream
	// seeded with NoiseSeed.
	LabelNoise *train.ScheduleSpec `json:"label_noise,omitempty"`
	NoiseSeed  uint32              `json:"noise_seed,omitempty"`
	// Average is the iterate-averaging weight ω in [0, 1) (0: none); the
	// metrics then measure the averaged parameters (train.Run.Average).
	Average float64 `json:"average,omitempty"`
	// ModelSeed, if set, replaces the model's seed (its spec's "seed"
	// key) for this run: runs of one setting over several seeds.
	ModelSeed *uint32 `json:"model_seed,omitempty"`
	// Momentum μ and WeightDecay λ are those of the deep-net recipe
	// (train.Run.Momentum, WeightDecay): PyTorch's SGD momentum and an L2
	// term ½λ‖θ‖² in the objective.
	Momentum    float64 `json:"momentum,omitempty"`
	WeightDecay float64 `json:"weight_decay,omitempty"`
	// ClassNoise, if set, is the probability of per-batch label noise for
	// classification, as a schedule (train.Run.ClassNoise), drawn from the
	// stream seeded with NoiseSeed.
	ClassNoise *train.ScheduleSpec `json:"class_noise,omitempty"`
	// Augment, if set, crops and flips the images of every batch.
	Augment *AugmentSpec `json:"augment,omitempty"`
}

// AugmentSpec is the standard augmentation of image batches
// (data.Augmentation) on the data's image shape: a random crop of the
// image zero-padded by Pad pixels, and with Flip a horizontal flip with
// probability ½, drawn from a stream seeded with Seed.
type AugmentSpec struct {
	Pad  int    `json:"pad,omitempty"`
	Flip bool   `json:"flip,omitempty"`
	Seed uint32 `json:"seed,omitempty"`
}

// augmentation returns the augmentation a of the images of the data c
// reads, or an error if the data are not images.
func (c Config) augmentation(a AugmentSpec) (*data.Augmentation, error) {
	im, ok := c.Data.Source.(data.Imager)
	if !ok {
		return nil, fmt.Errorf("data kind %s has no images to augment", c.Data.Kind)
	}
	aug := &data.Augmentation{Shape: im.ImageShape(), Pad: a.Pad, Flip: a.Flip}
	return aug, aug.Validate()
}

// Optimizer is "sgd" (Batch examples drawn uniformly with replacement by
// numpy's legacy randint seeded with Seed), "sgd_noreplace" (Batch
// distinct examples per update, train.WithoutReplacement seeded with
// Seed), "sgd_epochs" (shuffled epochs of Batch-example updates, the last
// partial batch dropped, as a deep-net data loader: train.Epochs seeded
// with Seed) or "gd" (the full batch).
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

// FigureSpec is one PNG: a row of panels sharing the iteration axis, or
// with XAxis "epoch" the epoch, iterations divided by the run's batches
// per epoch (Config.batchesPerEpoch).
type FigureSpec struct {
	File   string      `json:"file"`
	Title  string      `json:"title,omitempty"`
	XAxis  string      `json:"x_axis,omitempty"`
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
	Reference string `json:"reference,omitempty"`
	// Also, if set, is a second metric drawn in the panel as dots in
	// each run's colour (batch_sharpness beside sharpness).
	Also string  `json:"also,omitempty"`
	LogY bool    `json:"log_y,omitempty"`
	YMin float64 `json:"y_min,omitempty"`
	YMax float64 `json:"y_max,omitempty"`
}

// batchesPerEpoch is the number of updates of optimizer o that make one
// pass over the training data: ⌊N/batch⌋ (drop-last batches), 1 for gd.
func (c Config) batchesPerEpoch(o Optimizer) int {
	if o.Kind == "gd" || o.Batch < 1 {
		return 1
	}
	return max(1, train.BatchesPerEpoch(c.Data.Source.Size().N, o.Batch))
}

// paramNames lists the names of m's parameters, for messages.
func paramNames(m graph.Model) string {
	var names []string
	for _, p := range m.Params() {
		names = append(names, p.Name())
	}
	return strings.Join(names, ", ")
}

// Limits on what a configuration may ask for, so that no configuration
// or checkpoint can make sgdlab run out of memory or appear to hang
// before it starts (data and model sizes are bounded by data.MaxValues
// and models.MaxParams, evaluation grids by train.MaxPoints).
const (
	MaxIterations = 1_000_000_000 // updates per run
	MaxRuns       = 1000          // runs per experiment
	MaxMetrics    = 100           // metrics per experiment
	MaxFigures    = 100           // figures per experiment
	MaxPanels     = 20            // panels per figure
	MaxRetries    = 100           // retries of a diverged run
	MaxSurface    = 1000          // points per axis of a loss surface
	// MaxMatrix bounds the scalars of the dense matrices metrics keep:
	// the Jacobian of "rank" (examples × parameters) and the Lanczos
	// basis of "sharpness" (steps × parameters).
	MaxMatrix = 1 << 27
)

// NameChars are the characters allowed in the names that sgdlab turns
// into files and directories: experiments, runs, figures, sweeps.
const NameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

// quote returns s quoted for an error message, shortened: names in a
// configuration may be megabytes long.
func quote(s string) string { return strconv.Quote(shorten(s, 80)) }

// ValidName reports whether s can name a file inside a result directory:
// non-empty, at most 200 bytes of NameChars, and not "." or "..".
func ValidName(s string) bool {
	return s != "" && s != "." && s != ".." && len(s) <= 200 && strings.Trim(s, NameChars) == ""
}

// Validate reports every problem of c, naming the offending keys. It
// builds the model to check what the configuration asks of it (the
// shape of its inputs and outputs, the metrics it can provide), but
// loads no data and trains nothing.
func (c Config) Validate() error {
	if _, err := c.check(); err != nil {
		return fmt.Errorf("%w: experiment %s: %w", ErrInvalid, quote(c.Name), err)
	}
	return nil
}

// check validates c and returns its model at initialisation, or the
// problems found, joined.
func (c Config) check() (graph.Model, error) {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	// addAll adds each of the joined errors of a part of c, prefixed with
	// the part's key; with an empty prefix the errors name their keys
	// already.
	addAll := func(prefix string, err error) {
		if err == nil {
			return
		}
		j, joined := err.(interface{ Unwrap() []error })
		switch {
		case prefix == "" && joined:
			errs = append(errs, j.Unwrap()...)
		case prefix == "":
			errs = append(errs, err)
		case joined:
			for _, e := range j.Unwrap() {
				add("%s.%v", prefix, e)
			}
		default:
			add("%s: %v", prefix, err)
		}
	}
	if !ValidName(c.Name) {
		add("name: must be non-empty, at most 200 characters of [A-Za-z0-9._-] and not \".\" or \"..\" (it names the result directory), got %s", quote(c.Name))
	}
	var size data.Size
	switch {
	case c.Data.Source == nil:
		add("data.kind: missing (registered: %s)", strings.Join(data.Kinds(), ", "))
	case c.Data.Source.Validate() != nil:
		addAll("data", c.Data.Source.Validate())
	default:
		size = c.Data.Source.Size()
	}
	var m graph.Model
	switch {
	case c.Model.Spec == nil:
		add("model.kind: missing (registered: %s)", strings.Join(models.Kinds(), ", "))
	case c.Model.Spec.Validate() != nil:
		addAll("model", c.Model.Spec.Validate())
	default:
		var err error
		if m, err = c.Model.Spec.New(); err != nil {
			add("model: %v", err)
		}
	}
	if err := c.Loss.Validate(); err != nil {
		add("loss: %v", err)
	}
	if m != nil && size.D > 0 && c.Loss.Validate() == nil {
		c.checkModel(m, size, add)
	}
	if c.Iterations < 1 || c.Iterations > MaxIterations {
		add("iterations: must be in [1, %d], got %d", MaxIterations, c.Iterations)
	}
	// A grid of t points ends before t, or at t when it records after the
	// update; either way its last point must be reached.
	if lastT := c.Iterations + 1; c.Iterations >= 1 && (c.Grid.T > lastT || c.Grid.After && c.Grid.T > c.Iterations) {
		if c.Grid.After {
			lastT--
		}
		add("grid.t: must be in [1, %d] (iterations = %d), got %d", lastT, c.Iterations, c.Grid.T)
	} else if _, err := c.Grid.Iterations(); err != nil {
		add("grid: %v", err)
	}
	known := make(map[string]bool)
	for _, name := range c.Metrics {
		known[name] = true
	}
	badNames := false
	for i, name := range c.Metrics {
		if !ValidName(name) {
			add("metrics[%d]: must be a name of [A-Za-z0-9._-], at most 200 characters, got %s", i, quote(name))
			badNames = true
		}
	}
	if len(c.Metrics) > MaxMetrics {
		add("metrics: at most %d, got %d", MaxMetrics, len(c.Metrics))
	} else if m != nil && !badNames {
		addAll("", metric.Check(c.Metrics, m))
	}
	if l := c.Features.Layer; l != "" && m != nil {
		if maps, err := metric.FeatureNames(m); err == nil && !slices.Contains(maps, l) {
			add("features.layer: %s is not a feature map of the model (it has: %s)", quote(l), strings.Join(maps, ", "))
		}
	}
	params := 0
	if m != nil {
		params = len(graph.Flatten(m.Params()))
	}
	if known["rank"] && size.D > 0 {
		r := c.Rank
		n, key := size.NTest, "data.n_test"
		switch r.Set {
		case "", "test":
		case "train":
			n, key = size.N, "data.n"
		case "eval":
			n, key = size.NEval, "the data's evaluation points"
		default:
			add("rank.set: unknown %s (allowed: test, train, eval)", quote(r.Set))
		}
		if r.Examples < 1 || r.Examples > n || !(r.Threshold > 0 && r.Threshold < 1) || r.Every < 1 {
			add("rank: need 1 ≤ examples ≤ %s (%d), 0 < threshold < 1 and every ≥ 1, got %+v", key, n, r)
		} else if params > 0 && r.Examples > MaxMatrix/params {
			add("rank.examples: the %d × %d Jacobian exceeds the limit of %d values", r.Examples, params, MaxMatrix)
		}
	}
	if known["sharpness"] && size.D > 0 {
		s := c.Sharpness
		if s.Every < 1 || s.Examples < 0 || s.Examples > size.N || s.Steps < 0 {
			add("sharpness: need every ≥ 1, 0 ≤ examples ≤ data.n (%d) and steps ≥ 0, got %+v", size.N, s)
		} else if params > 0 && max(s.Steps, 20) > MaxMatrix/params {
			add("sharpness.steps: %d Lanczos vectors of %d parameters exceed the limit of %d values", max(s.Steps, 20), params, MaxMatrix)
		}
	}
	if b := c.BlockSharpness; known["block_sharpness"] && size.D > 0 {
		if len(b.Params) == 0 || b.Every < 0 || b.Examples < 0 || b.Examples > size.N || b.Steps < 0 {
			add("block_sharpness: need the block's params, every ≥ 0, 0 ≤ examples ≤ data.n (%d) and steps ≥ 0, got %+v", size.N, b)
		}
		for i, name := range b.Params {
			if m != nil && !slices.ContainsFunc(m.Params(), func(p *graph.Param) bool { return p.Name() == name }) {
				add("block_sharpness.params[%d]: the model has no parameter %s (it has %s)", i, quote(name), paramNames(m))
			}
		}
	}
	if b := c.BatchSharpness; known["batch_sharpness"] && size.D > 0 {
		if b.Batch < 0 || b.Batch > size.N || b.Every < 0 || b.MaxBatches != 0 && (b.MaxBatches < 10 || b.MaxBatches > 1_000_000) || !(b.RelErr >= 0 && b.RelErr < 1) {
			add("batch_sharpness: need 0 ≤ batch ≤ data.n (%d; 0: the run's), every ≥ 0, max_batches 0 or in [10, 1000000] and 0 ≤ rel_err < 1, got %+v", size.N, b)
		}
	}
	if f := c.Features; size.D > 0 {
		n := size.N
		if f.Set == "test" {
			n = size.NTest
		}
		if f.Set != "" && f.Set != "train" && f.Set != "test" {
			add("features.set: unknown %s (allowed: train, test)", quote(f.Set))
		} else if f.Examples < 0 || f.Examples > n || f.Threshold < 0 || f.Threshold > 1 || math.IsNaN(f.Threshold) {
			add("features: need 0 ≤ examples ≤ %d (0: all) and 0 ≤ threshold ≤ 1 (0: %v), got %+v", n, metric.DefaultFeatureThreshold, f)
		}
	}
	c.checkRuns(size, add)
	if c.Calibration != nil {
		addAll("calibration", c.Calibration.Validate())
		if !slices.ContainsFunc(c.Runs, func(r RunSpec) bool { return r.LRFactor != 0 }) {
			add("calibration: no run has an lr_factor to use it")
		}
	}
	c.checkFigures(known, add)
	c.Surface.validate(c, add)
	var in []int
	if m != nil {
		in = m.Input()
	}
	c.Function.validate(c, in, add)
	c.Neurons.validate(c, add)
	c.CentralFlow.validate(c, add)
	if c.CheckpointEvery < 0 {
		add("checkpoint_every: must be ≥ 0 (0: no saved states), got %d", c.CheckpointEvery)
	}
	if c.EvalBatch < 0 {
		add("eval_batch: must be ≥ 0 (0: a whole set at once), got %d", c.EvalBatch)
	}
	if !(c.DivergeAbove >= 0) || math.IsInf(c.DivergeAbove, 1) {
		add("diverge_above: must be ≥ 0 and finite (0: train.DefaultDivergence), got %v", c.DivergeAbove)
	}
	if n := len(errs); n > maxProblems {
		errs = append(errs[:maxProblems], fmt.Errorf("… and %d more problems", n-maxProblems))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

// checkModel checks that m takes the data's examples and gives one output
// per example, by building its loss graph for a batch of one.
func (c Config) checkModel(m graph.Model, size data.Size, add func(string, ...any)) {
	// An image model takes (C, H, W) examples, stored flat.
	in := m.Input()
	n := 1
	for _, d := range in {
		n *= d
	}
	if n != size.D {
		add("model: takes inputs of shape %v, the data's examples have %d values", in, size.D)
		return
	}
	p, err := graph.CompileLoss(m, c.Loss, 1)
	if err != nil {
		add("model: %v", err)
		return
	}
	if k := size.Targets(); p.Outputs() != k {
		add("model: gives %d outputs per example, the data has %d targets per example", p.Outputs(), k)
	}
}

func (c Config) checkRuns(size data.Size, add func(string, ...any)) {
	if len(c.Runs) == 0 || len(c.Runs) > MaxRuns {
		add("runs: need 1 to %d runs, got %d", MaxRuns, len(c.Runs))
		return
	}
	names := make(map[string]bool)
	for i, r := range c.Runs {
		if !ValidName(r.Name) || names[r.Name] {
			add("runs[%d].name: must be unique, at most 200 characters of [A-Za-z0-9._-] and not \".\" or \"..\" (it names files), got %s", i, quote(r.Name))
		}
		names[r.Name] = true
		switch r.Optimizer.Kind {
		case "sgd", "sgd_noreplace", "sgd_epochs":
			if size.N > 0 && (r.Optimizer.Batch < 1 || r.Optimizer.Batch > size.N) {
				add("runs[%d].optimizer.batch: must be in [1, data.n = %d], got %d", i, size.N, r.Optimizer.Batch)
			}
		case "gd":
			if r.Optimizer.Batch != 0 || r.Optimizer.Seed != 0 {
				add("runs[%d].optimizer: gd uses the full batch and no seed; leave batch and seed unset", i)
			}
		default:
			add("runs[%d].optimizer.kind: unknown %s (allowed: sgd, sgd_noreplace, sgd_epochs, gd)", i, quote(r.Optimizer.Kind))
		}
		if r.ModelSeed != nil && c.Model.Spec != nil {
			if _, err := reseeded(c.Model, *r.ModelSeed); err != nil {
				add("runs[%d].%v", i, err)
			}
		}
		if !(r.Momentum >= 0 && r.Momentum < 1) {
			add("runs[%d].momentum: must be in [0, 1), got %v", i, r.Momentum)
		}
		if !(r.WeightDecay >= 0) || math.IsInf(r.WeightDecay, 1) {
			add("runs[%d].weight_decay: must be ≥ 0 and finite, got %v", i, r.WeightDecay)
		}
		if r.ClassNoise != nil {
			if err := r.ClassNoise.Validate(); err != nil {
				add("runs[%d].class_noise: %v", i, err)
			}
			if r.LabelNoise != nil {
				add("runs[%d]: class_noise and label_noise share noise_seed's stream; set one", i)
			}
			if c.Loss != graph.SoftmaxCE {
				add("runs[%d].class_noise: needs loss %s, got %s", i, graph.SoftmaxCE, quote(string(c.Loss)))
			}
		}
		if r.Augment != nil && c.Data.Source != nil {
			if _, err := c.augmentation(*r.Augment); err != nil {
				add("runs[%d].augment: %v", i, err)
			}
		}
		spec := r.Schedule
		if r.LRFactor != 0 {
			if !(r.LRFactor > 0) || math.IsInf(r.LRFactor, 1) {
				add("runs[%d].lr_factor: must be > 0 and finite, got %v", i, r.LRFactor)
			}
			if c.Calibration == nil {
				add("runs[%d].lr_factor: needs a calibration", i)
			}
			if r.Retry != nil {
				add("runs[%d].retry: a calibrated run takes no retry", i)
			}
			// The calibration sets lr; any other part of the schedule is
			// checked with a stand-in.
			if spec.LR == 0 {
				spec.LR = 1
			}
		}
		if sched, err := spec.Schedule(); err != nil {
			add("runs[%d].schedule: %v", i, err)
		} else {
			for _, at := range sched.Marks() {
				if at >= c.Iterations && c.Iterations >= 1 {
					add("runs[%d].schedule: a step-size change at update %d comes after the last update, %d (iterations = %d)", i, at, c.Iterations-1, c.Iterations)
				}
			}
		}
		if r.LabelNoise != nil {
			if _, err := r.LabelNoise.Schedule(); err != nil {
				add("runs[%d].label_noise: %v", i, err)
			}
		} else if r.NoiseSeed != 0 {
			add("runs[%d].noise_seed: set without label_noise", i)
		}
		if !(r.Average >= 0 && r.Average < 1) {
			add("runs[%d].average: must be in [0, 1) (0: no averaging), got %v", i, r.Average)
		}
		if r.Palette != "" && r.Palette != "blues" && r.Palette != "reds" {
			add("runs[%d].palette: unknown %s (allowed: blues, reds)", i, quote(r.Palette))
		}
		if r.Retry != nil && (!(r.Retry.Step > 0) || r.Retry.Max < 1 || r.Retry.Max > MaxRetries || !(r.Retry.Step*float64(r.Retry.Max) < r.Schedule.LR)) {
			add("runs[%d].retry: need step > 0, 1 ≤ max ≤ %d and step·max < schedule.lr, got %+v", i, MaxRetries, *r.Retry)
		}
	}
}

func (c Config) checkFigures(known map[string]bool, add func(string, ...any)) {
	if len(c.Figures) > MaxFigures {
		add("figures: at most %d, got %d", MaxFigures, len(c.Figures))
		return
	}
	files := make(map[string]bool)
	for i, f := range c.Figures {
		if !strings.HasSuffix(f.File, ".png") || !ValidName(f.File) || files[f.File] {
			add("figures[%d].file: must be a unique plain file name of [A-Za-z0-9._-] ending in .png, got %s", i, quote(f.File))
		}
		files[f.File] = true
		if f.XAxis != "" && f.XAxis != "iteration" && f.XAxis != "epoch" {
			add("figures[%d].x_axis: unknown %s (allowed: iteration, epoch)", i, quote(f.XAxis))
		}
		if len(f.Panels) == 0 || len(f.Panels) > MaxPanels {
			add("figures[%d].panels: need 1 to %d panels, got %d", i, MaxPanels, len(f.Panels))
		}
		for j, p := range f.Panels {
			if !known[p.Metric] {
				add("figures[%d].panels[%d].metric: %s is not among the experiment's metrics", i, j, quote(p.Metric))
			}
			if p.Reference != "" && p.Reference != "2/lr" {
				add("figures[%d].panels[%d].reference: unknown %s (allowed: 2/lr)", i, j, quote(p.Reference))
			}
			if p.Also != "" && !known[p.Also] {
				add("figures[%d].panels[%d].also: %s is not among the experiment's metrics", i, j, quote(p.Also))
			}
			if p.LogY && (p.YMin < 0 || p.YMax < 0) {
				add("figures[%d].panels[%d]: a log axis needs y_min and y_max ≥ 0 (0: automatic)", i, j)
			}
		}
	}
}
