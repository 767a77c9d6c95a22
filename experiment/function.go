package experiment

import (
	"context"
	"fmt"
	"image/color"
	"math"
	"path/filepath"

	"gonum.org/v1/plot/vg"

	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/plots"
)

// FunctionSpec draws the function every run learned — the model's output
// over a grid of its scalar input, at the end of training — with the
// training points: how simple the learned function is (spec E4, where
// the long large-step phase gives a nearly piecewise-linear fit with few
// kinks). Diverged runs are left out, and say so in the title.
type FunctionSpec struct {
	File  string `json:"file"`
	Title string `json:"title,omitempty"`
	X     Range  `json:"x"` // the input grid
}

// maxFunctionPoints bounds the input grid of a FunctionSpec.
const maxFunctionPoints = 100_000

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
}

// drawFunction evaluates the final model of every run on the grid of f
// and draws them, with the training points of trainSet, into dir/f.File.
func drawFunction(ctx context.Context, f *FunctionSpec, outs []Outcome, trainSet data.Set, dir string) error {
	xs := f.X.values()
	colors := runColors(outs)
	panel := plots.Panel{XLabel: "x", YLabel: "h(x), at the end of training"}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, y := range trainSet.Y {
		lo, hi = math.Min(lo, y), math.Max(hi, y)
	}
	// The authors' limits: 1.3·min y and 1.2·max y.
	panel.YMin, panel.YMax = min(1.3*lo, 0.7*lo), max(1.2*hi, 0.8*hi)
	diverged := 0
	for i, o := range outs {
		if err := ctx.Err(); err != nil {
			return err
		}
		a := o.Final()
		if a.Result.Diverged {
			diverged++
			continue
		}
		m, err := a.End.Model()
		if err != nil {
			return err
		}
		p, err := graph.CompileLoss(m, graph.OutputSum, len(xs))
		if err != nil {
			return err
		}
		if _, err := p.Run(xs, nil); err != nil {
			return err
		}
		ys := make([]float64, len(xs))
		p.Output(ys)
		panel.Series = append(panel.Series, plots.Series{Label: label(o), X: xs, Y: ys, Color: colors[i]})
	}
	panel.Series = append(panel.Series, plots.Series{Label: "training points", X: trainSet.X, Y: trainSet.Y, Color: color.Black, Points: true})
	title := f.Title
	if diverged > 0 {
		title += fmt.Sprintf(" (%d diverged runs not drawn)", diverged)
	}
	row := plots.Row{Title: title, Panels: []plots.Panel{panel}, PanelWidth: 16 * vg.Centimeter, Height: 10 * vg.Centimeter}
	return row.Save(filepath.Join(dir, f.File))
}
