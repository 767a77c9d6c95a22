package plots

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// decodePNG decodes the PNG file at path.
func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// pixelsOf counts the pixels of img in columns x0..x1-1 that are exactly c.
// Lines are wide enough to have fully covered pixels in their own colour.
func pixelsOf(img image.Image, c color.Color, x0, x1 int) int {
	r0, g0, b0, _ := c.RGBA()
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := x0; x < x1; x++ {
			if r, g, b, _ := img.At(x, y).RGBA(); r == r0 && g == g0 && b == b0 {
				n++
			}
		}
	}
	return n
}

// steps returns 0, step, 2·step, ... up to and including last.
func steps(step, last float64) []float64 {
	var xs []float64
	for x := 0.0; x <= last; x += step {
		xs = append(xs, x)
	}
	return xs
}

func TestSaveFourPanels(t *testing.T) {
	xs := steps(500, 100000)
	train, withGaps, count, norm := make([]float64, len(xs)), make([]float64, len(xs)), make([]float64, len(xs)), make([]float64, len(xs))
	for i, x := range xs {
		train[i] = 0.5 * math.Exp(-x/8000) // below the 1e-5 limit from x ≈ 87 000
		withGaps[i] = 0.3 * math.Exp(-x/30000)
		switch i % 10 {
		case 3:
			withGaps[i] = math.NaN()
		case 7:
			withGaps[i] = 0
		}
		count[i] = math.Round(70 + 130*math.Exp(-x/20000))
		norm[i] = 2.5 + math.Sin(x/10000)
	}
	// One distinct colour per panel, to find each panel's curve in the image.
	colors := []color.Color{
		color.RGBA{R: 200, A: 255},
		color.RGBA{G: 150, B: 200, A: 255},
		color.RGBA{R: 120, B: 160, A: 255},
		color.RGBA{R: 230, G: 140, A: 255},
	}
	markColor := color.RGBA{G: 170, A: 255}
	row := Row{
		Title: "four panels",
		Panels: []Panel{
			{Title: "train loss", LogY: true, YMin: 1e-5, YMax: 1, Series: []Series{{Label: "run", X: xs, Y: train, Color: colors[0]}}},
			{Title: "test loss", YLabel: "loss", LogY: true, Series: []Series{{Label: "run", X: xs, Y: withGaps, Color: colors[1]}}},
			{Title: "‖β‖₀", Series: []Series{{Label: "run", X: xs, Y: count, Color: colors[2]}}},
			{Title: "‖(u,v)‖₂", Series: []Series{{Label: "run", X: xs, Y: norm, Color: colors[3], Dashed: true}}},
		},
		Marks:      []Mark{{X: 10000, Color: markColor}, {X: 30000, Color: markColor}, {X: 50000, Color: markColor, Label: "decay"}},
		PanelWidth: 6 * vg.Centimeter,
		Height:     5 * vg.Centimeter,
	}
	path := filepath.Join(t.TempDir(), "row.png")
	if err := row.Save(path); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)

	// The title and the legend strip add to the panels' height.
	extra := row.titleHeight() + row.legendHeight(row.build(), 4*row.PanelWidth)
	if extra < 20 {
		t.Errorf("title and legend take %v, want room for both", extra)
	}
	wantW := int(float64(4*row.PanelWidth/vg.Inch*dpi) + 0.5)
	wantH := int(float64((row.Height+extra)/vg.Inch*dpi) + 0.5)
	if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
		t.Fatalf("image is %dx%d pixels, want %dx%d", b.Dx(), b.Dy(), wantW, wantH)
	}
	panelW := wantW / 4
	for i, c := range colors {
		x0, x1 := i*panelW, (i+1)*panelW
		if n := pixelsOf(img, c, x0, x1); n < 100 {
			t.Errorf("panel %d: %d pixels of its curve's colour, want a drawn curve", i, n)
		}
		if n := pixelsOf(img, markColor, x0, x1); n < 3*20 {
			t.Errorf("panel %d: %d pixels of the marks' colour, want three dashed lines", i, n)
		}
		for j, other := range colors {
			if j != i && j != 0 && pixelsOf(img, other, x0, x1) > 0 {
				t.Errorf("panel %d: has pixels of panel %d's curve", i, j)
			}
		}
	}
}

func TestSaveDefaultSize(t *testing.T) {
	row := Row{Panels: make([]Panel, 3)}
	path := filepath.Join(t.TempDir(), "empty.png")
	if err := row.Save(path); err != nil {
		t.Fatal(err)
	}
	b := decodePNG(t, path).Bounds()
	// 3 × 6.5 cm by 5.5 cm at 150 dpi.
	if b.Dx() != 1152 || b.Dy() != 325 {
		t.Errorf("image is %dx%d pixels, want 1152x325", b.Dx(), b.Dy())
	}
}

func TestSaveFormats(t *testing.T) {
	row := Row{Panels: []Panel{{Series: []Series{{Label: "a", X: []float64{0, 1, 2}, Y: []float64{3, 1, 2}}}}}}
	checkFormats(t, row.Save, ".png", ".PNG", ".svg", ".pdf")
}

// checkFormats saves a figure with each extension and checks the file's
// first bytes name the format.
func checkFormats(t *testing.T, save func(string) error, exts ...string) {
	t.Helper()
	dir := t.TempDir()
	for _, ext := range exts {
		magic := map[string]string{".png": "\x89PNG", ".svg": "<?xml", ".pdf": "%PDF"}[strings.ToLower(ext)]
		path := filepath.Join(dir, "fig"+ext)
		if err := save(path); err != nil {
			t.Errorf("%s: %v", ext, err)
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(data), magic) {
			t.Errorf("%s: file starts with %q, want %q", ext, data[:min(len(data), 8)], magic)
		}
	}
}

func TestSaveReplacesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fig.png")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := (Row{Panels: []Panel{{}}}).Save(path); err != nil {
		t.Fatal(err)
	}
	decodePNG(t, path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want -rw-r--r--", fi.Mode().Perm())
	}
}

func TestSaveErrors(t *testing.T) {
	ok := Series{Label: "run a", X: []float64{1, 2}, Y: []float64{1, 2}}
	for _, tc := range []struct {
		name, file string
		row        Row
		want       []string // substrings of the error
	}{
		{"no panels", "fig.png", Row{}, []string{"no panels"}},
		{"mismatched lengths", "fig.png", Row{Panels: []Panel{
			{Series: []Series{ok}},
			{Title: "test loss", Series: []Series{ok, {Label: "run b", X: []float64{1, 2, 3}, Y: []float64{1, 2}}}},
		}}, []string{`panel 1 ("test loss")`, `series 1 ("run b")`, "len(X) = 3", "len(Y) = 2"}},
		{"bad extension", "fig.jpg", Row{Panels: []Panel{{}}}, []string{`unsupported extension ".jpg"`}},
		{"no extension", "fig", Row{Panels: []Panel{{}}}, []string{"unsupported extension"}},
		{"empty y range", "fig.png", Row{Panels: []Panel{{YMin: 1, YMax: 1}}}, []string{"panel 0", "empty"}},
		{"negative log limit", "fig.png", Row{Panels: []Panel{{LogY: true, YMin: -1, YMax: 1}}}, []string{"log axis"}},
		{"NaN limit", "fig.png", Row{Panels: []Panel{{YMin: math.NaN(), YMax: 1}}}, []string{"not finite"}},
		{"legend out of range", "fig.png", Row{Panels: []Panel{{}}, Legend: 1}, []string{"legend panel 1"}},
		{"mark not finite", "fig.png", Row{Panels: []Panel{{}}, Marks: []Mark{{X: math.Inf(1)}}}, []string{"mark 0"}},
		{"negative size", "fig.png", Row{Panels: []Panel{{}}, Height: -1}, []string{"negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkSaveFails(t, tc.row.Save, tc.file, tc.want) })
	}
}

// TestSaveCleansUp makes the final rename fail, after the figure has been
// written to the temporary file, and checks that the latter is removed.
func TestSaveCleansUp(t *testing.T) { checkCleansUp(t, Row{Panels: []Panel{{}}}.Save) }

// checkSaveFails asserts that save fails on file with an error that
// mentions every string of want, and leaves no file behind.
func checkSaveFails(t *testing.T, save func(string) error, file string, want []string) {
	t.Helper()
	dir := t.TempDir()
	err := save(filepath.Join(dir, file))
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if names := dirNames(t, dir); len(names) > 0 {
		t.Errorf("files left behind: %v", names)
	}
}

// checkCleansUp makes save's final rename fail, over a non-empty directory
// of the figure's name, and checks that the temporary file is removed.
func checkCleansUp(t *testing.T, save func(string) error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "fig.png")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := save(path)
	if err == nil {
		t.Fatal("saving over a non-empty directory: no error")
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"fig.png"}) {
		t.Errorf("directory holds %v, want only fig.png", names)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestSaveOddData feeds data a real run can produce (a diverged run, a
// single logged point, zeros on a log axis) and some it should not, and
// wants a figure, not an error or a panic.
func TestSaveOddData(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	huge := math.MaxFloat64
	row := Row{
		Panels: []Panel{
			{LogY: true, Series: []Series{
				{Label: "diverged", X: []float64{0, 1, 2}, Y: []float64{nan, inf, -inf}},
				{Label: "zeros", X: []float64{0, 1, 2}, Y: []float64{0, 0, -1}},
				{Label: "empty"},
			}},
			{Series: []Series{{Label: "one point", X: []float64{5}, Y: []float64{3}}}},
			{Series: []Series{{X: []float64{0, 1, 2, nan}, Y: []float64{-huge, huge, 0, 1}}}},
			{LogY: true, YMin: 1e-300, Series: []Series{{X: []float64{2, 1, 0}, Y: []float64{1e-320, 1, huge}}}},
			{LogY: true, YMax: 1e-10, Series: []Series{{X: []float64{0, 1}, Y: []float64{1, 2}}}},
			{},
		},
		Marks:      []Mark{{X: -5}, {X: 1e300}},
		PanelWidth: 1,
		Legend:     -1,
	}
	path := filepath.Join(t.TempDir(), "odd.png")
	if err := row.Save(path); err != nil {
		t.Fatal(err)
	}
	decodePNG(t, path)
}

func TestNewCurve(t *testing.T) {
	nan := math.NaN()
	s := Series{
		X: []float64{0, 1, 2, 3, 4, 5, 6, 7},
		Y: []float64{1, 2, nan, 3, 0, -1, 4, 5},
	}
	for _, tc := range []struct {
		logY bool
		want [][]float64 // the x of each run
	}{
		{false, [][]float64{{0, 1}, {3, 4, 5, 6, 7}}},
		{true, [][]float64{{0, 1}, {3}, {6, 7}}},
	} {
		cv := newCurve(s, tc.logY, color.Black)
		var got [][]float64
		for _, run := range cv.runs {
			var xs []float64
			for _, pt := range run {
				xs = append(xs, pt.X)
			}
			got = append(got, xs)
		}
		if !slices.EqualFunc(got, tc.want, slices.Equal) {
			t.Errorf("logY %v: runs at x = %v, want %v", tc.logY, got, tc.want)
		}
	}
}

func TestRowRanges(t *testing.T) {
	row := Row{Panels: []Panel{
		{Series: []Series{{X: []float64{0, 100}, Y: []float64{1, 2}}}},
		{LogY: true, Series: []Series{{X: []float64{-100, 50, 1000}, Y: []float64{0, 1, 1}}}},
		{XLabel: "x", Series: []Series{{X: []float64{-1, 1}, Y: []float64{1, 2}}}},
	}}
	xr := row.xRanges()
	// The log panel's point at x = -100 is not drawn, so it does not count.
	if r := xr[defaultXLabel]; r.min != -30 || r.max != 1030 {
		t.Errorf("shared iteration range %v, want {-30 1030}", r)
	}
	if r := xr["x"]; r.min != -1.06 || r.max != 1.06 {
		t.Errorf("range of x %v, want {-1.06 1.06}", r)
	}

	for _, tc := range []struct {
		p        Panel
		min, max float64
	}{
		{Panel{LogY: true, Series: []Series{{X: []float64{0, 1}, Y: []float64{3e-6, 0.5}}}}, 1e-6, 1},
		{Panel{LogY: true, YMin: 1e-5, YMax: 1, Series: []Series{{X: []float64{0, 1}, Y: []float64{3e-9, 0.5}}}}, 1e-5, 1},
		{Panel{LogY: true, YMax: 10, Series: []Series{{X: []float64{0, 1}, Y: []float64{3e-3, 0.5}}}}, 1e-3, 10},
		{Panel{LogY: true}, 0.1, 1},
		{Panel{Series: []Series{{X: []float64{0, 1}, Y: []float64{70, 200}}}}, 63.5, 206.5},
		{Panel{YMax: 1, Series: []Series{{X: []float64{0, 1}, Y: []float64{70, 200}}}}, 0, 1},
	} {
		b := tc.p.build(Blues(1), axisRange{0, 1}, nil)
		if got := b.plot.Y; math.Abs(got.Min-tc.min) > 1e-9*tc.max || math.Abs(got.Max-tc.max) > 1e-9*tc.max {
			t.Errorf("%+v: y range %v..%v, want %v..%v", tc.p, got.Min, got.Max, tc.min, tc.max)
		}
	}
}

func TestLinearTicks(t *testing.T) {
	for _, tc := range []struct {
		min, max float64
		want     []string
	}{
		{-3000, 103000, []string{"0", "20k", "40k", "60k", "80k", "100k"}},
		{63.5, 206.5, []string{"75", "100", "125", "150", "175", "200"}},
		{-1, 1, []string{"-1.0", "-0.5", "0.0", "0.5", "1.0"}},
		{0, 2e6, []string{"0", "0.5M", "1M", "1.5M", "2M"}},
		{0.95, 1.05, []string{"0.96", "0.98", "1.00", "1.02", "1.04"}},
	} {
		if got := labels(linearTicks{}.Ticks(tc.min, tc.max)); !slices.Equal(got, tc.want) {
			t.Errorf("%v..%v: labels %q, want %q", tc.min, tc.max, got, tc.want)
		}
	}
}

func TestLogTicks(t *testing.T) {
	for _, tc := range []struct {
		min, max float64
		want     []string
	}{
		{1e-5, 1, []string{"10^−5", "10^−4", "10^−3", "10^−2", "10^−1", "10^0"}},
		{1e-34, 1, []string{"10^−30", "10^−25", "10^−20", "10^−15", "10^−10", "10^−5", "10^0"}},
		{0.05, 20, []string{"10^−1", "10^0", "10^1"}},
		{2e-3, 5e-3, []string{"0.002", "0.003", "0.004", "0.005"}},
		{0.21, 0.29, []string{"0.22", "0.24", "0.26", "0.28"}},
	} {
		ticks := logTicks{}.Ticks(tc.min, tc.max)
		if got := labels(ticks); !slices.Equal(got, tc.want) {
			t.Errorf("%v..%v: labels %q, want %q", tc.min, tc.max, got, tc.want)
		}
		for _, tk := range ticks {
			if tk.Value < tc.min*(1-1e-9) || tk.Value > tc.max*(1+1e-9) {
				t.Errorf("%v..%v: tick at %v is outside the axis", tc.min, tc.max, tk.Value)
			}
		}
	}
}

func labels(ticks []plot.Tick) []string {
	var ls []string
	for _, tk := range ticks {
		if tk.Label != "" {
			ls = append(ls, tk.Label)
		}
	}
	return ls
}

func TestRamp(t *testing.T) {
	from, to := color.RGBA{R: 200, G: 220, B: 240, A: 255}, color.RGBA{R: 10, G: 20, B: 100, A: 255}
	cs := Ramp(from, to, 5)
	if len(cs) != 5 {
		t.Fatalf("Ramp(5) returned %d colours", len(cs))
	}
	sameColor(t, "first of 5", cs[0], from)
	sameColor(t, "last of 5", cs[4], to)
	sameColor(t, "middle of 5", cs[2], color.RGBA{R: 105, G: 120, B: 170, A: 255})
	one := Ramp(from, to, 1)
	if len(one) != 1 {
		t.Fatalf("Ramp(1) returned %d colours", len(one))
	}
	sameColor(t, "Ramp(1)", one[0], to)
	if cs := Ramp(from, to, 0); cs != nil {
		t.Errorf("Ramp(0) = %v, want nil", cs)
	}

	sameColor(t, "Blues dark end", Blues(1)[0], color.RGBA{R: 25, G: 25, B: 112, A: 255})
	sameColor(t, "Blues light end", Blues(4)[0], color.RGBA{R: 176, G: 196, B: 222, A: 255})
	sameColor(t, "Reds dark end", Reds(3)[2], color.RGBA{R: 139, A: 255})
}

func sameColor(t *testing.T, what string, got, want color.Color) {
	t.Helper()
	r0, g0, b0, a0 := got.RGBA()
	r1, g1, b1, a1 := want.RGBA()
	if r0 != r1 || g0 != g1 || b0 != b1 || a0 != a1 {
		t.Errorf("%s: %v, want %v", what, got, want)
	}
}

// TestPointsSeries draws two far-apart points as dots: their colour is
// there, and the line a curve would draw between them is not.
func TestPointsSeries(t *testing.T) {
	dot := color.RGBA{R: 200, G: 30, B: 30, A: 255}
	path := filepath.Join(t.TempDir(), "points.png")
	for _, points := range []bool{true, false} {
		r := Row{Panels: []Panel{{Title: "points", Series: []Series{
			{Label: "data", X: []float64{0, 10}, Y: []float64{0, 10}, Color: dot, Points: points},
			{X: []float64{0, 10}, Y: []float64{-1, 11}, Color: color.Gray{Y: 200}}, // the axis range
		}}}}
		if err := r.Save(path); err != nil {
			t.Fatal(err)
		}
		full := decodePNG(t, path)
		// The legend, below the panel, shows the colour too: look above it.
		b := full.Bounds()
		img := full.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(image.Rect(b.Min.X, b.Min.Y, b.Max.X, b.Min.Y+b.Dy()*3/4))
		w := b.Dx()
		all, middle := pixelsOf(img, dot, 0, w), pixelsOf(img, dot, w*2/5, w*3/5)
		if all == 0 {
			t.Errorf("points=%v: no pixel of the series' colour", points)
		}
		if points && middle > 0 {
			t.Errorf("points: %d pixels of the series' colour between the two points, want none (no line)", middle)
		}
		if !points && middle == 0 {
			t.Error("the line version draws nothing between the points: the test does not see lines")
		}
	}
}

// TestGrid checks that Cols wraps panels into rows: the figure is Cols
// panels wide and one row per Cols panels high, each panel's curve lands
// in its own cell, and the legend is drawn once.
func TestGrid(t *testing.T) {
	colors := []color.Color{
		color.RGBA{R: 220, A: 255}, color.RGBA{G: 180, A: 255}, color.RGBA{B: 220, A: 255},
	}
	var panels []Panel
	for i, c := range colors {
		panels = append(panels, Panel{Title: "panel", Series: []Series{{Label: "curve", X: []float64{0, 1}, Y: []float64{0, float64(i + 1)}, Color: c}}})
	}
	row := Row{Panels: panels, Cols: 2, PanelWidth: 6 * vg.Centimeter, Height: 5 * vg.Centimeter}
	path := filepath.Join(t.TempDir(), "grid.png")
	if err := row.Save(path); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	extra := row.legendHeight(row.build(), 2*row.PanelWidth)
	wantW := int(float64(2*row.PanelWidth/vg.Inch*dpi) + 0.5)
	wantH := int(float64((2*row.Height+extra)/vg.Inch*dpi) + 0.5)
	b := img.Bounds()
	if b.Dx() != wantW || b.Dy() != wantH {
		t.Fatalf("image is %dx%d pixels, want %dx%d (2 columns, 2 rows)", b.Dx(), b.Dy(), wantW, wantH)
	}
	rowH := int(float64(row.Height/vg.Inch*dpi) + 0.5)
	cell := func(i int) image.Image {
		x0, y0 := (i%2)*wantW/2, (i/2)*rowH
		return img.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(image.Rect(x0, y0, x0+wantW/2, y0+rowH))
	}
	for i, c := range colors {
		for j := range colors {
			n := pixelsOf(cell(j), c, 0, wantW)
			if j == i && n < 50 || j != i && n > 0 {
				t.Errorf("panel %d's colour: %d pixels in cell %d", i, n, j)
			}
		}
	}
	if n := pixelsOf(cell(3), colors[0], 0, wantW); n != 0 {
		t.Errorf("the empty fourth cell has %d pixels of a curve", n)
	}
	if err := (Row{Panels: panels, Cols: -1}).Save(path); err == nil {
		t.Error("negative Cols: no error")
	}
}
