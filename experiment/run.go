package experiment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"sgdlab/data"
	"sgdlab/metric"
	"sgdlab/train"
)

// Options control how an experiment is run.
type Options struct {
	// Out is the parent directory; results go to Out/<experiment name>.
	Out string
	// Dir, if set, is the result directory itself, and Out is ignored
	// (a sweep names each point's directory by its configuration).
	Dir string
	// Workers is the number of runs trained at once (GOMAXPROCS if 0).
	Workers int
	// Log receives one line per finished or diverged run (e.g. stderr);
	// nil discards them.
	Log io.Writer
	// Progress, if set, is told how far each run is.
	Progress func(run string, done, total int)
	// Resume continues every run from its last saved state, where the
	// configuration saves them (Config.CheckpointEvery) and an earlier,
	// stopped invocation of the same configuration left one: the results
	// are those of a run that never stopped.
	Resume bool

	// states is the directory of the runs' saved states (see stateDir).
	states string
}

// stateDir is where the states of the runs of the experiment whose result
// directory is dst are saved while it trains: a hidden directory beside
// it, which outlives an interruption and goes when the results are
// complete.
func stateDir(dst string) string {
	return filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".state")
}

// stateTag identifies the attempt at step size lr of run name of c in its
// saved states: a digest of the configuration as trained, and lr.
func stateTag(c Config, name string, lr float64) (config, tag string, err error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(b)
	config = hex.EncodeToString(sum[:])
	return config, fmt.Sprintf("%s run=%s lr=%s", config, name, strconv.FormatFloat(lr, 'g', -1, 64)), nil
}

// checkpoints makes r save its state every c.CheckpointEvery updates
// into opt's state directory, and, with opt.Resume, continue from the
// state saved there for this attempt, if any. A state of another
// configuration is an error naming the file; one of another attempt of
// the run (another step size, before a retry) is left for that attempt.
func (c Config) checkpoints(r *train.Run, name string, lr float64, opt Options) error {
	if c.CheckpointEvery == 0 || opt.states == "" {
		return nil
	}
	config, tag, err := stateTag(c, name, lr)
	if err != nil {
		return err
	}
	path := filepath.Join(opt.states, name+".safetensors")
	r.CheckpointEvery = c.CheckpointEvery
	r.Checkpoint = func(s *train.State) error {
		if err := os.MkdirAll(opt.states, 0o755); err != nil {
			return err
		}
		s.Tag = tag
		return train.SaveState(path, s)
	}
	if !opt.Resume {
		return nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	s, err := train.LoadState(path, r.Model)
	if err != nil {
		return fmt.Errorf("%w: resuming: %w", ErrInvalid, err)
	}
	switch {
	case s.Tag == tag:
		r.Resume = s
	case !strings.HasPrefix(s.Tag, config+" run="+name+" "):
		return fmt.Errorf("%w: resuming: %s holds the state of another configuration or run (tag %q); run without -resume to start over", ErrInvalid, path, s.Tag)
	}
	return nil
}

// Outcome is the result of one RunSpec: its attempts, the last of which
// is the one reported (the first that survived, or the last that
// diverged when retries ran out).
type Outcome struct {
	Spec     RunSpec
	Attempts []Attempt
	// CalibratedLR is the experiment's calibrated step size, 0 without a
	// calibration.
	CalibratedLR float64
}

// Attempt is one training of a run at one initial step size.
type Attempt struct {
	LR     float64
	Result train.Result
	// End holds the parameters where training stopped (the last update,
	// or the divergence).
	End Checkpoint
}

// Final returns the reported attempt.
func (o Outcome) Final() Attempt { return o.Attempts[len(o.Attempts)-1] }

// Train trains every run of c and returns their outcomes in the order of
// c.Runs. It writes nothing; see Run.
func Train(ctx context.Context, c Config, opt Options) ([]Outcome, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	t, err := c.train(ctx, opt)
	return t.outs, err
}

// trained is what training a valid configuration gave: the configuration
// as run (calibrated step sizes resolved), its data and the outcomes.
type trained struct {
	c    Config
	ds   sets
	outs []Outcome
}

// train is Train of a configuration already validated.
func (c Config) train(ctx context.Context, opt Options) (trained, error) {
	ds, err := c.load()
	if err != nil {
		// The data a valid configuration names are missing or corrupt:
		// the user's files.
		return trained{}, fmt.Errorf("%w: experiment %s: data: %w", ErrInvalid, c.Name, err)
	}
	calibrated, err := c.calibrate(ctx, ds, opt)
	if err != nil {
		return trained{}, fmt.Errorf("experiment %s: %w", c.Name, err)
	}
	c = c.withCalibrated(calibrated)
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	outs := make([]Outcome, len(c.Runs))
	errs := make([]error, len(c.Runs))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				outs[i], errs[i] = c.trainRun(ctx, c.Runs[i], ds, opt)
				if errs[i] != nil {
					cancel()
				}
			}
		}()
	}
	for i := range c.Runs {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return trained{}, err
		}
	}
	for i := range outs {
		outs[i].CalibratedLR = calibrated
	}
	return trained{c: c, ds: ds, outs: outs}, ctx.Err()
}

// calibrate returns the calibrated step size of c (see Config.Calibration),
// 0 if c has none: constant step sizes tried on the data with the
// optimizer of the first run with an lr_factor, each index stream a seed
// of the calibration, for the calibration's fraction of the iterations.
func (c Config) calibrate(ctx context.Context, ds sets, opt Options) (float64, error) {
	if c.Calibration == nil {
		return 0, nil
	}
	k := slices.IndexFunc(c.Runs, func(r RunSpec) bool { return r.LRFactor != 0 })
	trial := c
	trial.Iterations = max(1, int(math.Ceil(c.Calibration.Fraction*float64(c.Iterations))))
	trial.Metrics, trial.Surface = nil, nil
	quiet := Options{Workers: 1}
	return c.Calibration.Calibrate(ctx, func(ctx context.Context, lr float64, seed uint32) (bool, error) {
		o := c.Runs[k].Optimizer
		o.Seed = seed
		a, err := trial.attempt(ctx, "calibration", train.ScheduleSpec{Kind: "constant", LR: lr}, o, c.Runs[k].extras(), ds, quiet)
		return err == nil && !a.Result.Diverged, err
	})
}

// withCalibrated returns c with the step size of every run with an
// lr_factor resolved from the calibrated one.
func (c Config) withCalibrated(lr float64) Config {
	if lr == 0 {
		return c
	}
	runs := slices.Clone(c.Runs)
	for i := range runs {
		if runs[i].LRFactor != 0 {
			runs[i].Schedule.LR = lr * runs[i].LRFactor
		}
	}
	c.Runs = runs
	return c
}

// trainRun trains one run, retrying with a smaller step size after a
// divergence if the spec asks for it.
func (c Config) trainRun(ctx context.Context, spec RunSpec, ds sets, opt Options) (Outcome, error) {
	out := Outcome{Spec: spec}
	sched := spec.Schedule
	for try := 0; ; try++ {
		a, err := c.attempt(ctx, spec.Name, sched, spec.Optimizer, spec.extras(), ds, opt)
		if err != nil {
			return out, fmt.Errorf("experiment %s: run %s: %w", c.Name, spec.Name, err)
		}
		out.Attempts = append(out.Attempts, a)
		res := a.Result
		if !res.Diverged {
			logf(opt.Log, "%s: run %s (η=%.4g) finished\n", c.Name, spec.Name, sched.LR)
			return out, nil
		}
		logf(opt.Log, "%s: run %s (η=%.4g) diverged at iteration %d\n", c.Name, spec.Name, sched.LR, res.DivergedAt)
		if spec.Retry == nil || try == spec.Retry.Max {
			return out, nil
		}
		sched.LR -= spec.Retry.Step
	}
}

// extras are the parts of a RunSpec that attempt passes to train.Run
// besides the schedule and the optimizer.
type extras struct {
	labelNoise *train.ScheduleSpec
	noiseSeed  uint32
	average    float64
	modelSeed  *uint32
	momentum   float64
	decay      float64
	classNoise *train.ScheduleSpec
	augment    *AugmentSpec
}

func (r RunSpec) extras() extras {
	return extras{labelNoise: r.LabelNoise, noiseSeed: r.NoiseSeed, average: r.Average, modelSeed: r.ModelSeed,
		momentum: r.Momentum, decay: r.WeightDecay, classNoise: r.ClassNoise, augment: r.Augment}
}

func (c Config) attempt(ctx context.Context, name string, spec train.ScheduleSpec, o Optimizer, ex extras, ds sets, opt Options) (Attempt, error) {
	trainSet, testSet := ds.train, ds.test
	a := Attempt{LR: spec.LR}
	sched, err := spec.Schedule()
	if err != nil {
		return a, err
	}
	spec0 := c.Model.Spec
	if ex.modelSeed != nil {
		if spec0, err = reseeded(c.Model, *ex.modelSeed); err != nil {
			return a, err
		}
	}
	m, err := spec0.New()
	if err != nil {
		return a, err
	}
	evals, err := c.Grid.Iterations()
	if err != nil {
		return a, err
	}
	evals = evals[:countUpTo(evals, c.Iterations)]
	batch := o.Batch
	if o.Kind == "gd" {
		batch = trainSet.N
	}
	env := &metric.Env{Model: m, Loss: c.Loss, Train: trainSet, Test: testSet, Points: len(evals), Batch: batch,
		Rank: c.Rank, Sharpness: c.Sharpness, BlockSharpness: c.BlockSharpness, BatchSharpness: c.BatchSharpness, Features: c.Features, Eval: ds.eval,
		EvalBatch: c.EvalBatch}
	metrics, steps, err := metric.Build(c.Metrics, env)
	if err != nil {
		return a, err
	}
	r := train.Run{
		Model: m, Loss: c.Loss, Data: trainSet,
		Schedule: sched, Iterations: c.Iterations, Eval: evals, Metrics: metrics, StepMetrics: steps,
		DivergeAbove: c.DivergeAbove,
		Snapshots:    c.Surface.snapshots(name) || c.Function.snapshots(),
	}
	switch o.Kind {
	case "sgd":
		r.Batch, r.Sampler = o.Batch, train.NewUniform(trainSet.N, o.Seed)
	case "sgd_noreplace":
		r.Batch, r.Sampler = o.Batch, train.NewWithoutReplacement(trainSet.N, o.Seed)
	case "sgd_epochs":
		r.Batch = o.Batch
		if r.Sampler, err = train.NewEpochs(trainSet.N, o.Seed); err != nil {
			return a, err
		}
	case "gd":
		r.Batch, r.Sampler = trainSet.N, train.Full{}
	}
	if ex.labelNoise != nil {
		if r.LabelNoise, err = ex.labelNoise.Schedule(); err != nil {
			return a, err
		}
		r.NoiseSeed = ex.noiseSeed
	}
	if ex.classNoise != nil {
		if r.ClassNoise, err = ex.classNoise.Schedule(); err != nil {
			return a, err
		}
		r.NoiseSeed = ex.noiseSeed
	}
	if ex.augment != nil {
		if r.Augment, err = c.augmentation(*ex.augment); err != nil {
			return a, err
		}
		r.AugmentSeed = ex.augment.Seed
	}
	r.Average, r.Momentum, r.WeightDecay = ex.average, ex.momentum, ex.decay
	if opt.Progress != nil {
		r.Progress = func(done int) { opt.Progress(name, done, c.Iterations) }
	}
	if err := c.checkpoints(&r, name, spec.LR, opt); err != nil {
		return a, err
	}
	if a.Result, err = r.Train(ctx); err != nil {
		return a, err
	}
	end := c.Iterations
	if a.Result.Diverged {
		end = a.Result.DivergedAt
	}
	a.End = newCheckpoint(c, name, end, m)
	return a, nil
}

// sets are the data of an experiment: the training and test sets, and
// the evaluation points where the data has them.
type sets struct{ train, test, eval data.Set }

// load returns the data of c.
func (c Config) load() (sets, error) {
	var ds sets
	var err error
	if ds.train, ds.test, err = c.Data.Source.Load(); err != nil {
		return ds, err
	}
	if e, ok := c.Data.Source.(data.Evaluator); ok {
		ds.eval, err = e.EvalSet()
	}
	return ds, err
}

// countUpTo returns how many evaluation points a run of n updates reaches.
func countUpTo(sorted []int, n int) int {
	k := 0
	for _, v := range sorted {
		if v <= n {
			k++
		}
	}
	return k
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format, args...)
	}
}
