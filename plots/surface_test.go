package plots

import (
	"image"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"gonum.org/v1/plot/vg"
)

// grid returns n evenly spaced values from lo to hi, like numpy's linspace.
func grid(lo, hi float64, n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = lo + (hi-lo)*float64(i)/float64(n-1)
	}
	return xs
}

// field returns f over the grid xs × ys, in Surface.Z order.
func field(xs, ys []float64, f func(x, y float64) float64) []float64 {
	z := make([]float64, 0, len(xs)*len(ys))
	for _, y := range ys {
		for _, x := range xs {
			z = append(z, f(x, y))
		}
	}
	return z
}

// bowl is a log-scale bowl, 1e-6 at the origin and about 1 at the edges of
// [-1, 1] × [-0.6, 0.6].
func bowl() Surface {
	xs, ys := grid(-1, 1, 60), grid(-0.6, 0.6, 40)
	return Surface{
		X: xs, Y: ys,
		Z: field(xs, ys, func(x, y float64) float64 {
			q := x*x + 3*y*y
			return 1e-6 + q*q
		}),
		LogColor: true,
	}
}

// countPixels counts the pixels of img for which keep holds, given their
// 8-bit colour.
func countPixels(img image.Image, keep func(r, g, b uint8) bool) int {
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			if keep(c.R, c.G, c.B) {
				n++
			}
		}
	}
	return n
}

func TestSurfaceSave(t *testing.T) {
	gdColor := color.NRGBA{R: 255, G: 140, A: 255}
	dotColor := color.NRGBA{R: 255, B: 255, A: 255}
	sgdColor := color.NRGBA{G: 170, A: 255}
	pointColor := color.NRGBA{R: 255, G: 215, A: 255}

	s := bowl()
	s.Title = "a log-scale bowl"
	s.XLabel, s.YLabel = "α", "β"
	s.ColorLabel = "loss"
	// A zig-zag across the bowl, as GD with a large step, and a smooth
	// descent; both unlabelled, so that their colours in the image can
	// only come from the paths and not from the legend.
	var zx, zy []float64
	for i := range 12 {
		zx = append(zx, -0.9+0.07*float64(i))
		zy = append(zy, 0.4*math.Pow(-0.8, float64(i)))
	}
	s.Paths = []Path{
		{X: zx, Y: zy, Color: gdColor, Dots: true, DotColor: dotColor},
		{X: []float64{0.9, 0.6, 0.3, 0.1, 0}, Y: []float64{-0.5, -0.3, -0.1, -0.02, 0}, Color: sgdColor},
	}
	s.Points = []Point{
		{Label: "start", X: -0.9, Y: 0.4, Shape: "circle", Color: pointColor},
		{Label: "end", X: 0.9, Y: -0.5, Shape: "square", Color: pointColor},
		{Label: "minimum", X: 0, Y: 0, Shape: "star", Color: pointColor},
	}
	s.Width, s.Height = 12*vg.Centimeter, 9*vg.Centimeter

	path := filepath.Join(t.TempDir(), "bowl.png")
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	// 12 cm × 9 cm at 150 dpi, rounded.
	if b := img.Bounds(); b.Dx() != 709 || b.Dy() != 531 {
		t.Errorf("image is %dx%d pixels, want 709x531", b.Dx(), b.Dy())
	}

	// The minimum is at the blue end of coolwarm and the corners at the
	// red end.
	blue := countPixels(img, func(r, g, b uint8) bool { return int(b) > int(r)+80 })
	red := countPixels(img, func(r, g, b uint8) bool { return int(r) > int(b)+80 && g < 150 })
	if blue < 1000 || red < 1000 {
		t.Errorf("%d blue-ish and %d red-ish pixels, want at least 1000 of each", blue, red)
	}
	w := img.Bounds().Dx()
	for _, c := range []struct {
		what string
		c    color.Color
	}{{"GD line", gdColor}, {"GD dots", dotColor}, {"SGD line", sgdColor}, {"markers", pointColor}} {
		if n := pixelsOf(img, c.c, 0, w); n < 20 {
			t.Errorf("%s: %d pixels of %v, want at least 20", c.what, n, c.c)
		}
	}
}

func TestSurfaceFormats(t *testing.T) {
	s := bowl()
	s.Points = []Point{{Label: "minimum", Shape: "star"}}
	checkFormats(t, s.Save, ".png", ".svg", ".pdf")
}

func TestCoolwarm(t *testing.T) {
	// matplotlib's table at t, in bytes; cm.coolwarm(t, bytes=True) looks
	// t up in 256 entries and truncates, which moves a channel by a unit
	// or so (221, 220, 219 at 0.5).
	for _, tc := range []struct {
		t    float64
		want [3]int
	}{
		{0, [3]int{59, 76, 192}},
		{0.25, [3]int{141, 176, 254}},
		{0.5, [3]int{221, 220, 219}},
		{0.75, [3]int{244, 154, 123}},
		{1, [3]int{180, 4, 38}},
		{-1, [3]int{59, 76, 192}},
		{2, [3]int{180, 4, 38}},
		{math.NaN(), [3]int{180, 4, 38}},
	} {
		c := color.NRGBAModel.Convert(Coolwarm(tc.t)).(color.NRGBA)
		got := [3]int{int(c.R), int(c.G), int(c.B)}
		for k := range got {
			if d := got[k] - tc.want[k]; d < -2 || d > 2 || c.A != 255 {
				t.Errorf("Coolwarm(%v) = %v, want about %v", tc.t, c, tc.want)
				break
			}
		}
	}
}

func TestColorScale(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cs := newColorScale(Surface{Z: []float64{3e-6, 1e-3, 0.5, 0, -1, nan, inf}, LogColor: true, Levels: 6})
	if cs.lo != -6 || cs.hi != 0 {
		t.Errorf("log range 10^%v..10^%v, want 10^-6..10^0", cs.lo, cs.hi)
	}
	for _, tc := range []struct {
		z     float64
		level int
	}{
		{3e-6, 0}, {1e-3, 3}, {0.5, 5}, {0, 0}, {-1, 0}, {nan, 5}, {inf, 5}, {-inf, 5}, {1e9, 5},
	} {
		if got := cs.level(cs.scaled(tc.z)); got != tc.level {
			t.Errorf("level of %v = %d, want %d", tc.z, got, tc.level)
		}
	}

	lin := newColorScale(Surface{Z: []float64{2, 4, nan}})
	if lin.lo != 2 || lin.hi != 4 || lin.levels != defaultLevels {
		t.Errorf("linear scale %v..%v with %d levels, want 2..4 with %d", lin.lo, lin.hi, lin.levels, defaultLevels)
	}
	for _, z := range [][]float64{nil, {nan}, {5, 5}} {
		if cs := newColorScale(Surface{Z: z}); !(cs.lo < cs.hi) {
			t.Errorf("Z = %v: empty range %v..%v", z, cs.lo, cs.hi)
		}
		if cs := newColorScale(Surface{Z: z, LogColor: true}); !(cs.lo < cs.hi) || !(cs.floor > 0) {
			t.Errorf("Z = %v, log: range %v..%v, floor %v", z, cs.lo, cs.hi, cs.floor)
		}
	}
}

func TestColorTicks(t *testing.T) {
	logScale := colorScale{log: true, lo: -7, hi: 2, levels: 30}
	for _, tc := range []struct {
		name  string
		scale colorScale
		ticks []float64
		want  []string
	}{
		{"E3", logScale, []float64{1e-6, 1e-4, 1e-2, 1}, []string{"10^−6", "10^−4", "10^−2", "10^0"}},
		{"default log", logScale, nil, []string{"10^−6", "10^−4", "10^−2", "10^0", "10^2"}},
		{"outside", logScale, []float64{1e-9, 1e-7, 3e-3, 100, 1e3}, []string{"10^−7", "0.003", "10^2"}},
		{"default linear", colorScale{lo: 0, hi: 1, levels: 10}, nil, []string{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}},
		{"linear", colorScale{lo: 0, hi: 1, levels: 10}, []float64{-1, 0.25, 1}, []string{"0.25", "1"}},
	} {
		got := labels(tc.scale.ticks(Surface{ColorTicks: tc.ticks}))
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: labels %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestSurfaceLayout(t *testing.T) {
	fig := vg.Rectangle{Max: vg.Point{X: 12 * vg.Centimeter, Y: 10 * vg.Centimeter}}
	for _, hide := range []bool{false, true} {
		s := e3Sample()
		s.HideAxes = hide
		if !hide {
			s.XLabel, s.YLabel = "α", "β"
		}
		b := s.build()
		l := b.layout(fig)
		size := l.data.Size()
		// The sample's grid is square.
		if r := size.X / size.Y; math.Abs(float64(r)-1) > 1e-6 {
			t.Errorf("HideAxes %v: data area %v×%v is not square", hide, size.X, size.Y)
		}
		barRight := l.bar.Max.X + b.barStripWidth() - colorBarGap - colorBarWidth
		switch {
		case !contains(fig, l.plot) || !contains(l.plot, l.data):
			t.Errorf("HideAxes %v: plot %v or data area %v out of place in %v", hide, l.plot, l.data, fig)
		case l.bar.Min.X < l.plot.Max.X || barRight > fig.Max.X-figurePad+1e-6:
			t.Errorf("HideAxes %v: colour bar %v, to %v, overlaps the plot %v or leaves the figure", hide, l.bar, barRight, l.plot)
		case l.bar.Min.Y != l.data.Min.Y || l.bar.Max.Y != l.data.Max.Y:
			t.Errorf("HideAxes %v: colour bar %v not as high as the data area %v", hide, l.bar, l.data)
		case l.data.Max.Y+titleGap+titleStyle().Height(s.Title) > fig.Max.Y:
			t.Errorf("HideAxes %v: no room for the title above %v", hide, l.data)
		}
		leg, _ := b.legendLayout(fig.Size().X)
		if l.legendTop > l.plot.Min.Y || l.legendTop-leg.size().Y < fig.Min.Y {
			t.Errorf("HideAxes %v: legend from %v down by %v overlaps the plot %v or leaves the figure", hide, l.legendTop, leg.size().Y, l.plot)
		}
	}
}

// contains reports whether r holds inner, up to rounding.
func contains(r, inner vg.Rectangle) bool {
	const eps = 1e-6
	return inner.Min.X >= r.Min.X-eps && inner.Min.Y >= r.Min.Y-eps && inner.Max.X <= r.Max.X+eps && inner.Max.Y <= r.Max.Y+eps
}

// TestSurfaceNonFinite draws a field whose left half is NaN and wants it
// in the top colour.
func TestSurfaceNonFinite(t *testing.T) {
	xs, ys := grid(0, 1, 21), grid(0, 1, 21)
	s := Surface{
		X: xs, Y: ys,
		Z: field(xs, ys, func(x, y float64) float64 {
			if x < 0.5 {
				return math.NaN()
			}
			return y
		}),
		Levels:   5,
		HideAxes: true,
		Width:    4 * vg.Centimeter, Height: 4 * vg.Centimeter,
	}
	path := filepath.Join(t.TempDir(), "nan.png")
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	top := Coolwarm(0.9) // the middle of the top level of five
	// The left quarter of the data area, which takes most of the figure
	// without axes.
	b := img.Bounds()
	if n, want := pixelsOfNear(img, top, b.Dx()/5, b.Dx()/3), 100; n < want {
		t.Errorf("%d pixels of the top colour %v in the NaN half, want at least %d", n, top, want)
	}
}

// pixelsOfNear counts the pixels of img in columns x0..x1-1 whose colour
// is within 2 of c in each channel: the image of the levels is resampled
// onto the figure, which can be off by one.
func pixelsOfNear(img image.Image, c color.Color, x0, x1 int) int {
	want := color.NRGBAModel.Convert(c).(color.NRGBA)
	near := func(a, b uint8) bool { return int(a)-int(b) <= 2 && int(b)-int(a) <= 2 }
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := x0; x < x1; x++ {
			got := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			if near(got.R, want.R) && near(got.G, want.G) && near(got.B, want.B) {
				n++
			}
		}
	}
	return n
}

// TestSurfaceOddData feeds data a real run can produce and wants a figure,
// not an error or a panic.
func TestSurfaceOddData(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	xs, ys := []float64{0, 1, 3}, []float64{-1, 1}
	for name, s := range map[string]Surface{
		"all NaN":        {X: xs, Y: ys, Z: []float64{nan, nan, nan, nan, nan, nan}, LogColor: true},
		"infinities":     {X: xs, Y: ys, Z: []float64{inf, -inf, 1, 2, 0, -3}, LogColor: true},
		"constant":       {X: xs, Y: ys, Z: []float64{2, 2, 2, 2, 2, 2}},
		"huge":           {X: xs, Y: ys, Z: []float64{-math.MaxFloat64, math.MaxFloat64, 0, 1, 2, 3}},
		"tiny":           {X: xs, Y: ys, Z: []float64{1e-320, 1e-300, 1, 2, 3, 1e300}, LogColor: true},
		"one level":      {X: xs, Y: ys, Z: []float64{1, 2, 3, 4, 5, 6}, Levels: 1, ColorTicks: []float64{1, 6}},
		"odd paths":      {X: xs, Y: ys, Z: []float64{1, 2, 3, 4, 5, 6}, Paths: []Path{{X: []float64{nan, 1, inf, 2}, Y: []float64{0, nan, 0, 1e300}, Dots: true}, {}, {Label: "single", X: []float64{1}, Y: []float64{0}}}},
		"odd points":     {X: xs, Y: ys, Z: []float64{1, 2, 3, 4, 5, 6}, Points: []Point{{X: nan, Y: 0, Label: "nan"}, {X: 1e300, Y: -1e300, Shape: "triangle"}, {X: 3, Y: 1, Shape: "square"}}},
		"tiny figure":    {X: xs, Y: ys, Z: []float64{1, 2, 3, 4, 5, 6}, Width: 1, Height: 1, Title: "t", ColorLabel: "c", Points: []Point{{Label: "p"}}},
		"long grid":      {X: grid(0, 1e6, 3), Y: grid(0, 1e-6, 2), Z: []float64{1, 2, 3, 4, 5, 6}, EqualAspect: true},
		"uneven spacing": {X: []float64{0, 1e-9, 1}, Y: ys, Z: []float64{1, 2, 3, 4, 5, 6}, EqualAspect: true, HideAxes: true},
	} {
		path := filepath.Join(t.TempDir(), "odd.png")
		if err := s.Save(path); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		decodePNG(t, path)
	}
}

func TestSurfaceErrors(t *testing.T) {
	ok := bowl()
	with := func(f func(*Surface)) Surface {
		s := ok
		f(&s)
		return s
	}
	for _, tc := range []struct {
		name, file string
		s          Surface
		want       []string // substrings of the error
	}{
		{"bad extension", "fig.jpg", ok, []string{`unsupported extension ".jpg"`}},
		{"short Z", "fig.png", with(func(s *Surface) { s.Z = s.Z[1:] }), []string{"len(Z) = 2399", "60·40 = 2400"}},
		{"one x", "fig.png", with(func(s *Surface) { s.X, s.Z = s.X[:1], s.Z[:40] }), []string{"X has 1 grid points"}},
		{"no y", "fig.png", with(func(s *Surface) { s.Y, s.Z = nil, nil }), []string{"Y has 0 grid points"}},
		{"decreasing", "fig.png", with(func(s *Surface) { s.Y = slices.Clone(s.Y); s.Y[7] = s.Y[6] }), []string{"Y is not increasing", "Y[7]"}},
		{"NaN grid", "fig.png", with(func(s *Surface) { s.X = slices.Clone(s.X); s.X[0] = math.NaN() }), []string{"X[0] is NaN"}},
		{"infinite span", "fig.png", with(func(s *Surface) {
			s.X = slices.Clone(s.X)
			s.X[0], s.X[59] = -math.MaxFloat64, math.MaxFloat64
		}), []string{"X spans"}},
		{"path lengths", "fig.png", with(func(s *Surface) {
			s.Paths = []Path{{X: []float64{1}, Y: []float64{1}}, {Label: "SGD", X: []float64{1, 2}, Y: []float64{1}}}
		}), []string{`path 1 ("SGD")`, "len(X) = 2", "len(Y) = 1"}},
		{"shape", "fig.png", with(func(s *Surface) { s.Points = []Point{{Label: "w*", Shape: "hexagon"}} }), []string{`point 0 ("w*")`, `"hexagon"`}},
		{"negative levels", "fig.png", with(func(s *Surface) { s.Levels = -1 }), []string{"Levels = -1"}},
		{"too many levels", "fig.png", with(func(s *Surface) { s.Levels = 1e9 }), []string{"Levels = 1000000000"}},
		{"log tick", "fig.png", with(func(s *Surface) { s.ColorTicks = []float64{1, 0} }), []string{"ColorTicks[1] = 0"}},
		{"NaN tick", "fig.png", with(func(s *Surface) { s.LogColor, s.ColorTicks = false, []float64{math.NaN()} }), []string{"ColorTicks[0] is NaN"}},
		{"size", "fig.png", with(func(s *Surface) { s.Height = -1 }), []string{"negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkSaveFails(t, tc.s.Save, tc.file, tc.want) })
	}
}

// TestSurfaceCleansUp makes the final rename fail and checks that the
// temporary file is removed.
func TestSurfaceCleansUp(t *testing.T) { checkCleansUp(t, bowl().Save) }

// TestSurfaceSample draws a figure like the training-loss figure of E3:
// a valley whose floor runs along α = β, GD bouncing across it and SGD
// drifting along it to the minimum at (1, 1). To look at it:
//
//	go test ./plots -run SurfaceSample -sample /tmp
func TestSurfaceSample(t *testing.T) {
	dir := *sampleDir
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "surface_sample.png")
	if err := e3Sample().Save(path); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	if b := img.Bounds(); b.Dx() != 709 || b.Dy() != 591 {
		t.Errorf("image is %dx%d pixels, want 709x591 (12 cm × 10 cm)", b.Dx(), b.Dy())
	}
}

// e3Sample returns a figure shaped like the training-loss figure of E3.
func e3Sample() Surface {
	const a = 1.5
	xs := grid(-0.5, 2.3, 100)
	z := field(xs, xs, func(x, y float64) float64 {
		d := a * (x - y)
		return math.Min(1e-6+d*d+0.01*(x+y-2)*(x+y-2), 100)
	})

	// GD bounces across the valley, from one wall to the other, while
	// creeping along it; it stops far from the minimum.
	var gdX, gdY []float64
	for i := range 40 {
		along := 0.75 * (1 - math.Exp(-float64(i)/12))
		across := 0.35 * math.Pow(-1, float64(i)) * math.Exp(-float64(i)/60)
		if i == 0 {
			across = 0
		}
		gdX = append(gdX, along+across)
		gdY = append(gdY, along-across)
	}
	// SGD bounces too, less regularly, and drifts to the minimum.
	var sgdX, sgdY []float64
	for i := range 120 {
		along := 1 - math.Exp(-float64(i)/25)
		across := 0.25 * math.Sin(float64(i)*2.3) * math.Exp(-float64(i)/40)
		sgdX = append(sgdX, along+across)
		sgdY = append(sgdY, along-across)
	}
	return Surface{
		Title: "Training loss over a 2D subspace",
		X:     xs, Y: xs, Z: z,
		LogColor:   true,
		ColorTicks: []float64{1e-6, 1e-4, 1e-2, 1},
		Paths: []Path{
			{Label: "GD", X: gdX, Y: gdY, Color: color.Gray{Y: 128}, Dots: true, DotColor: color.Black},
			{Label: "SGD", X: sgdX, Y: sgdY, Color: color.NRGBA{G: 128, A: 255}},
		},
		Points: []Point{
			{Label: "w_init", X: 0, Y: 0, Color: color.White},
			// Gradient flow stops in the valley, short of w*.
			{Label: "w_flow", X: 0.6, Y: 0.5, Shape: "square", Color: color.NRGBA{R: 255, G: 165, A: 255}},
			{Label: "w*", X: 1, Y: 1, Shape: "star", Color: color.NRGBA{R: 255, G: 215, A: 255}},
		},
		EqualAspect: true,
		HideAxes:    true,
	}
}
