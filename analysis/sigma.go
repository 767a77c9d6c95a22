package analysis

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// EdgeCovariance solves the small problem that gives the central flow of
// gradient descent its covariance Σ = U·X·Uᵀ (Cohen, Damian et al., 2025),
// on the k unstable eigenvectors U of the Hessian. With t_ij = ∇(u_iᵀHu_j)
// and the flow's velocity −η(∇L + ½Σ_ij X_ij t_ij), the k×k matrix
// Y = a + ½·G(X) is −1/η times the rate of UᵀHU, where a_ij = ⟨t_ij, ∇L⟩
// (CentralFlow adds a pull back to the edge) and G(X)_ij = Σ_pq
// ⟨t_ij, t_pq⟩ X_pq. X is the solution of the complementarity problem
//
//	X ⪰ 0,  Y ⪰ 0,  ⟨X, Y⟩ = 0:
//
// the oscillation grows in a direction only as much as needed to keep its
// curvature from rising past the edge. It is the minimiser of the convex
// ⟨a, X⟩ + ¼⟨X, G(X)⟩ over X ⪰ 0, found here by accelerated projected
// gradient (FISTA) with a projection onto the PSD cone by eigenvalue
// clipping, to a relative KKT residual of 1e-12. gram is the k²×k² matrix
// ⟨t_ij, t_pq⟩ indexed by i·k+j and p·k+q. For k = 1 this is
// X = max(0, −2a/g) (OneEdgeVariance).
func EdgeCovariance(a *mat.SymDense, gram *mat.SymDense) (*mat.SymDense, error) {
	k := a.SymmetricDim()
	if gram.SymmetricDim() != k*k {
		return nil, fmt.Errorf("analysis: EdgeCovariance: gram is %d×%[1]d, want %d×%[2]d for a %d×%[3]d problem", gram.SymmetricDim(), k*k, k)
	}
	if k == 0 {
		return mat.NewSymDense(1, nil), nil
	}
	// grad returns a + ½·G(X) as a k×k matrix.
	vec := func(s *mat.SymDense) *mat.VecDense {
		v := mat.NewVecDense(k*k, nil)
		for i := 0; i < k; i++ {
			for j := 0; j < k; j++ {
				v.SetVec(i*k+j, s.At(i, j))
			}
		}
		return v
	}
	grad := func(x *mat.SymDense) *mat.SymDense {
		gx := mat.NewVecDense(k*k, nil)
		gx.MulVec(gram, vec(x))
		out := mat.NewSymDense(k, nil)
		for i := 0; i < k; i++ {
			for j := i; j < k; j++ {
				out.SetSym(i, j, a.At(i, j)+0.25*(gx.AtVec(i*k+j)+gx.AtVec(j*k+i)))
			}
		}
		return out
	}
	// The gradient is Lipschitz with ½‖G‖ ≤ ½‖G‖_F.
	lip := 0.5 * mat.Norm(gram, 2)
	if lip == 0 {
		// No curvature to trade: X = 0 unless a has a negative direction,
		// which nothing could then offset.
		if psd(a) {
			return mat.NewSymDense(k, nil), nil
		}
		return nil, fmt.Errorf("analysis: EdgeCovariance: a has a negative eigenvalue and the third derivatives vanish")
	}
	scale := math.Max(mat.Norm(a, 2), 1e-300)
	x, xPrev, yk := mat.NewSymDense(k, nil), mat.NewSymDense(k, nil), mat.NewSymDense(k, nil)
	tk := 1.0
	for it := 0; it < 100_000; it++ {
		xPrev.CopySym(x)
		x = projectPSD(combine(1, yk, -1/lip, grad(yk)))
		// KKT residual of the new point: ‖X − Π(X − ∇f(X))‖, against a.
		res := combine(1, x, -1, projectPSD(combine(1, x, -1, grad(x))))
		if mat.Norm(res, 2)*lip <= 1e-12*scale {
			return x, nil
		}
		tNext := (1 + math.Sqrt(1+4*tk*tk)) / 2
		yk = combine(1+(tk-1)/tNext, x, -(tk-1)/tNext, xPrev)
		tk = tNext
	}
	return x, fmt.Errorf("analysis: EdgeCovariance: no convergence in 100000 iterations")
}

// OneEdgeVariance is EdgeCovariance for one unstable eigenvalue: with
// a = ⟨∇S, ∇L⟩ (+ the pull back to the edge) and g = ‖∇S‖², S = λ_max,
// the variance σ² = max(0, −2a/g) that keeps dS/dt ≤ 0 on the edge.
func OneEdgeVariance(a, g float64) float64 {
	if g <= 0 || a >= 0 {
		return 0
	}
	return -2 * a / g
}

// combine returns α·a + β·b.
func combine(alpha float64, a *mat.SymDense, beta float64, b *mat.SymDense) *mat.SymDense {
	k := a.SymmetricDim()
	out := mat.NewSymDense(k, nil)
	for i := 0; i < k; i++ {
		for j := i; j < k; j++ {
			out.SetSym(i, j, alpha*a.At(i, j)+beta*b.At(i, j))
		}
	}
	return out
}

// projectPSD returns the nearest positive semi-definite matrix to s in the
// Frobenius norm: its eigendecomposition with the negative eigenvalues
// set to zero.
func projectPSD(s *mat.SymDense) *mat.SymDense {
	k := s.SymmetricDim()
	var es mat.EigenSym
	if !es.Factorize(s, true) {
		// A symmetric k×k with finite entries always factorises; a NaN
		// does not, and propagates.
		out := mat.NewSymDense(k, nil)
		for i := 0; i < k; i++ {
			out.SetSym(i, i, math.NaN())
		}
		return out
	}
	vals := es.Values(nil)
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	out := mat.NewSymDense(k, nil)
	for m, v := range vals {
		if v <= 0 {
			continue
		}
		col := vecs.ColView(m)
		out.SymRankOne(out, v, col)
	}
	return out
}

// psd reports whether s has no negative eigenvalue.
func psd(s *mat.SymDense) bool {
	var es mat.EigenSym
	if !es.Factorize(s, false) {
		return false
	}
	return es.Values(nil)[0] >= 0
}
