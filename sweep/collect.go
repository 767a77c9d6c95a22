package sweep

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"sgdlab/experiment"
	"sgdlab/plots"
)

// CollectFile is the table Collect writes under the output directory.
const CollectFile = "collect.csv"

// CollectOptions control Collect.
type CollectOptions struct {
	// Metric is the final metric the figures show; "" is the first metric
	// of the configuration that a finished point reports.
	Metric string
}

// Report is what Collect found and wrote.
type Report struct {
	Total    int // points of the plan
	Finished int // with done.json, collected
	Failed   int // with failed.json and no done.json
	Missing  int // neither: not run yet, running, or interrupted
	// FailedIDs are the IDs of the failed points, in plan order.
	FailedIDs []string
	// Rows is the number of data rows of collect.csv: one per finished
	// point and run.
	Rows int
	// CSV is the path of collect.csv; Figures the paths of the figures.
	CSV     string
	Figures []string
	// Metric is the metric the figures show ("" when nothing finished).
	Metric string
	// Notes say which figures were not drawn and why.
	Notes []string
}

// collected is one finished point.
type collected struct {
	pt   Point
	done Done
}

// Collect reads the finished points of plan under out — only those with
// done.json, so a point being written or abandoned half-way is never
// read — and writes out/collect.csv: one row per finished point and run,
// with the columns index, id, each swept key (named by the key; strings
// unquoted, other values as JSON), seed, run, lr, diverged and every
// final metric (the union over the rows, sorted; empty where a run lacks
// it or diverged). It then draws, as out/collect-METRIC-*.png:
//
//   - against the first numeric swept key with two or more values, the
//     final metric of each run (a panel per run name): the median over
//     the seeds as a line, one line per combination of the other swept
//     keys, and the minimum and maximum over the seeds as thin dashed
//     lines of the same colour; a loss is drawn on a log axis;
//   - when a second numeric key varies on another axis, for each run a
//     heat map of the median (over seeds and the other keys) over the
//     two keys, drawn only when every cell has a finished point.
//
// A metric asked for in opt that no finished point reports is an error
// wrapping experiment.ErrInvalid, naming those that are.
func Collect(plan Plan, out string, opt CollectOptions) (Report, error) {
	rep := Report{Total: len(plan.Points), CSV: filepath.Join(out, CollectFile)}
	var got []collected
	for _, pt := range plan.Points {
		if d, ok := readDone(out, pt.ID); ok {
			got = append(got, collected{pt, d})
			continue
		}
		if _, ok := readFailed(out, pt.ID); ok {
			rep.Failed++
			rep.FailedIDs = append(rep.FailedIDs, pt.ID)
			continue
		}
		rep.Missing++
	}
	rep.Finished = len(got)
	metrics := metricNames(got)
	if opt.Metric != "" && len(got) > 0 && !contains(metrics, opt.Metric) {
		return rep, fmt.Errorf("%w: sweep %s: -metric %q: no finished point reports it (they report: %s)",
			experiment.ErrInvalid, plan.Spec.Name, opt.Metric, strings.Join(metrics, ", "))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return rep, fmt.Errorf("sweep %s: %w", plan.Spec.Name, err)
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	header := []string{"index", "id"}
	header = append(header, plan.Keys...)
	header = append(header, "seed", "run", "lr", "diverged")
	w.Write(append(header, metrics...))
	for _, g := range got {
		for _, r := range g.done.Runs {
			row := []string{strconv.Itoa(g.pt.Index), g.pt.ID}
			for _, v := range g.pt.Values {
				row = append(row, cell(v))
			}
			row = append(row, cell(g.pt.Seed), r.Name, fmtFloat(r.LR), strconv.FormatBool(r.Diverged))
			for _, m := range metrics {
				s := ""
				if v := r.Final[m]; v != nil {
					s = fmtFloat(*v)
				}
				row = append(row, s)
			}
			w.Write(row)
			rep.Rows++
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return rep, fmt.Errorf("sweep %s: %s: %w", plan.Spec.Name, rep.CSV, err)
	}
	if err := writeFileAtomic(rep.CSV, b.Bytes()); err != nil {
		return rep, fmt.Errorf("sweep %s: %w", plan.Spec.Name, err)
	}
	if len(got) == 0 {
		rep.Notes = append(rep.Notes, "no finished point: no figures")
		return rep, nil
	}
	rep.Metric = opt.Metric
	if rep.Metric == "" {
		rep.Metric = firstMetric(got, metrics)
	}
	if err := figures(plan, out, got, &rep); err != nil {
		return rep, fmt.Errorf("sweep %s: %w", plan.Spec.Name, err)
	}
	return rep, nil
}

// metricNames returns the union of the final metrics of got, sorted.
func metricNames(got []collected) []string {
	seen := make(map[string]bool)
	for _, g := range got {
		for _, r := range g.done.Runs {
			for m := range r.Final {
				seen[m] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// firstMetric is the first metric of the configuration (in its order,
// which puts the train loss first in sgdlab's experiments) that a finished
// point reports.
func firstMetric(got []collected, have []string) string {
	for _, g := range got {
		for _, m := range g.pt.Config.Metrics {
			if contains(have, m) {
				return m
			}
		}
	}
	if len(have) > 0 {
		return have[0]
	}
	return ""
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// cell writes a JSON value for a CSV cell: a string without its quotes,
// anything else as JSON; nothing for nil.
func cell(v json.RawMessage) string {
	if v == nil {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// isLoss reports whether metric is a loss, drawn on a log axis.
func isLoss(metric string) bool { return strings.Contains(metric, "loss") }

// palette is a categorical palette (matplotlib's tab10): the lines of a
// figure are different settings, not an ordered ramp.
var palette = []color.Color{
	color.NRGBA{31, 119, 180, 255}, color.NRGBA{255, 127, 14, 255}, color.NRGBA{44, 160, 44, 255},
	color.NRGBA{214, 39, 40, 255}, color.NRGBA{148, 103, 189, 255}, color.NRGBA{140, 86, 75, 255},
	color.NRGBA{227, 119, 194, 255}, color.NRGBA{127, 127, 127, 255}, color.NRGBA{188, 189, 34, 255},
	color.NRGBA{23, 190, 207, 255},
}

// stats are the values of one cell of a figure: one per seed.
type stats []float64

func (s stats) median() float64 {
	v := append([]float64(nil), s...)
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func (s stats) min() float64 { return sortedFloats(s)[0] }
func (s stats) max() float64 { v := sortedFloats(s); return v[len(v)-1] }

// number returns the JSON value v as a float64.
func number(v json.RawMessage) float64 {
	var f float64
	json.Unmarshal(v, &f)
	return f
}

// runNames returns the run names of got, in the order of first sight.
func runNames(got []collected) []string {
	var names []string
	for _, g := range got {
		for _, r := range g.done.Runs {
			if !contains(names, r.Name) {
				names = append(names, r.Name)
			}
		}
	}
	return names
}

// fileSafe turns a key such as runs[1].schedule.lr into a file name part.
func fileSafe(s string) string {
	s = strings.NewReplacer("[", "", "]", "").Replace(s)
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(experiment.NameChars, r) {
			return r
		}
		return '_'
	}, s)
}

// figures draws the summary figures of rep.Metric into out.
func figures(plan Plan, out string, got []collected, rep *Report) error {
	num := plan.numericKeys()
	if len(num) == 0 {
		rep.Notes = append(rep.Notes, "no numeric swept key with two or more values: no figures")
		return nil
	}
	metric := rep.Metric
	runs := runNames(got)
	xk := num[0]
	if err := lineFigure(plan, out, got, runs, metric, xk, rep); err != nil {
		return err
	}
	for _, yk := range num[1:] {
		if plan.axis[yk] != plan.axis[xk] {
			return heatMaps(plan, out, got, runs, metric, xk, yk, rep)
		}
	}
	return nil
}

// lineFigure draws the metric of each run against key xk.
func lineFigure(plan Plan, out string, got []collected, runs []string, metric string, xk int, rep *Report) error {
	// Groups are the combinations of the other axes, in plan order, each
	// named by its first key: the other keys of a zip advance with it,
	// and those zipped with xk advance with x.
	var groups []string
	groupOf := func(pt Point) string {
		var parts []string
		for i, k := range plan.Keys {
			if plan.axis[i] != plan.axis[xk] && (i == 0 || plan.axis[i-1] != plan.axis[i]) {
				parts = append(parts, k+"="+cell(pt.Values[i]))
			}
		}
		return strings.Join(parts, ", ")
	}
	for _, pt := range plan.Points {
		if g := groupOf(pt); !contains(groups, g) {
			groups = append(groups, g)
		}
	}
	seeds := 1
	if plan.Spec.Seeds != nil {
		seeds = len(plan.Spec.Seeds.Values)
	}
	row := plots.Row{Title: fmt.Sprintf("sweep %s: final %s against %s", plan.Spec.Name, metric, plan.Keys[xk])}
	for _, run := range runs {
		// cells[group][x] are the values of the seeds.
		cells := make(map[string]map[float64]stats)
		diverged, total := 0, 0
		for _, g := range got {
			for _, r := range g.done.Runs {
				if r.Name != run {
					continue
				}
				total++
				if r.Diverged {
					diverged++
					continue
				}
				v := r.Final[metric]
				if v == nil {
					continue
				}
				grp := groupOf(g.pt)
				if cells[grp] == nil {
					cells[grp] = make(map[float64]stats)
				}
				x := number(g.pt.Values[xk])
				cells[grp][x] = append(cells[grp][x], *v)
			}
		}
		title := run
		if diverged > 0 {
			title += fmt.Sprintf(" (%d of %d diverged)", diverged, total)
		}
		p := plots.Panel{Title: title, XLabel: plan.Keys[xk], YLabel: "final " + metric, LogY: isLoss(metric)}
		for gi, grp := range groups {
			c := palette[gi%len(palette)]
			label := grp
			if label == "" && seeds > 1 {
				label = fmt.Sprintf("median over %d seeds", seeds)
			} else if label == "" {
				label = "final " + metric
			}
			med := plots.Series{Label: label, Color: c}
			lo := plots.Series{Color: c, Dashed: true}
			hi := plots.Series{Color: c, Dashed: true}
			var xs []float64
			for x := range cells[grp] {
				xs = append(xs, x)
			}
			sort.Float64s(xs)
			for _, x := range xs {
				s := cells[grp][x]
				med.X, med.Y = append(med.X, x), append(med.Y, s.median())
				lo.X, lo.Y = append(lo.X, x), append(lo.Y, s.min())
				hi.X, hi.Y = append(hi.X, x), append(hi.Y, s.max())
			}
			p.Series = append(p.Series, med)
			if seeds > 1 {
				p.Series = append(p.Series, lo, hi)
			}
		}
		if seeds > 1 {
			// A legend entry without points explains the dashed lines.
			p.Series = append(p.Series, plots.Series{Label: fmt.Sprintf("dashed: min and max over %d seeds (solid: median)", seeds), Color: color.Gray{Y: 90}, Dashed: true})
		}
		row.Panels = append(row.Panels, p)
	}
	path := filepath.Join(out, fmt.Sprintf("collect-%s-vs-%s.png", fileSafe(metric), fileSafe(plan.Keys[xk])))
	if err := row.Save(path); err != nil {
		return fmt.Errorf("figure %s: %w", path, err)
	}
	rep.Figures = append(rep.Figures, path)
	return nil
}

// heatMaps draws, for each run, the median metric over keys xk and yk.
func heatMaps(plan Plan, out string, got []collected, runs []string, metric string, xk, yk int, rep *Report) error {
	var allX, allY []float64
	for _, pt := range plan.Points {
		allX = append(allX, number(pt.Values[xk]))
		allY = append(allY, number(pt.Values[yk]))
	}
	xs, ys := sortedFloats(allX), sortedFloats(allY)
	for _, run := range runs {
		cells := make(map[[2]float64]stats)
		for _, g := range got {
			for _, r := range g.done.Runs {
				if r.Name != run || r.Diverged || r.Final[metric] == nil {
					continue
				}
				at := [2]float64{number(g.pt.Values[xk]), number(g.pt.Values[yk])}
				cells[at] = append(cells[at], *r.Final[metric])
			}
		}
		z := make([]float64, 0, len(xs)*len(ys))
		empty := 0
		for _, y := range ys {
			for _, x := range xs {
				s := cells[[2]float64{x, y}]
				if len(s) == 0 {
					empty++
					continue
				}
				z = append(z, s.median())
			}
		}
		if empty > 0 {
			// The surface would paint a missing cell in the top colour,
			// which reads as a measured worst value.
			rep.Notes = append(rep.Notes, fmt.Sprintf("heat map of run %s not drawn: %d of %d cells have no finished, non-diverged point", run, empty, len(xs)*len(ys)))
			continue
		}
		s := plots.Surface{
			// The surface interpolates between the points of the grid;
			// the title says how coarse that grid is.
			Title:      fmt.Sprintf("sweep %s, run %s: median final %s (%d × %d points)", plan.Spec.Name, run, metric, len(xs), len(ys)),
			XLabel:     plan.Keys[xk],
			YLabel:     plan.Keys[yk],
			X:          xs,
			Y:          ys,
			Z:          z,
			LogColor:   isLoss(metric),
			ColorLabel: "final " + metric,
		}
		path := filepath.Join(out, fmt.Sprintf("collect-%s-map-%s.png", fileSafe(metric), fileSafe(run)))
		if err := s.Save(path); err != nil {
			return fmt.Errorf("figure %s: %w", path, err)
		}
		rep.Figures = append(rep.Figures, path)
	}
	return nil
}
