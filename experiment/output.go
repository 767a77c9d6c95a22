package experiment

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"sgdlab/plots"
)

// Summary is the content of summary.json.
type Summary struct {
	Experiment string `json:"experiment"`
	// CalibratedLR is the calibrated step size (see Config.Calibration).
	CalibratedLR *float64     `json:"calibrated_lr,omitempty"`
	Runs         []RunSummary `json:"runs"`
}

// RunSummary reports one run. Final holds the metrics at the last point
// of the evaluation grid (iteration 99 599 for the DLN experiments, as
// the authors report them); it is null for a diverged run, whose numbers
// mean nothing.
type RunSummary struct {
	Name       string              `json:"name"`
	Label      string              `json:"label"`
	LR         float64             `json:"lr"`
	Diverged   bool                `json:"diverged"`
	DivergedAt *int                `json:"diverged_at"`
	FinalIter  *int                `json:"final_iteration"`
	Final      map[string]*float64 `json:"final"`
	Attempts   []AttemptSummary    `json:"attempts,omitempty"`
}

// AttemptSummary records a diverged attempt that a retry replaced.
type AttemptSummary struct {
	LR         float64 `json:"lr"`
	DivergedAt int     `json:"diverged_at"`
}

// Run trains c and writes, into its result directory (opt.Dir, or
// opt.Out/c.Name): config.json (the resolved configuration), metrics.csv
// (every metric of every run at every evaluation point), the figures,
// checkpoints/RUN.json (the parameters at the end of every run that did
// not diverge) and summary.json, which is written last and marks the
// results complete. See commit for how an earlier result is replaced.
func Run(ctx context.Context, c Config, opt Options) (Summary, error) {
	if err := c.Validate(); err != nil {
		return Summary{}, err
	}
	dst := opt.Dir
	if dst == "" {
		dst = filepath.Join(opt.Out, c.Name)
	}
	// The partial directory is made before training, so that a bad -out
	// fails at once rather than after hours.
	p, err := newPartial(dst)
	if err != nil {
		return Summary{}, fmt.Errorf("%w: experiment %s: output directory: %w", ErrInvalid, c.Name, err)
	}
	defer p.discard()
	opt.states = stateDir(dst)
	t, err := c.train(ctx, opt)
	if err != nil {
		return Summary{}, err
	}
	sum := summarize(t.c, t.outs)
	// A signal during the write phase discards the results: the partial
	// directory goes, and an earlier result stays as it was.
	if err := write(ctx, p.dir, t, sum, opt); err != nil {
		return sum, fmt.Errorf("experiment %s: %w", c.Name, err)
	}
	if err := p.commit(); err != nil {
		return sum, fmt.Errorf("experiment %s: %w", c.Name, err)
	}
	// The results are complete: the states that could resume them go.
	if err := os.RemoveAll(opt.states); err != nil {
		return sum, fmt.Errorf("experiment %s: removing the saved states: %w", c.Name, err)
	}
	return sum, nil
}

// write writes the output contract of t into dir, summary.json last,
// stopping when ctx is cancelled. config.json is the configuration as run,
// calibrated step sizes resolved.
func write(ctx context.Context, dir string, t trained, sum Summary, opt Options) error {
	c, outs := t.c, t.outs
	if err := writeJSON(filepath.Join(dir, "config.json"), c); err != nil {
		return err
	}
	if err := writeCSV(filepath.Join(dir, "metrics.csv"), c, outs); err != nil {
		return err
	}
	for _, f := range c.Figures {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := figure(c, f, outs).Save(filepath.Join(dir, f.File)); err != nil {
			return fmt.Errorf("figure %s: %w", f.File, err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "checkpoints"), 0o755); err != nil {
		return err
	}
	for _, o := range outs {
		if f := o.Final(); !f.Result.Diverged {
			if err := writeJSON(filepath.Join(dir, "checkpoints", o.Spec.Name+".json"), f.End); err != nil {
				return err
			}
		}
	}
	if c.Surface != nil {
		if err := drawSurfaces(ctx, c, outs, dir); err != nil {
			return err
		}
	}
	if c.Function != nil {
		if err := drawFunction(ctx, c.Function, outs, t.ds.train, dir); err != nil {
			return fmt.Errorf("function: %w", err)
		}
	}
	if c.Neurons != nil {
		if err := drawNeurons(ctx, c, c.Neurons, outs, dir); err != nil {
			return fmt.Errorf("neurons: %w", err)
		}
	}
	if c.CentralFlow != nil {
		if err := drawCentralFlow(ctx, c, c.CentralFlow, t.ds, dir, opt); err != nil {
			return fmt.Errorf("central flow: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, summaryFile), sum)
}

func summarize(c Config, outs []Outcome) Summary {
	s := Summary{Experiment: c.Name}
	if len(outs) > 0 && outs[0].CalibratedLR != 0 {
		lr := outs[0].CalibratedLR
		s.CalibratedLR = &lr
	}
	for _, o := range outs {
		f := o.Final()
		rs := RunSummary{Name: o.Spec.Name, Label: label(o), LR: f.LR, Diverged: f.Result.Diverged}
		for _, a := range o.Attempts[:len(o.Attempts)-1] {
			rs.Attempts = append(rs.Attempts, AttemptSummary{LR: a.LR, DivergedAt: a.Result.DivergedAt})
		}
		if f.Result.Diverged {
			at := f.Result.DivergedAt
			rs.DivergedAt = &at
		} else if n := len(f.Result.Iters); n > 0 {
			it := f.Result.Iters[n-1]
			rs.FinalIter = &it
			rs.Final = make(map[string]*float64)
			for k, name := range f.Result.Names {
				rs.Final[name] = finite(f.Result.Values[n-1][k])
			}
		}
		s.Runs = append(s.Runs, rs)
	}
	return s
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// label is the legend text of a run: its configured label with the step
// size that was used, followed by the attempts that diverged, if any.
func label(o Outcome) string {
	f := o.Final()
	// Four digits: a calibrated η has sixteen.
	l := strings.ReplaceAll(o.Spec.Label, "{eta}", strconv.FormatFloat(f.LR, 'g', 4, 64))
	if f.Result.Diverged {
		l += fmt.Sprintf(" (diverged at %d)", f.Result.DivergedAt)
	}
	if n := len(o.Attempts) - 1; n > 0 {
		var parts []string
		for _, a := range o.Attempts[:n] {
			parts = append(parts, fmt.Sprintf("η=%.4g at %d", a.LR, a.Result.DivergedAt))
		}
		l += " (diverged: " + strings.Join(parts, ", ") + ")"
	}
	return l
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func writeCSV(path string, c Config, outs []Outcome) error {
	return writeTable(path, append([]string{"run", "lr0", "iteration", "lr"}, c.Metrics...), func(write func([]string)) {
		for _, o := range outs {
			for _, a := range o.Attempts {
				r := a.Result
				// The history holds the step metrics after the others; the
				// columns follow c.Metrics.
				col := make([]int, len(c.Metrics))
				for j, name := range c.Metrics {
					col[j] = slices.Index(r.Names, name)
				}
				for k, it := range r.Iters {
					row := []string{o.Spec.Name, fmtFloat(a.LR), strconv.Itoa(it), fmtFloat(r.Rates[k])}
					for _, j := range col {
						row = append(row, fmtFloat(r.Values[k][j]))
					}
					write(row)
				}
			}
		}
	})
}

// writeTable writes a CSV file of the header and the rows that rows
// writes, and reports any error of writing or closing it.
func writeTable(path string, header []string, rows func(write func([]string))) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write(header)
	rows(func(row []string) { w.Write(row) })
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// fmtFloat writes the shortest exact form; skipped values are empty.
func fmtFloat(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// figure draws the reported attempt of every run. A diverged run is drawn
// up to its divergence, dashed, and its legend says where it diverged.
//
// Runs with the same label are seeds of one setting: they share a colour
// and one legend entry (a diverged one keeps its own, which says so).
func figure(c Config, f FigureSpec, outs []Outcome) plots.Row {
	colors := runColors(outs)
	row := plots.Row{Title: f.Title}
	// x converts each run's iterations to the figure's x axis.
	x := make([]func(int) float64, len(outs))
	for i, o := range outs {
		x[i] = func(it int) float64 { return float64(it) }
		if f.XAxis == "epoch" {
			per := float64(c.batchesPerEpoch(o.Spec.Optimizer))
			x[i] = func(it int) float64 { return float64(it) / per }
		}
	}
	for _, p := range f.Panels {
		panel := plots.Panel{Title: p.Title, XLabel: f.XAxis, YLabel: p.YLabel, LogY: p.LogY, YMin: p.YMin, YMax: p.YMax}
		labelled := make(map[string]bool)
		for i, o := range outs {
			r := o.Final().Result
			// Validate guarantees the panel's metric is measured. Points
			// it skipped (NaN: a costly metric every k-th point) are left
			// out, so that the line joins the points it measured.
			ys, _ := r.Column(p.Metric)
			s := plots.Series{Label: label(o), Color: colors[i], Dashed: r.Diverged}
			if labelled[s.Label] {
				s.Label = ""
			}
			labelled[s.Label] = true
			s.X, s.Y = measured(r.Iters, ys, x[i])
			panel.Series = append(panel.Series, s)
			if p.Also != "" {
				ys, _ := r.Column(p.Also)
				also := plots.Series{Color: colors[i], Points: true}
				also.X, also.Y = measured(r.Iters, ys, x[i])
				panel.Series = append(panel.Series, also)
			}
			if p.Reference == "2/lr" {
				ref := plots.Series{Color: colors[i], Dashed: true}
				for j, it := range r.Iters {
					ref.X = append(ref.X, x[i](it))
					ref.Y = append(ref.Y, 2/r.Rates[j])
				}
				panel.Series = append(panel.Series, ref)
			}
		}
		row.Panels = append(row.Panels, panel)
	}
	marked := make(map[plots.Mark]bool)
	for i, o := range outs {
		sched, _ := o.Spec.Schedule.Schedule()
		for _, m := range sched.Marks() {
			mk := plots.Mark{X: x[i](m), Color: colors[i]}
			if !marked[mk] {
				row.Marks = append(row.Marks, mk)
				marked[mk] = true
			}
		}
	}
	return row
}

// measured returns the points (x(iteration), value) of a history column
// where the metric was measured (not NaN).
func measured(iters []int, ys []float64, x func(int) float64) (xs, y []float64) {
	for j, it := range iters {
		if !math.IsNaN(ys[j]) {
			xs, y = append(xs, x(it)), append(y, ys[j])
		}
	}
	return xs, y
}

// runColors gives each setting (the runs of one label) a colour: a
// light-to-dark ramp within each palette, in run order.
func runColors(outs []Outcome) []color.Color {
	type key struct{ palette, label string }
	index := make(map[key]int)
	count := make(map[string]int)
	for _, o := range outs {
		k := key{palette(o.Spec), o.Spec.Label}
		if _, ok := index[k]; !ok {
			index[k] = count[k.palette]
			count[k.palette]++
		}
	}
	ramps := map[string][]color.Color{"blues": plots.Blues(count["blues"]), "reds": plots.Reds(count["reds"])}
	out := make([]color.Color, len(outs))
	for i, o := range outs {
		k := key{palette(o.Spec), o.Spec.Label}
		out[i] = ramps[k.palette][index[k]]
	}
	return out
}

func palette(r RunSpec) string {
	if r.Palette == "" {
		return "blues"
	}
	return r.Palette
}
