package sweep

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sgdlab/experiment"
)

// smallSweep has 2 step sizes × 2 decay points × 2 seeds = 8 points of
// the small DLN of testdata/base.json (2 runs, 2001 updates each).
const smallSweep = `{
  "name": "small", "config": "base.json",
  "axes": [
    {"key": "runs[1].schedule.lr", "values": [0.15, 0.2]},
    {"key": "runs[1].schedule.decays[0].at", "values": [201, 1001]}
  ],
  "seeds": {"keys": ["runs[0].optimizer.seed", "runs[1].optimizer.seed"], "values": [1, 2]}
}`

func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestRunFailureAndRerun checks that a failing point is recorded in
// failed.json while the others complete, that a rerun skips the done
// points and redoes the failed one, removing its failed.json, and the
// files' modes.
func TestRunFailureAndRerun(t *testing.T) {
	p := mustPlan(t, smallSweep)
	out := t.TempDir()
	bad := p.Points[5].ID
	failing := func(ctx context.Context, c experiment.Config, opt experiment.Options) (experiment.Summary, error) {
		if filepath.Base(opt.Dir) == bad {
			return experiment.Summary{}, errors.New("injected failure")
		}
		return experiment.Run(ctx, c, opt)
	}
	var statuses []Status
	var log bytes.Buffer
	counts, err := Run(context.Background(), p, out, Options{Workers: 2, Train: failing, Log: &log, Progress: func(s Status) { statuses = append(statuses, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if counts.Total != 8 || counts.Done != 7 || counts.Failed != 1 || counts.Skipped != 0 || len(counts.Failures) != 1 || counts.Failures[0].Index != 5 {
		t.Fatalf("counts %+v", counts)
	}
	if last := statuses[len(statuses)-1]; last.Done != 7 || last.Failed != 1 || last.Running != 0 {
		t.Errorf("last progress %+v", last)
	}
	if !strings.Contains(log.String(), "point 5 ("+bad+") failed: injected failure") {
		t.Errorf("log lacks the failure:\n%s", log.String())
	}
	var f Failed
	readJSONFile(t, filepath.Join(PointDir(out, bad), FailedFile), &f)
	if f.Error != "injected failure" || f.ID != bad || f.Index != 5 || f.PID != os.Getpid() {
		t.Errorf("failed.json: %+v", f)
	}
	if _, err := os.Stat(filepath.Join(PointDir(out, bad), DoneFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failed point has done.json: %v", err)
	}
	mtimes := make(map[string]time.Time)
	for _, pt := range p.Points {
		if pt.ID == bad {
			continue
		}
		dir := PointDir(out, pt.ID)
		var d Done
		readJSONFile(t, filepath.Join(dir, DoneFile), &d)
		if d.ID != pt.ID || d.Index != pt.Index || len(d.Runs) != 2 || d.Runs[1].Final["test_loss"] == nil || d.Finished.IsZero() {
			t.Errorf("point %d: done.json %+v", pt.Index, d)
		}
		if _, err := os.Stat(filepath.Join(dir, "summary.json")); err != nil {
			t.Errorf("point %d: done without results: %v", pt.Index, err)
		}
		for name, mode := range map[string]os.FileMode{".": 0o755 | os.ModeDir, DoneFile: 0o644, PointFile: 0o644, "summary.json": 0o644} {
			st, err := os.Stat(filepath.Join(dir, name))
			if err != nil || st.Mode() != mode {
				t.Errorf("point %d: %s has mode %v (%v), want %v", pt.Index, name, st.Mode(), err, mode)
			}
		}
		st, _ := os.Stat(filepath.Join(dir, DoneFile))
		mtimes[pt.ID] = st.ModTime()
	}
	if st := PointState(out, bad); st != "failed" {
		t.Errorf("state of the failed point: %q", st)
	}

	var trained atomic.Int32
	counting := func(ctx context.Context, c experiment.Config, opt experiment.Options) (experiment.Summary, error) {
		trained.Add(1)
		return experiment.Run(ctx, c, opt)
	}
	counts, err = Run(context.Background(), p, out, Options{Workers: 2, Train: counting})
	if err != nil {
		t.Fatal(err)
	}
	if counts.Done != 1 || counts.Skipped != 7 || counts.Failed != 0 || trained.Load() != 1 {
		t.Fatalf("rerun: counts %+v, %d trained", counts, trained.Load())
	}
	if _, err := os.Stat(filepath.Join(PointDir(out, bad), FailedFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed.json survives the successful rerun: %v", err)
	}
	for id, m := range mtimes {
		if st, _ := os.Stat(filepath.Join(PointDir(out, id), DoneFile)); !st.ModTime().Equal(m) {
			t.Errorf("point %s: done.json rewritten by the rerun", id)
		}
	}
	if st := PointState(out, bad); st != "done" {
		t.Errorf("state after the rerun: %q", st)
	}
}

// TestRunShard checks that a shard trains exactly its points.
func TestRunShard(t *testing.T) {
	p := mustPlan(t, smallSweep)
	out := t.TempDir()
	counts, err := Run(context.Background(), p, out, Options{Shard: Shard{1, 3}})
	if err != nil {
		t.Fatal(err)
	}
	if counts.Total != 3 || counts.Done != 3 {
		t.Errorf("counts %+v, want 3 of points 1, 4, 7", counts)
	}
	for _, pt := range p.Points {
		var want string
		if pt.Index%3 == 1 {
			want = "done"
		}
		if got := PointState(out, pt.ID); got != want {
			t.Errorf("point %d: state %q, want %q", pt.Index, got, want)
		}
	}
	if _, err := Run(context.Background(), p, out, Options{Shard: Shard{3, 3}}); !errors.Is(err, experiment.ErrInvalid) {
		t.Errorf("shard 3/3: %v", err)
	}
}

// TestRunCancel checks that cancelling a Run stops it with the context's
// error, and that the interrupted points are neither done nor failed.
func TestRunCancel(t *testing.T) {
	p := mustPlan(t, smallSweep)
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{}, len(p.Points))
	blocking := func(ctx context.Context, c experiment.Config, opt experiment.Options) (experiment.Summary, error) {
		started <- struct{}{}
		<-ctx.Done()
		return experiment.Summary{}, fmt.Errorf("training: %w", ctx.Err())
	}
	go func() { <-started; cancel() }()
	counts, err := Run(ctx, p, out, Options{Workers: 2, Train: blocking})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if counts.Done != 0 || counts.Failed != 0 {
		t.Errorf("counts %+v", counts)
	}
	for _, pt := range p.Points {
		if st := PointState(out, pt.ID); st != "" {
			t.Errorf("point %d is %q after the cancellation", pt.Index, st)
		}
	}
}

// TestRunBadOut checks that an output directory that cannot be made is
// an error at once, as bad input.
func TestRunBadOut(t *testing.T) {
	p := mustPlan(t, smallSweep)
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := Run(context.Background(), p, file, Options{}); !errors.Is(err, experiment.ErrInvalid) || !strings.Contains(err.Error(), "output directory") {
		t.Errorf("error %v", err)
	}
}

// TestCollect checks collect.csv and the figures, and that a point
// without done.json (results without the mark, a partial directory) is
// not collected.
func TestCollect(t *testing.T) {
	p := mustPlan(t, smallSweep)
	out := t.TempDir()
	if _, err := Run(context.Background(), p, out, Options{Workers: 2}); err != nil {
		t.Fatal(err)
	}
	// Point 3 looks like an interrupted one: its results are there but
	// not its mark. Point 6 failed.
	os.Remove(filepath.Join(PointDir(out, p.Points[3].ID), DoneFile))
	os.Remove(filepath.Join(PointDir(out, p.Points[6].ID), DoneFile))
	writeAtomic(filepath.Join(PointDir(out, p.Points[6].ID), FailedFile), Failed{Error: "x"})
	os.MkdirAll(filepath.Join(out, "points", "."+p.Points[3].ID+".partial-123"), 0o755)
	rep, err := Collect(p, out, CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Total != 8 || rep.Finished != 6 || rep.Failed != 1 || rep.Missing != 1 || rep.Rows != 12 || rep.Metric != "train_loss" {
		t.Errorf("report %+v", rep)
	}
	f, err := os.Open(rep.CSV)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := "index,id,runs[1].schedule.lr,runs[1].schedule.decays[0].at,seed,run,lr,diverged,l0,test_loss,train_loss"
	if got := strings.Join(rows[0], ","); got != wantHeader {
		t.Errorf("header %s, want %s", got, wantHeader)
	}
	if len(rows) != 1+12 {
		t.Fatalf("%d rows", len(rows))
	}
	for _, r := range rows[1:] {
		if r[0] == "3" || r[0] == "6" {
			t.Errorf("row of an unfinished point: %v", r)
		}
	}
	// Point 7: lr 0.2, decay at 1001, seed 2; its decay run has η = 0.2.
	last := rows[len(rows)-1]
	if strings.Join(last[:8], ",") != "7,"+p.Points[7].ID+",0.2,1001,2,decay,0.2,false" || last[10] == "" {
		t.Errorf("last row %v", last)
	}
	if len(rep.Figures) != 3 {
		t.Fatalf("figures %v, want the line figure and 2 heat maps", rep.Figures)
	}
	for _, fig := range rep.Figures {
		b, err := os.ReadFile(fig)
		if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) || !strings.HasPrefix(filepath.Base(fig), "collect-train_loss-") {
			t.Errorf("figure %s: %v", fig, err)
		}
	}
	if _, err := Collect(p, out, CollectOptions{Metric: "accuracy"}); !errors.Is(err, experiment.ErrInvalid) || !strings.Contains(err.Error(), "l0, test_loss, train_loss") {
		t.Errorf("unknown metric: %v", err)
	}
	rep, err = Collect(p, out, CollectOptions{Metric: "l0"})
	if err != nil || rep.Metric != "l0" || !strings.Contains(rep.Figures[0], "collect-l0-vs-runs1.schedule.lr.png") {
		t.Errorf("-metric l0: %+v, %v", rep, err)
	}
}
