package analysis

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"sgdlab/graph"
)

// CentralFlowOptions configure CentralFlow.
type CentralFlowOptions struct {
	// LR is the constant step size η of the gradient descent followed.
	LR float64
	// Steps is the number of GD steps followed; the flows run for as
	// long, time measured in steps.
	Steps int
	// Every records every Every-th step (1 if 0), and the last.
	Every int
	// Substeps is the number of Euler steps per unit of time (4 if 0).
	Substeps int
	// K is the number of top eigenvalues watched (5 if 0): at most K
	// directions oscillate at once.
	K int
	// Kappa is the rate, per step, at which the flow pulls an eigenvalue
	// that overshot the edge 2/η back to it (1 if 0): the discretised
	// flow drifts, the exact one stays on the edge.
	Kappa float64
	// Eps is the central-difference step of the third derivatives along
	// unit eigenvectors (1e-4 if 0).
	Eps float64
	// Window is the number of GD steps of its running-average loss (10
	// if 0).
	Window int
	// Seed seeds the Lanczos start vectors.
	Seed uint64
	// Progress, if set, is called every 64 steps with the number done,
	// and once at the end.
	Progress func(done int) `json:"-"`
}

// FlowPoint is the state of GD and of the two flows after Step steps.
type FlowPoint struct {
	Step int `json:"step"`
	// GDLoss is L(w_GD); GDAverage the mean of L over the last Window GD
	// steps (fewer at the start).
	GDLoss    float64 `json:"gd_loss"`
	GDAverage float64 `json:"gd_average"`
	// FlowLoss is L at the central flow, FlowPredicted its prediction of
	// GD's time-averaged loss, L + ½⟨H, Σ⟩ = L + ½·tr(HΣ).
	FlowLoss      float64 `json:"flow_loss"`
	FlowPredicted float64 `json:"flow_predicted"`
	// FlowSharpness is λ_max at the central flow; Active the number of
	// eigenvalues on the edge there, SigmaTrace tr Σ.
	FlowSharpness float64 `json:"flow_sharpness"`
	Active        int     `json:"active"`
	SigmaTrace    float64 `json:"sigma_trace"`
	// GradientFlowLoss is L along gradient flow (Σ = 0).
	GradientFlowLoss float64 `json:"gradient_flow_loss"`
	// ToFlow and ToGradientFlow are ‖w_GD − w_CF‖ and ‖w_GD − w_GF‖.
	ToFlow         float64 `json:"to_flow"`
	ToGradientFlow float64 `json:"to_gradient_flow"`
}

// CentralFlowResult is what CentralFlow returns.
type CentralFlowResult struct {
	Points []FlowPoint
	// ThirdDerivativeError is the largest relative error of the third
	// derivatives met, estimated by comparing the central differences at
	// Eps and 2·Eps (their difference is 3/4 of the error at 2·Eps).
	ThirdDerivativeError float64
}

// CentralFlow follows full-batch gradient descent on the loss of m over
// the n examples x, y from m's current parameters, with step size
// opt.LR, beside two flows from the same start: gradient flow
// dw/dt = −η∇L, and the central flow of Cohen, Damian et al. (ICLR 2025),
//
//	dw/dt = −η[∇L + ½∇⟨H, Σ⟩],
//
// which predicts the time average of GD at the edge of stability. Σ =
// U·X·Uᵀ lives on the eigenvectors U of the top K eigenvalues that reached
// 2/η (up to 0.1 % below), and X solves EdgeCovariance, with the
// eigenvalues that overshoot the edge pulled back at rate Kappa. The
// third derivatives ∇(u_iᵀHu_j) are central differences of exact HVPs
// (Gorgonia cannot differentiate its HVP graph again); their error is
// measured. Both flows are integrated by Euler's method with Substeps
// steps per unit time. m's parameters are restored on return.
// Cancelling ctx stops it between steps.
func CentralFlow(ctx context.Context, m graph.Model, loss graph.Loss, x, y []float64, n int, opt CentralFlowOptions) (CentralFlowResult, error) {
	var res CentralFlowResult
	opt = opt.withDefaults()
	if !(opt.LR > 0) || math.IsInf(opt.LR, 0) || opt.Steps < 1 || opt.Steps > 10_000_000 || opt.Every < 1 || opt.Substeps < 1 || opt.Substeps > 1000 ||
		opt.K < 1 || !(opt.Kappa >= 0) || !(opt.Eps > 0) || opt.Window < 1 {
		return res, fmt.Errorf("analysis: central flow: need lr > 0, 1 ≤ steps ≤ 10⁷, every ≥ 1, 1 ≤ substeps ≤ 1000, k ≥ 1, kappa ≥ 0, eps > 0 and window ≥ 1, got %+v", opt)
	}
	cf, err := newFlowEval(m, loss, x, y, n, opt)
	if err != nil {
		return res, err
	}
	defer graph.Unflatten(m.Params(), cf.w0)
	if opt.K > len(cf.w0) {
		opt.K = len(cf.w0)
		cf.opt.K = opt.K
	}
	wGD, wCF, wGF := clone(cf.w0), clone(cf.w0), clone(cf.w0)
	g := make([]float64, len(cf.w0))
	losses := make([]float64, 0, opt.Steps+1)
	dt := 1 / float64(opt.Substeps)
	var last flowState
	for step := 0; step <= opt.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		l, err := cf.gradient(wGD, g)
		if err != nil {
			return res, err
		}
		losses = append(losses, l)
		if last, err = cf.state(wCF); err != nil {
			return res, err
		}
		if step%opt.Every == 0 || step == opt.Steps {
			lgf, err := cf.gradient(wGF, nil)
			if err != nil {
				return res, err
			}
			from := max(0, len(losses)-opt.Window)
			res.Points = append(res.Points, FlowPoint{
				Step: step, GDLoss: l, GDAverage: floats.Sum(losses[from:]) / float64(len(losses)-from),
				FlowLoss: last.loss, FlowPredicted: last.loss + last.curvatureTerm, FlowSharpness: last.sharpness,
				Active: last.active, SigmaTrace: last.sigmaTrace, GradientFlowLoss: lgf,
				ToFlow: floats.Distance(wGD, wCF, 2), ToGradientFlow: floats.Distance(wGD, wGF, 2),
			})
		}
		if opt.Progress != nil && (step%64 == 0 || step == opt.Steps) {
			opt.Progress(step)
		}
		if step == opt.Steps {
			break
		}
		floats.AddScaled(wGD, -opt.LR, g)
		for sub := 0; sub < opt.Substeps; sub++ {
			if sub > 0 {
				if last, err = cf.state(wCF); err != nil {
					return res, err
				}
			}
			floats.AddScaled(wCF, -opt.LR*dt, last.velocity)
			if _, err := cf.gradient(wGF, g); err != nil {
				return res, err
			}
			floats.AddScaled(wGF, -opt.LR*dt, g)
		}
	}
	res.ThirdDerivativeError = cf.maxErr
	return res, nil
}

func (o CentralFlowOptions) withDefaults() CentralFlowOptions {
	if o.Every == 0 {
		o.Every = 1
	}
	if o.Substeps == 0 {
		o.Substeps = 4
	}
	if o.K == 0 {
		o.K = 5
	}
	if o.Kappa == 0 {
		o.Kappa = 1
	}
	if o.Eps == 0 {
		o.Eps = 1e-4
	}
	if o.Window == 0 {
		o.Window = 10
	}
	return o
}

// flowEval evaluates the loss, gradient and Hessian of one model at any
// parameter vector.
type flowEval struct {
	m       graph.Model
	prog    *graph.Program
	hvp     *graph.HVP
	x, y    []float64
	opt     CentralFlowOptions
	w0      []float64
	calls   int
	maxErr  float64
	scratch []float64
}

func newFlowEval(m graph.Model, loss graph.Loss, x, y []float64, n int, opt CentralFlowOptions) (*flowEval, error) {
	prog, err := graph.Compile(m, loss, n)
	if err != nil {
		return nil, fmt.Errorf("analysis: central flow: %w", err)
	}
	h, err := graph.CompileHVP(m, loss, n)
	if err != nil {
		return nil, fmt.Errorf("analysis: central flow: %w", err)
	}
	if err := h.SetData(x, y); err != nil {
		return nil, fmt.Errorf("analysis: central flow: %w", err)
	}
	w0 := graph.Flatten(m.Params())
	return &flowEval{m: m, prog: prog, hvp: h, x: x, y: y, opt: opt, w0: w0, scratch: make([]float64, len(w0))}, nil
}

// gradient sets the parameters to w and returns the loss there, and the
// gradient in g unless g is nil.
func (f *flowEval) gradient(w, g []float64) (float64, error) {
	graph.Unflatten(f.m.Params(), w)
	l, err := f.prog.Run(f.x, f.y)
	if err != nil {
		return 0, fmt.Errorf("analysis: central flow: %w", err)
	}
	if g != nil {
		f.prog.Gradient(g)
	}
	return l, nil
}

// hvpAt returns H(w)·v.
func (f *flowEval) hvpAt(w, v []float64) ([]float64, error) {
	graph.Unflatten(f.m.Params(), w)
	out := make([]float64, len(w))
	if err := f.hvp.Apply(out, v); err != nil {
		return nil, fmt.Errorf("analysis: central flow: %w", err)
	}
	return out, nil
}

// flowState is the central flow's velocity field at one point, in units
// of η: dw/dt = −η·velocity.
type flowState struct {
	loss, sharpness           float64
	active                    int
	sigmaTrace, curvatureTerm float64 // tr Σ and ½⟨H, Σ⟩
	velocity                  []float64
}

// state computes the central flow's velocity at w.
func (f *flowEval) state(w []float64) (flowState, error) {
	var s flowState
	g := make([]float64, len(w))
	l, err := f.gradient(w, g)
	if err != nil {
		return s, err
	}
	s.loss, s.velocity = l, g // gradient left the parameters at w, where the HVPs below are taken
	f.calls++
	top, err := TopEigen(f.hvp, f.opt.K, LanczosOptions{Seed: f.opt.Seed + uint64(f.calls), Tol: 1e-8})
	if err != nil {
		return s, fmt.Errorf("analysis: central flow: %w", err)
	}
	s.sharpness = top.Values[0]
	edge := 2 / f.opt.LR
	var us [][]float64
	var lam []float64
	for i, v := range top.Values {
		if v >= edge*(1-1e-3) {
			us, lam = append(us, top.Vectors[i]), append(lam, v)
		}
	}
	k := len(us)
	s.active = k
	if k == 0 {
		return s, nil
	}
	t, err := f.thirdDerivatives(w, us)
	if err != nil {
		return s, err
	}
	a := mat.NewSymDense(k, nil)
	gram := mat.NewSymDense(k*k, nil)
	for i := 0; i < k; i++ {
		for j := i; j < k; j++ {
			v := floats.Dot(t[i][j], g)
			if i == j {
				// Keeping dλ_i/dt ≤ −κ(λ_i − 2/η) pulls an overshoot back.
				v -= f.opt.Kappa / f.opt.LR * (lam[i] - edge)
			}
			a.SetSym(i, j, v)
		}
	}
	for p := 0; p < k*k; p++ {
		for q := p; q < k*k; q++ {
			gram.SetSym(p, q, floats.Dot(t[p/k][p%k], t[q/k][q%k]))
		}
	}
	var xs *mat.SymDense
	if k == 1 {
		xs = mat.NewSymDense(1, []float64{OneEdgeVariance(a.At(0, 0), gram.At(0, 0))})
	} else if xs, err = EdgeCovariance(a, gram); err != nil {
		return s, fmt.Errorf("analysis: central flow at loss %g: %w", l, err)
	}
	for i := 0; i < k; i++ {
		s.sigmaTrace += xs.At(i, i)
		s.curvatureTerm += 0.5 * lam[i] * xs.At(i, i)
		for j := 0; j < k; j++ {
			floats.AddScaled(s.velocity, 0.5*xs.At(i, j), t[i][j])
		}
	}
	return s, nil
}

// thirdDerivatives returns t[i][j] = ∇(u_iᵀHu_j) at w for the unit vectors
// us: by the symmetry of the third derivative, the directional derivative
// of H·u_i along u_j, here a central difference of exact HVPs,
// symmetrised in i and j. It records the error estimated against the
// difference at twice the step.
func (f *flowEval) thirdDerivatives(w []float64, us [][]float64) ([][][]float64, error) {
	k := len(us)
	d := make([][][]float64, k) // d[j][i] = D_{u_j}(H u_i)
	var errAt2 float64
	for j := 0; j < k; j++ {
		d[j] = make([][]float64, k)
		for i := 0; i < k; i++ {
			var err error
			if d[j][i], err = f.directional(w, us[j], us[i], f.opt.Eps); err != nil {
				return nil, err
			}
		}
	}
	// One error estimate per call, on the top direction.
	coarse, err := f.directional(w, us[0], us[0], 2*f.opt.Eps)
	if err != nil {
		return nil, err
	}
	if nrm := floats.Norm(d[0][0], 2); nrm > 0 {
		errAt2 = floats.Distance(coarse, d[0][0], 2) / nrm / 3
	}
	f.maxErr = math.Max(f.maxErr, errAt2)
	t := make([][][]float64, k)
	for i := range t {
		t[i] = make([][]float64, k)
		for j := range t[i] {
			t[i][j] = make([]float64, len(w))
			floats.AddScaled(t[i][j], 0.5, d[j][i])
			floats.AddScaled(t[i][j], 0.5, d[i][j])
		}
	}
	return t, nil
}

// directional returns (H(w+εv)u − H(w−εv)u)/(2ε).
func (f *flowEval) directional(w, v, u []float64, eps float64) ([]float64, error) {
	copy(f.scratch, w)
	floats.AddScaled(f.scratch, eps, v)
	up, err := f.hvpAt(f.scratch, u)
	if err != nil {
		return nil, err
	}
	copy(f.scratch, w)
	floats.AddScaled(f.scratch, -eps, v)
	down, err := f.hvpAt(f.scratch, u)
	if err != nil {
		return nil, err
	}
	floats.Sub(up, down)
	floats.Scale(1/(2*eps), up)
	return up, nil
}

func clone(v []float64) []float64 { return append([]float64(nil), v...) }
