package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"sgdlab/experiment"
	"sgdlab/internal/flock"
)

// Files of a point's directory, OUT/points/ID/.
const (
	PointFile  = "point.json"  // PointInfo, written before training
	DoneFile   = "done.json"   // Done: the completion mark, written last
	FailedFile = "failed.json" // Failed, when training failed
	// lockFile is flocked by the process running the point, so that two
	// processes given the same shard (a requeued Slurm task whose first
	// incarnation still runs) never train one point at once.
	lockFile = ".running"
	// tmpPrefix starts the temporary files of atomic writes; a process
	// killed between creating one and renaming it leaves it behind, and
	// the next run of the point removes it.
	tmpPrefix = ".tmp-"
)

// PointDir is the directory of the point id under the output directory
// out of a sweep.
func PointDir(out, id string) string { return filepath.Join(out, "points", id) }

// PointInfo is point.json: which point of which sweep a directory holds.
// Index is the point's index when it was last started; the ID, not the
// index, identifies it (see Point.ID).
type PointInfo struct {
	Sweep     string          `json:"sweep"`
	Version   string          `json:"version"`
	Index     int             `json:"index"`
	ID        string          `json:"id"`
	Overrides []string        `json:"overrides"`
	Seed      json.RawMessage `json:"seed,omitempty"`
}

// Done is done.json, written atomically (a temporary file renamed) once
// experiment.Run has returned without error, so its presence means the
// point's results are complete. It records who ran the point: the shard,
// the host and the process.
type Done struct {
	PointInfo
	Finished time.Time `json:"finished"`
	Seconds  float64   `json:"seconds"` // wall time of the point's training
	Shard    string    `json:"shard"`   // "i/n" of the run that trained it
	Host     string    `json:"host"`
	PID      int       `json:"pid"`
	// Runs are the runs of summary.json, with their final metrics.
	Runs []experiment.RunSummary `json:"runs"`
}

// Failed is failed.json: the error of a point whose training failed. A
// later run that completes the point removes it.
type Failed struct {
	PointInfo
	Error  string    `json:"error"`
	Failed time.Time `json:"failed"`
	Shard  string    `json:"shard"`
	Host   string    `json:"host"`
	PID    int       `json:"pid"`
}

// TrainFunc trains one experiment into opt.Dir; experiment.Run is one.
type TrainFunc func(ctx context.Context, c experiment.Config, opt experiment.Options) (experiment.Summary, error)

// Options control Run.
type Options struct {
	// Workers is the number of points trained at once (1 if 0). With
	// more than one, each point trains its runs one after the other, so
	// that the machine is not oversubscribed; with one, a point trains
	// its runs in parallel (experiment.Options.Workers 0).
	Workers int
	// Shard selects the points this call runs; the zero Shard is all.
	Shard Shard
	// Log receives one line per finished or failed point; nil discards.
	Log io.Writer
	// Progress, if set, is called after every change of the counts.
	Progress func(Status)
	// Train trains a point; nil is experiment.Run. Other values let tests
	// inject failures and let callers wrap training (say, with logging).
	Train TrainFunc
}

// Status is how far a Run is, in points of its shard.
type Status struct {
	Total   int // points of the shard
	Skipped int // done by an earlier run
	Done    int // done by this run
	Failed  int
	Busy    int // being run by another process, left to it
	Running int
}

// Counts is the outcome of a Run, in points of its shard.
type Counts struct {
	Status
	// Failures lists the points that failed, in the order they failed.
	Failures []Failure
}

// Failure is a point whose training failed.
type Failure struct {
	Index int
	ID    string
	Err   error
}

// Run trains the points of plan that belong to opt.Shard and have no
// done.json yet under out (see the package documentation for the
// layout), opt.Workers at a time. A point whose training fails gets
// failed.json and the others go on: such failures are in the Counts,
// not in the error, which is returned only when Run itself cannot go on
// (the output directory cannot be written) or ctx is cancelled. On
// cancellation the points being trained stop and leave no result behind
// (experiment.Run writes into a partial directory); points already done
// stay done, and a rerun continues where this one stopped.
func Run(ctx context.Context, plan Plan, out string, opt Options) (Counts, error) {
	if err := opt.Shard.check(); err != nil {
		return Counts{}, fmt.Errorf("%w: sweep %s: %w", experiment.ErrInvalid, plan.Spec.Name, err)
	}
	if err := os.MkdirAll(filepath.Join(out, "points"), 0o755); err != nil {
		return Counts{}, fmt.Errorf("%w: sweep %s: output directory: %w", experiment.ErrInvalid, plan.Spec.Name, err)
	}
	r := &runner{plan: plan, out: out, opt: opt}
	if r.opt.Train == nil {
		r.opt.Train = experiment.Run
	}
	r.host, _ = os.Hostname()
	var todo []int
	for _, pt := range plan.Points {
		if !opt.Shard.Has(pt.Index) {
			continue
		}
		r.counts.Total++
		if _, ok := readDone(out, pt.ID); ok {
			r.counts.Skipped++
			continue
		}
		todo = append(todo, pt.Index)
	}
	r.report()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	workers := max(1, opt.Workers)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, max(1, len(todo))) {
		wg.Go(func() {
			for k := range jobs {
				if err := r.point(ctx, plan.Points[k], workers > 1); err != nil {
					// An infrastructure error: stop the other points
					// too; their partial results are discarded.
					r.mu.Lock()
					if r.err == nil {
						r.err = err
					}
					r.mu.Unlock()
					cancel(err)
				}
			}
		})
	}
feed:
	for _, k := range todo {
		select {
		case jobs <- k:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if r.err != nil {
		return r.counts, fmt.Errorf("sweep %s: %w", plan.Spec.Name, r.err)
	}
	if err := ctx.Err(); err != nil {
		return r.counts, fmt.Errorf("sweep %s: %w", plan.Spec.Name, err)
	}
	return r.counts, nil
}

// runner is the state of one Run.
type runner struct {
	plan Plan
	out  string
	opt  Options
	host string

	mu     sync.Mutex
	counts Counts
	err    error // the first infrastructure error
}

func (r *runner) report() {
	if r.opt.Progress != nil {
		r.opt.Progress(r.counts.Status)
	}
}

// update changes the counts under the lock and reports them.
func (r *runner) update(f func(c *Counts)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.counts)
	r.report()
}

func (r *runner) logf(format string, args ...any) {
	if r.opt.Log != nil {
		r.mu.Lock()
		fmt.Fprintf(r.opt.Log, format, args...)
		r.mu.Unlock()
	}
}

// point trains one point. It returns only infrastructure errors; a
// failed training is recorded in failed.json.
func (r *runner) point(ctx context.Context, pt Point, several bool) error {
	if ctx.Err() != nil {
		return nil
	}
	dir := PointDir(r.out, pt.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("point %d: %w", pt.Index, err)
	}
	lock, err := flock.TryLock(filepath.Join(dir, lockFile))
	if errors.Is(err, syscall.EWOULDBLOCK) {
		r.update(func(c *Counts) { c.Busy++ })
		r.logf("sweep %s: point %d (%s) is being run by another process; left to it\n", r.plan.Spec.Name, pt.Index, pt.ID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("point %d: %w", pt.Index, err)
	}
	defer lock.Close()
	// Another process may have finished the point between the listing
	// and the lock.
	if _, ok := readDone(r.out, pt.ID); ok {
		r.update(func(c *Counts) { c.Skipped++ })
		return nil
	}
	removeTemps(dir)
	info := PointInfo{Sweep: r.plan.Spec.Name, Version: Version, Index: pt.Index, ID: pt.ID, Overrides: pt.Overrides, Seed: pt.Seed}
	if err := writeAtomic(filepath.Join(dir, PointFile), info); err != nil {
		return fmt.Errorf("point %d: %w", pt.Index, err)
	}
	r.update(func(c *Counts) { c.Running++ })
	inner := 0
	if several {
		inner = 1
	}
	start := time.Now()
	sum, err := r.opt.Train(ctx, pt.Config, experiment.Options{Dir: dir, Workers: inner})
	if err != nil {
		r.update(func(c *Counts) { c.Running-- })
		if ctx.Err() != nil {
			// Interrupted, not failed: the point is simply not done.
			return nil
		}
		f := Failed{PointInfo: info, Error: err.Error(), Failed: time.Now().UTC(), Shard: r.opt.Shard.String(), Host: r.host, PID: os.Getpid()}
		if werr := writeAtomic(filepath.Join(dir, FailedFile), f); werr != nil {
			return fmt.Errorf("point %d: recording its failure (%v): %w", pt.Index, err, werr)
		}
		r.update(func(c *Counts) {
			c.Failed++
			c.Failures = append(c.Failures, Failure{Index: pt.Index, ID: pt.ID, Err: err})
		})
		r.logf("sweep %s: point %d (%s) failed: %v\n", r.plan.Spec.Name, pt.Index, pt.ID, err)
		return nil
	}
	d := Done{PointInfo: info, Finished: time.Now().UTC(), Seconds: time.Since(start).Seconds(),
		Shard: r.opt.Shard.String(), Host: r.host, PID: os.Getpid(), Runs: sum.Runs}
	if err := writeAtomic(filepath.Join(dir, DoneFile), d); err != nil {
		return fmt.Errorf("point %d: %w", pt.Index, err)
	}
	// A failure of an earlier run is stale now that the point is done.
	if err := os.Remove(filepath.Join(dir, FailedFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("point %d: %w", pt.Index, err)
	}
	r.update(func(c *Counts) { c.Running--; c.Done++ })
	r.logf("sweep %s: point %d (%s) done in %.1fs\n", r.plan.Spec.Name, pt.Index, pt.ID, d.Seconds)
	return nil
}

// readDone returns the done.json of point id, and false if there is none
// or it is not the point's (a file that does not parse, or names another
// ID, is not taken as a completion mark).
func readDone(out, id string) (Done, bool) {
	b, err := os.ReadFile(filepath.Join(PointDir(out, id), DoneFile))
	if err != nil {
		return Done{}, false
	}
	var d Done
	if err := json.Unmarshal(b, &d); err != nil || d.ID != id {
		return Done{}, false
	}
	return d, true
}

// readFailed returns the failed.json of point id, if any.
func readFailed(out, id string) (Failed, bool) {
	b, err := os.ReadFile(filepath.Join(PointDir(out, id), FailedFile))
	if err != nil {
		return Failed{}, false
	}
	var f Failed
	if err := json.Unmarshal(b, &f); err != nil {
		// Unreadable, yet the point did fail.
		return Failed{Error: "unreadable " + FailedFile}, true
	}
	return f, true
}

// writeAtomic writes v as JSON to path through a temporary file in the
// same directory, synced and renamed, so that path holds either nothing
// or all of v, even if the process is killed or the machine stops.
func writeAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'))
}

func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tmpPrefix+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o644) // CreateTemp makes 0600; results are shared
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	// The rename is durable once the directory is synced.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// removeTemps removes the temporary files a killed process left in dir.
func removeTemps(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// PointState returns "done" if point id has done.json under out,
// "failed" if it has failed.json instead, and "" otherwise (not run yet,
// running, or interrupted).
func PointState(out, id string) string {
	if _, ok := readDone(out, id); ok {
		return "done"
	}
	if _, ok := readFailed(out, id); ok {
		return "failed"
	}
	return ""
}
