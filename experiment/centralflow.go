package experiment

import (
	"context"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot/vg"

	"sgdlab/analysis"
	"sgdlab/plots"
)

// CentralFlowSpec follows a full-batch GD run of the experiment from its
// initialisation beside its central flow and gradient flow
// (analysis.CentralFlow) for Steps steps, and writes File (a figure: the
// losses, the flow's sharpness against 2/η, the distances from GD to the
// two flows) and, beside it, the same name with .csv (every recorded
// step). The run must be a "gd" run whose step size is constant over the
// Steps. The other fields are those of analysis.CentralFlowOptions (0:
// their defaults).
type CentralFlowSpec struct {
	Run      string  `json:"run"`
	Steps    int     `json:"steps"`
	File     string  `json:"file"`
	Every    int     `json:"every,omitempty"`
	Substeps int     `json:"substeps,omitempty"`
	K        int     `json:"k,omitempty"`
	Kappa    float64 `json:"kappa,omitempty"`
	Window   int     `json:"window,omitempty"`
}

// maxFlowWork bounds Steps·Substeps, the Euler steps of a central flow
// (each a Lanczos run and the third derivatives).
const maxFlowWork = 10_000_000

func (f *CentralFlowSpec) validate(c Config, add func(string, ...any)) {
	if f == nil {
		return
	}
	if filepath.Ext(f.File) != ".png" || !ValidName(f.File) {
		add("central_flow.file: must be a plain file name of [A-Za-z0-9._-] ending in .png, got %s", quote(f.File))
	}
	if f.Steps < 1 || f.Steps > c.Iterations || f.Every < 0 || f.Substeps < 0 || f.K < 0 || f.K > 100 || !(f.Kappa >= 0) || f.Window < 0 ||
		f.Steps*max(f.Substeps, 4) > maxFlowWork {
		add("central_flow: need 1 ≤ steps ≤ iterations (%d), steps·substeps ≤ %d, 0 ≤ k ≤ 100 and every, substeps, kappa, window ≥ 0, got %+v", c.Iterations, maxFlowWork, *f)
	}
	r, ok := c.run(f.Run)
	if !ok {
		add("central_flow.run: no run %s", quote(f.Run))
		return
	}
	if r.Optimizer.Kind != "gd" {
		add("central_flow.run: %s is a %s run; the central flow is that of full-batch gd", quote(f.Run), r.Optimizer.Kind)
		return
	}
	if s, err := r.Schedule.Schedule(); err == nil && f.Steps <= c.Iterations {
		for i := 1; i < f.Steps; i++ {
			if s.Rate(i) != s.Rate(0) {
				add("central_flow.steps: run %s changes its step size at update %d, before %d", quote(f.Run), i, f.Steps)
				break
			}
		}
	}
}

// run returns the run called name.
func (c Config) run(name string) (RunSpec, bool) {
	for _, r := range c.Runs {
		if r.Name == name {
			return r, true
		}
	}
	return RunSpec{}, false
}

// drawCentralFlow computes the central flow of spec f and writes its
// figure and table into dir.
func drawCentralFlow(ctx context.Context, c Config, f *CentralFlowSpec, ds sets, dir string, opt Options) error {
	r, _ := c.run(f.Run)
	s, err := r.Schedule.Schedule()
	if err != nil {
		return err
	}
	m, err := c.Model.Spec.New()
	if err != nil {
		return err
	}
	lr := s.Rate(0)
	flowOpt := analysis.CentralFlowOptions{LR: lr, Steps: f.Steps, Every: f.Every, Substeps: f.Substeps, K: f.K, Kappa: f.Kappa, Window: f.Window, Seed: 1}
	if opt.Progress != nil {
		flowOpt.Progress = func(done int) { opt.Progress("central flow of "+f.Run, done, f.Steps) }
	}
	res, err := analysis.CentralFlow(ctx, m, c.Loss, ds.train.X, ds.train.Y, ds.train.N, flowOpt)
	if err != nil {
		return err
	}
	if opt.Log != nil {
		fmt.Fprintf(opt.Log, "%s: central flow of %s over %d steps written (third derivatives to %.1e)\n", c.Name, f.Run, f.Steps, res.ThirdDerivativeError)
	}
	if err := writeFlowCSV(filepath.Join(dir, strings.TrimSuffix(f.File, ".png")+".csv"), res); err != nil {
		return err
	}
	col := func(get func(analysis.FlowPoint) float64) (x, y []float64) {
		for _, p := range res.Points {
			x, y = append(x, float64(p.Step)), append(y, get(p))
		}
		return x, y
	}
	series := func(label string, c color.Color, dashed bool, get func(analysis.FlowPoint) float64) plots.Series {
		x, y := col(get)
		return plots.Series{Label: label, X: x, Y: y, Color: c, Dashed: dashed}
	}
	gray, light := color.Gray{Y: 170}, color.RGBA{R: 240, G: 150, B: 30, A: 255}
	red, blue := color.RGBA{R: 200, G: 30, B: 30, A: 255}, color.RGBA{R: 30, G: 80, B: 200, A: 255}
	edge := func(analysis.FlowPoint) float64 { return 2 / lr }
	// Gradient flow's loss falls for tens of decades; the panel shows GD
	// and the central flow, and gradient flow leaving them.
	floor := math.Inf(1)
	for _, p := range res.Points {
		floor = math.Min(floor, math.Min(p.GDLoss, p.FlowLoss))
	}
	row := plots.Row{
		Title: fmt.Sprintf("%s: GD η=%.4g, its central flow and gradient flow (third derivatives to %.1e)", c.Name, lr, res.ThirdDerivativeError),
		Panels: []plots.Panel{
			{Title: "loss", YLabel: "loss", LogY: true, YMin: floor / 100, Series: []plots.Series{
				series("GD", gray, false, func(p analysis.FlowPoint) float64 { return p.GDLoss }),
				series("GD, running mean", color.Black, false, func(p analysis.FlowPoint) float64 { return p.GDAverage }),
				series("central flow: predicted mean, L + ½·tr(HΣ)", red, false, func(p analysis.FlowPoint) float64 { return p.FlowPredicted }),
				series("central flow: L", red, true, func(p analysis.FlowPoint) float64 { return p.FlowLoss }),
				series("gradient flow: L", blue, false, func(p analysis.FlowPoint) float64 { return p.GradientFlowLoss }),
			}},
			{Title: "λ_max along the central flow", YLabel: "sharpness", Series: []plots.Series{
				series("", red, false, func(p analysis.FlowPoint) float64 { return p.FlowSharpness }),
				series("2/η", light, true, edge),
			}},
			{Title: "distance from GD", YLabel: "‖w_GD − w‖", Series: []plots.Series{
				series("to the central flow", red, false, func(p analysis.FlowPoint) float64 { return p.ToFlow }),
				series("to gradient flow", blue, false, func(p analysis.FlowPoint) float64 { return p.ToGradientFlow }),
			}},
		},
		PanelWidth: 8.5 * vg.Centimeter, Height: 6.5 * vg.Centimeter,
	}
	return row.Save(filepath.Join(dir, f.File))
}

// writeFlowCSV writes every recorded point of res.
func writeFlowCSV(path string, res analysis.CentralFlowResult) error {
	header := []string{"step", "gd_loss", "gd_average", "flow_loss", "flow_predicted", "flow_sharpness", "active", "sigma_trace", "gradient_flow_loss", "to_flow", "to_gradient_flow"}
	return writeTable(path, header, func(write func([]string)) {
		for _, p := range res.Points {
			row := []string{strconv.Itoa(p.Step)}
			for _, v := range []float64{p.GDLoss, p.GDAverage, p.FlowLoss, p.FlowPredicted, p.FlowSharpness, float64(p.Active), p.SigmaTrace, p.GradientFlowLoss, p.ToFlow, p.ToGradientFlow} {
				row = append(row, fmtFloat(v))
			}
			write(row)
		}
	})
}
