package plots

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Surface is a scalar field over a rectangular grid, drawn as filled
// contours, with paths and points on top: a loss over a 2D plane of
// parameter space with the trajectories of GD and SGD across it. A colour
// bar on the right gives the scale and a legend below the plot names the
// labelled paths and points.
type Surface struct {
	// Title is drawn above the plot.
	Title string

	// XLabel and YLabel name the axes; empty labels are not drawn.
	XLabel, YLabel string

	// X and Y are the grid coordinates, strictly increasing, with at least
	// two values each.
	X, Y []float64

	// Z holds len(Y)·len(X) values, row by row: Z[j*len(X)+i] is the value
	// at (X[i], Y[j]). Between grid points the field is interpolated
	// bilinearly. Non-finite values (a diverged loss) are drawn in the top
	// colour.
	Z []float64

	// LogColor spaces the levels and the colour bar logarithmically, over
	// whole decades. Values <= 0 are clamped to the smallest positive
	// value.
	LogColor bool

	// Levels is the number of filled levels, evenly spaced on the colour
	// scale between the smallest and largest values (0 means 30).
	Levels int

	// ColorTicks are the values labelled on the colour bar; ticks outside
	// the colour range are left out. Nil means decades (every other one or
	// fewer on a wide range) on a log scale and about six round values on
	// a linear one; an empty, non-nil slice means no ticks.
	ColorTicks []float64

	// ColorLabel, if not empty, is written along the colour bar.
	ColorLabel string

	// Paths are drawn in order over the field, then Points over them.
	Paths  []Path
	Points []Point

	// EqualAspect makes one unit as long in x as in y, shrinking the plot
	// to fit, as matplotlib's axis('equal') does.
	EqualAspect bool

	// HideAxes draws neither the axes, nor their ticks and labels, nor a
	// frame, like matplotlib's axis('off').
	HideAxes bool

	// Width and Height are the size of the whole figure; 0 means 12 cm and
	// 10 cm.
	Width, Height vg.Length
}

// Path is a polyline drawn over a Surface, such as an optimiser's
// trajectory.
type Path struct {
	// Label is the legend text; an empty Label gives no legend entry.
	Label string

	// X and Y are the points of the path and must have the same length.
	// The line breaks at points with a non-finite coordinate.
	X, Y []float64

	// Color is the colour of the line; nil is black.
	Color color.Color

	// Dots draws a dot at each point, in DotColor (nil means Color), so
	// that the steps of GD stand out from the line joining them.
	Dots     bool
	DotColor color.Color
}

// Point is a marker drawn over a Surface, such as an initialisation or a
// minimiser.
type Point struct {
	// Label is the legend text; an empty Label gives no legend entry.
	Label string

	// X and Y are the position of the marker; a marker off the grid or at
	// a non-finite position is not drawn.
	X, Y float64

	// Color is the fill colour of the marker, which always has a thin black
	// edge so that it shows on any level; nil is black.
	Color color.Color

	// Shape is "circle" (the default when empty), "star", "square" or
	// "triangle".
	Shape string
}

// Defaults and layout of surfaces, in points unless stated otherwise.
const (
	defaultSurfaceWidth  = 12 * vg.Centimeter
	defaultSurfaceHeight = 10 * vg.Centimeter
	defaultLevels        = 30
	maxLevels            = 1000 // far more than a colour bar can show apart

	colorBarGap   = 10 // between the data area and the colour bar
	colorBarWidth = 11
	barLabelGap   = 2 // between a tick and its label, and before ColorLabel

	dotRadius    = 1.7
	markerRadius = 4.5
	markerEdge   = 0.6
	legendGlyph  = 4 // the largest marker radius in the legend
)

// Save draws the surface and writes it to path, in the format given by the
// extension of path: .png, .svg or .pdf. Like Row.Save, it writes to a
// temporary file and renames it, so a half-written figure never exists
// under the final name.
func (s Surface) Save(path string) error {
	newCanvas, err := canvasFor(path)
	if err != nil {
		return err
	}
	if err := s.validate(); err != nil {
		return fmt.Errorf("plots: surface: %w", err)
	}
	w, h := s.size()
	c := newCanvas(w, h)
	s.build().draw(draw.New(c))
	return writeFile(path, c)
}

// size returns the size of the figure.
func (s Surface) size() (w, h vg.Length) {
	w, h = s.Width, s.Height
	if w == 0 {
		w = defaultSurfaceWidth
	}
	if h == 0 {
		h = defaultSurfaceHeight
	}
	return w, h
}

// levels returns the number of filled levels.
func (s Surface) levels() int {
	if s.Levels == 0 {
		return defaultLevels
	}
	return s.Levels
}

// validate reports the first problem with s that would make it impossible
// to draw, naming the field at fault.
func (s Surface) validate() error {
	if err := checkGrid("X", s.X); err != nil {
		return err
	}
	if err := checkGrid("Y", s.Y); err != nil {
		return err
	}
	if n := len(s.X) * len(s.Y); len(s.Z) != n {
		return fmt.Errorf("len(Z) = %d, want len(X)·len(Y) = %d·%d = %d", len(s.Z), len(s.X), len(s.Y), n)
	}
	if s.Levels < 0 || s.Levels > maxLevels {
		return fmt.Errorf("Levels = %d, want 0 (for %d) to %d", s.Levels, defaultLevels, maxLevels)
	}
	for i, v := range s.ColorTicks {
		switch {
		case !isFinite(v):
			return fmt.Errorf("ColorTicks[%d] is %v", i, v)
		case s.LogColor && v <= 0:
			return fmt.Errorf("ColorTicks[%d] = %v is not positive, on a log colour scale", i, v)
		}
	}
	for i, p := range s.Paths {
		if len(p.X) != len(p.Y) {
			return fmt.Errorf("path %d (%q): len(X) = %d but len(Y) = %d", i, p.Label, len(p.X), len(p.Y))
		}
	}
	for i, p := range s.Points {
		if _, ok := markerShapes[p.Shape]; !ok {
			return fmt.Errorf("point %d (%q): unknown Shape %q (want circle, star, square or triangle)", i, p.Label, p.Shape)
		}
	}
	if s.Width < 0 || s.Height < 0 {
		return fmt.Errorf("negative figure size: Width %v, Height %v", s.Width, s.Height)
	}
	return nil
}

// checkGrid reports whether the grid coordinates xs, named name, are at
// least two finite, strictly increasing values.
func checkGrid(name string, xs []float64) error {
	if len(xs) < 2 {
		return fmt.Errorf("%s has %d grid points, want at least 2", name, len(xs))
	}
	for i, x := range xs {
		if !isFinite(x) {
			return fmt.Errorf("%s[%d] is %v", name, i, x)
		}
		if i > 0 && x <= xs[i-1] {
			return fmt.Errorf("%s is not increasing: %s[%d] = %v after %s[%d] = %v", name, name, i, x, name, i-1, xs[i-1])
		}
	}
	if span := xs[len(xs)-1] - xs[0]; math.IsInf(span, 0) {
		return errors.New(name + " spans more than float64 can hold")
	}
	return nil
}

// colorScale maps the values of a field to filled levels and to positions
// on the colour bar. It works in scale space: log10 of the values on a log
// scale, the values themselves on a linear one.
type colorScale struct {
	log    bool
	lo, hi float64 // the range of the colour bar, in scale space
	floor  float64 // on a log scale, the value that values <= 0 become
	levels int
}

// newColorScale returns the colour scale of s.
func newColorScale(s Surface) colorScale {
	cs := colorScale{log: s.LogColor, levels: s.levels()}
	r := emptyRange()
	for _, z := range s.Z {
		if isFinite(z) && (!s.LogColor || z > 0) {
			r.include(z)
		}
	}
	if s.LogColor {
		cs.floor = r.min
		r = r.decades()
		if !(cs.floor > 0) { // no positive value
			cs.floor = r.min
		}
		cs.lo, cs.hi = math.Log10(r.min), math.Log10(r.max)
		return cs
	}
	// pad(0) keeps a proper range as it is and widens an empty or
	// single-valued one.
	r = r.pad(0)
	cs.lo, cs.hi = r.min, r.max
	return cs
}

// scaled returns z in scale space, within the range of the colour bar.
// Non-finite values go to the top, as a loss that overflowed is large.
func (cs colorScale) scaled(z float64) float64 {
	if !isFinite(z) {
		return cs.hi
	}
	if cs.log {
		z = math.Log10(math.Max(z, cs.floor))
	}
	return max(cs.lo, min(z, cs.hi))
}

// fraction returns the position of v, in scale space, along the colour
// bar: 0 at the bottom and 1 at the top.
func (cs colorScale) fraction(v float64) float64 {
	return (v - cs.lo) / (cs.hi - cs.lo)
}

// level returns the filled level of v, in scale space.
func (cs colorScale) level(v float64) int {
	k := int(math.Floor(cs.fraction(v) * float64(cs.levels)))
	return max(0, min(k, cs.levels-1))
}

// colors returns the colour of each level: the colour map at the middle of
// the level, as matplotlib's contourf does.
func (cs colorScale) colors() []color.RGBA {
	cols := make([]color.RGBA, cs.levels)
	for k := range cols {
		cols[k] = color.RGBAModel.Convert(Coolwarm((float64(k) + 0.5) / float64(cs.levels))).(color.RGBA)
	}
	return cols
}

// ticks returns the labelled ticks of the colour bar of s.
func (cs colorScale) ticks(s Surface) []plot.Tick {
	lo, hi := cs.lo, cs.hi
	if cs.log {
		lo, hi = math.Pow(10, lo), math.Pow(10, hi)
	}
	var ticks []plot.Tick
	if s.ColorTicks == nil {
		if cs.log {
			ticks = logTicks{}.Ticks(lo, hi)
		} else {
			ticks = linearTicks{}.Ticks(lo, hi)
		}
	}
	for _, v := range s.ColorTicks {
		label := strconv.FormatFloat(v, 'g', 4, 64)
		if l := math.Log10(v); cs.log && math.Abs(l-math.Round(l)) < 1e-9 {
			label = powerLabel(int(math.Round(l)))
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: label})
	}
	// Keep the labelled ticks on the bar; the rounding allowance keeps a
	// tick at an end that is a power of ten computed as 10^lo.
	const eps = 1e-9
	var kept []plot.Tick
	for _, t := range ticks {
		if f := cs.fraction(cs.scaledTick(t.Value)); t.Label != "" && -eps <= f && f <= 1+eps {
			kept = append(kept, t)
		}
	}
	return kept
}

// scaledTick returns the tick value v in scale space, without clamping.
func (cs colorScale) scaledTick(v float64) float64 {
	if cs.log {
		return math.Log10(v)
	}
	return v
}

// builtSurface is a Surface ready to be drawn.
type builtSurface struct {
	s      Surface
	plot   *plot.Plot
	scale  colorScale
	ticks  []plot.Tick
	legend []legendEntry
}

// build prepares s for drawing.
func (s Surface) build() builtSurface {
	b := builtSurface{s: s, plot: plot.New(), scale: newColorScale(s)}
	b.ticks = b.scale.ticks(s)

	pl := b.plot
	styleAxes(pl)
	pl.X.Min, pl.X.Max = s.X[0], s.X[len(s.X)-1]
	pl.Y.Min, pl.Y.Max = s.Y[0], s.Y[len(s.Y)-1]
	if s.HideAxes {
		pl.HideAxes()
	} else {
		pl.X.Label.Text, pl.Y.Label.Text = s.XLabel, s.YLabel
	}
	pl.Add(raster{s: s, scale: b.scale})

	for _, p := range s.Paths {
		pp := newPathPlotter(p)
		pl.Add(pp)
		if p.Label != "" {
			line := pp.curve.style
			line.Width = max(line.Width, legendLineWidth)
			e := legendEntry{label: p.Label, line: line}
			if p.Dots {
				e.glyph = pp.dot
				e.glyph.Radius *= 1.3 // a lone dot on a thick line needs to be larger to show
			}
			b.legend = append(b.legend, e)
		}
	}
	for _, p := range s.Points {
		m := newMarker(p)
		pl.Add(m)
		if p.Label != "" {
			glyph := m.glyph
			glyph.Radius = min(glyph.Radius, legendGlyph)
			b.legend = append(b.legend, legendEntry{label: p.Label, glyph: glyph})
		}
	}
	return b
}

// surfaceLayout is where the parts of a surface figure go.
type surfaceLayout struct {
	plot      vg.Rectangle // the plot, axes included
	data      vg.Rectangle // the data area of the plot
	bar       vg.Rectangle // the colour bar, its ticks and labels excluded
	legendTop vg.Length    // the top of the legend below the plot
}

// legendLayout returns the legend of b for a figure of the given width,
// and whether there is one.
func (b builtSurface) legendLayout(width vg.Length) (legendLayout, bool) {
	if len(b.legend) == 0 {
		return legendLayout{}, false
	}
	return newLegendLayout(b.legend, legendSize, width-2*figurePad, len(b.legend)), true
}

// barStyles returns the styles of the tick labels and of the label of the
// colour bar.
func barStyles() (tick, label text.Style) {
	tick = textStyle(tickSize)
	tick.Handler = powerText{text.Plain{Fonts: font.DefaultCache}}
	tick.XAlign, tick.YAlign = draw.XLeft, draw.YCenter
	label = textStyle(labelSize)
	// Rotated a quarter turn anticlockwise, reading upwards, with its top
	// towards the bar, as matplotlib writes colour-bar labels.
	label.Rotation = math.Pi / 2
	label.XAlign, label.YAlign = draw.XCenter, draw.YTop
	return tick, label
}

// tickLabelWidth returns the width of the widest tick label of the colour
// bar.
func (b builtSurface) tickLabelWidth() vg.Length {
	sty, _ := barStyles()
	var w vg.Length
	for _, t := range b.ticks {
		w = max(w, sty.Width(t.Label))
	}
	return w
}

// barStripWidth returns the width taken by the colour bar with its gap to
// the data area, ticks and labels.
func (b builtSurface) barStripWidth() vg.Length {
	w := colorBarGap + colorBarWidth + tickLength + barLabelGap + b.tickLabelWidth()
	if b.s.ColorLabel != "" {
		_, labelSty := barStyles()
		labelSty.Rotation = 0
		w += 2*barLabelGap + labelSty.Height(b.s.ColorLabel)
	}
	return w
}

// layout places the parts of the figure in fig, the whole figure.
func (b builtSurface) layout(fig vg.Rectangle) surfaceLayout {
	area := vg.Rectangle{
		Min: fig.Min.Add(vg.Point{X: figurePad, Y: figurePad}),
		Max: fig.Max.Sub(vg.Point{X: figurePad, Y: figurePad}),
	}
	if b.s.Title != "" {
		area.Max.Y -= titleStyle().Height(b.s.Title) + titleGap
	}
	if l, ok := b.legendLayout(fig.Size().X); ok {
		area.Min.Y += l.size().Y + figurePad
	}
	area.Max.X -= b.barStripWidth()

	// The axes take the same room around the data area whatever its size,
	// so the plot that has a given data area is that area grown by the
	// room the axes take in the largest plot.
	full := b.plot.DataCanvas(draw.Canvas{Rectangle: area}).Rectangle
	data := full
	if b.s.EqualAspect {
		data = equalAspect(full, b.plot.X.Max-b.plot.X.Min, b.plot.Y.Max-b.plot.Y.Min)
	}
	l := surfaceLayout{
		data: data,
		plot: vg.Rectangle{
			Min: data.Min.Sub(full.Min.Sub(area.Min)),
			Max: data.Max.Add(area.Max.Sub(full.Max)),
		},
	}
	l.bar = vg.Rectangle{
		Min: vg.Point{X: data.Max.X + colorBarGap, Y: data.Min.Y},
		Max: vg.Point{X: data.Max.X + colorBarGap + colorBarWidth, Y: data.Max.Y},
	}
	l.legendTop = l.plot.Min.Y - figurePad
	return l
}

// equalAspect returns the largest rectangle centred in r whose sides are
// in the ratio dx:dy.
func equalAspect(r vg.Rectangle, dx, dy float64) vg.Rectangle {
	size := r.Size()
	w, h := float64(size.X), float64(size.Y)
	if w*dy > h*dx {
		w = h * dx / dy
	} else {
		h = w * dy / dx
	}
	c := vg.Point{X: (r.Min.X + r.Max.X) / 2, Y: (r.Min.Y + r.Max.Y) / 2}
	half := vg.Point{X: vg.Length(w / 2), Y: vg.Length(h / 2)}
	return vg.Rectangle{Min: c.Sub(half), Max: c.Add(half)}
}

// draw draws the surface onto dc, which covers the whole figure.
func (b builtSurface) draw(dc draw.Canvas) {
	// SVG and PDF start transparent.
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())

	l := b.layout(dc.Rectangle)
	b.plot.Draw(draw.Canvas{Canvas: dc.Canvas, Rectangle: l.plot})
	if !b.s.HideAxes {
		drawFrame(dc, l.data)
	}
	if b.s.Title != "" {
		dc.FillText(titleStyle(), vg.Point{X: (l.data.Min.X + l.data.Max.X) / 2, Y: l.data.Max.Y + titleGap}, b.s.Title)
	}
	b.drawBar(dc, l.bar)
	if leg, ok := b.legendLayout(dc.Size().X); ok {
		strip := dc
		strip.Max.Y = l.legendTop
		leg.drawBelow(strip)
	}
}

// drawBar draws the colour bar in bar, with its ticks and labels to the
// right of it.
func (b builtSurface) drawBar(dc draw.Canvas, bar vg.Rectangle) {
	cs := b.scale
	h := bar.Size().Y
	for k, c := range cs.colors() {
		// Each band reaches to the top of the bar and the next one is
		// painted over it: bands that only met would leave a light seam
		// where their antialiased edges meet.
		band := vg.Rectangle{
			Min: vg.Point{X: bar.Min.X, Y: bar.Min.Y + h*vg.Length(k)/vg.Length(cs.levels)},
			Max: bar.Max,
		}
		dc.SetColor(c)
		dc.Fill(band.Path())
	}
	drawFrame(dc, bar)

	tickSty, labelSty := barStyles()
	line := draw.LineStyle{Color: color.Black, Width: frameWidth}
	for _, t := range b.ticks {
		y := bar.Min.Y + h*vg.Length(cs.fraction(cs.scaledTick(t.Value)))
		dc.StrokeLine2(line, bar.Max.X, y, bar.Max.X+tickLength, y)
		dc.FillText(tickSty, vg.Point{X: bar.Max.X + tickLength + barLabelGap, Y: y}, t.Label)
	}
	if b.s.ColorLabel != "" {
		x := bar.Max.X + tickLength + 2*barLabelGap + b.tickLabelWidth()
		dc.FillText(labelSty, vg.Point{X: x, Y: (bar.Min.Y + bar.Max.Y) / 2}, b.s.ColorLabel)
	}
}

// raster draws the filled levels of a surface as an image covering the
// data area, one image pixel per pixel of a PNG figure.
type raster struct {
	s     Surface
	scale colorScale
}

// Plot implements plot.Plotter.
func (r raster) Plot(c draw.Canvas, p *plot.Plot) {
	size := c.Size()
	if !(size.X.Dots(dpi) >= 1 && size.Y.Dots(dpi) >= 1) {
		// Nothing would show, and scaling an image down to less than a
		// pixel makes golang.org/x/image/draw allocate without bound.
		return
	}
	w, h := int(math.Ceil(size.X.Dots(dpi))), int(math.Ceil(size.Y.Dots(dpi)))
	nx := len(r.s.X)

	// Interpolating in scale space, log10 of the values on a log scale,
	// gives smooth level boundaries: the levels of a loss are evenly
	// spaced in that space, not in the loss itself.
	v := make([]float64, len(r.s.Z))
	for i, z := range r.s.Z {
		v[i] = r.scale.scaled(z)
	}
	cols := r.scale.colors()

	// The pixel centres in data coordinates, with the cell of the grid
	// each falls in; image rows run from the top down.
	xi, xf := cells(r.s.X, w, func(i int) float64 { return p.X.Min + (float64(i)+0.5)/float64(w)*(p.X.Max-p.X.Min) })
	yi, yf := cells(r.s.Y, h, func(j int) float64 { return p.Y.Max - (float64(j)+0.5)/float64(h)*(p.Y.Max-p.Y.Min) })

	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for row := range h {
		j, fy := yi[row], yf[row]
		lower, upper := v[j*nx:(j+1)*nx], v[(j+1)*nx:(j+2)*nx]
		for col := range w {
			i, fx := xi[col], xf[col]
			bottom := lower[i] + fx*(lower[i+1]-lower[i])
			top := upper[i] + fx*(upper[i+1]-upper[i])
			img.SetRGBA(col, row, cols[r.scale.level(bottom+fy*(top-bottom))])
		}
	}
	c.DrawImage(c.Rectangle, img)
}

// cells returns, for each of the n positions at(0), ..., at(n-1), the
// index i of the cell of the grid xs it falls in, from xs[i] to xs[i+1],
// and its fraction of the way across that cell.
func cells(xs []float64, n int, at func(int) float64) (idx []int, frac []float64) {
	idx, frac = make([]int, n), make([]float64, n)
	for k := range n {
		x := at(k)
		i := max(0, min(sort.SearchFloat64s(xs, x)-1, len(xs)-2))
		f := (x - xs[i]) / (xs[i+1] - xs[i])
		idx[k], frac[k] = i, max(0, min(f, 1))
	}
	return idx, frac
}

// pathPlotter draws a Path.
type pathPlotter struct {
	curve curve
	dot   draw.GlyphStyle // Shape nil for no dots
}

func newPathPlotter(p Path) pathPlotter {
	c := p.Color
	if c == nil {
		c = color.Black
	}
	pp := pathPlotter{curve: newCurve(Series{Label: p.Label, X: p.X, Y: p.Y}, false, c)}
	if p.Dots {
		dc := p.DotColor
		if dc == nil {
			dc = c
		}
		pp.dot = draw.GlyphStyle{Color: dc, Radius: dotRadius, Shape: draw.CircleGlyph{}}
	}
	return pp
}

// Plot implements plot.Plotter.
func (pp pathPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	pp.curve.Plot(c, p)
	if pp.dot.Shape == nil {
		return
	}
	for _, line := range pp.curve.lines(c, p) {
		for _, pt := range line {
			c.DrawGlyph(pp.dot, pt)
		}
	}
}

// marker draws a Point.
type marker struct {
	x, y  float64
	glyph draw.GlyphStyle
}

func newMarker(p Point) marker {
	c := p.Color
	if c == nil {
		c = color.Black
	}
	shape := markerShapes[p.Shape]
	return marker{x: p.X, y: p.Y, glyph: draw.GlyphStyle{Color: c, Radius: markerRadius * vg.Length(shape.scale), Shape: shape}}
}

// Plot implements plot.Plotter.
func (m marker) Plot(c draw.Canvas, p *plot.Plot) {
	if !isFinite(m.x) || !isFinite(m.y) {
		return
	}
	tx, ty := p.Transforms(&c)
	c.DrawGlyph(m.glyph, vg.Point{X: tx(m.x), Y: ty(m.y)})
}

// polygonGlyph is a filled regular polygon or star with a thin black edge.
type polygonGlyph struct {
	// n vertices, the first straight up turned anticlockwise by start
	// radians, at radii cycling through radii, in units of the glyph's
	// radius.
	n     int
	start float64
	radii []float64

	// scale is the size of the glyph relative to markerRadius, which
	// evens out the apparent size of the shapes: a star with the radius of
	// a circle looks much smaller.
	scale float64
}

// markerShapes are the shapes of Point, by name. A circle is a polygon
// with enough sides to look round at marker sizes.
var markerShapes = map[string]polygonGlyph{
	"":         {n: 32, radii: []float64{1}, scale: 1},
	"circle":   {n: 32, radii: []float64{1}, scale: 1},
	"square":   {n: 4, start: math.Pi / 4, radii: []float64{1}, scale: 1.15},
	"triangle": {n: 3, radii: []float64{1}, scale: 1.25},
	"star":     {n: 10, radii: []float64{1, 0.42}, scale: 1.7},
}

// DrawGlyph implements draw.GlyphDrawer.
func (g polygonGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	var path vg.Path
	for i := range g.n {
		a := math.Pi/2 + g.start + 2*math.Pi*float64(i)/float64(g.n)
		r := sty.Radius * vg.Length(g.radii[i%len(g.radii)])
		v := vg.Point{X: pt.X + r*vg.Length(math.Cos(a)), Y: pt.Y + r*vg.Length(math.Sin(a))}
		if i == 0 {
			path.Move(v)
		} else {
			path.Line(v)
		}
	}
	path.Close()
	c.Fill(path)
	c.SetLineStyle(draw.LineStyle{Color: color.Black, Width: markerEdge})
	c.Stroke(path)
}

// coolwarm is Kenneth Moreland's 33-entry cool–warm diverging table,
// which matplotlib's coolwarm interpolates linearly.
var coolwarm = [33][3]float64{
	{0.2298057, 0.298717966, 0.753683153},
	{0.26623388, 0.353094838, 0.801466763},
	{0.30386891, 0.406535296, 0.84495867},
	{0.342804478, 0.458757618, 0.883725899},
	{0.38301334, 0.50941904, 0.917387822},
	{0.424369608, 0.558148092, 0.945619588},
	{0.46666708, 0.604562568, 0.968154911},
	{0.509635204, 0.648280772, 0.98478814},
	{0.552953156, 0.688929332, 0.995375608},
	{0.596262162, 0.726149107, 0.999836203},
	{0.639176211, 0.759599947, 0.998151185},
	{0.681291281, 0.788964712, 0.990363227},
	{0.722193294, 0.813952739, 0.976574709},
	{0.761464949, 0.834302879, 0.956945269},
	{0.798691636, 0.849786142, 0.931688648},
	{0.833466556, 0.860207984, 0.901068838},
	{0.865395197, 0.86541021, 0.865395561},
	{0.897787179, 0.848937047, 0.820880546},
	{0.924127593, 0.827384882, 0.774508472},
	{0.944468518, 0.800927443, 0.726736146},
	{0.958852946, 0.769767752, 0.678007945},
	{0.96732803, 0.734132809, 0.628751763},
	{0.969954137, 0.694266682, 0.579375448},
	{0.966811177, 0.650421156, 0.530263762},
	{0.958003065, 0.602842431, 0.481775914},
	{0.943660866, 0.551750968, 0.434243684},
	{0.923944917, 0.49730856, 0.387970225},
	{0.89904617, 0.439559467, 0.343229596},
	{0.869186849, 0.378313092, 0.300267182},
	{0.834620542, 0.312874446, 0.259301199},
	{0.795631745, 0.24128379, 0.220525627},
	{0.752534934, 0.157246067, 0.184115123},
	{0.705673158, 0.01555616, 0.150232812},
}

// Coolwarm returns matplotlib's coolwarm colour map at t, from blue at 0
// through light grey at 0.5 to red at 1. A t outside [0, 1] is clamped and
// NaN gives the red end.
func Coolwarm(t float64) color.Color {
	if !(t <= 1) {
		t = 1
	}
	x := max(t, 0) * float64(len(coolwarm)-1)
	i := min(int(x), len(coolwarm)-2)
	f := x - float64(i)
	var rgb [3]uint8
	for k := range rgb {
		a, b := coolwarm[i][k], coolwarm[i+1][k]
		rgb[k] = uint8(math.Round(255 * (a + f*(b-a))))
	}
	return color.NRGBA{R: rgb[0], G: rgb[1], B: rgb[2], A: 255}
}
