package analysis_test

import (
	"math"
	"testing"

	"sgdlab/analysis"
	"sgdlab/graph"
)

func TestPlaneProjectsAndSpans(t *testing.T) {
	origin := []float64{1, 1, 1}
	p, err := analysis.NewPlane(origin, []float64{2, 0, 0}, []float64{1, 3, 0})
	if err != nil {
		t.Fatal(err)
	}
	// E1 = x̂, E2 = ŷ after Gram–Schmidt.
	w := make([]float64, 3)
	p.Point(0.5, -2, w)
	if want := []float64{1.5, -1, 1}; w[0] != want[0] || w[1] != want[1] || w[2] != want[2] {
		t.Errorf("Point(0.5, -2) = %v, want %v", w, want)
	}
	if a, b := p.Project([]float64{1.5, -1, 7}); a != 0.5 || b != -2 {
		t.Errorf("Project = (%v, %v), want (0.5, -2): the off-plane part must vanish", a, b)
	}
	z, err := p.Grid([]float64{0, 1}, []float64{0, 1, 2}, func(w []float64) (float64, error) { return w[0] + 10*w[1], nil })
	if err != nil {
		t.Fatal(err)
	}
	// out[j·nα+i] = f(α_i, β_j) = (1+α) + 10(1+β).
	for j := 0; j < 3; j++ {
		for i := 0; i < 2; i++ {
			if want := float64(1+i) + 10*float64(1+j); z[j*2+i] != want {
				t.Errorf("grid at (%d, %d) = %v, want %v", i, j, z[j*2+i], want)
			}
		}
	}
	for _, bad := range [][2][]float64{{{0, 0, 0}, {1, 0, 0}}, {{1, 0, 0}, {-2, 0, 0}}, {{1, 0}, {0, 1, 0}}} {
		if _, err := analysis.NewPlane(origin, bad[0], bad[1]); err == nil {
			t.Errorf("NewPlane(%v, %v): no error", bad[0], bad[1])
		}
	}
}

func TestFilterNormalized(t *testing.T) {
	w := graph.NewParam("w", graph.Float64, 3, 2)
	b := graph.NewParam("b", graph.Float64, 2)
	copy(w.Float64s(), []float64{1, 0, 2, 0, 2, 5})
	copy(b.Float64s(), []float64{3, 4})
	dir := analysis.FilterNormalized([]*graph.Param{w, b}, 7)
	// Column c of w has norm √(Σ_r w[r][c]²): 3 and 5; b has norm 5.
	for c, want := range []float64{3, 5} {
		var n float64
		for r := 0; r < 3; r++ {
			n += dir[r*2+c] * dir[r*2+c]
		}
		if math.Abs(math.Sqrt(n)-want) > 1e-12 {
			t.Errorf("filter %d has norm %v, want %v", c, math.Sqrt(n), want)
		}
	}
	if n := math.Hypot(dir[6], dir[7]); math.Abs(n-5) > 1e-12 {
		t.Errorf("bias direction norm %v, want 5", n)
	}
	if again := analysis.FilterNormalized([]*graph.Param{w, b}, 7); again[0] != dir[0] {
		t.Error("same seed, different direction")
	}
}
