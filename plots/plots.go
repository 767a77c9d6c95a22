// Package plots draws sgdlab's figures: a row of panels side by side that
// share the iteration axis, in the style of the figures of "SGD with Large
// Step Sizes Learns Sparse Features" (ICML 2023), saved as PNG, SVG or PDF.
//
// A figure is described by plain data (Row, Panel, Series, Mark) and drawn
// by Row.Save, so experiment code never touches gonum/plot directly.
package plots

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Series is one curve of a panel.
type Series struct {
	// Label is the legend text; an empty Label gives no legend entry.
	Label string

	// X and Y are the points of the curve and must have the same length.
	// Points with a non-finite coordinate, and points with Y <= 0 on a log
	// axis, are skipped: the line breaks there instead of dropping to zero.
	// A series left with no point (a diverged run) draws nothing but keeps
	// its legend entry.
	X, Y []float64

	// Color is the line colour; nil picks the colour of the series' index
	// from Blues, ramped over the largest number of series in a panel of
	// the row, so that series i has the same colour in every panel.
	Color color.Color

	// Dashed draws the curve with a dashed line.
	Dashed bool

	// Points draws a dot at every point and no line: data points, such
	// as the training set under a learned function.
	Points bool
}

// Panel is one plot of a Row.
type Panel struct {
	// Title is drawn above the panel; XLabel and YLabel name its axes.
	// XLabel defaults to "iteration".
	Title, XLabel, YLabel string

	// LogY makes the y axis logarithmic, labelled with powers of ten.
	LogY bool

	// YMin and YMax fix the y range. Both 0 means automatic. On a linear
	// axis any other pair is used as given, so 0..1 is a valid range; on a
	// log axis a 0 leaves only that end automatic.
	YMin, YMax float64

	// Series are the curves, drawn in order.
	Series []Series
}

// Mark is a vertical dashed line drawn on every panel of a Row (a step-size
// decay). A mark outside a panel's x range is not drawn there, so marks at
// iterations leave a panel with another x axis (say, a learned function)
// alone.
type Mark struct {
	// X is the position of the line on the x axis.
	X float64

	// Color is the line colour; nil is grey.
	Color color.Color

	// Label, if not empty, gives the mark a legend entry.
	Label string
}

// Row is a figure made of panels side by side that share the x axis: panels
// with the same XLabel get the same x range, so iterations line up from
// panel to panel. With Cols set, the panels wrap into several rows under
// one title and above one legend.
type Row struct {
	// Title is an optional figure title drawn above the panels.
	Title string

	// Panels are drawn from left to right. A Row needs at least one.
	Panels []Panel

	// Cols, if > 0, is the number of panels per row: the panels fill
	// rows of Cols from left to right, top to bottom. 0 puts them all in
	// one row.
	Cols int

	// Marks are drawn on every panel.
	Marks []Mark

	// PanelWidth is the width of each panel and Height the height of a
	// row of panels with their titles; the figure title and the legend
	// below the panels add to it. 0 means 6.5 cm and 5.5 cm. At these sizes the text is
	// legible both on screen at 100 % and in a paper that scales a row of
	// four panels to the text width.
	PanelWidth, Height vg.Length

	// Legend is the index of the panel whose labelled series, with the
	// labelled marks, make up the legend (default 0). That legend is drawn
	// below the panels, in as many columns as fit, where it hides no curve.
	// -1 instead puts a legend on every panel, in the corner that hides
	// the least of its curves, on a translucent background.
	Legend int
}

// Defaults and resolution of the figures.
const (
	defaultPanelWidth = 6.5 * vg.Centimeter
	defaultHeight     = 5.5 * vg.Centimeter
	defaultXLabel     = "iteration"

	// dpi is the resolution of PNG figures: crisp when printed, and large
	// enough on screen that 8 pt tick labels are readable at 100 %.
	dpi = 150
)

// Save draws the row and writes it to path, in the format given by the
// extension of path: .png, .svg or .pdf. The figure is written to a
// temporary file in the same directory and renamed, so a half-written
// figure never exists under the final name.
func (r Row) Save(path string) error {
	newCanvas, err := canvasFor(path)
	if err != nil {
		return err
	}
	if err := r.validate(); err != nil {
		return err
	}
	built := r.build()
	w, h := r.size()
	h += r.titleHeight() + r.legendHeight(built, w)
	c := newCanvas(w, h)
	r.draw(draw.New(c), built)
	return writeFile(path, c)
}

// canvasFor returns a constructor of the canvas for the format of path.
func canvasFor(path string) (func(w, h vg.Length) vg.CanvasWriterTo, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png":
		return func(w, h vg.Length) vg.CanvasWriterTo {
			return vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi))}
		}, nil
	case ".svg":
		return func(w, h vg.Length) vg.CanvasWriterTo {
			// Embedded fonts keep the Greek letters and norms of the titles
			// intact on machines without Liberation Sans (PDF embeds them
			// by default).
			return vgsvg.NewWith(vgsvg.UseWH(w, h), vgsvg.EmbedFonts(true))
		}, nil
	case ".pdf":
		return func(w, h vg.Length) vg.CanvasWriterTo { return vgpdf.New(w, h) }, nil
	default:
		return nil, fmt.Errorf("plots: cannot save %s: unsupported extension %q (want .png, .svg or .pdf)", path, ext)
	}
}

// size returns the size of the panels; the figure title and the legend
// below the row add to the height, so long legends never squash the
// panels.
func (r Row) size() (w, h vg.Length) {
	pw, h := r.PanelWidth, r.Height
	if pw == 0 {
		pw = defaultPanelWidth
	}
	if h == 0 {
		h = defaultHeight
	}
	rows, cols := r.grid()
	return pw * vg.Length(cols), h * vg.Length(rows)
}

// grid returns the rows and columns of panels.
func (r Row) grid() (rows, cols int) {
	cols = len(r.Panels)
	if r.Cols > 0 && r.Cols < cols {
		cols = r.Cols
	}
	return (len(r.Panels) + cols - 1) / cols, cols
}

// validate reports the first problem with r that would make it impossible
// to draw, naming the panel and series at fault.
func (r Row) validate() error {
	if len(r.Panels) == 0 {
		return errors.New("plots: row has no panels")
	}
	if r.Cols < 0 {
		return fmt.Errorf("plots: negative number of columns %d", r.Cols)
	}
	if r.PanelWidth < 0 || r.Height < 0 {
		return fmt.Errorf("plots: negative figure size: PanelWidth %v, Height %v", r.PanelWidth, r.Height)
	}
	if r.Legend < -1 || r.Legend >= len(r.Panels) {
		return fmt.Errorf("plots: legend panel %d out of range for %d panels (want -1..%d)", r.Legend, len(r.Panels), len(r.Panels)-1)
	}
	for i, m := range r.Marks {
		if !isFinite(m.X) {
			return fmt.Errorf("plots: mark %d (%q): X is %v", i, m.Label, m.X)
		}
	}
	for i, p := range r.Panels {
		if err := p.validate(); err != nil {
			return fmt.Errorf("plots: panel %d (%q): %w", i, p.Title, err)
		}
	}
	return nil
}

// validate is Row.validate for one panel.
func (p Panel) validate() error {
	for i, s := range p.Series {
		if len(s.X) != len(s.Y) {
			return fmt.Errorf("series %d (%q): len(X) = %d but len(Y) = %d", i, s.Label, len(s.X), len(s.Y))
		}
	}
	if p.YMin == 0 && p.YMax == 0 {
		return nil
	}
	switch {
	case !isFinite(p.YMin) || !isFinite(p.YMax):
		return fmt.Errorf("y limits %v..%v are not finite", p.YMin, p.YMax)
	case p.LogY && (p.YMin < 0 || p.YMax < 0):
		return fmt.Errorf("negative y limit %v..%v on a log axis", p.YMin, p.YMax)
	case p.LogY && (p.YMin == 0 || p.YMax == 0):
		return nil // one automatic end
	case p.YMin >= p.YMax:
		return fmt.Errorf("y limits %v..%v are empty", p.YMin, p.YMax)
	}
	return nil
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Layout of the figure, in points.
const (
	figurePad    = 4 // around the panels and the figure title
	panelGap     = 8 // between a panel and the y axis of the next
	titleGap     = 5 // below the figure title and the panel titles
	suptitleSize = 11
)

// build prepares every panel for drawing.
func (r Row) build() []builtPanel {
	palette := Blues(r.maxSeries())
	xRanges := r.xRanges()
	built := make([]builtPanel, len(r.Panels))
	for i, p := range r.Panels {
		built[i] = p.build(palette, xRanges[p.xLabel()], r.Marks)
	}
	return built
}

// titleHeight returns the height taken by the figure title.
func (r Row) titleHeight() vg.Length {
	if r.Title == "" {
		return 0
	}
	return figurePad + textStyle(suptitleSize).Height(r.Title) + titleGap
}

// legendLayout returns the legend drawn below a row of the given width,
// and whether there is one.
func (r Row) legendLayout(built []builtPanel, width vg.Length) (legendLayout, bool) {
	if r.Legend < 0 {
		return legendLayout{}, false
	}
	es := built[r.Legend].legendEntries()
	if len(es) == 0 {
		return legendLayout{}, false
	}
	return newLegendLayout(es, legendSize, width-2*figurePad, len(es)), true
}

// legendHeight returns the height of the strip below the panels that
// holds the legend.
func (r Row) legendHeight(built []builtPanel, width vg.Length) vg.Length {
	if l, ok := r.legendLayout(built, width); ok {
		return figurePad + l.size().Y
	}
	return 0
}

// draw draws the row onto dc, which covers the whole figure.
func (r Row) draw(dc draw.Canvas, built []builtPanel) {
	// The panels fill their own backgrounds only; the title strip and the
	// gaps need it too for SVG and PDF, which start transparent.
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())

	if r.Title != "" {
		sty := textStyle(suptitleSize)
		sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
		dc.FillText(sty, vg.Point{X: dc.Center().X, Y: dc.Max.Y - figurePad}, r.Title)
		dc.Max.Y -= r.titleHeight()
	}

	// Room for the panel titles, which builtPanel.draw puts above the
	// aligned data areas.
	var titleH vg.Length
	for _, p := range r.Panels {
		if p.Title != "" {
			titleH = max(titleH, titleStyle().Height(p.Title)+titleGap)
		}
	}
	dc.Max.Y -= titleH

	rows, cols := r.grid()
	plots := make([][]*plot.Plot, rows)
	for i := range plots {
		plots[i] = make([]*plot.Plot, cols)
	}
	for i, b := range built {
		plots[i/cols][i%cols] = b.plot
	}

	// A legend for the row goes below the panels, where it hides nothing;
	// the legends of every panel go inside them, where there is no room to
	// spare.
	if l, ok := r.legendLayout(built, dc.Max.X-dc.Min.X); ok {
		strip := dc
		strip.Max.Y = dc.Min.Y + figurePad + l.size().Y
		l.drawBelow(strip)
		dc.Min.Y = strip.Max.Y
	}

	// Between rows, room for the titles of the next row's panels.
	tiles := draw.Tiles{
		Rows: rows, Cols: cols,
		PadX: panelGap, PadY: titleH + figurePad,
		PadTop: figurePad, PadBottom: figurePad,
		PadLeft: figurePad, PadRight: figurePad,
	}
	canvases := plot.Align(plots, tiles, dc)
	for i, b := range built {
		b.draw(canvases[i/cols][i%cols], r.Legend == -1)
	}
}

// maxSeries returns the largest number of series in a panel of r.
func (r Row) maxSeries() int {
	n := 0
	for _, p := range r.Panels {
		n = max(n, len(p.Series))
	}
	return n
}

// xRanges returns the x range shared by the panels with each x label.
func (r Row) xRanges() map[string]axisRange {
	ranges := make(map[string]axisRange)
	for _, p := range r.Panels {
		rg, ok := ranges[p.xLabel()]
		if !ok {
			rg = emptyRange()
		}
		for _, s := range p.Series {
			for i, x := range s.X {
				if keep(x, s.Y[i], p.LogY) {
					rg.include(x)
				}
			}
		}
		ranges[p.xLabel()] = rg
	}
	for k, rg := range ranges {
		ranges[k] = rg.pad(0.03)
	}
	return ranges
}

// writeFile writes c to a temporary file next to path and renames it to
// path, removing the temporary file if anything fails.
func writeFile(path string, c vg.CanvasWriterTo) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("plots: writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close() // a second Close after a failed Rename is harmless
			os.Remove(f.Name())
			err = fmt.Errorf("plots: writing %s: %w", path, err)
		}
	}()
	if _, err := c.WriteTo(f); err != nil {
		return err
	}
	// CreateTemp makes the file private; a figure is meant to be shared.
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
