package experiment

import (
	"context"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"

	"sgdlab/analysis"
	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/models"
	"sgdlab/plots"
)

// SurfaceSpec draws the train and test loss over the plane through the
// initial parameters w0, the balanced target w* = (√θ*, √θ*) — the
// diagonal network that represents θ* with u = v — and the end point of
// the run Flow (spec E3), with trajectories projected on it.
type SurfaceSpec struct {
	Flow      string        `json:"flow"`
	Alpha     Range         `json:"alpha"` // coordinate along e1 = (w* − w0)/‖w* − w0‖
	Beta      Range         `json:"beta"`  // coordinate along e2, the end of Flow made orthogonal to e1
	Clip      float64       `json:"clip"`  // losses above Clip are drawn as Clip
	Paths     []SurfacePath `json:"paths"`
	TrainFile string        `json:"train_file"`
	TestFile  string        `json:"test_file"`
}

// Range is np.linspace(Min, Max, N).
type Range struct {
	Min float64 `json:"min"`
	Max float64 `json:"max"`
	N   int     `json:"n"`
}

func (r Range) values() []float64 {
	out := make([]float64, r.N)
	for i := range out {
		out[i] = r.Min + float64(i)*(r.Max-r.Min)/float64(r.N-1)
	}
	return out
}

// SurfacePath is a trajectory drawn on the surface: the run's parameters
// at its evaluation points. Abs takes |u|, |v| first, as the authors do
// for SGD, whose iterates may change sign; Style is "gd" (a gray line
// with black dots) or "sgd" (a green line).
type SurfacePath struct {
	Run   string `json:"run"`
	Abs   bool   `json:"abs,omitempty"`
	Style string `json:"style"`
}

func (s *SurfaceSpec) validate(c Config, add func(string, ...any)) {
	if s == nil {
		return
	}
	if _, ok := c.Model.Spec.(*models.DLNSpec); !ok {
		add("surface: needs model kind dln (the plane passes through w* = (√θ*, √θ*)), got %s", quote(c.Model.Kind))
	}
	if _, ok := c.Data.Source.(*data.SparseRegression); !ok {
		add("surface: needs data kind sparse_regression (for θ*), got %s", quote(c.Data.Kind))
	}
	if s.Alpha.N > MaxSurface || s.Beta.N > MaxSurface {
		add("surface: at most %d points per axis, got %d × %d", MaxSurface, s.Alpha.N, s.Beta.N)
	}
	runs := make(map[string]bool)
	for _, r := range c.Runs {
		runs[r.Name] = true
	}
	if !runs[s.Flow] {
		add("surface.flow: %s is not a run", quote(s.Flow))
	}
	for k, r := range map[string]Range{"alpha": s.Alpha, "beta": s.Beta} {
		if r.N < 2 || !(r.Max > r.Min) {
			add("surface.%s: need n ≥ 2 and max > min, got %+v", k, r)
		}
	}
	if !(s.Clip > 0) {
		add("surface.clip: must be > 0, got %v", s.Clip)
	}
	for i, p := range s.Paths {
		if !runs[p.Run] {
			add("surface.paths[%d].run: %s is not a run", i, quote(p.Run))
		}
		if p.Style != "gd" && p.Style != "sgd" {
			add("surface.paths[%d].style: unknown %s (allowed: gd, sgd)", i, quote(p.Style))
		}
	}
	for k, f := range map[string]string{"train_file": s.TrainFile, "test_file": s.TestFile} {
		if filepath.Ext(f) != ".png" || !ValidName(f) {
			add("surface.%s: must be a plain file name of [A-Za-z0-9._-] ending in .png, got %s", k, quote(f))
		}
	}
}

// snapshots reports whether run must record its parameters.
func (s *SurfaceSpec) snapshots(run string) bool {
	if s == nil {
		return false
	}
	if run == s.Flow {
		return true
	}
	return slices.ContainsFunc(s.Paths, func(p SurfacePath) bool { return p.Run == run })
}

// drawSurfaces computes both loss surfaces and writes their figures to dir.
func drawSurfaces(ctx context.Context, c Config, outs []Outcome, dir string) error {
	s := c.Surface
	// validate guarantees a DLN on sparse regression: the plane passes
	// through w* = (√θ*, √θ*), which only that pair defines.
	trainSet, testSet, thetaStar, err := c.Data.Source.(*data.SparseRegression).Generate()
	if err != nil {
		return err
	}
	byName := make(map[string]Outcome)
	for _, o := range outs {
		byName[o.Spec.Name] = o
	}
	flow := byName[s.Flow].Final().Result
	if flow.Diverged || len(flow.Params) == 0 {
		return fmt.Errorf("surface: run %s diverged or recorded no parameters", s.Flow)
	}
	m, err := c.Model.Spec.New()
	if err != nil {
		return err
	}
	w0 := graph.Flatten(m.Params())
	wStar := make([]float64, 2*len(thetaStar))
	for j, th := range thetaStar {
		wStar[j], wStar[len(thetaStar)+j] = math.Sqrt(th), math.Sqrt(th)
	}
	wFlow := flow.Params[len(flow.Params)-1]
	toStar, toFlow := make([]float64, len(w0)), make([]float64, len(w0))
	for i := range w0 {
		toStar[i], toFlow[i] = wStar[i]-w0[i], wFlow[i]-w0[i]
	}
	plane, err := analysis.NewPlane(w0, toStar, toFlow)
	if err != nil {
		return fmt.Errorf("surface: %w", err)
	}
	alphas, betas := s.Alpha.values(), s.Beta.values()
	var paths []plots.Path
	for _, p := range s.Paths {
		o := byName[p.Run]
		path := plots.Path{Label: label(o)}
		for _, w := range o.Final().Result.Params {
			if p.Abs {
				w = absAll(w)
			}
			a, b := plane.Project(w)
			path.X, path.Y = append(path.X, a), append(path.Y, b)
		}
		switch p.Style {
		case "gd":
			path.Color, path.Dots, path.DotColor = color.Gray{Y: 110}, true, color.Black
		case "sgd":
			path.Color = color.RGBA{G: 150, A: 255}
		}
		paths = append(paths, path)
	}
	point := func(label string, w []float64, shape string, col color.Color) plots.Point {
		a, b := plane.Project(w)
		return plots.Point{Label: label, X: a, Y: b, Shape: shape, Color: col}
	}
	points := []plots.Point{
		point("w_init", w0, "circle", color.Black),
		point("w_flow (end of "+s.Flow+")", wFlow, "square", color.RGBA{R: 120, G: 60, B: 160, A: 255}),
		point("w* = (√θ*, √θ*)", wStar, "star", color.RGBA{R: 230, G: 160, A: 255}),
	}
	for _, f := range []struct {
		set   string
		x, y  []float64
		n     int
		file  string
		title string
	}{
		{"train", trainSet.X, trainSet.Y, trainSet.N, s.TrainFile, "Training loss over a 2D subspace"},
		{"test", testSet.X, testSet.Y, testSet.N, s.TestFile, "Test loss over a 2D subspace"},
	} {
		lossAt, err := analysis.LossAt(m, c.Loss, f.x, f.y, f.n)
		if err != nil {
			return err
		}
		// A surface of 10⁶ points takes a while: stop when asked.
		z, err := plane.Grid(alphas, betas, func(w []float64) (float64, error) {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			return lossAt(w)
		})
		if err != nil {
			return fmt.Errorf("surface %s: %w", f.set, err)
		}
		for i, v := range z {
			if !(v <= s.Clip) {
				z[i] = s.Clip
			}
		}
		sf := plots.Surface{
			Title: f.title, X: alphas, Y: betas, Z: z, LogColor: true,
			ColorTicks: []float64{1e-6, 1e-4, 1e-2, 1}, ColorLabel: f.set + " loss (" + string(c.Loss) + ")",
			Paths: paths, Points: points, EqualAspect: true, HideAxes: true,
		}
		if err := sf.Save(filepath.Join(dir, f.file)); err != nil {
			return fmt.Errorf("surface %s: %w", f.set, err)
		}
	}
	return nil
}

func absAll(w []float64) []float64 {
	out := make([]float64, len(w))
	for i, v := range w {
		out[i] = math.Abs(v)
	}
	return out
}
