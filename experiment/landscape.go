package experiment

import (
	"context"
	"fmt"
	"image/color"
	"math"
	"path/filepath"

	"gonum.org/v1/plot/vg"

	"sgdlab/analysis"
	"sgdlab/graph"
	"sgdlab/plots"
)

// LandscapeOptions configure loss-landscape slices through a checkpoint.
type LandscapeOptions struct {
	// Directions is "top" (the two leading eigenvectors of the
	// training-loss Hessian: the directions SGD bounces along) or
	// "random" (two Gaussian directions, filter-normalised to the
	// parameters as in Li et al. 2018).
	Directions string
	// Span is the half-width of the slices: in parameter-space distance
	// for "top" (unit eigenvectors), in multiples of each direction for
	// "random".
	Span float64
	N    int // points per axis
	Seed uint64
}

// DefaultLandscapeOptions are the options of `sgdlab landscape`.
var DefaultLandscapeOptions = LandscapeOptions{Directions: "top", Span: 1, N: 41, Seed: 1}

// Landscape is the loss around a checkpoint along two directions.
type Landscape struct {
	Experiment, Run string
	Iteration       int
	Directions      string
	T               []float64 // slice coordinates, also the plane's grid
	// Train1D[i] and Test1D[i] are the losses along direction i at T.
	Train1D, Test1D [2][]float64
	// Plane holds the training loss on T × T (row-major, rows along the
	// second direction).
	Plane []float64
	// Eigenvalues holds the Hessian eigenvalues of the "top" directions.
	Eigenvalues []float64
}

// LossLandscape computes 1D slices and a 2D plane of the train and test
// loss through the checkpoint's parameters.
//
// Cancelling ctx stops it at the next loss evaluation.
func LossLandscape(ctx context.Context, cp Checkpoint, opt LandscapeOptions) (Landscape, error) {
	ls := Landscape{Experiment: cp.Experiment, Run: cp.Run, Iteration: cp.Iteration, Directions: opt.Directions}
	if opt.N < 3 || opt.N > MaxSurface || !(opt.Span > 0) || math.IsInf(opt.Span, 1) {
		return ls, fmt.Errorf("%w: landscape: need 3 ≤ n ≤ %d and a finite span > 0, got %d and %v", ErrInvalid, MaxSurface, opt.N, opt.Span)
	}
	m, err := cp.Model()
	if err != nil {
		return ls, err
	}
	trainSet, testSet, err := cp.Config.Data.Source.Load()
	if err != nil {
		return ls, err
	}
	theta := graph.Flatten(m.Params())
	defer graph.Unflatten(m.Params(), theta)
	var dirs [2][]float64
	switch opt.Directions {
	case "top":
		h, err := graph.CompileHVP(m, cp.Config.Loss, trainSet.N)
		if err != nil {
			return ls, err
		}
		if err := h.SetData(trainSet.X, trainSet.Y); err != nil {
			return ls, err
		}
		e, err := analysis.TopEigen(h, 2, analysis.LanczosOptions{Seed: opt.Seed})
		if err != nil {
			return ls, err
		}
		dirs = [2][]float64{e.Vectors[0], e.Vectors[1]}
		ls.Eigenvalues = e.Values
	case "random":
		for i := range dirs {
			dirs[i] = analysis.FilterNormalized(m.Params(), opt.Seed+uint64(i))
		}
	default:
		return ls, fmt.Errorf("landscape: unknown directions %q (allowed: top, random)", opt.Directions)
	}
	plane, err := analysis.NewPlane(theta, dirs[0], dirs[1])
	if err != nil {
		return ls, err
	}
	// Coordinates in units of each direction (unit eigenvectors have
	// norm 1, so for "top" they are distances).
	unit := [2]float64{analysis.L2(dirs[0]), analysis.L2(dirs[1])}
	ls.T = make([]float64, opt.N)
	for i := range ls.T {
		ls.T[i] = -opt.Span + 2*opt.Span*float64(i)/float64(opt.N-1)
	}
	scaled := func(k int) []float64 {
		out := make([]float64, len(ls.T))
		for i, t := range ls.T {
			out[i] = t * unit[k]
		}
		return out
	}
	zero := []float64{0}
	for _, set := range []struct {
		x, y []float64
		n    int
		out  *[2][]float64
	}{{trainSet.X, trainSet.Y, trainSet.N, &ls.Train1D}, {testSet.X, testSet.Y, testSet.N, &ls.Test1D}} {
		lossAt, err := lossUntil(ctx, m, cp.Config.Loss, set.x, set.y, set.n)
		if err != nil {
			return ls, err
		}
		if set.out[0], err = plane.Grid(scaled(0), zero, lossAt); err != nil {
			return ls, err
		}
		if set.out[1], err = plane.Grid(zero, scaled(1), lossAt); err != nil {
			return ls, err
		}
	}
	lossAt, err := lossUntil(ctx, m, cp.Config.Loss, trainSet.X, trainSet.Y, trainSet.N)
	if err != nil {
		return ls, err
	}
	if ls.Plane, err = plane.Grid(scaled(0), scaled(1), lossAt); err != nil {
		return ls, err
	}
	return ls, nil
}

// lossUntil is analysis.LossAt that fails once ctx is cancelled.
func lossUntil(ctx context.Context, m graph.Model, loss graph.Loss, x, y []float64, n int) (func([]float64) (float64, error), error) {
	f, err := analysis.LossAt(m, loss, x, y, n)
	if err != nil {
		return nil, err
	}
	return func(w []float64) (float64, error) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		return f(w)
	}, nil
}

// WriteLandscape writes dir/RUN-landscape.json, dir/RUN-slices.png and
// dir/RUN-plane.png.
func WriteLandscape(dir string, ls Landscape) error {
	if !ValidName(ls.Run) {
		return fmt.Errorf("%w: landscape: run name %q cannot name a file", ErrInvalid, ls.Run)
	}
	if err := writeReport(dir, ls.Run+"-landscape.json", ls); err != nil {
		return err
	}
	names := [2]string{"direction 1", "direction 2"}
	if ls.Directions == "top" {
		names = [2]string{fmt.Sprintf("eigenvector 1 (λ = %.4g)", ls.Eigenvalues[0]), fmt.Sprintf("eigenvector 2 (λ = %.4g)", ls.Eigenvalues[1])}
	}
	colors := plots.Blues(2)
	row := plots.Row{Title: fmt.Sprintf("Loss along %s directions through %s/%s at iteration %d", ls.Directions, ls.Experiment, ls.Run, ls.Iteration)}
	for k := range names {
		row.Panels = append(row.Panels, plots.Panel{
			Title: names[k], XLabel: "step along the direction", YLabel: "loss", LogY: true,
			Series: []plots.Series{
				{Label: "train", X: ls.T, Y: ls.Train1D[k], Color: colors[1]},
				{Label: "test", X: ls.T, Y: ls.Test1D[k], Color: colors[0], Dashed: true},
			},
		})
	}
	if err := saveAtomic(filepath.Join(dir, ls.Run+"-slices.png"), row.Save); err != nil {
		return err
	}
	z := make([]float64, len(ls.Plane))
	for i, v := range ls.Plane {
		z[i] = math.Max(v, 1e-300)
	}
	sf := plots.Surface{
		Title: fmt.Sprintf("Training loss on the plane of the %s directions (%s/%s)", ls.Directions, ls.Experiment, ls.Run),
		X:     ls.T, Y: ls.T, Z: z, LogColor: true, ColorLabel: "training loss",
		XLabel: names[0], YLabel: names[1], EqualAspect: true,
		Points: []plots.Point{{Label: "checkpoint", X: 0, Y: 0, Shape: "star", Color: color.RGBA{R: 230, G: 160, A: 255}}},
		Width:  14 * vg.Centimeter, Height: 12 * vg.Centimeter,
	}
	return saveAtomic(filepath.Join(dir, ls.Run+"-plane.png"), sf.Save)
}
