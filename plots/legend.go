package plots

import (
	"image/color"
	"math"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Legend layout, in points.
const (
	legendSize      = 7.5 // font size
	legendPad       = 3   // inside the box
	legendMargin    = 4   // between the box and the frame of the panel
	legendThumb     = 14  // length of the sample line
	legendGap       = 4   // between the sample line and the text
	legendLineWidth = 2.5 // thick enough to tell the colours apart
)

var (
	// The background lets curves under the legend show through faintly.
	legendFill   = color.NRGBA{R: 255, G: 255, B: 255, A: 210}
	legendBorder = color.Gray{Y: 190}
)

// A legendEntry is a line sample followed by its label.
type legendEntry struct {
	label string
	line  draw.LineStyle
}

// legendEntries returns the entries of the labelled curves and marks.
func (b builtPanel) legendEntries() []legendEntry {
	var es []legendEntry
	for _, cv := range b.curves {
		if cv.label != "" {
			line := cv.style
			line.Width = max(line.Width, legendLineWidth)
			es = append(es, legendEntry{cv.label, line})
		}
	}
	for _, m := range b.marks {
		if m.Label != "" {
			es = append(es, legendEntry{m.Label, markStyle(m)})
		}
	}
	return es
}

// drawLegend draws the legend of b in the corner of the data area that
// hides the least of the curves, like matplotlib's loc="best".
func (b builtPanel) drawLegend(data draw.Canvas) {
	es := b.legendEntries()
	if len(es) == 0 {
		return
	}
	sty := textStyle(legendSize)
	sty.YAlign = draw.YCenter
	ext := sty.FontExtents()
	rowH := ext.Ascent + ext.Descent
	var textW vg.Length
	for _, e := range es {
		textW = max(textW, sty.Width(e.label))
	}
	size := vg.Point{
		X: 2*legendPad + legendThumb + legendGap + textW,
		Y: 2*legendPad + rowH*vg.Length(len(es)),
	}

	box := b.legendBox(data, size)
	data.SetColor(legendFill)
	data.Fill(box.Path())
	data.StrokeLines(draw.LineStyle{Color: legendBorder, Width: 0.5}, []vg.Point{
		box.Min, {X: box.Max.X, Y: box.Min.Y}, box.Max, {X: box.Min.X, Y: box.Max.Y}, box.Min,
	})
	x := box.Min.X + legendPad
	for i, e := range es {
		y := box.Max.Y - legendPad - rowH*(vg.Length(i)+0.5)
		data.StrokeLine2(e.line, x, y, x+legendThumb, y)
		data.FillText(sty, vg.Point{X: x + legendThumb + legendGap, Y: y}, e.label)
	}
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
