package plots

import (
	"image/color"
	"math"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Legend layout, in points.
const (
	legendSize      = 8   // font size below the row
	insideSize      = 7   // font size on a panel, where room is scarce
	legendThumb     = 16  // length of the sample line
	legendGap       = 4   // between the sample line and the text
	legendColGap    = 14  // between columns
	legendLineWidth = 2.5 // thick enough to tell the colours apart
	legendPad       = 3   // inside the box of a legend on a panel
	legendMargin    = 4   // between that box and the frame of the panel
)

var (
	// The background of a legend on a panel lets the curves it covers
	// show through faintly.
	legendFill   = color.NRGBA{R: 255, G: 255, B: 255, A: 210}
	legendBorder = color.Gray{Y: 190}
)

// A legendEntry is a sample, a line and a glyph on it, followed by its
// label.
type legendEntry struct {
	label string
	line  draw.LineStyle  // no line if Width is 0
	glyph draw.GlyphStyle // no glyph if Shape is nil
}

// legendEntries returns the entries of the labelled curves and marks of b.
func (b builtPanel) legendEntries() []legendEntry {
	var es []legendEntry
	for _, cv := range b.curves {
		switch {
		case cv.label == "":
		case cv.points:
			es = append(es, legendEntry{label: cv.label, glyph: draw.GlyphStyle{Color: cv.style.Color, Radius: 2 * cv.style.Width, Shape: draw.CircleGlyph{}}})
		default:
			line := cv.style
			line.Width = max(line.Width, legendLineWidth)
			es = append(es, legendEntry{label: cv.label, line: line})
		}
	}
	for _, m := range b.marks {
		if m.Label != "" {
			es = append(es, legendEntry{label: m.Label, line: markStyle(m)})
		}
	}
	return es
}

// legendLayout places legend entries in a grid, filled row by row so that
// the runs read left to right in order.
type legendLayout struct {
	entries []legendEntry
	colW    []vg.Length // width of each column
	rowH    vg.Length
	sty     text.Style
}

// newLegendLayout lays es out in text of the given size, in as few rows as
// fit in width using at most maxCols columns, and then in as few columns as
// those rows need, so that the last row is not left with a lone entry.
func newLegendLayout(es []legendEntry, size, width vg.Length, maxCols int) legendLayout {
	sty := textStyle(size)
	sty.YAlign = draw.YCenter
	ext := sty.FontExtents()
	l := legendLayout{entries: es, sty: sty, rowH: 1.15 * (ext.Ascent + ext.Descent)}
	cols := max(1, min(len(es), maxCols))
	for ; cols > 1; cols-- {
		if l.withCols(cols).size().X <= width {
			break
		}
	}
	rows := (len(es) + cols - 1) / cols
	return l.withCols((len(es) + rows - 1) / rows)
}

// withCols returns l laid out in cols columns.
func (l legendLayout) withCols(cols int) legendLayout {
	l.colW = make([]vg.Length, cols)
	for i, e := range l.entries {
		l.colW[i%cols] = max(l.colW[i%cols], legendThumb+legendGap+l.sty.Width(e.label))
	}
	return l
}

// size returns the size of the entries, without any padding.
func (l legendLayout) size() vg.Point {
	var w vg.Length
	for _, cw := range l.colW {
		w += cw + legendColGap
	}
	rows := (len(l.entries) + len(l.colW) - 1) / len(l.colW)
	return vg.Point{X: w - legendColGap, Y: vg.Length(rows) * l.rowH}
}

// draw draws the entries with the top left corner at topLeft.
func (l legendLayout) draw(c draw.Canvas, topLeft vg.Point) {
	x := topLeft.X
	for i, e := range l.entries {
		col := i % len(l.colW)
		if col == 0 {
			x = topLeft.X
		}
		y := topLeft.Y - l.rowH*(vg.Length(i/len(l.colW))+0.5)
		if e.line.Width > 0 {
			c.StrokeLine2(e.line, x, y, x+legendThumb, y)
		}
		if e.glyph.Shape != nil {
			c.DrawGlyph(e.glyph, vg.Point{X: x + legendThumb/2, Y: y})
		}
		c.FillText(l.sty, vg.Point{X: x + legendThumb + legendGap, Y: y}, e.label)
		x += l.colW[col] + legendColGap
	}
}

// drawBelow draws the legend centred at the top of c.
func (l legendLayout) drawBelow(c draw.Canvas) {
	size := l.size()
	l.draw(c, vg.Point{X: c.Center().X - size.X/2, Y: c.Max.Y})
}

// drawInside draws the legend of b on its data area, in the corner that
// hides the least of the curves, like matplotlib's loc="best".
func (b builtPanel) drawInside(data draw.Canvas) {
	es := b.legendEntries()
	if len(es) == 0 {
		return
	}
	l := newLegendLayout(es, insideSize, data.Max.X-data.Min.X-2*(legendPad+legendMargin), 1)
	box := b.legendBox(data, l.size().Add(vg.Point{X: 2 * legendPad, Y: 2 * legendPad}))
	data.SetColor(legendFill)
	data.Fill(box.Path())
	data.StrokeLines(draw.LineStyle{Color: legendBorder, Width: 0.5}, []vg.Point{
		box.Min, {X: box.Max.X, Y: box.Min.Y}, box.Max, {X: box.Min.X, Y: box.Max.Y}, box.Min,
	})
	l.draw(data, vg.Point{X: box.Min.X + legendPad, Y: box.Max.Y - legendPad})
}

// legendBox returns the corner box of the given size that covers the least
// length of curve, preferring, on ties, the upper right, upper left, lower
// left and lower right corners in that order.
func (b builtPanel) legendBox(data draw.Canvas, size vg.Point) vg.Rectangle {
	left := data.Min.X + legendMargin
	right := data.Max.X - legendMargin - size.X
	bottom := data.Min.Y + legendMargin
	top := data.Max.Y - legendMargin - size.Y
	var lines [][]vg.Point
	for _, cv := range b.curves {
		lines = append(lines, cv.lines(data, b.plot)...)
	}

	best, bestCost := vg.Rectangle{}, math.Inf(1)
	for _, corner := range []vg.Point{{X: right, Y: top}, {X: left, Y: top}, {X: left, Y: bottom}, {X: right, Y: bottom}} {
		box := vg.Rectangle{Min: corner, Max: corner.Add(size)}
		if cost := coveredLength(lines, box); cost < bestCost {
			best, bestCost = box, cost
		}
	}
	return best
}

// coveredLength returns the total length of lines inside box; an isolated
// point, drawn as a dot, counts as one point of length.
func coveredLength(lines [][]vg.Point, box vg.Rectangle) float64 {
	var total float64
	for _, line := range lines {
		if len(line) == 1 && inside(line[0], box) {
			total++
		}
		for i := 1; i < len(line); i++ {
			total += clippedLength(line[i-1], line[i], box)
		}
	}
	return total
}

func inside(p vg.Point, r vg.Rectangle) bool {
	return r.Min.X <= p.X && p.X <= r.Max.X && r.Min.Y <= p.Y && p.Y <= r.Max.Y
}

// clippedLength returns the length of the part of the segment ab inside r,
// by Liang–Barsky clipping.
func clippedLength(a, b vg.Point, r vg.Rectangle) float64 {
	dx, dy := float64(b.X-a.X), float64(b.Y-a.Y)
	t0, t1 := 0.0, 1.0
	for _, e := range [4]struct{ p, q float64 }{
		{-dx, float64(a.X - r.Min.X)},
		{dx, float64(r.Max.X - a.X)},
		{-dy, float64(a.Y - r.Min.Y)},
		{dy, float64(r.Max.Y - a.Y)},
	} {
		if e.p == 0 {
			if e.q < 0 {
				return 0 // parallel to this edge and outside it
			}
			continue
		}
		if t := e.q / e.p; e.p < 0 {
			t0 = math.Max(t0, t)
		} else {
			t1 = math.Min(t1, t)
		}
	}
	if t0 >= t1 {
		return 0
	}
	return (t1 - t0) * math.Hypot(dx, dy)
}
