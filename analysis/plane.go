package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/floats"

	"sgdlab/graph"
)

// Plane is the 2D affine subspace {Origin + α·E1 + β·E2} of parameter
// space, with orthonormal E1 and E2: the loss-surface slices of the
// paper's 2D figure and of loss-landscape tools.
type Plane struct {
	Origin, E1, E2 []float64
}

// NewPlane returns the plane through origin spanned by the directions a
// and b: E1 = a/‖a‖, and E2 is b made orthogonal to E1 (Gram–Schmidt)
// and normalised.
func NewPlane(origin, a, b []float64) (Plane, error) {
	if len(a) != len(origin) || len(b) != len(origin) {
		return Plane{}, fmt.Errorf("plane: directions of length %d and %d for a point of length %d", len(a), len(b), len(origin))
	}
	e1 := append([]float64(nil), a...)
	n1 := L2(e1)
	if n1 == 0 {
		return Plane{}, fmt.Errorf("plane: the first direction is zero")
	}
	floats.Scale(1/n1, e1)
	e2 := append([]float64(nil), b...)
	c := floats.Dot(e2, e1)
	for i := range e2 {
		e2[i] -= c * e1[i]
	}
	n2 := L2(e2)
	if n2 <= 1e-12*L2(b) {
		return Plane{}, fmt.Errorf("plane: the second direction is parallel to the first")
	}
	floats.Scale(1/n2, e2)
	return Plane{Origin: append([]float64(nil), origin...), E1: e1, E2: e2}, nil
}

// Point writes Origin + α·E1 + β·E2 into dst.
func (p Plane) Point(alpha, beta float64, dst []float64) {
	for i := range dst {
		dst[i] = p.Origin[i] + alpha*p.E1[i] + beta*p.E2[i]
	}
}

// Project returns the coordinates (⟨w−Origin, E1⟩, ⟨w−Origin, E2⟩) of the
// orthogonal projection of w onto the plane.
func (p Plane) Project(w []float64) (alpha, beta float64) {
	for i := range w {
		d := w[i] - p.Origin[i]
		alpha += d * p.E1[i]
		beta += d * p.E2[i]
	}
	return alpha, beta
}

// Grid evaluates f at the points of the plane with coordinates
// alphas × betas; out[j·len(alphas)+i] is f at (alphas[i], betas[j]).
func (p Plane) Grid(alphas, betas []float64, f func(w []float64) (float64, error)) ([]float64, error) {
	out := make([]float64, 0, len(alphas)*len(betas))
	w := make([]float64, len(p.Origin))
	for _, b := range betas {
		for _, a := range alphas {
			p.Point(a, b, w)
			v, err := f(w)
			if err != nil {
				return nil, fmt.Errorf("plane: at (%g, %g): %w", a, b, err)
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// LossAt returns f(w) = loss of m at parameters w on the examples x with
// targets y, for Plane.Grid. It leaves the model's parameters changed;
// callers restore them with graph.Unflatten.
func LossAt(m graph.Model, loss graph.Loss, x, y []float64, n int) (func(w []float64) (float64, error), error) {
	prog, err := graph.CompileLoss(m, loss, n)
	if err != nil {
		return nil, err
	}
	return func(w []float64) (float64, error) {
		graph.Unflatten(m.Params(), w)
		return prog.Run(x, y)
	}, nil
}

// FilterNormalized returns a random Gaussian direction for the parameters
// ps at their current values θ, scaled filter by filter to the norm of θ's
// filter (Li et al., 2018, "Visualizing the loss landscape of neural
// nets"): for a weight of shape (in, out) a filter is the column of one
// output unit; a parameter of one dimension is one filter. This makes
// slices comparable across layers of different scales.
func FilterNormalized(ps []*graph.Param, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))
	theta := graph.Flatten(ps)
	dir := make([]float64, len(theta))
	for i := range dir {
		dir[i] = r.NormFloat64()
	}
	off := 0
	for _, p := range ps {
		sh := p.Shape()
		cols := 1
		if len(sh) >= 2 {
			cols = sh[len(sh)-1]
		}
		rows := p.Len() / cols
		for c := 0; c < cols; c++ {
			var nd, nt float64
			for r := 0; r < rows; r++ {
				k := off + r*cols + c
				nd += dir[k] * dir[k]
				nt += theta[k] * theta[k]
			}
			s := 0.0
			if nd > 0 {
				s = math.Sqrt(nt / nd)
			}
			for r := 0; r < rows; r++ {
				dir[off+r*cols+c] *= s
			}
		}
		off += p.Len()
	}
	return dir
}
