package plots

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// sampleDir lets a reviewer look at the sample figures:
//
//	go test ./plots -run SampleFigures -sample /tmp
var sampleDir = flag.String("sample", "", "directory to write the sample figures plots_sample.png, plots_sample_e2.png and surface_sample.png to")

// TestSampleFigures draws figures shaped like E1 and E2 of the paper from
// synthetic but plausible curves, as an end-to-end check of realistic use.
func TestSampleFigures(t *testing.T) {
	dir := *sampleDir
	if dir == "" {
		dir = t.TempDir()
	}
	for name, row := range map[string]Row{"plots_sample.png": sampleE1(), "plots_sample_e2.png": sampleE2()} {
		path := filepath.Join(dir, name)
		if err := row.Save(path); err != nil {
			t.Fatal(err)
		}
		img := decodePNG(t, path)
		if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 300 {
			t.Errorf("%s: unexpected size %v", name, b)
		}
	}
}

// iterations returns the 348 logged iterations of a 100 000-iteration run.
func iterations() []float64 {
	xs := make([]float64, 348)
	for i := range xs {
		xs[i] = math.Round(float64(i) * 99599 / 347)
	}
	return xs
}

// approach returns from moving towards to with the given time constant.
func approach(from, to, t, tau float64) float64 {
	return to + (from-to)*math.Exp(-t/tau)
}

// sampleE1 mimics the figure of E1: SGD on a diagonal linear network with a
// step-size decay at 10, 30 or 50 % of the iterations.
func sampleE1() Row {
	rng := rand.New(rand.NewPCG(1, 2))
	xs := iterations()
	decays := []float64{10000, 30000, 50000}
	finalTrain := []float64{-4.2, -4.22, -4.17}
	finalTest := []float64{-3.18, -3.55, -3.81}
	var train, test, rank, l0 []Series
	add := func(label string, tr, te, rk, nz []float64) {
		train = append(train, Series{Label: label, X: xs, Y: tr})
		test = append(test, Series{Label: label, X: xs, Y: te})
		rank = append(rank, Series{Label: label, X: xs, Y: rk})
		l0 = append(l0, Series{Label: label, X: xs, Y: nz})
	}

	tr, te, rk, nz := series4(len(xs))
	for i, x := range xs {
		f := x / 1e5
		tr[i] = math.Pow(10, -0.3-5.55*math.Pow(f, 0.6)+0.4*(1-f)*(2*rng.Float64()-1))
		te[i] = math.Pow(10, approach(-0.3, -2.45, x, 12000)+0.05*rng.NormFloat64())
		rk[i], nz[i] = 200, 200
	}
	add("SGD η=0.25", tr, te, rk, nz)

	for d, td := range decays {
		tr, te, rk, nz := series4(len(xs))
		for i, x := range xs {
			bounce := -2 + (2*rng.Float64() - 1)
			if i == 0 {
				bounce = -0.3
			}
			testBefore := approach(-0.3, -2.2, x, 8000)
			switch {
			case x < td:
				tr[i] = math.Pow(10, bounce)
				te[i] = math.Pow(10, testBefore+0.15*rng.NormFloat64())
				rk[i] = math.Round(40 + 160*math.Exp(-x/15000))
				nz[i] = math.Round(65 + 135*math.Exp(-x/16000))
			default:
				after := x - td
				tr[i] = math.Pow(10, approach(-2, finalTrain[d], after, 1500)+0.05*rng.NormFloat64())
				te[i] = math.Pow(10, approach(approach(-0.3, -2.2, td, 8000), finalTest[d], after, 1500)+0.02*rng.NormFloat64())
				rk[i] = math.Round(40 + 160*math.Exp(-td/15000))
				nz[i] = math.Round(65 + 135*math.Exp(-td/16000))
			}
		}
		add(fmt.Sprintf("SGD η=0.28, decay at %d %%", int(td/1000)), tr, te, rk, nz)
	}

	return Row{
		Panels: []Panel{
			{Title: "train loss", LogY: true, YMin: 1e-5, YMax: 1, Series: train},
			{Title: "test loss", LogY: true, Series: test},
			{Title: "rank of φ(X)", Series: rank},
			{Title: "‖β‖₀", Series: l0},
		},
		Marks: []Mark{{X: 10000}, {X: 30000}, {X: 50000}},
	}
}

// sampleE2 mimics the figure of E2: GD with large steps (reds) against SGD
// (midnight blue), where GD's train loss collapses to about 1e-30.
func sampleE2() Row {
	rng := rand.New(rand.NewPCG(3, 4))
	xs := iterations()
	reds := Reds(4)
	var train, test, l0 []Series
	add := func(label string, c int, tr, te, nz []float64) {
		col := Blues(1)[0]
		if c >= 0 {
			col = reds[c]
		}
		train = append(train, Series{Label: label, X: xs, Y: tr, Color: col})
		test = append(test, Series{Label: label, X: xs, Y: te, Color: col})
		l0 = append(l0, Series{Label: label, X: xs, Y: nz, Color: col})
	}

	tr, te, nz, _ := series4(len(xs))
	for i, x := range xs {
		tr[i] = math.Pow(10, math.Max(-0.19-x/1500, -33.36))
		te[i] = math.Pow(10, approach(-0.19, -0.774, x, 1500))
		nz[i] = 100
	}
	add("GD γ=2.0", 0, tr, te, nz)

	for d, td := range []float64{10000, 30000, 50000} {
		final := []float64{86, 80, 78}[d]
		tr, te, nz, _ := series4(len(xs))
		for i, x := range xs {
			if x < td {
				tr[i] = math.Pow(10, -1+0.3*rng.NormFloat64())
				nz[i] = math.Round(approach(100, final-2, x, 8000))
			} else {
				tr[i] = math.Pow(10, math.Max(-1-(x-td)/700, -30.4))
				nz[i] = math.Round(approach(100, final-2, td, 8000))
			}
			te[i] = math.Pow(10, approach(-0.19, -0.33, x, 2000)+0.01*rng.NormFloat64())
		}
		add(fmt.Sprintf("GD γ=3.53, decay at %d %%", int(td/1000)), d+1, tr, te, nz)
	}

	tr, te, nz, _ = series4(len(xs))
	for i, x := range xs {
		if x < 50000 {
			tr[i] = math.Pow(10, -2+(2*rng.Float64()-1))
		} else {
			tr[i] = math.Pow(10, approach(-2, -3.05, x-50000, 1000)+0.1*rng.NormFloat64())
		}
		te[i] = math.Pow(10, approach(-0.19, -1.41, x, 15000)+0.03*rng.NormFloat64())
		nz[i] = math.Round(approach(100, 33, math.Min(x, 50000), 12000))
	}
	add("SGD η=0.272, /20 at 50 %", -1, tr, te, nz)

	return Row{
		Panels: []Panel{
			{Title: "train loss", LogY: true, Series: train},
			{Title: "test loss", LogY: true, Series: test},
			{Title: "‖β‖₀", Series: l0},
		},
		Marks: []Mark{{X: 10000}, {X: 30000}, {X: 50000}},
	}
}

func series4(n int) (a, b, c, d []float64) {
	return make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
}
