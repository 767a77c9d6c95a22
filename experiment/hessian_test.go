package experiment

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sgdlab/analysis"
	"sgdlab/graph"
	"sgdlab/train"
)

// TestCheckpointAndHessian runs a small experiment, reloads the
// checkpoint of a run and analyses its Hessian: the parameters come back
// exactly, and λ_max agrees with the sharpness logged after the last
// update on the same data.
func TestCheckpointAndHessian(t *testing.T) {
	c := small()
	c.Runs = c.Runs[:1]
	// Evaluate at 0 and after the last update, where the checkpoint is.
	c.Grid = train.Grid{Kind: "every", T: c.Iterations + 1, Every: c.Iterations}
	out := t.TempDir()
	if _, err := Run(context.Background(), c, Options{Out: out}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(out, c.Name)
	paths, err := CheckpointPaths(dir)
	if err != nil || len(paths) != 1 {
		t.Fatalf("checkpoints %v (%v), want one", paths, err)
	}
	cp, err := LoadCheckpoint(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if cp.Run != "baseline" || cp.Iteration != c.Iterations {
		t.Errorf("checkpoint of %s at %d, want baseline at %d", cp.Run, cp.Iteration, c.Iterations)
	}
	m, err := cp.Model()
	if err != nil {
		t.Fatal(err)
	}
	outs, err := Train(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := outs[0].Final().End
	if got := graph.Flatten(m.Params()); !slices.Equal(got, append(slices.Clone(want.Params[0].Values), want.Params[1].Values...)) {
		t.Error("reloaded parameters differ from the end of the run")
	}
	rep, err := AnalyseHessian(context.Background(), cp, HessianOptions{K: 3, Steps: 60, Matvecs: 30, Probes: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	logged := final(t, outs[0], "sharpness")
	if math.Abs(rep.Top[0]-logged) > 1e-8*logged {
		t.Errorf("λ_max %.12g from the checkpoint, %.12g logged during training", rep.Top[0], logged)
	}
	if !(rep.Top[0] >= rep.Top[1] && rep.Top[1] >= rep.Top[2] && rep.Bottom[0] <= rep.Bottom[1]) {
		t.Errorf("eigenvalues out of order: top %v, bottom %v", rep.Top, rep.Bottom)
	}
	if rep.Check.Symmetry > 1e-12 || rep.Check.FiniteDifference > 1e-6 {
		t.Errorf("HVP check at the checkpoint: %+v", rep.Check)
	}
	hdir := filepath.Join(dir, "hessian")
	if err := WriteHessian(hdir, rep); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"baseline.json", "baseline-density.png"} {
		if _, err := os.Stat(filepath.Join(hdir, f)); err != nil {
			t.Error(err)
		}
	}

	// On subsamples: each draw's λ_max is that of the Hessian on its own
	// points, and the spread of the draws gives the standard error.
	opt := HessianOptions{K: 1, Steps: 60, Matvecs: 30, Probes: 4, Seed: 3, Examples: 5, Draws: 6}
	rep, err = AnalyseHessian(context.Background(), cp, opt)
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Sampled
	if s == nil || len(s.Top) != 6 || len(s.Trace) != 6 {
		t.Fatalf("sampled curvature %+v, want 6 draws", s)
	}
	set, _, _ := c.Data.Source.Load()
	sampler := train.NewWithoutReplacement(set.N, 3)
	idx := make([]int, 5)
	var sum, ss float64
	for d := 0; d < 6; d++ {
		sampler.Next(idx)
		var x, y []float64
		for _, i := range idx {
			x, y = append(x, set.Row(i)...), append(y, set.Y[i])
		}
		h, _ := graph.CompileHVP(m, c.Loss, 5)
		h.SetData(x, y)
		top, err := analysis.TopEigen(h, 1, analysis.LanczosOptions{Steps: 60, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(s.Top[d]-top.Values[0]) > 1e-10*top.Values[0] {
			t.Errorf("draw %d: λ_max %v, on its points %v", d, s.Top[d], top.Values[0])
		}
		sum += top.Values[0]
	}
	mean := sum / 6
	for _, v := range s.Top {
		ss += (v - mean) * (v - mean)
	}
	if se := math.Sqrt(ss / 5 / 6); math.Abs(s.TopMean-mean) > 1e-10*mean || math.Abs(s.TopSE-se) > 1e-10*se || se == 0 {
		t.Errorf("λ_max %v ± %v, want %v ± %v", s.TopMean, s.TopSE, mean, se)
	}
}

func TestLoadCheckpointErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"experiment": "x", "params": [`), 0o644)
	if _, err := LoadCheckpoint(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("truncated checkpoint: %v, want an error naming the file", err)
	}
	m, err := small().Model.Spec.New()
	if err != nil {
		t.Fatal(err)
	}
	cp := newCheckpoint(small(), "r", 1, m)
	cp.Params[1].Shape = []int{7}
	if _, err := cp.Model(); err == nil || !strings.Contains(err.Error(), `params[1]: "v" of shape [7] with 200 values, the model wants "v" of shape [200]`) {
		t.Errorf("wrong shape: %v", err)
	}
	if _, err := CheckpointPaths(dir); err == nil {
		t.Error("a directory without checkpoints gave no error")
	}
}

// TestLossLandscapeCurvature checks the slices along the top Hessian
// eigenvectors: the second difference (L(t) + L(−t) − 2L(0))/t² of the
// training loss equals the eigenvalue.
func TestLossLandscapeCurvature(t *testing.T) {
	c := small()
	c.Runs = c.Runs[:1]
	outs, err := Train(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := LossLandscape(context.Background(), outs[0].Final().End, LandscapeOptions{Directions: "top", Span: 1e-3, N: 3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 2; k++ {
		l := ls.Train1D[k]
		if l[1] != ls.Plane[4] {
			t.Errorf("direction %d: slice and plane disagree at the checkpoint: %v vs %v", k, l[1], ls.Plane[4])
		}
		curv := (l[0] + l[2] - 2*l[1]) / (ls.T[2] * ls.T[2])
		if math.Abs(curv-ls.Eigenvalues[k]) > 1e-4*ls.Eigenvalues[k] {
			t.Errorf("direction %d: second difference %.8g, eigenvalue %.8g", k, curv, ls.Eigenvalues[k])
		}
	}
	if _, err := LossLandscape(context.Background(), outs[0].Final().End, LandscapeOptions{Directions: "sideways", Span: 1, N: 3}); err == nil || !strings.Contains(err.Error(), `unknown directions "sideways" (allowed: top, random)`) {
		t.Errorf("bad directions: %v", err)
	}
	dir := t.TempDir()
	if err := WriteLandscape(dir, ls); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"baseline-landscape.json", "baseline-slices.png", "baseline-plane.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
