package plots

import "image/color"

// The end points of the paper's palettes (CSS colour names).
var (
	lightSteelBlue = color.NRGBA{R: 176, G: 196, B: 222, A: 255}
	midnightBlue   = color.NRGBA{R: 25, G: 25, B: 112, A: 255}
	lightCoral     = color.NRGBA{R: 240, G: 128, B: 128, A: 255}
	darkRed        = color.NRGBA{R: 139, G: 0, B: 0, A: 255}
)

var (
	// Blues returns n colours from light steel blue to midnight blue, the
	// palette the paper uses for its SGD runs.
	Blues = func(n int) []color.Color { return Ramp(lightSteelBlue, midnightBlue, n) }

	// Reds returns n colours from light coral to dark red, the palette the
	// paper uses for its GD runs.
	Reds = func(n int) []color.Color { return Ramp(lightCoral, darkRed, n) }
)

// Ramp returns n colours interpolated linearly in sRGB from from to to, both
// included. A single colour is the to end, so that a lone run gets the
// darkest, most visible colour of a light-to-dark ramp. Ramp returns nil for
// n < 1.
func Ramp(from, to color.Color, n int) []color.Color {
	if n < 1 {
		return nil
	}
	a := color.NRGBAModel.Convert(from).(color.NRGBA)
	b := color.NRGBAModel.Convert(to).(color.NRGBA)
	if n == 1 {
		return []color.Color{b}
	}
	lerp := func(x, y uint8, t float64) uint8 {
		return uint8(float64(x) + t*(float64(y)-float64(x)) + 0.5)
	}
	cs := make([]color.Color, n)
	for i := range cs {
		t := float64(i) / float64(n-1)
		cs[i] = color.NRGBA{
			R: lerp(a.R, b.R, t),
			G: lerp(a.G, b.G, t),
			B: lerp(a.B, b.B, t),
			A: lerp(a.A, b.A, t),
		}
	}
	return cs
}
