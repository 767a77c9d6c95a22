package experiment

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot/vg"

	"sgdlab/analysis"
	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/plots"
	"sgdlab/train"
)

// HessianOptions configure the analysis of a checkpoint's training-loss
// Hessian.
type HessianOptions struct {
	K        int    // eigenvalues at each end of the spectrum
	Steps    int    // Lanczos steps (Krylov dimension) for the eigenvalues and the density
	Matvecs  int    // Hutch++ Hessian-vector products for the trace
	Probes   int    // random probes of the spectral density
	Examples int    // first training points the loss is taken over; 0 means all
	Seed     uint64 // of every random vector
	// Block, if set, restricts the Hessian to these parameters (their
	// graph.Param names, e.g. w1 and b1 for an MLP's first layer): its
	// diagonal block, the curvature in them with the rest held fixed.
	Block []string
	// Draws, if at least 2, also estimates λ_max and the trace on Draws
	// random subsamples of Examples training points (distinct points,
	// seeded with Seed), reporting their mean and standard error: how much
	// a curvature measured on a sample depends on the sample.
	Draws int
}

// SampledCurvature is λ_max and the trace of the Hessian of the loss on
// random subsamples of the training points: each draw's values, their
// means and the standard errors of the means.
type SampledCurvature struct {
	Draws     int       `json:"draws"`
	Examples  int       `json:"examples"`
	Top       []float64 `json:"top"`
	Trace     []float64 `json:"trace"`
	TopMean   float64   `json:"top_mean"`
	TopSE     float64   `json:"top_se"`
	TraceMean float64   `json:"trace_mean"`
	TraceSE   float64   `json:"trace_se"`
}

// DefaultHessianOptions are the options of `sgdlab hessian`.
var DefaultHessianOptions = HessianOptions{K: 5, Steps: 60, Matvecs: 60, Probes: 8, Seed: 1}

// HessianReport is what `sgdlab hessian` writes for one checkpoint.
type HessianReport struct {
	Experiment string `json:"experiment"`
	Run        string `json:"run"`
	Iteration  int    `json:"iteration"`
	Examples   int    `json:"examples"`
	// Block lists the parameters of a block analysis; Params is then the
	// block's size.
	Block  []string `json:"block,omitempty"`
	Params int      `json:"params"`
	Loss   float64  `json:"loss"`
	// Top and Bottom are the K largest and smallest eigenvalues, sorted
	// away from the middle of the spectrum.
	Top    []float64 `json:"top"`
	Bottom []float64 `json:"bottom"`
	Trace  float64   `json:"trace"` // Hutch++ estimate
	// Check is the HVP self-check at this point: symmetry and agreement
	// with central differences.
	Check   graph.HVPCheck   `json:"check"`
	Density analysis.Density `json:"density"`
	// Sampled is set with HessianOptions.Draws.
	Sampled *SampledCurvature `json:"sampled,omitempty"`
}

// AnalyseHessian computes the spectrum of the Hessian of the training
// loss at a checkpoint. Cancelling ctx stops it between its stages.
func AnalyseHessian(ctx context.Context, cp Checkpoint, opt HessianOptions) (HessianReport, error) {
	rep := HessianReport{Experiment: cp.Experiment, Run: cp.Run, Iteration: cp.Iteration}
	m, err := cp.Model()
	if err != nil {
		return rep, err
	}
	trainSet, _, err := cp.Config.Data.Source.Load()
	if err != nil {
		return rep, err
	}
	n := opt.Examples
	if n == 0 {
		n = trainSet.N
	}
	if n < 1 || n > trainSet.N {
		return rep, fmt.Errorf("%w: hessian: examples must be in [1, %d], got %d", ErrInvalid, trainSet.N, n)
	}
	rep.Examples = n
	x, y := trainSet.X[:n*trainSet.D], trainSet.Y[:n*trainSet.Targets()]
	h, err := graph.CompileHVP(m, cp.Config.Loss, n)
	if err != nil {
		return rep, err
	}
	if err := h.SetData(x, y); err != nil {
		return rep, err
	}
	var op analysis.Operator = h
	if len(opt.Block) > 0 {
		if op, err = analysis.NewBlock(h, m, opt.Block...); err != nil {
			return rep, fmt.Errorf("%w: hessian: %w", ErrInvalid, err)
		}
		rep.Block = opt.Block
	}
	rep.Params = op.Dim()
	if opt.K < 1 || opt.K > op.Dim() || opt.Steps < 1 || opt.Steps > MaxMatrix/op.Dim() || opt.Matvecs < 3 || opt.Matvecs > 100_000 || opt.Probes < 1 || opt.Probes > 10_000 || opt.Draws < 0 || opt.Draws > 10_000 {
		return rep, fmt.Errorf("%w: hessian: need 1 ≤ k ≤ %d parameters, 1 ≤ steps ≤ %d, 3 ≤ matvecs ≤ 100000, 1 ≤ probes ≤ 10000 and 0 ≤ draws ≤ 10000, got %+v",
			ErrInvalid, op.Dim(), MaxMatrix/op.Dim(), opt)
	}
	lossAt, err := analysis.LossAt(m, cp.Config.Loss, x, y, n)
	if err != nil {
		return rep, err
	}
	w := graph.Flatten(m.Params())
	if rep.Loss, err = lossAt(w); err != nil {
		return rep, err
	}
	if rep.Check, err = h.Check(opt.Seed); err != nil {
		return rep, err
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	lo := analysis.LanczosOptions{Steps: min(opt.Steps, op.Dim()), Seed: opt.Seed}
	top, err := analysis.TopEigen(op, opt.K, lo)
	if err != nil {
		return rep, err
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	bottom, err := analysis.BottomEigen(op, opt.K, lo)
	if err != nil {
		return rep, err
	}
	rep.Top, rep.Bottom = top.Values, bottom.Values
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	if rep.Trace, err = analysis.HutchPP(op, opt.Matvecs, opt.Seed); err != nil {
		return rep, err
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	if rep.Density, err = analysis.SpectralDensity(op, min(opt.Steps, op.Dim()), opt.Probes, opt.Seed); err != nil {
		return rep, err
	}
	if opt.Draws >= 2 {
		if rep.Sampled, err = sampleCurvature(ctx, h, op, trainSet, n, opt); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// sampleCurvature computes λ_max and the trace of op, the Hessian (or
// its block) behind h, on opt.Draws subsamples of n points of set, drawn
// without replacement by numpy's choice stream seeded with opt.Seed; h is
// left holding the last subsample.
func sampleCurvature(ctx context.Context, h *graph.HVP, op analysis.Operator, set data.Set, n int, opt HessianOptions) (*SampledCurvature, error) {
	sampler := train.NewWithoutReplacement(set.N, uint32(opt.Seed))
	idx := make([]int, n)
	x, y := make([]float64, n*set.D), make([]float64, n*set.Targets())
	s := &SampledCurvature{Draws: opt.Draws, Examples: n}
	lo := analysis.LanczosOptions{Steps: min(opt.Steps, op.Dim()), Seed: opt.Seed}
	for d := 0; d < opt.Draws; d++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sampler.Next(idx)
		set.Gather(idx, x, y)
		if err := h.SetData(x, y); err != nil {
			return nil, err
		}
		top, err := analysis.TopEigen(op, 1, lo)
		if err != nil {
			return nil, err
		}
		tr, err := analysis.HutchPP(op, opt.Matvecs, opt.Seed+uint64(d))
		if err != nil {
			return nil, err
		}
		s.Top, s.Trace = append(s.Top, top.Values[0]), append(s.Trace, tr)
	}
	s.TopMean, s.TopSE = analysis.MeanSE(s.Top)
	s.TraceMean, s.TraceSE = analysis.MeanSE(s.Trace)
	return s, nil
}

// WriteHessian writes rep as dir/RUN.json and its spectral density as
// dir/RUN-density.png; a block analysis as RUN-block-P1-P2….json and
// RUN-block-P1-P2…-density.png, P the block's parameter names.
func WriteHessian(dir string, rep HessianReport) error {
	name := rep.Run
	if len(rep.Block) > 0 {
		name += "-block-" + strings.Join(rep.Block, "-")
	}
	if !ValidName(name) {
		return fmt.Errorf("%w: hessian: %q cannot name a file (allowed: %s)", ErrInvalid, name, NameChars)
	}
	if err := writeReport(dir, name+".json", rep); err != nil {
		return err
	}
	return saveAtomic(filepath.Join(dir, name+"-density.png"), densityFigure(rep).Save)
}

// writeReport writes v as JSON to dir/name, creating dir.
func writeReport(dir, name string, v any) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return saveAtomic(filepath.Join(dir, name), func(path string) error { return writeJSON(path, v) })
}

// saveAtomic writes path through save on a temporary name beside it and
// renames it into place, so that a file of an analysis is either whole or
// absent — an interrupted analysis never leaves a truncated report.
func saveAtomic(path string, save func(tmp string) error) error {
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+base+".partial-*"+filepath.Ext(base))
	if err != nil {
		return err
	}
	tmp := f.Name()
	f.Close()
	if err := save(tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	// CreateTemp makes 0600; reports are shared like results.
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// densityFigure draws the Gaussian-broadened density, with σ a hundredth
// of the spectrum's width, on a log axis: the bulk near zero and the few
// outliers the paper's sharpness arguments are about differ by decades.
func densityFigure(rep HessianReport) plots.Row {
	lo, hi := rep.Bottom[0], rep.Top[0]
	sigma := (hi - lo) / 100
	if sigma <= 0 {
		sigma = 1e-3 * max(1, math.Abs(hi))
	}
	grid := make([]float64, 400)
	for i := range grid {
		grid[i] = lo - 5*sigma + float64(i)*(hi-lo+10*sigma)/float64(len(grid)-1)
	}
	s := plots.Series{Label: fmt.Sprintf("stochastic Lanczos quadrature, σ = %.3g", sigma), X: grid, Y: rep.Density.Smooth(grid, sigma)}
	// Six decades below the peak: the Gaussian tails in the gaps of the
	// spectrum reach 1e-100 and would squash the bulk into a line.
	peak := 0.0
	for _, y := range s.Y {
		peak = max(peak, y)
	}
	var marks []plots.Mark
	for i, v := range rep.Top {
		m := plots.Mark{X: v}
		if i == 0 {
			m.Label = fmt.Sprintf("top %d eigenvalues (Lanczos)", len(rep.Top))
		}
		marks = append(marks, m)
	}
	of := "Hessian"
	if len(rep.Block) > 0 {
		of = "Hessian block of " + strings.Join(rep.Block, ", ")
	}
	return plots.Row{
		Title: fmt.Sprintf("%s spectrum of %s/%s at iteration %d (trace %.4g, λ_max %.4g)", of, rep.Experiment, rep.Run, rep.Iteration, rep.Trace, hi),
		Panels: []plots.Panel{{
			Title: "spectral density", XLabel: "eigenvalue", YLabel: "density", LogY: true, YMin: 1e-6 * peak,
			Series: []plots.Series{s},
		}},
		Marks:      marks,
		PanelWidth: 16 * vg.Centimeter,
		Height:     8 * vg.Centimeter,
		Legend:     -1,
	}
}
