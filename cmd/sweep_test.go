package cmd

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"sgdlab/experiment"
	"sgdlab/sweep"
)

// writeSweep writes a sweep file over the small DLN of
// sweep/testdata/base.json (2 runs) into dir: iterations updates per run,
// and the axes and seeds given as JSON.
func writeSweep(t *testing.T, dir string, iterations int, axes, seeds string) string {
	t.Helper()
	base, err := filepath.Abs("../sweep/testdata/base.json")
	if err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf(`{"name": "acc", "config": %q,
	  "set": ["iterations=%d", "grid.t=%d", "grid.every=%d", "runs[1].schedule.decays[0].at=%d"],
	  "axes": %s, "seeds": %s}`, base, iterations, iterations, max(1, iterations/20), iterations/2, axes, seeds)
	path := filepath.Join(dir, "sweep.json")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The 16 points of the acceptance test: 2 step sizes × 2 decay points ×
// 2 step sizes of the other run × 2 seeds.
func acceptanceAxes(iterations int) string {
	return fmt.Sprintf(`[{"key": "runs[1].schedule.lr", "values": [0.15, 0.2]},
	  {"key": "runs[1].schedule.decays[0].at", "values": [%d, %d]},
	  {"key": "runs[0].schedule.lr", "values": [0.05, 0.1]}]`, iterations/10+1, iterations/2+1)
}

const twoSeeds = `{"keys": ["runs[0].optimizer.seed", "runs[1].optimizer.seed"], "values": [1, 2]}`

// buildSgdlab builds the real binary, so that tests can kill it.
func buildSgdlab(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sgdlab")
	out, err := exec.Command("go", "build", "-o", bin, "sgdlab/cmd/sgdlab").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is a started sgdlab.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
}

// cleanEnv is the test's environment without job-array variables, which
// would pick a shard.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLURM_") && !strings.HasPrefix(kv, sweep.EnvK8sIndex+"=") && !strings.HasPrefix(kv, sweep.EnvShards+"=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func start(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...)}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// wait waits for p and returns its exit status (-1 if a signal killed it).
func (p *process) wait(t *testing.T) int {
	t.Helper()
	err := p.cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

func runBin(t *testing.T, bin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	p := start(t, bin, env, args...)
	code := p.wait(t)
	if strings.Contains(p.stderr.String(), "goroutine ") {
		t.Fatalf("sgdlab %v panicked:\n%s", args, p.stderr.String())
	}
	return code, p.stdout.String(), p.stderr.String()
}

// doneFile is a done.json as found on disk.
type doneFile struct {
	raw   []byte
	mtime time.Time
	done  sweep.Done
}

// doneFiles reads every OUT/points/*/done.json, by point ID.
func doneFiles(t *testing.T, out string) map[string]doneFile {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(out, "points", "*", sweep.DoneFile))
	m := make(map[string]doneFile)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		d := doneFile{raw: b, mtime: st.ModTime()}
		if err := json.Unmarshal(b, &d.done); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		m[filepath.Base(filepath.Dir(p))] = d
	}
	return m
}

// leftovers returns the partial directories and temporary files under out.
func leftovers(t *testing.T, out string) []string {
	t.Helper()
	var found []string
	filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err == nil && (strings.Contains(d.Name(), ".partial-") || strings.HasPrefix(d.Name(), ".tmp-")) {
			found = append(found, path)
		}
		return nil
	})
	return found
}

// collectRows runs collect and returns the rows of collect.csv by point ID.
func collectRows(t *testing.T, bin, file, out string, wantCode int, extra ...string) map[string]int {
	t.Helper()
	code, stdout, stderr := runBin(t, bin, cleanEnv(), append([]string{"sweep", "collect", file, "-out", out}, extra...)...)
	if code != wantCode {
		t.Fatalf("collect %v: exit %d, want %d\n%s%s", extra, code, wantCode, stdout, stderr)
	}
	f, err := os.Open(filepath.Join(out, sweep.CollectFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	byID := make(map[string]int)
	for _, r := range rows[1:] {
		byID[r[1]]++
	}
	return byID
}

// TestSweepSurvivesKill9 is the acceptance test: a 16-point sweep with 2
// workers, killed with SIGKILL once some points are done, then rerun to
// completion. The points done before the kill are not redone, every point
// ends with one done.json, and nothing unfinished is ever collected.
func TestSweepSurvivesKill9(t *testing.T) {
	bin := buildSgdlab(t)
	dir := t.TempDir()
	// About 0.1–0.2 s a point: the kill lands while others are training.
	const iters = 300001
	file := writeSweep(t, dir, iters, acceptanceAxes(iters), twoSeeds)
	out := filepath.Join(dir, "out")

	first := start(t, bin, cleanEnv(), "sweep", "run", file, "-out", out, "-workers", "2")
	deadline := time.Now().Add(60 * time.Second)
	for len(doneFiles(t, out)) == 0 {
		if time.Now().After(deadline) {
			first.cmd.Process.Kill()
			t.Fatalf("no point done after 60 s:\n%s", first.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	first.cmd.Process.Kill()
	if code := first.wait(t); code != -1 {
		t.Fatalf("the first run exited with %d before the kill", code)
	}
	before := doneFiles(t, out)
	if len(before) == 0 || len(before) == 16 {
		t.Fatalf("%d of 16 points done at the kill; the test needs some but not all", len(before))
	}
	t.Logf("%d of 16 points done at the kill; left behind: %v", len(before), leftovers(t, out))

	// Only finished points are collected from the killed sweep.
	rows := collectRows(t, bin, file, out, 1, "-require-all")
	if len(rows) != len(before) {
		t.Errorf("collected %d points after the kill, %d are done", len(rows), len(before))
	}
	for id, n := range rows {
		if _, ok := before[id]; !ok || n != 2 {
			t.Errorf("point %s collected with %d rows (done: %v)", id, n, ok)
		}
	}

	code, stdout, stderr := runBin(t, bin, cleanEnv(), "sweep", "run", file, "-out", out, "-workers", "2")
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s%s", code, stdout, stderr)
	}
	if want := fmt.Sprintf("sweep acc: %d points done now, %d already done, 0 failed\n", 16-len(before), len(before)); stdout != want {
		t.Errorf("rerun printed %q, want %q", stdout, want)
	}
	after := doneFiles(t, out)
	if len(after) != 16 {
		t.Fatalf("%d points done after the rerun, want 16", len(after))
	}
	dirs, _ := os.ReadDir(filepath.Join(out, "points"))
	if len(dirs) != 16 {
		t.Errorf("%d entries in points/, want 16 point directories", len(dirs))
	}
	for id, d := range before {
		a := after[id]
		if !bytes.Equal(a.raw, d.raw) || !a.mtime.Equal(d.mtime) {
			t.Errorf("point %s was redone by the rerun", id)
		}
		if d.done.PID != first.cmd.Process.Pid {
			t.Errorf("point %s: done by pid %d, the first run was %d", id, d.done.PID, first.cmd.Process.Pid)
		}
	}
	for id, a := range after {
		if _, old := before[id]; !old && a.done.PID == first.cmd.Process.Pid {
			t.Errorf("point %s: done.json of the killed process appeared after the kill", id)
		}
		if _, err := os.Stat(filepath.Join(out, "points", id, "summary.json")); err != nil {
			t.Errorf("point %s: done.json without results: %v", id, err)
		}
	}
	if l := leftovers(t, out); len(l) > 0 {
		t.Errorf("left over after the rerun: %v", l)
	}
	rows = collectRows(t, bin, file, out, 0, "-require-all")
	if len(rows) != 16 {
		t.Errorf("collected %d points, want 16", len(rows))
	}
	for id, n := range rows {
		if n != 2 {
			t.Errorf("point %s: %d rows, want one per run (2)", id, n)
		}
	}
}

// TestSweepShards runs the 4 shards of a 16-point sweep as 4 processes,
// two taking their shard from Slurm's environment, one from -shard and
// one from -shard over a Kubernetes environment, and checks that they
// cover the plan exactly once, each point run by its own shard.
func TestSweepShards(t *testing.T) {
	bin := buildSgdlab(t)
	dir := t.TempDir()
	file := writeSweep(t, dir, 2001, acceptanceAxes(2001), twoSeeds)
	out := filepath.Join(dir, "out")
	runs := []struct {
		env  []string
		args []string
	}{
		{[]string{"SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_COUNT=4"}, nil},
		{[]string{"SLURM_ARRAY_TASK_ID=2", "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_MAX=4"}, nil},
		{nil, []string{"-shard", "2/4"}},
		{[]string{"JOB_COMPLETION_INDEX=0", "SGDLAB_SHARDS=4"}, []string{"-shard", "3/4"}},
	}
	pids := make(map[int]int) // pid → shard
	for i, r := range runs {
		p := start(t, bin, cleanEnv(r.env...), append([]string{"sweep", "run", file, "-out", out, "-workers", "2"}, r.args...)...)
		if code := p.wait(t); code != 0 {
			t.Fatalf("shard %d: exit %d\n%s", i, code, p.stderr.String())
		}
		if want := fmt.Sprintf("sweep acc shard %d/4: 4 points done now, 0 already done, 0 failed\n", i); p.stdout.String() != want {
			t.Errorf("shard %d printed %q, want %q", i, p.stdout.String(), want)
		}
		pids[p.cmd.Process.Pid] = i
	}
	s, err := sweep.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := s.Plan()
	if err != nil {
		t.Fatal(err)
	}
	done := doneFiles(t, out)
	if len(done) != 16 {
		t.Fatalf("%d points done, want 16", len(done))
	}
	for _, pt := range plan.Points {
		d, ok := done[pt.ID]
		if !ok {
			t.Errorf("point %d not done", pt.Index)
			continue
		}
		shard, known := pids[d.done.PID]
		if !known || shard != pt.Index%4 || d.done.Shard != fmt.Sprintf("%d/4", pt.Index%4) {
			t.Errorf("point %d was run by pid %d (shard %d, recorded %s), want shard %d", pt.Index, d.done.PID, shard, d.done.Shard, pt.Index%4)
		}
	}
	// A shard run again has nothing left to do.
	code, stdout, _ := runBin(t, bin, cleanEnv(), "sweep", "run", file, "-out", out, "-shard", "1/4")
	if code != 0 || stdout != "sweep acc shard 1/4: 0 points done now, 4 already done, 0 failed\n" {
		t.Errorf("shard 1 again: exit %d, %q", code, stdout)
	}
}

// TestSweepSIGTERM interrupts a sweep during training, as Slurm at its
// time limit does: exit 143, no point marked done, no partial directory
// left; a rerun completes every point.
func TestSweepSIGTERM(t *testing.T) {
	bin := buildSgdlab(t)
	dir := t.TempDir()
	const iters = 1000001 // about 0.5 s a point
	file := writeSweep(t, dir, iters, `[{"key": "runs[1].schedule.lr", "values": [0.15, 0.2]}]`, twoSeeds)
	out := filepath.Join(dir, "out")
	p := start(t, bin, cleanEnv(), "sweep", "run", file, "-out", out, "-workers", "2")
	deadline := time.Now().Add(60 * time.Second)
	for {
		partial, _ := filepath.Glob(filepath.Join(out, "points", ".*.partial-*"))
		if len(partial) > 0 {
			break
		}
		if time.Now().After(deadline) {
			p.cmd.Process.Kill()
			t.Fatal("training did not start within 60 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t); code != 143 {
		t.Fatalf("exit %d after SIGTERM, want 143\n%s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "interrupted by SIGTERM") {
		t.Errorf("stderr: %s", p.stderr.String())
	}
	if d := doneFiles(t, out); len(d) != 0 {
		t.Errorf("%d points marked done after an interruption during their training", len(d))
	}
	if l := leftovers(t, out); len(l) > 0 {
		t.Errorf("left over after SIGTERM: %v", l)
	}
	code, stdout, stderr := runBin(t, bin, cleanEnv(), "sweep", "run", file, "-out", out, "-workers", "2")
	if code != 0 || stdout != "sweep acc: 4 points done now, 0 already done, 0 failed\n" {
		t.Fatalf("rerun: exit %d, %q\n%s", code, stdout, stderr)
	}
	if d := doneFiles(t, out); len(d) != 4 {
		t.Errorf("%d points done after the rerun, want 4", len(d))
	}
}

// TestSweepFailedPoint checks that a point whose training fails is
// recorded, the others complete, and the command exits with 1, naming
// the failure; then that collect -require-all exits with 1 too.
func TestSweepFailedPoint(t *testing.T) {
	dir := t.TempDir()
	file := writeSweep(t, dir, 2001, `[{"key": "runs[1].schedule.lr", "values": [0.15, 0.2]}]`, twoSeeds)
	out := filepath.Join(dir, "out")
	s, _ := sweep.Load(file)
	plan, err := s.Plan()
	if err != nil {
		t.Fatal(err)
	}
	bad := plan.Points[2].ID
	sweepTrain = func(ctx context.Context, c experiment.Config, opt experiment.Options) (experiment.Summary, error) {
		if filepath.Base(opt.Dir) == bad {
			return experiment.Summary{}, errors.New("injected failure")
		}
		return experiment.Run(ctx, c, opt)
	}
	defer func() { sweepTrain = nil }()
	code, stdout, stderr := runMain(t, "sweep run "+file+" -out "+out)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	failed := filepath.Join(out, "points", bad, sweep.FailedFile)
	if want := "sweep acc: 3 points done now, 0 already done, 1 failed (see " + failed + ")\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	if !strings.Contains(stderr, "sgdlab: sweep acc: 1 of 4 points failed; point 2 ("+bad+"): injected failure") {
		t.Errorf("stderr: %s", stderr)
	}
	if _, err := os.Stat(failed); err != nil {
		t.Error(err)
	}
	code, stdout, stderr = runMain(t, "sweep plan "+file+" -out "+out)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if code != 0 || len(lines) != 4 {
		t.Fatalf("plan: exit %d\n%s%s", code, stdout, stderr)
	}
	for k, line := range lines {
		f := strings.Split(line, "\t")
		want := "done"
		if k == 2 {
			want = "failed"
		}
		if len(f) != 4 || f[0] != fmt.Sprint(k) || f[1] != plan.Points[k].ID || f[2] != plan.Label(plan.Points[k]) || f[3] != want {
			t.Errorf("plan line %d: %q, want state %q", k, line, want)
		}
	}
	code, stdout, stderr = runMain(t, "sweep collect "+file+" -out "+out+" -require-all")
	if code != 1 || !strings.Contains(stdout, "3 of 4 points finished, 1 failed, 0 missing") || !strings.Contains(stderr, "-require-all: 1 of 4 points are not done") {
		t.Errorf("collect -require-all: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, _ := runMain(t, "sweep collect "+file+" -out "+out); code != 0 {
		t.Errorf("collect without -require-all: exit %d", code)
	}
}

// TestSweepBadInput checks that bad flags, files and environments exit
// with 2, naming what is wrong.
func TestSweepBadInput(t *testing.T) {
	dir := t.TempDir()
	file := writeSweep(t, dir, 2001, `[{"key": "runs[1].schedule.lr", "values": [0.15, 0.2]}]`, twoSeeds)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"name": "x", "experiment": "dln-sgd", "axes": [{"key": "iterations", "valuez": [1]}]}`), 0o644)
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		args string
		env  []string
		want []string
	}{
		{"sweep", nil, []string{"usage:", "sgdlab sweep run FILE"}},
		{"sweep frobnicate", nil, []string{`unknown sweep command "frobnicate"`}},
		{"sweep run", nil, []string{"needs exactly one sweep file, got 0"}},
		{"sweep run " + file + " " + file, nil, []string{"needs exactly one sweep file, got 2"}},
		{"sweep run /nonexistent.json", nil, []string{"sweep file: open /nonexistent.json"}},
		{"sweep plan " + bad, nil, []string{`axes[0].valuez: unknown key (did you mean "values"?)`}},
		{"sweep run " + file + " -bogus", nil, []string{"flag provided but not defined: -bogus", "usage: sgdlab sweep run"}},
		{"sweep run " + file + " -workers 0", nil, []string{"-workers: must be in [1, 1024], got 0"}},
		{"sweep run " + file + " -shard 4/4 -out " + out, nil, []string{`shard 4/4: need 0 ≤ index < count`}},
		{"sweep run " + file + " -shard x -out " + out, nil, []string{`shard "x": want i/n`}},
		{"sweep run " + file + " -out " + out, []string{"SLURM_ARRAY_TASK_ID=1"}, []string{"SLURM_ARRAY_TASK_ID=1 without SLURM_ARRAY_TASK_COUNT"}},
		{"sweep run " + file + " -out " + out, []string{"JOB_COMPLETION_INDEX=1"}, []string{"SGDLAB_SHARDS is not"}},
		{"sweep collect " + file + " -out " + filepath.Join(dir, "none"), nil, []string{"no results under " + filepath.Join(dir, "none")}},
	} {
		t.Run(tc.args, func(t *testing.T) {
			for _, kv := range []string{"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX", "SGDLAB_SHARDS"} {
				t.Setenv(kv, "")
			}
			for _, kv := range tc.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			code, _, stderr := runMain(t, tc.args)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
		})
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bad input created the output directory: %v", err)
	}
}
