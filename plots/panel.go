package plots

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// sans is the figures' font: sans serif like the paper's matplotlib figures.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// Font sizes, in points, and line styles of a panel.
const (
	titleSize = 10
	labelSize = 9
	tickSize  = 8

	curveWidth = 1.3
	frameWidth = 0.6
	tickLength = 3
)

var (
	gridColor = color.Gray{Y: 232}
	markGrey  = color.Gray{Y: 110}

	// Dash patterns of dashed series and of marks; marks use a finer one
	// so that a dashed series stays distinguishable from a decay line.
	seriesDashes = []vg.Length{vg.Points(5), vg.Points(2.5)}
	markDashes   = []vg.Length{vg.Points(3), vg.Points(3)}
)

// textStyle returns the style of plain black text of the given size.
func textStyle(size vg.Length) text.Style {
	return text.Style{
		Color:   color.Black,
		Font:    font.From(sans, size),
		Handler: plot.DefaultTextHandler,
	}
}

func (p Panel) xLabel() string {
	if p.XLabel == "" {
		return defaultXLabel
	}
	return p.XLabel
}

// keep reports whether the point (x, y) can be drawn.
func keep(x, y float64, logY bool) bool {
	return isFinite(x) && isFinite(y) && (!logY || y > 0)
}

// axisRange is a range of data values being accumulated.
type axisRange struct{ min, max float64 }

// emptyRange returns a range that includes no value.
func emptyRange() axisRange { return axisRange{math.Inf(1), math.Inf(-1)} }

func (r *axisRange) include(v float64) {
	r.min = math.Min(r.min, v)
	r.max = math.Max(r.max, v)
}

func (r axisRange) empty() bool { return r.min > r.max }

// pad returns r widened by frac of its span on each side, as matplotlib
// does, so that curves do not run along the frame. An empty range becomes
// 0..1 and a single value v becomes v±5 % (or ±0.5 for v = 0). A range
// too wide for float64 is halved.
func (r axisRange) pad(frac float64) axisRange {
	switch {
	case r.empty():
		return axisRange{0, 1}
	case r.min == r.max:
		d := math.Max(math.Abs(r.min)*0.05, 0.5)
		return axisRange{r.min - d, r.max + d}
	}
	if math.IsInf(r.max-r.min, 0) {
		// A span beyond float64 would make every point NaN on the canvas;
		// give up the values near the limits instead.
		return axisRange{r.min / 2, r.max / 2}
	}
	d := (r.max - r.min) * frac
	if math.IsInf(r.min-d, 0) || math.IsInf(r.max+d, 0) {
		return r // no room for margins near the float64 limit
	}
	return axisRange{r.min - d, r.max + d}
}

// decades returns the smallest range of whole decades that includes the
// positive range r, with at least one decade so that the axis has two
// labelled ticks. An empty range becomes 0.1..1.
func (r axisRange) decades() axisRange {
	if r.empty() {
		return axisRange{0.1, 1}
	}
	lo, hi := decade(r.min, math.Floor), decade(r.max, math.Ceil)
	if lo == hi {
		hi++
	}
	// Clamp to what float64 can represent, for data near its limits.
	lo, hi = max(lo, -307), min(hi, 308)
	if lo >= hi {
		lo = hi - 1
	}
	return axisRange{math.Pow10(lo), math.Pow10(hi)}
}

// curve is a Series reduced to what is drawn: runs of drawable points.
type curve struct {
	label  string
	runs   [][]plotter.XY
	style  draw.LineStyle
	points bool // dots, no line
}

// newCurve splits s at the points that cannot be drawn.
func newCurve(s Series, logY bool, c color.Color) curve {
	cv := curve{label: s.Label, style: draw.LineStyle{Color: c, Width: curveWidth}, points: s.Points}
	if s.Dashed {
		cv.style.Dashes = seriesDashes
	}
	var run []plotter.XY
	for i, x := range s.X {
		if !keep(x, s.Y[i], logY) {
			if len(run) > 0 {
				cv.runs = append(cv.runs, run)
				run = nil
			}
			continue
		}
		run = append(run, plotter.XY{X: x, Y: s.Y[i]})
	}
	if len(run) > 0 {
		cv.runs = append(cv.runs, run)
	}
	return cv
}

// lines returns the runs of cv in the coordinates of the data canvas c of
// plot p.
func (cv curve) lines(c draw.Canvas, p *plot.Plot) [][]vg.Point {
	tx, ty := p.Transforms(&c)
	// A point far off the axes can land at an infinite position, which the
	// clipping cannot handle; keep it far outside but finite.
	const far = 1e6
	clamp := func(v, lo, hi vg.Length) vg.Length { return max(lo-far, min(v, hi+far)) }
	lines := make([][]vg.Point, len(cv.runs))
	for i, run := range cv.runs {
		lines[i] = make([]vg.Point, len(run))
		for j, pt := range run {
			lines[i][j] = vg.Point{
				X: clamp(tx(pt.X), c.Min.X, c.Max.X),
				Y: clamp(ty(pt.Y), c.Min.Y, c.Max.Y),
			}
		}
	}
	return lines
}

// Plot implements plot.Plotter.
func (cv curve) Plot(c draw.Canvas, p *plot.Plot) {
	dot := draw.GlyphStyle{Color: cv.style.Color, Radius: cv.style.Width, Shape: draw.CircleGlyph{}}
	// A few data points get large dots; a dense series (a metric at every
	// evaluation point) small ones, so that they do not merge into a band.
	n := 0
	for _, run := range cv.runs {
		n += len(run)
	}
	for _, line := range cv.lines(c, p) {
		if cv.points {
			dot.Radius = 2 * cv.style.Width
			if n > 60 {
				dot.Radius = 0.6 * cv.style.Width
			}
			for _, pt := range line {
				if c.Contains(pt) {
					c.DrawGlyph(dot, pt)
				}
			}
			continue
		}
		if len(line) == 1 {
			// An isolated point has no line to draw; show it as a dot.
			c.DrawGlyph(dot, line[0])
			continue
		}
		c.StrokeLines(cv.style, c.ClipLinesXY(line)...)
	}
}

// markLines draws the marks of a row as vertical lines across a panel.
type markLines []Mark

// Plot implements plot.Plotter.
func (ms markLines) Plot(c draw.Canvas, p *plot.Plot) {
	tx, _ := p.Transforms(&c)
	for _, m := range ms {
		if m.X < p.X.Min || m.X > p.X.Max {
			continue
		}
		x := tx(m.X)
		c.StrokeLine2(markStyle(m), x, c.Min.Y, x, c.Max.Y)
	}
}

func markStyle(m Mark) draw.LineStyle {
	sty := draw.LineStyle{Color: m.Color, Width: 1, Dashes: markDashes}
	if sty.Color == nil {
		sty.Color = markGrey
	}
	return sty
}

// builtPanel is a panel ready to be drawn.
type builtPanel struct {
	title  string
	plot   *plot.Plot
	curves []curve
	marks  markLines
}

// build turns p into a plot whose x axis spans xr.
func (p Panel) build(palette []color.Color, xr axisRange, marks []Mark) builtPanel {
	b := builtPanel{title: p.Title, plot: plot.New(), marks: marks}
	yr := emptyRange()
	for i, s := range p.Series {
		c := s.Color
		if c == nil {
			c = palette[i]
		}
		cv := newCurve(s, p.LogY, c)
		for _, run := range cv.runs {
			for _, pt := range run {
				yr.include(pt.Y)
			}
		}
		b.curves = append(b.curves, cv)
	}

	pl := b.plot
	pl.X.Label.Text = p.xLabel()
	pl.Y.Label.Text = p.YLabel
	styleAxes(pl)
	pl.X.Min, pl.X.Max = xr.min, xr.max

	if p.LogY {
		yr = yr.decades()
		pl.Y.Scale = plot.LogScale{}
		pl.Y.Tick.Marker = logTicks{}
		pl.Y.Tick.Label.Handler = powerText{text.Plain{Fonts: font.DefaultCache}}
		if p.YMin > 0 {
			yr.min = p.YMin
		}
		if p.YMax > 0 {
			yr.max = p.YMax
		}
		if yr.min >= yr.max {
			// A fixed end beyond the data: keep a decade on the other side.
			if p.YMin > 0 {
				yr.max = p.YMin * 10
			} else {
				yr.min = p.YMax / 10
			}
		}
	} else {
		yr = yr.pad(0.05)
		if p.YMin != 0 || p.YMax != 0 {
			yr = axisRange{p.YMin, p.YMax}
		}
	}
	pl.Y.Min, pl.Y.Max = yr.min, yr.max

	grid := plotter.NewGrid()
	grid.Vertical = draw.LineStyle{Color: gridColor, Width: 0.5}
	grid.Horizontal = grid.Vertical
	// Marks go under the curves: a decay line must not hide a run.
	pl.Add(grid, b.marks)
	for _, cv := range b.curves {
		pl.Add(cv)
	}
	return b
}

// styleAxes gives both axes of pl the figures' fonts, linear ticks and
// line widths.
func styleAxes(pl *plot.Plot) {
	for _, a := range []*plot.Axis{&pl.X, &pl.Y} {
		a.Label.TextStyle.Font = font.From(sans, labelSize)
		a.Label.Padding = vg.Points(2)
		a.Tick.Label.Font = font.From(sans, tickSize)
		a.Tick.Length = tickLength
		a.Tick.Marker = linearTicks{}
		a.Width, a.Tick.Width = frameWidth, frameWidth
		// The axes sit on the frame of the data area, as in matplotlib,
		// rather than gonum's default of detached axes.
		a.Padding = 0
	}
}

// drawFrame strokes the outline of r, the frame of a data area.
func drawFrame(c draw.Canvas, r vg.Rectangle) {
	c.StrokeLines(draw.LineStyle{Color: color.Black, Width: frameWidth}, []vg.Point{
		r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}, r.Min,
	})
}

// titleStyle is the style of panel titles.
func titleStyle() text.Style {
	sty := textStyle(titleSize)
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YBottom
	return sty
}

// draw draws the panel onto c, the canvas plot.Align gave it, and its
// title in the titleGap points above it. With legend set, it carries its
// own legend.
//
// The title is not the plot's own: plot.Plot puts it at the top of c, and
// plot.Align moves c up by the part of a tick label sticking out above the
// data area (the exponent of a log axis), so titles would not line up.
func (b builtPanel) draw(c draw.Canvas, legend bool) {
	b.plot.Draw(c)
	data := b.plot.DataCanvas(c)
	if b.title != "" {
		c.FillText(titleStyle(), vg.Point{X: data.Center().X, Y: data.Max.Y + titleGap}, b.title)
	}
	drawFrame(c, data.Rectangle)
	if legend {
		b.drawInside(data)
	}
}
