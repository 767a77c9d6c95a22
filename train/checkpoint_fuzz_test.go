package train_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"sgdlab/graph"
	"sgdlab/train"
)

// FuzzLoadState: no file makes LoadState panic, and a state it accepts
// either resumes the run or is rejected by Train with an error. The seeds
// (a valid state with momentum, averaging and snapshots, and its
// truncations) run in go test.
func FuzzLoadState(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.safetensors")
	mod := func(r *train.Run) { r.Momentum, r.Average, r.Snapshots = 0.9, 0.9, true }
	r := deepRun(f, graph.Float64, mod)
	r.CheckpointEvery = 10
	r.Checkpoint = func(s *train.State) error {
		if err := train.SaveState(path, s); err != nil {
			return err
		}
		return errStop
	}
	if _, err := r.Train(context.Background()); !errors.Is(err, errStop) {
		f.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	for _, cut := range []int{0, 8, 100, len(good) / 2, len(good) - 1} {
		f.Add(good[:cut])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "f.safetensors")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := train.LoadState(p, classNet(graph.Float64, 4, 3, 7))
		if err != nil {
			return
		}
		run := deepRun(t, graph.Float64, mod)
		run.Resume = s
		run.Iterations = 43
		_, _ = run.Train(context.Background()) // an error is fine, a panic is not
	})
}
