package analysis_test

import (
	"context"
	"math"
	"testing"

	"sgdlab/analysis"
	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/models"
)

// TestCentralFlowTracksGD follows GD at the edge of stability on the
// diagonal linear network of E3 (n=20, d=30, r=3, γ=3; 300 steps of the
// run's first 5000): over steps 100–300 the central flow's prediction
// L + ½⟨H, Σ⟩ of GD's time-averaged loss is within 25 % of GD's mean loss,
// where gradient flow has converged (its loss is a thousandth of GD's);
// GD stays closer to the central flow than to gradient flow; the flow's
// sharpness stays on the edge 2/η; and the third derivatives are accurate.
func TestCentralFlowTracksGD(t *testing.T) {
	if testing.Short() {
		t.Skip("integrates 300 steps of the central flow (about 3 s); skipped with -short")
	}
	tr, _, err := data.SparseRegression{N: 20, D: 30, R: 3, NTest: 1000, Seed: 0}.Load()
	if err != nil {
		t.Fatal(err)
	}
	m, err := (&models.DLNSpec{D: 30, Alpha: 0.1, Init: "const"}).New()
	if err != nil {
		t.Fatal(err)
	}
	const lr = 3.0
	res, err := analysis.CentralFlow(context.Background(), m, graph.HalfMSE, tr.X, tr.Y, tr.N, analysis.CentralFlowOptions{LR: lr, Steps: 300})
	if err != nil {
		t.Fatal(err)
	}
	var gd, pred, gf, sharp float64
	var n, closer, active int
	for _, p := range res.Points {
		if p.Step < 100 {
			continue
		}
		gd, pred, gf, sharp = gd+p.GDLoss, pred+p.FlowPredicted, gf+p.GradientFlowLoss, sharp+p.FlowSharpness
		n++
		if p.ToFlow < p.ToGradientFlow {
			closer++
		}
		if p.Active > 0 {
			active++
		}
	}
	gd, pred, gf, sharp = gd/float64(n), pred/float64(n), gf/float64(n), sharp/float64(n)
	t.Logf("steps 100–300: GD mean loss %.4g, central flow predicts %.4g (ratio %.3f), gradient flow %.3g; GD closer to the central flow at %d of %d steps; mean λ_max %.6g (2/η = %.6g); third derivatives to %.2g",
		gd, pred, pred/gd, gf, closer, n, sharp, 2/lr, res.ThirdDerivativeError)
	if r := pred / gd; r < 0.75 || r > 1.25 {
		t.Errorf("predicted time-averaged loss %.4g is %.2f× GD's mean %.4g, want within 25 %%", pred, r, gd)
	}
	if gf > 1e-3*gd {
		t.Errorf("gradient flow's loss %.3g is not far below GD's %.3g: the case is not at the edge of stability", gf, gd)
	}
	if closer != n || active != n {
		t.Errorf("GD closer to the central flow at %d of %d steps, flow on the edge at %d; want all", closer, n, active)
	}
	if math.Abs(sharp-2/lr) > 1e-3*(2/lr) {
		t.Errorf("mean λ_max along the flow %.6g, want 2/η = %.6g within 0.1 %%", sharp, 2/lr)
	}
	if res.ThirdDerivativeError > 1e-8 {
		t.Errorf("third derivatives accurate to %.2g, want ≤ 1e-8 on a polynomial loss", res.ThirdDerivativeError)
	}
	// The model is left as it was.
	w := graph.Flatten(m.Params())
	m2, _ := (&models.DLNSpec{D: 30, Alpha: 0.1, Init: "const"}).New()
	for i, v := range graph.Flatten(m2.Params()) {
		if w[i] != v {
			t.Fatal("CentralFlow changed the model's parameters")
		}
	}
}
