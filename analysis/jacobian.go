package analysis

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/lapack/gonum"
	"gonum.org/v1/gonum/mat"

	"sgdlab/graph"
)

// Jacobian computes φ_θ(X), the n×P matrix whose row i is ∇_θ h_θ(x_i),
// the gradient of the scalar output of a model at example i with respect
// to all its P parameters (in the order of Model.Params). It
// differentiates the model's own graph, so it works for any scalar-output
// model.
type Jacobian struct {
	prog *graph.Program
	x    []float64
	n, d int
	phi  *mat.Dense
	svd  mat.SVD
	sv   svdWork
}

// NewJacobian prepares φ of m at the n examples x (n × example size,
// row-major). The model's current parameters are read at every call of
// Matrix or Rank.
func NewJacobian(m graph.Model, x []float64, n int) (*Jacobian, error) {
	if n < 1 || len(x)%n != 0 {
		return nil, fmt.Errorf("jacobian: %d inputs do not make %d examples", len(x), n)
	}
	prog, err := graph.Compile(m, graph.OutputSum, 1)
	if err != nil {
		return nil, fmt.Errorf("jacobian: %w", err)
	}
	p := 0
	for _, q := range m.Params() {
		p += q.Len()
	}
	return &Jacobian{prog: prog, x: x, n: n, d: len(x) / n, phi: mat.NewDense(n, p, nil)}, nil
}

// Matrix returns φ at the current parameters. The matrix is reused by the
// next call.
func (j *Jacobian) Matrix() (*mat.Dense, error) {
	raw := j.phi.RawMatrix()
	for i := 0; i < j.n; i++ {
		if _, err := j.prog.Run(j.x[i*j.d:(i+1)*j.d], nil); err != nil {
			return nil, fmt.Errorf("jacobian row %d: %w", i, err)
		}
		j.prog.Gradient(raw.Data[i*raw.Stride : i*raw.Stride+raw.Cols])
	}
	return j.phi, nil
}

// Rank returns rank(φ) with relative threshold thr: the number of singular
// values σ_i with σ_i/σ_1 > thr (the authors use 1e-15 for the DLN, 1e-4
// for ReLU networks).
func (j *Jacobian) Rank(thr float64) (int, error) {
	phi, err := j.Matrix()
	if err != nil {
		return 0, err
	}
	// φ is rebuilt at every call, so its singular values may overwrite it.
	raw := phi.RawMatrix()
	if s, ok := j.sv.values(raw.Rows, raw.Cols, raw.Data, raw.Stride); ok {
		return rankOf(s, thr), nil
	}
	return Rank(phi, thr, &j.svd)
}

// Rank returns the number of singular values of a with σ_i/σ_1 > thr, 0
// for a zero matrix. svd may be nil; passing one reuses its memory.
func Rank(a mat.Matrix, thr float64, svd *mat.SVD) (int, error) {
	if svd == nil {
		svd = new(mat.SVD)
	}
	if !svd.Factorize(a, mat.SVDNone) {
		return 0, fmt.Errorf("rank: SVD did not converge")
	}
	return rankOf(svd.Values(nil), thr), nil
}

// rankOf counts the singular values s (descending) with σ_i/σ_1 > thr.
func rankOf(s []float64, thr float64) int {
	if len(s) == 0 || s[0] == 0 {
		return 0
	}
	r := 0
	for _, v := range s {
		if v/s[0] > thr {
			r++
		}
	}
	return r
}

// svdWork computes singular values as mat.SVD with SVDNone does (LAPACK's
// Dgesvd), bit for bit, for the case of the rank metric's Jacobians, but
// in place and in kept workspace: no copy of the matrix and no allocation
// per call, and without Dgesvd's pass for the largest element, which
// costs a tenth of the time in gonum's Dlange.
type svdWork struct {
	s, work []float64
}

// Dgesvd's range for the largest element outside which it scales the
// matrix: √(safe minimum)/ε and its inverse.
var (
	svdSmall = math.Sqrt(0x1p-1022) / 0x1p-53
	svdBig   = 1 / svdSmall
)

// values returns the singular values of the m×n row-major a (leading
// dimension lda), descending, overwriting a, and whether it computed
// them: it does what Dgesvd does for m ≥ n without the QR step (its
// "path 10": bidiagonalization, then the bidiagonal QR iteration)
// when Dgesvd would take that path and not scale a, and reports false
// otherwise or if the iteration did not converge.
func (w *svdWork) values(m, n int, a []float64, lda int) ([]float64, bool) {
	var impl gonum.Implementation
	if n == 0 || m < n || m >= impl.Ilaenv(6, "DGESVD", "NN", m, n, 0, 0) {
		return nil, false
	}
	// The largest |a_ij| by its bits: an order on magnitudes in which
	// NaN comes above +Inf (and is declined with it).
	var bits uint64
	for i := range m {
		for _, v := range a[i*lda : i*lda+n] {
			bits = max(bits, math.Float64bits(v)&^(1<<63))
		}
	}
	if largest := math.Float64frombits(bits); largest > 0 && largest < svdSmall || !(largest <= svdBig) {
		return nil, false
	}
	// Workspace as Dgesvd lays it out: e, τ_Q, τ_P, then Dgebrd's own at
	// its optimal size (which fixes Dgebrd's block size as in Dgesvd).
	var query [1]float64
	impl.Dgebrd(m, n, a, lda, nil, nil, nil, nil, query[:], -1)
	lwork := int(query[0])
	need := 3*n + max(lwork, 4*n)
	if cap(w.work) < need {
		w.work = make([]float64, need)
		w.s = make([]float64, n)
	}
	work, s := w.work[:need], w.s[:n]
	e, tauQ, tauP := work[:n], work[n:2*n], work[2*n:3*n]
	impl.Dgebrd(m, n, a, lda, s, e, tauQ, tauP, work[3*n:], lwork)
	if !impl.Dbdsqr(blas.Upper, n, 0, 0, 0, s, e, nil, 1, nil, 1, nil, 1, work[n:]) {
		return nil, false
	}
	return s, true
}
