package plots

import (
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// linearTicks labels a linear axis with about six round values (steps of 1,
// 2, 2.5 or 5 times a power of ten). Large round values get a k or M suffix
// so that iteration counts such as 100000 stay narrow enough for four panels
// side by side.
type linearTicks struct{}

// Ticks implements plot.Ticker.
func (linearTicks) Ticks(min, max float64) []plot.Tick {
	if !(min < max) || math.IsInf(max-min, 0) {
		return nil
	}
	const target = 6
	raw := (max - min) / target
	mag := math.Pow10(int(math.Floor(math.Log10(raw))))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	first, last := math.Ceil(min/step-1e-9), math.Floor(max/step+1e-9)
	var ticks []plot.Tick
	for i := first; i <= last; i++ {
		v := i * step
		if v == 0 {
			v = 0 // not -0, from rounding up a small negative min.
		}
		ticks = append(ticks, plot.Tick{Value: v})
	}
	format := numberFormat(step, math.Max(math.Abs(min), math.Abs(max)))
	for i := range ticks {
		ticks[i].Label = format(ticks[i].Value)
	}
	return ticks
}

// numberFormat returns a formatter for multiples of step on an axis whose
// values are at most maxAbs in magnitude.
func numberFormat(step, maxAbs float64) func(float64) string {
	switch {
	case 1e6 <= maxAbs && maxAbs < 1e9 && step >= 1e5:
		return suffixed(1e6, "M")
	case 1e4 <= maxAbs && maxAbs < 1e6 && step >= 100:
		return suffixed(1e3, "k")
	}
	// As many decimals as step needs, which also rounds away floating point
	// noise such as 0.30000000000000004.
	decimals := 0
	for decimals <= 4 && !isMultiple(step, math.Pow10(-decimals)) {
		decimals++
	}
	if decimals > 4 || maxAbs >= 1e7 {
		digits := int(math.Floor(math.Log10(maxAbs))-math.Floor(math.Log10(step))) + 2
		return func(v float64) string { return strconv.FormatFloat(v, 'g', digits, 64) }
	}
	return func(v float64) string { return strconv.FormatFloat(v, 'f', decimals, 64) }
}

// suffixed returns a formatter that writes values in units of scale, with
// the given suffix: 20000 is 20k.
func suffixed(scale float64, suffix string) func(float64) string {
	return func(v float64) string {
		if v == 0 {
			return "0"
		}
		// Steps of at least scale/10 are whole numbers, so v/scale needs no
		// rounding to print short.
		return strconv.FormatFloat(v/scale, 'f', -1, 64) + suffix
	}
}

// isMultiple reports whether x is an integer multiple of unit, up to rounding.
func isMultiple(x, unit float64) bool {
	q := x / unit
	return q >= 1-1e-9 && math.Abs(q-math.Round(q)) < 1e-6
}

// logTicks labels a log axis with powers of ten written 10^k. Unlike
// plot.LogTicks it never crowds: on a range of many decades (GD losses reach
// 1e-34) it labels only every few decades. It also avoids plot.LogTicks'
// truncation of log10(min), which can drop the label at the bottom of an
// axis such as 1e-5..1.
type logTicks struct{}

// maxLogLabels is the most labelled decades logTicks puts on an axis, which
// is what fits comfortably on a panel about 5 cm high.
const maxLogLabels = 7

// Ticks implements plot.Ticker.
func (logTicks) Ticks(min, max float64) []plot.Tick {
	if !(0 < min && min < max) || math.IsInf(max, 0) {
		return nil
	}
	lo, hi := decade(min, math.Ceil), decade(max, math.Floor)
	if lo > hi {
		// No power of ten inside the range: label the multiples of the
		// decade below it instead, or round values if that is too few.
		unit := math.Pow10(hi)
		var ticks []plot.Tick
		for m := math.Ceil(min/unit - 1e-9); m*unit <= max*(1+1e-9); m++ {
			ticks = append(ticks, plot.Tick{Value: m * unit, Label: strconv.FormatFloat(m*unit, 'g', 3, 64)})
		}
		if len(ticks) < 2 {
			return linearTicks{}.Ticks(min, max)
		}
		return ticks
	}
	every := (hi - lo + maxLogLabels) / maxLogLabels
	var ticks []plot.Tick
	for k := lo - 1; k <= hi; k++ {
		v := math.Pow10(k)
		if k >= lo {
			t := plot.Tick{Value: v}
			if mod(k, every) == 0 {
				t.Label = powerLabel(k)
			}
			ticks = append(ticks, t)
		}
		if every > 1 {
			continue
		}
		// Unlabelled ticks at 2..9 times each decade, as on log paper.
		for m := 2.0; m < 10; m++ {
			if x := m * v; min <= x && x <= max {
				ticks = append(ticks, plot.Tick{Value: x})
			}
		}
	}
	return ticks
}

// decade returns round(log10(x)) when x is a power of ten up to floating
// point error, and otherwise rounds log10(x) with the given function.
func decade(x float64, round func(float64) float64) int {
	l := math.Log10(x)
	if r := math.Round(l); math.Abs(l-r) < 1e-9 {
		return int(r)
	}
	return int(round(l))
}

// mod is the non-negative remainder of k/n.
func mod(k, n int) int { return ((k % n) + n) % n }

// powerLabel returns the tick label for 10^k, understood by powerText.
func powerLabel(k int) string {
	return "10^" + strings.Replace(strconv.Itoa(k), "-", "\u2212", 1)
}

// powerText is a text.Handler that draws "b^e" as b with a raised, smaller
// e, and any other text as text.Plain does. Log tick labels need it because
// the bundled Liberation fonts lack the superscript minus and zero, and the
// LaTeX handler would draw them in a serif font unlike the rest of the
// figure. It handles unrotated text only, which is all tick labels need.
type powerText struct {
	text.Plain
}

// Exponents are drawn at this fraction of the base font size, raised by
// supRise times the base font size.
const (
	supScale = 0.72
	supRise  = 0.42
)

// Box implements text.Handler.
func (h powerText) Box(txt string, fnt font.Font) (width, height, depth vg.Length) {
	base, exp, ok := strings.Cut(txt, "^")
	if !ok {
		return h.Plain.Box(txt, fnt)
	}
	width, height, depth = h.Plain.Box(base, fnt)
	ew, eh, _ := h.Plain.Box(exp, supFont(fnt))
	return width + ew, max(height, supRise*fnt.Size+eh), depth
}

// Draw implements text.Handler.
func (h powerText) Draw(c vg.Canvas, txt string, sty text.Style, pt vg.Point) {
	base, exp, ok := strings.Cut(txt, "^")
	if !ok || sty.Rotation != 0 {
		sty.Handler = h.Plain
		h.Plain.Draw(c, txt, sty, pt)
		return
	}
	width, _, _ := h.Box(txt, sty.Font)
	pt.X += vg.Length(sty.XAlign) * width
	// Align the label as a whole, as its Box and so its glyph box in the
	// plot say, rather than the base alone.
	pt.Y += sty.Height(txt) * vg.Length(sty.YAlign)

	bsty := sty
	bsty.Handler = h.Plain
	bsty.XAlign, bsty.YAlign = text.XLeft, text.YBottom
	h.Plain.Draw(c, base, bsty, pt)

	// Raise the exponent from the baseline where text.Plain put the base.
	baseline := pt.Y - h.Extents(sty.Font).Ascent + sty.Font.Size
	esty := bsty
	esty.Font = supFont(sty.Font)
	bw, _, _ := h.Plain.Box(base, sty.Font)
	h.Plain.Draw(c, exp, esty, vg.Point{
		X: pt.X + bw,
		Y: baseline + supRise*sty.Font.Size + h.Extents(esty.Font).Ascent - esty.Font.Size,
	})
}

// supFont is the font of an exponent written after text in fnt.
func supFont(fnt font.Font) font.Font {
	fnt.Size *= supScale
	return fnt
}
