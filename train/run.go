package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"

	"sgdlab/data"
	"sgdlab/graph"
)

// DefaultDivergence is the batch loss above which a run counts as
// diverged when Run.DivergeAbove is 0. For the ½-squared loss of one
// example it is a residual |e| ≈ 1.4·10⁶; the spec calls |e| > 10⁶
// divergence, and such runs overflow within a few more steps.
const DefaultDivergence = 1e12

// Metric is a quantity measured at evaluation points.
type Metric struct {
	Name    string
	Measure func() (float64, error)
	// Skip, if set, is told that a resumed run (Run.Resume) goes on after
	// n evaluation points, before its first Measure, so that a metric
	// measured only at every k-th point keeps its place.
	Skip func(n int)
}

// StepMetric is a quantity of the update itself, measured at evaluation
// points: Measure receives the batch gradient of that iteration (all
// parameters concatenated), before the update. It runs after the Metrics
// of the same point, so it may use what they computed (e.g. the top
// Hessian eigenvector, to measure the cosine between it and the step).
type StepMetric struct {
	Name    string
	Measure func(grad []float64) (float64, error)
}

// LossMetric returns a metric that evaluates loss of m on the whole set s
// (for example the train or the test loss).
func LossMetric(name string, m graph.Model, loss graph.Loss, s data.Set) (Metric, error) {
	p, err := graph.CompileLoss(m, loss, s.N)
	if err != nil {
		return Metric{}, fmt.Errorf("metric %s: %w", name, err)
	}
	return Metric{Name: name, Measure: func() (float64, error) { return p.Run(s.X, s.Y) }}, nil
}

// Run is one training run: SGD on Model with the Loss over Data.
type Run struct {
	Model graph.Model
	Loss  graph.Loss
	Data  data.Set
	// Batch is the number of examples per update, in [1, Data.N];
	// Sampler picks them, from [0, Data.N) (Full needs Batch = Data.N).
	Batch      int
	Sampler    Sampler
	Schedule   Schedule
	Iterations int // number of updates, ≥ 0
	// Eval holds the strictly increasing iterations, in [0, Iterations],
	// at which the metrics are measured, before the update of that
	// iteration; Iterations itself means after the last update
	// (StepMetrics are NaN there: there is no step).
	Eval        []int
	Metrics     []Metric
	StepMetrics []StepMetric
	// DivergeAbove is the batch loss that stops the run as diverged
	// (DefaultDivergence if 0). A non-finite loss always does.
	DivergeAbove float64
	// Snapshots, if set, records the parameters at every evaluation point
	// in History.Params, e.g. to project the trajectory on a plane.
	Snapshots bool
	// Progress, if set, is called every 1024 updates with the number of
	// updates done, and once at the end.
	Progress func(done int)

	// LabelNoise, if set, adds Gaussian noise to the targets of every
	// batch (train_fc_net's gauss_ln_scale): at update i each target of
	// the batch gets σ_i·z, z standard normal, with σ_i =
	// LabelNoise.Rate(i) — a Schedule reused as the noise level, not as a
	// step size, so that the level can follow any of its shapes. The
	// noise goes into the copy of the batch only; Data is never changed.
	// The z come from their own numpy legacy normal stream
	// (data.NumpyRand.NormFloat64) seeded with NoiseSeed, Batch of them
	// per update in batch order, drawn whatever σ_i (also 0), so the
	// noise of update i does not depend on earlier levels. A zero level
	// leaves the targets bit for bit as they are. nil: no noise.
	LabelNoise Schedule
	// NoiseSeed seeds the label-noise stream (used only with LabelNoise).
	NoiseSeed uint32
	// Average is the weight ω in [0, 1) of iterate averaging (an
	// exponential moving average, train_fc_net's weight_avg): after every
	// update θ̄ ← ω·θ̄ + (1−ω)·θ, with θ̄ = θ₀ before the first. With
	// ω > 0 the Metrics (and Snapshots) see the averaged parameters θ̄, as
	// the authors log the averaged net: Train writes θ̄ into the model
	// around each evaluation and puts θ back before the next update, so
	// training itself goes on with θ; StepMetrics get the batch gradient
	// at θ, with the model holding θ. After Train the model holds θ, the
	// last iterate, and Result.Averaged holds θ̄. ω = 0 runs no averaging
	// code at all (θ̄ = θ). The authors' deep-net swa_tau = 0.999 is ω.
	// A model with batch normalisation (graph.Buffered) is evaluated at θ̄
	// with running statistics recomputed for θ̄ over Data in batches of
	// Batch (graph.RefreshBatchNorm, PyTorch's update_bn); θ's own
	// statistics are put back for training.
	Average float64

	// Momentum is the momentum μ in [0, 1) of torch.optim.SGD (dampening
	// 0, no Nesterov), the authors' --momentum: update i does
	// v ← μ·v + g, θ ← θ − η_i·v, with v ← g at the first update and g
	// the batch gradient (plus WeightDecay·θ), in the parameters' own
	// type (graph.Program.DescendMomentum). The buffers v are allocated
	// once per Train; a step allocates nothing. 0: plain SGD, no buffer.
	Momentum float64
	// WeightDecay is λ ≥ 0 of the L2 term ½·λ·Σ‖θ‖² over all parameters
	// that the authors' deep-net code (--l2_reg) adds to the objective:
	// the gradient of each update becomes g + λθ. The batch loss that the
	// divergence check sees and the Metrics (LossMetric) are the loss
	// without the term, as the authors' logged train_loss and test_loss
	// are. With Momentum = WeightDecay = 0 an update is Program.Descend,
	// bit for bit as before these fields existed.
	WeightDecay float64
	// ClassNoise, if set, is per-batch label-noise SGD for one-hot class
	// targets (Loss SoftmaxCE, Data.K ≥ 2 classes): the authors'
	// --sgd_p_label_noise with its ln_schedule. At update i each example
	// of the batch, in batch order, draws u uniform in [0, 1) and then a
	// class c uniform in [0, K) (data.NumpyRand.Float64, then Intn(K),
	// from the stream seeded with NoiseSeed); if u < p_i, p_i =
	// ClassNoise.Rate(i) — a Schedule reused as a probability in [0, 1],
	// e.g. DeepPiecewise with LR = p for the authors' ln_schedule — its
	// target row in the batch becomes the one-hot row of c. As in the
	// authors' code (torch.randint(0, n_cls)), c is uniform over all K
	// classes, the example's own included, so a label actually changes
	// with probability p_i·(K−1)/K; their count of noisy examples,
	// Σ[rand < p_i], placed by a random permutation, has the law of these
	// independent per-example choices (not their stream). Both draws are
	// made for every example whatever p_i, so that the noise of update i
	// does not depend on earlier levels. Only the copy of the batch
	// changes, never Data. nil: no class noise.
	ClassNoise Schedule

	// CheckpointEvery k ≥ 1 with Checkpoint set calls Checkpoint with
	// the State of the run after k, 2k, … updates (below Iterations),
	// before the evaluation at that iteration. 0: no checkpoints.
	CheckpointEvery int
	// Checkpoint receives each State (SaveState writes one to a file);
	// the State is a copy the callee may keep. An error stops the run:
	// Train returns it wrapped, with the Result so far, so a Checkpoint
	// may stop a run on purpose (a time limit, a preemption) and
	// errors.Is finds its error.
	Checkpoint func(*State) error
	// Resume, if set, continues a run from a State saved by a Checkpoint
	// of a Run of the same configuration (LoadState reads one): the
	// model's parameters (and non-trainable state), the momentum
	// buffers, the average θ̄ and the History are the State's, and the
	// run goes on from update State.Iteration to Iterations. The result
	// is bit for bit the one of the run that was not stopped, provided
	// the Sampler is freshly made as in the first run (a deterministic
	// stream from its seed) and the Metrics are functions of the model
	// alone: Train fast-forwards the random streams by replaying their
	// draws — Sampler.Next and the label-noise draws of the first
	// State.Iteration updates, without training. The replay costs what
	// drawing costs; measured on this project's 2-core machine for 10⁴
	// updates of batches of 128 from n = 60000: Uniform 10 ms, Epochs
	// 21 ms, ClassNoise 29 ms, but WithoutReplacement 8 s (it draws n − 1
	// integers per batch, as numpy's choice does).
	Resume *State
	// Augment, if set, transforms the images of every batch (random crop
	// and flip, data.Augmentation) in the copy of the batch only, with
	// draws from their own numpy legacy stream seeded with AugmentSeed.
	Augment     *data.Augmentation
	AugmentSeed uint32
}

// History holds the metrics of a run at its evaluation points.
type History struct {
	Names  []string    // metric names
	Iters  []int       // evaluation iterations reached
	Rates  []float64   // step size of the update at each of Iters
	Values [][]float64 // Values[k][m]: metric m at Iters[k]
	// Params[k] holds all parameters, concatenated, at Iters[k] (only
	// with Run.Snapshots).
	Params [][]float64
}

// Column returns the values of the metric called name at every evaluation
// point reached, in the order of h.Iters: Column(name)[k] is measured at
// iteration h.Iters[k]. The slice is a new one, of length len(h.Iters),
// that the caller may keep or modify. The error lists the available names
// when h has no metric called name, or says when two metrics share it
// (Run does not forbid it, and picking one would be a guess).
func (h History) Column(name string) ([]float64, error) {
	m, err := h.metric(name)
	if err != nil {
		return nil, err
	}
	col := make([]float64, len(h.Values))
	for k, row := range h.Values {
		col[k] = row[m]
	}
	return col, nil
}

// Last returns the value of the metric called name at the last evaluation
// point reached, h.Iters[len(h.Iters)−1]: after a divergence that is the
// last point before it, not the last point of Run.Eval. It is an error if
// h has no evaluation point or no (or more than one) metric called name.
func (h History) Last(name string) (float64, error) {
	m, err := h.metric(name)
	if err != nil {
		return 0, err
	}
	if len(h.Values) == 0 {
		return 0, fmt.Errorf("train: History.Last(%q): no evaluation point was reached", name)
	}
	return h.Values[len(h.Values)-1][m], nil
}

// metric returns the column of the metric called name, after checking
// that every row of Values has it: a History may be built by hand.
func (h History) metric(name string) (int, error) {
	m := -1
	for k, n := range h.Names {
		if n != name {
			continue
		}
		if m >= 0 {
			return 0, fmt.Errorf("train: History: metrics %d and %d are both named %q", m, k, name)
		}
		m = k
	}
	if m < 0 {
		quoted := make([]string, len(h.Names))
		for k, n := range h.Names {
			quoted[k] = fmt.Sprintf("%q", n)
		}
		return 0, fmt.Errorf("train: History has no metric %q (its metrics: %s)", name, strings.Join(quoted, ", "))
	}
	if len(h.Values) != len(h.Iters) {
		return 0, fmt.Errorf("train: History has %d rows of Values for %d Iters", len(h.Values), len(h.Iters))
	}
	for k, row := range h.Values {
		if len(row) != len(h.Names) {
			return 0, fmt.Errorf("train: History.Values[%d] has %d values for %d Names", k, len(row), len(h.Names))
		}
	}
	return m, nil
}

// Result is the outcome of a Run.
type Result struct {
	History
	// Diverged reports whether the loss exploded; DivergedAt is the
	// iteration whose batch loss was non-finite or above the limit, and
	// the run stopped there, before that update.
	Diverged   bool
	DivergedAt int
	// Averaged holds the averaged parameters θ̄ (all parameters
	// concatenated, as graph.Flatten orders them) where training stopped,
	// with Run.Average > 0; nil otherwise (θ̄ is then the model's θ).
	Averaged []float64
}

// Train performs the run. A divergence is not an error: it is reported in
// the Result. Errors are for bad configuration (every problem of the Run
// in one error, see validate), a sampler index outside [0, Data.N),
// failing metrics and cancellation.
func (r Run) Train(ctx context.Context) (Result, error) {
	var res Result
	if err := r.validate(); err != nil {
		return res, err
	}
	prog, err := graph.Compile(r.Model, r.Loss, r.Batch)
	if err != nil {
		return res, err
	}
	limit := r.DivergeAbove
	if limit == 0 {
		limit = DefaultDivergence
	}
	for _, m := range r.Metrics {
		res.Names = append(res.Names, m.Name)
	}
	for _, m := range r.StepMetrics {
		res.Names = append(res.Names, m.Name)
	}
	idx := make([]int, r.Batch)
	x := make([]float64, r.Batch*r.Data.D)
	k := r.Data.Targets()
	y := make([]float64, r.Batch*k)
	var grad []float64
	if len(r.StepMetrics) > 0 {
		grad = make([]float64, len(graph.Flatten(r.Model.Params())))
	}
	var noise *data.NumpyRand
	if r.LabelNoise != nil || r.ClassNoise != nil {
		noise = data.NewNumpyRand(r.NoiseSeed)
	}
	var vel *graph.Velocity
	if r.Momentum > 0 {
		vel = prog.NewVelocity()
	}
	// avg is θ̄ (only with averaging); theta holds θ while θ̄ is in the
	// model, and each new θ when θ̄ is updated.
	var params []*graph.Param
	var store []paramStore
	var avg, theta []float64
	if r.Average > 0 {
		params = r.Model.Params()
		store = storesOf(params)
		avg = graph.Flatten(params)
		theta = make([]float64, len(avg))
		res.Averaged = avg
	}
	var aug *data.NumpyRand
	if r.Augment != nil {
		aug = data.NewNumpyRand(r.AugmentSeed)
	}
	next, start := 0, 0
	if r.Resume != nil {
		if err := r.Resume.check(r, vel); err != nil {
			return res, err
		}
		r.Resume.restore(r, vel, &res, avg)
		start = r.Resume.Iteration
		for _, m := range r.Metrics {
			if m.Skip != nil {
				m.Skip(len(res.Iters))
			}
		}
		for next < len(r.Eval) && r.Eval[next] < start {
			next++
		}
		for i := 0; i < start; i++ {
			if i&1023 == 0 {
				if err := ctx.Err(); err != nil {
					return res, err
				}
			}
			r.Sampler.Next(idx)
			r.drawNoise(i, y, noise, k, true)
			if aug != nil {
				r.Augment.Skip(r.Batch, aug)
			}
		}
	}
	// measure records the metrics at iteration i; the step metrics are
	// filled in once the batch gradient of i is known.
	// buffers are the batch-norm statistics of a model that has them, with
	// averaging; running holds θ's while θ̄'s are in use.
	var buffers []*graph.Param
	var running []float64
	if b, ok := r.Model.(graph.Buffered); ok && avg != nil && len(b.Buffers()) > 0 {
		buffers = b.Buffers()
	}
	measure := func(i int, rate float64) ([]float64, error) {
		row := make([]float64, len(r.Metrics)+len(r.StepMetrics))
		var err error
		if avg != nil {
			flattenInto(theta, store)
			graph.Unflatten(params, avg)
			// θ̄ never produced batch statistics of its own: recompute
			// them over the training set for it (swa_utils.update_bn),
			// and keep θ's for training.
			if buffers != nil {
				running = graph.Flatten(buffers)
				if err = graph.RefreshBatchNorm(r.Model, r.Data.X, r.Data.N, r.Batch); err != nil {
					err = fmt.Errorf("train: batch-norm statistics of the average at iteration %d: %w", i, err)
				}
			}
		}
		for k, m := range r.Metrics {
			if err != nil {
				break
			}
			if row[k], err = m.Measure(); err != nil {
				err = fmt.Errorf("train: metric %s at iteration %d: %w", m.Name, i, err)
				break
			}
		}
		if err == nil && r.Snapshots {
			res.Params = append(res.Params, graph.Flatten(r.Model.Params()))
		}
		if avg != nil {
			graph.Unflatten(params, theta)
			if buffers != nil {
				graph.Unflatten(buffers, running)
			}
		}
		if err != nil {
			return nil, err
		}
		for k := range r.StepMetrics {
			row[len(r.Metrics)+k] = math.NaN()
		}
		res.Iters = append(res.Iters, i)
		res.Rates = append(res.Rates, rate)
		res.Values = append(res.Values, row)
		return row, nil
	}
	for i := start; i < r.Iterations; i++ {
		if i&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			if r.Progress != nil {
				r.Progress(i)
			}
		}
		if r.Checkpoint != nil && r.CheckpointEvery > 0 && i > start && i%r.CheckpointEvery == 0 {
			if err := r.Checkpoint(r.state(i, &res, vel, avg)); err != nil {
				return res, fmt.Errorf("train: checkpoint at iteration %d: %w", i, err)
			}
		}
		rate := r.Schedule.Rate(i)
		var row []float64
		if next < len(r.Eval) && r.Eval[next] == i {
			next++
			// Metrics may take long (an SVD, a Lanczos run), and the
			// first points of a grid come at every update: a signal must
			// not wait for 1024 of them.
			if err := ctx.Err(); err != nil {
				return res, err
			}
			if row, err = measure(i, rate); err != nil {
				return res, err
			}
		}
		r.Sampler.Next(idx)
		for k, j := range idx {
			if uint(j) >= uint(r.Data.N) { // see indexError
				return res, indexError(i, "Run.Sampler", r.Sampler, j, k, r.Data.N)
			}
		}
		r.Data.Gather(idx, x, y)
		r.drawNoise(i, y, noise, k, false)
		if aug != nil {
			if err := r.Augment.Apply(x, aug); err != nil {
				return res, fmt.Errorf("train: iteration %d: %w", i, err)
			}
		}
		loss, err := prog.Run(x, y)
		if err != nil {
			return res, fmt.Errorf("train: iteration %d: %w", i, err)
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) || loss > limit {
			res.Diverged, res.DivergedAt = true, i
			return res, nil
		}
		if row != nil && len(r.StepMetrics) > 0 {
			prog.Gradient(grad)
			for k, m := range r.StepMetrics {
				if row[len(r.Metrics)+k], err = m.Measure(grad); err != nil {
					return res, fmt.Errorf("train: metric %s at iteration %d: %w", m.Name, i, err)
				}
			}
		}
		if r.Momentum == 0 && r.WeightDecay == 0 {
			prog.Descend(rate)
		} else if err := prog.DescendMomentum(rate, r.Momentum, r.WeightDecay, vel); err != nil {
			return res, fmt.Errorf("train: iteration %d: %w", i, err)
		}
		if avg != nil {
			average(avg, theta, store, r.Average)
		}
	}
	if next < len(r.Eval) && r.Eval[next] == r.Iterations {
		if _, err := measure(r.Iterations, r.Schedule.Rate(r.Iterations)); err != nil {
			return res, err
		}
	}
	if r.Progress != nil {
		r.Progress(r.Iterations)
	}
	return res, nil
}

// drawNoise applies the label noise of update i to the batch targets y
// (Batch rows of k), drawing from noise (nil: no noise). With replay set
// it only makes the draws, into y, as a resumed run does for the updates
// before its State.
func (r Run) drawNoise(i int, y []float64, noise *data.NumpyRand, k int, replay bool) {
	switch {
	case noise == nil:
	case r.LabelNoise != nil:
		sigma := 0.0
		if !replay {
			sigma = r.LabelNoise.Rate(i)
		}
		addNoise(y, noise, sigma)
	case r.ClassNoise != nil:
		p := 0.0
		if !replay {
			p = r.ClassNoise.Rate(i)
		}
		flipClasses(y, k, noise, p)
	}
}

// flipClasses draws, for every row of k targets of y in order, u uniform
// in [0, 1) and a class c uniform in [0, k), and replaces the row by the
// one-hot row of c if u < p. It allocates nothing.
func flipClasses(y []float64, k int, noise *data.NumpyRand, p float64) {
	for row := 0; row+k <= len(y); row += k {
		u := noise.Float64()
		c := noise.Intn(k)
		if u < p {
			t := y[row : row+k]
			for j := range t {
				t[j] = 0
			}
			t[c] = 1
		}
	}
}

// addNoise adds sigma·z to every target of y, z the next standard normal
// of noise; the draws are made also for sigma = 0, which leaves y as is.
func addNoise(y []float64, noise *data.NumpyRand, sigma float64) {
	for k := range y {
		z := noise.NormFloat64()
		if sigma != 0 {
			y[k] += float64(sigma * z) // no fused multiply-add, as in numpy
		}
	}
}

// average updates θ̄ ← ω·θ̄ + (1−ω)·θ for the parameters θ in ps, read
// into the buffer theta (of the length of avg). It allocates nothing.
func average(avg, theta []float64, ps []paramStore, omega float64) {
	flattenInto(theta, ps)
	c := 1 - omega
	for j, t := range theta {
		// The conversions forbid fused multiply-adds, so that the
		// average does not depend on the architecture.
		avg[j] = float64(omega*avg[j]) + float64(c*t)
	}
}

// paramStore is the storage of one parameter, of either type: the
// training loop reads it without graph.Param.Get, which allocates (it
// converts the storage to an interface) at every call.
type paramStore struct {
	f64 []float64
	f32 []float32
}

// storesOf returns the storage of every parameter of ps, in order.
func storesOf(ps []*graph.Param) []paramStore {
	s := make([]paramStore, len(ps))
	for k, p := range ps {
		if p.Dtype() == graph.Float32 {
			s[k].f32 = p.Float32s()
		} else {
			s[k].f64 = p.Float64s()
		}
	}
	return s
}

// flattenInto is graph.Flatten into dst, which has the total length of
// ps: it allocates nothing.
func flattenInto(dst []float64, ps []paramStore) {
	off := 0
	for _, p := range ps {
		if p.f32 != nil {
			for j, v := range p.f32 {
				dst[off+j] = float64(v)
			}
			off += len(p.f32)
			continue
		}
		off += copy(dst[off:], p.f64)
	}
}

// maxEvalProblems bounds the Eval problems reported one by one, so that a
// reversed grid of 10⁵ points gives a readable error.
const maxEvalProblems = 8

// validate returns every problem of the configuration of r joined in one
// error (errors.Join), each naming its field, or nil. Train calls it
// before anything else, so that misuse is an error instead of a panic
// in a sampler or data.Set.Row, or an evaluation point silently skipped.
func (r Run) validate() error {
	p := problems{owner: "Run"}
	if isNil(r.Model) {
		p.add("Model is nil")
	}
	p.checkLoss(r.Loss)
	dataOK := p.checkData(r.Data, r.Batch)
	p.checkSampler("Sampler", r.Sampler, r.Batch, r.Data.N, dataOK)
	if isNil(r.Schedule) {
		p.add("Schedule is nil")
	}
	p.checkSteps(r.Iterations, r.DivergeAbove, r.Eval)
	p.checkMetrics("", r.Metrics, r.StepMetrics)
	if r.LabelNoise != nil {
		switch {
		case isNil(r.LabelNoise):
			p.add("LabelNoise holds a nil %T", r.LabelNoise)
		case r.Loss == graph.SoftmaxCE:
			p.add("LabelNoise is set with Loss %s, whose targets are one-hot class rows (see ClassNoise)", r.Loss)
		default:
			// A schedule is only known through Rate: the first and the
			// last level are checked, not every one.
			for _, i := range []int{0, max(r.Iterations-1, 0)} {
				if s := r.LabelNoise.Rate(i); !(s >= 0) || math.IsInf(s, 1) {
					p.add("LabelNoise.Rate(%d) = %v, want a noise level σ ≥ 0, finite", i, s)
					break
				}
			}
		}
	}
	if !(r.Average >= 0 && r.Average < 1) {
		p.add("Average = %v, want an averaging weight ω in [0, 1) (0: no averaging)", r.Average)
	}
	if !(r.Momentum >= 0 && r.Momentum < 1) {
		p.add("Momentum = %v, want a momentum μ in [0, 1) (0: plain SGD)", r.Momentum)
	}
	if !(r.WeightDecay >= 0) || math.IsInf(r.WeightDecay, 1) {
		p.add("WeightDecay = %v, want an L2 coefficient λ ≥ 0, finite (0: none)", r.WeightDecay)
	}
	if a := r.Augment; a != nil {
		if err := a.Validate(); err != nil {
			p.add("Augment: %v", err)
		} else if a.Shape.Size() != r.Data.D {
			p.add("Augment is for %d×%d×%d images, Data has %d values per example", a.Shape.C, a.Shape.H, a.Shape.W, r.Data.D)
		}
	}
	if r.ClassNoise != nil {
		switch {
		case isNil(r.ClassNoise):
			p.add("ClassNoise holds a nil %T", r.ClassNoise)
		case r.LabelNoise != nil:
			p.add("ClassNoise and LabelNoise are both set: one label-noise stream serves one of them")
		case r.Loss != graph.SoftmaxCE:
			p.add("ClassNoise is set with Loss %s, want %s (one-hot class targets)", r.Loss, graph.SoftmaxCE)
		case r.Data.K < 2:
			p.add("ClassNoise is set with Data.K = %d, want K ≥ 2 classes (one-hot target rows)", r.Data.K)
		default:
			for _, i := range []int{0, max(r.Iterations-1, 0)} {
				if q := r.ClassNoise.Rate(i); !(q >= 0 && q <= 1) {
					p.add("ClassNoise.Rate(%d) = %v, want a probability in [0, 1]", i, q)
					break
				}
			}
		}
	}
	if r.CheckpointEvery < 0 {
		p.add("CheckpointEvery = %d, want k ≥ 1 (or 0 for no checkpoints)", r.CheckpointEvery)
	}
	if r.CheckpointEvery > 0 && r.Checkpoint == nil {
		p.add("CheckpointEvery = %d without a Checkpoint function", r.CheckpointEvery)
	}
	if r.CheckpointEvery == 0 && r.Checkpoint != nil {
		p.add("Checkpoint is set with CheckpointEvery = 0: it would never be called")
	}
	return p.err()
}

// problems collects the configuration problems of a Run or an Ensemble,
// each an error that names its field: "train: <owner>.<field>…".
type problems struct {
	owner string // "Run" or "Ensemble"
	errs  []error
}

// add records a problem; format starts with the field, relative to the
// owner ("Batch = …", "Members[2].Sampler is nil").
func (p *problems) add(format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("train: "+p.owner+"."+format, args...))
}

// err returns the problems joined (errors.Join), nil if there are none.
func (p *problems) err() error { return errors.Join(p.errs...) }

// checkLoss adds the problem of an unknown loss (field Loss).
func (p *problems) checkLoss(loss graph.Loss) {
	if err := loss.Validate(); err != nil {
		p.add("Loss: %w", err)
	}
}

// checkData adds the problems of the set d (field Data) and of the batch
// size for it (field Batch). It reports whether d is consistent: the
// checks against Data.N mean nothing otherwise.
func (p *problems) checkData(d data.Set, batch int) (ok bool) {
	if err := d.Validate(); err != nil {
		p.add("Data: %w", err)
		return false
	}
	if batch < 1 || batch > d.N {
		p.add("Batch = %d, want Batch in [1, Data.N = %d]", batch, d.N)
	}
	return true
}

// checkSampler adds the problems of the sampler s held in field
// ("Sampler" of a Run, "Members[k].Sampler" of an Ensemble) for batches
// of batch examples from a set of n; those against n only if dataOK.
func (p *problems) checkSampler(field string, s Sampler, batch, n int, dataOK bool) {
	switch {
	case isNil(s):
		p.add("%s is nil", field)
	case !dataOK:
	default:
		switch sz := s.(type) {
		case Full, *Full:
			if batch != n {
				in := ""
				if field != "Sampler" {
					in = " in " + field
				}
				p.add("Batch = %d with the full-batch sampler%s, which needs Batch = Data.N = %d", batch, in, n)
			}
		case Sized:
			if size := sz.Size(); size != n {
				p.add("%s (%T) draws indices from [0, %d), but Data.N = %d: it was built for another set", field, s, size, n)
			}
		}
	}
}

// checkSteps adds the problems of the fields Iterations, DivergeAbove and
// Eval (see checkEval).
func (p *problems) checkSteps(iterations int, divergeAbove float64, eval []int) {
	if iterations < 0 {
		p.add("Iterations = %d, want Iterations ≥ 0", iterations)
	}
	if math.IsNaN(divergeAbove) || divergeAbove < 0 {
		p.add("DivergeAbove = %v, want a limit > 0 (or 0 for DefaultDivergence)", divergeAbove)
	}
	p.errs = append(p.errs, checkEval(p.owner, eval, iterations)...)
}

// checkMetrics adds the problem of every metric without a Measure in the
// fields prefix+"Metrics" and prefix+"StepMetrics" (prefix is "" for a
// Run, "Members[k]." for an Ensemble).
func (p *problems) checkMetrics(prefix string, metrics []Metric, steps []StepMetric) {
	for k, m := range metrics {
		if m.Measure == nil {
			p.add("%sMetrics[%d] (%q) has a nil Measure", prefix, k, m.Name)
		}
	}
	for k, m := range steps {
		if m.Measure == nil {
			p.add("%sStepMetrics[%d] (%q) has a nil Measure", prefix, k, m.Name)
		}
	}
}

// indexError is the error of a sampler, held in field (e.g. "Run.Sampler"),
// that returned index j at batch position k of update i, outside [0, n).
// The training loops check every index with one unsigned compare, which
// also catches negative ones: a sampler need not implement Sized, so this
// is the only guard against it reading past the data. It is called only
// on that failure, so that the loops allocate nothing.
func indexError(i int, field string, s Sampler, j, k, n int) error {
	return fmt.Errorf("train: iteration %d: %s (%T) returned index %d at batch position %d, want an index in [0, Data.N = %d)",
		i, field, s, j, k, n)
}

// checkEval returns the problems of an evaluation grid of owner (a type
// name, "Run" or "Ensemble"): every point in [0, iterations], strictly
// increasing. The training loop walks the grid with one cursor, so a point
// out of order or repeated would otherwise be skipped without a word.
func checkEval(owner string, eval []int, iterations int) []error {
	var errs []error
	more := 0
	for k, e := range eval {
		var err error
		switch {
		case e < 0:
			err = fmt.Errorf("train: %s.Eval[%d] = %d is negative (Eval holds iterations in [0, Iterations])", owner, k, e)
		case e > iterations:
			err = fmt.Errorf("train: %s.Eval[%d] = %d is past Iterations = %d", owner, k, e, iterations)
		case k > 0 && e <= eval[k-1]:
			err = fmt.Errorf("train: %s.Eval[%d] = %d is not after Eval[%d] = %d (Eval must be strictly increasing)", owner, k, e, k-1, eval[k-1])
		default:
			continue
		}
		if len(errs) < maxEvalProblems {
			errs = append(errs, err)
		} else {
			more++
		}
	}
	if more > 0 {
		errs = append(errs, fmt.Errorf("train: %s.Eval: %d more problems", owner, more))
	}
	return errs
}

// isNil reports whether v is a nil interface or holds a nil pointer, map,
// slice, func or channel: calling a method on the latter would panic (or
// read nothing) as surely as on the former.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
