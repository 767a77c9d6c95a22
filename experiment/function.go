package experiment

import (
	"context"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot/vg"

	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/plots"
)

// FunctionSpec draws the function every run learned — the model's output
// over a grid of its scalar input, at the end of training — with the
// training points: how simple the learned function is (spec E4, where
// the long large-step phase gives a nearly piecewise-linear fit with few
// kinks). Snapshots adds a panel per listed iteration, before the final
// one, to show how the function gets there (E4's cell 3); the panels
// wrap into rows of four under one legend. Diverged runs are left out,
// and say so in the title; a run that diverged after a snapshot is drawn
// in that snapshot.
type FunctionSpec struct {
	File  string `json:"file"`
	Title string `json:"title,omitempty"`
	X     Range  `json:"x"` // the input grid
	// Snapshots are iterations of the evaluation grid, in increasing
	// order, at most maxSnapshots.
	Snapshots []int `json:"snapshots,omitempty"`
}

// Bounds of a FunctionSpec: grid points and snapshot panels.
const (
	maxFunctionPoints = 100_000
	maxSnapshots      = 24
)

// snapshots reports whether the runs must record their parameters.
func (f *FunctionSpec) snapshots() bool { return f != nil && len(f.Snapshots) > 0 }

func (f *FunctionSpec) validate(c Config, in []int, add func(string, ...any)) {
	if f == nil {
		return
	}
	if filepath.Ext(f.File) != ".png" || !ValidName(f.File) {
		add("function.file: must be a plain file name of [A-Za-z0-9._-] ending in .png, got %s", quote(f.File))
	}
	if f.X.N < 2 || f.X.N > maxFunctionPoints || !(f.X.Max > f.X.Min) || math.IsInf(f.X.Max-f.X.Min, 0) {
		add("function.x: need 2 ≤ n ≤ %d and a finite max > min, got %+v", maxFunctionPoints, f.X)
	}
	if in != nil && (len(in) != 1 || in[0] != 1) {
		add("function: needs a model of one scalar input, this one takes %v", in)
	}
	if len(f.Snapshots) > maxSnapshots {
		add("function.snapshots: at most %d iterations, got %d", maxSnapshots, len(f.Snapshots))
		return
	}
	evals, err := c.Grid.Iterations()
	if err != nil {
		return // reported with the grid
	}
	for i, it := range f.Snapshots {
		if i > 0 && it <= f.Snapshots[i-1] {
			add("function.snapshots[%d]: iterations must increase, got %d after %d", i, it, f.Snapshots[i-1])
		}
		if _, found := slices.BinarySearch(evals, it); !found || it > c.Iterations {
			add("function.snapshots[%d]: %d is not an evaluation iteration (nearest: %s)", i, it, nearest(evals, it, c.Iterations))
		}
	}
}

// nearest describes the evaluation iterations up to last on either side
// of it.
func nearest(evals []int, it, last int) string {
	evals = evals[:countUpTo(evals, last)]
	k, _ := slices.BinarySearch(evals, it)
	var near []string
	for _, j := range []int{k - 1, k} {
		if j >= 0 && j < len(evals) {
			near = append(near, strconv.Itoa(evals[j]))
		}
	}
	if len(near) == 0 {
		return "none"
	}
	return strings.Join(near, " and ")
}

// drawFunction evaluates the model of every run on the grid of f, at each
// snapshot and at the end of training, and draws them, with the training
// points of trainSet, into dir/f.File.
func drawFunction(ctx context.Context, f *FunctionSpec, outs []Outcome, trainSet data.Set, dir string) error {
	xs := f.X.values()
	colors := runColors(outs)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, y := range trainSet.Y {
		lo, hi = math.Min(lo, y), math.Max(hi, y)
	}
	panels := make([]plots.Panel, len(f.Snapshots)+1)
	for k := range panels {
		panels[k] = plots.Panel{XLabel: "x", YLabel: "h(x)", Title: "end of training"}
		if k < len(f.Snapshots) {
			panels[k].Title = fmt.Sprintf("iteration %d", f.Snapshots[k])
		}
		// The authors' limits: 1.3·min y and 1.2·max y.
		panels[k].YMin, panels[k].YMax = min(1.3*lo, 0.7*lo), max(1.2*hi, 0.8*hi)
	}
	diverged := 0
	for i, o := range outs {
		if err := ctx.Err(); err != nil {
			return err
		}
		a := o.Final()
		m, err := a.End.Model()
		if err != nil {
			return err
		}
		p, err := graph.CompileLoss(m, graph.OutputSum, len(xs))
		if err != nil {
			return err
		}
		curve := func(k int) error {
			if _, err := p.Run(xs, nil); err != nil {
				return err
			}
			ys := make([]float64, len(xs))
			p.Output(ys)
			panels[k].Series = append(panels[k].Series, plots.Series{Label: label(o), X: xs, Y: ys, Color: colors[i]})
			return nil
		}
		if a.Result.Diverged {
			diverged++
		} else if err := curve(len(f.Snapshots)); err != nil {
			return err
		}
		h := a.Result.History
		for k, it := range f.Snapshots {
			at, found := slices.BinarySearch(h.Iters, it)
			if !found {
				continue // diverged before it
			}
			graph.Unflatten(m.Params(), h.Params[at])
			if err := curve(k); err != nil {
				return err
			}
		}
	}
	for k := range panels {
		panels[k].Series = append(panels[k].Series, plots.Series{Label: "training points", X: trainSet.X, Y: trainSet.Y, Color: color.Black, Points: true})
	}
	title := f.Title
	if diverged > 0 {
		title += fmt.Sprintf(" (%d diverged runs not drawn at the end)", diverged)
	}
	row := plots.Row{Title: title, Panels: panels, Cols: 4}
	if len(panels) == 1 {
		row.PanelWidth, row.Height = 16*vg.Centimeter, 10*vg.Centimeter
	}
	return row.Save(filepath.Join(dir, f.File))
}
