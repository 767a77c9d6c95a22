package analysis

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"sgdlab/graph"
	"sgdlab/internal/svd"
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
	sv   svd.Work
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
	s, err := j.sv.Values(raw.Rows, raw.Cols, raw.Data, raw.Stride)
	if err != nil {
		return 0, fmt.Errorf("rank: %w", err)
	}
	return rankOf(s, thr), nil
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
