// Package svd computes the singular values of dense float64 matrices as
// gonum's mat.SVD with SVDNone does, bit for bit, in kept workspace and
// faster.
//
// It is a package of its own because it is the one place where sgdlab
// replaces part of gonum's LAPACK rather than the BLAS under it (which
// internal/gemm provides), and both the rank metric (analysis) and the
// svd benchmark (bench) use it. Two things make it faster than mat.SVD:
// it works in place, without mat.SVD's copy and its pass for the largest
// element in Dlange, and it runs LAPACK's dqds on Go's builtin min and
// max, which the compiler inlines, where gonum's calls math.Min and
// math.Max, assembly functions on amd64 that cost a sixth of a 400×400
// SVD.
package svd

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/gonum"
	"gonum.org/v1/gonum/mat"
)

// Work holds the workspace of Values between calls. The zero value is
// ready to use; a Work must not be used by two goroutines at once.
type Work struct {
	s, work []float64
	saved   []float64 // the bidiagonal, for gonum's QR iteration
	query   [1]float64
	svd     mat.SVD
	dense   mat.Dense
}

// ErrNoConvergence is returned when the singular values did not converge.
var ErrNoConvergence = errors.New("svd: the iteration did not converge")

// Dgesvd's range for the largest element outside which it scales the
// matrix: √(safe minimum)/ε and its inverse.
var (
	small = math.Sqrt(0x1p-1022) / 0x1p-53
	big   = 1 / small
)

// Values returns the min(m, n) singular values of the m×n row-major
// matrix a (leading dimension lda ≥ n), descending, as mat.SVD with
// SVDNone gives them, bit for bit. It overwrites a. The slice is w's and
// is overwritten by the next call.
//
// For m ≥ n, where Dgesvd bidiagonalizes a directly (m below its QR
// crossover, 1.6n) and does not scale it, Values does what Dgesvd does
// in place: Dgebrd, then dqds. Every other case goes to mat.SVD.
func (w *Work) Values(m, n int, a []float64, lda int) ([]float64, error) {
	if m < 0 || n < 0 || lda < max(1, n) || m > 0 && len(a) < (m-1)*lda+n {
		panic(fmt.Sprintf("svd: bad %d×%d matrix with stride %d in %d values", m, n, lda, len(a)))
	}
	k := min(m, n)
	if k == 0 {
		return w.s[:0], nil
	}
	if cap(w.s) < k {
		w.s = make([]float64, k)
	}
	s := w.s[:k]
	if !w.inPlace(m, n, a, lda) {
		w.dense.SetRawMatrix(blas64.General{Rows: m, Cols: n, Stride: lda, Data: a})
		if !w.svd.Factorize(&w.dense, mat.SVDNone) {
			return nil, ErrNoConvergence
		}
		return w.svd.Values(s), nil
	}

	var impl gonum.Implementation
	// Workspace as Dgesvd lays it out: e, τ_Q, τ_P, then Dgebrd's own at
	// its optimal size (which fixes Dgebrd's block size as in Dgesvd).
	// (The query goes to w, where its slice may escape.)
	impl.Dgebrd(m, n, a, lda, nil, nil, nil, nil, w.query[:], -1)
	lwork := int(w.query[0])
	need := 3*n + max(lwork, 4*n+1)
	if cap(w.work) < need {
		w.work = make([]float64, need)
	}
	// Sized on its own: a later call may need less work but a longer
	// bidiagonal.
	if cap(w.saved) < 2*n {
		w.saved = make([]float64, 2*n)
	}
	work := w.work[:need]
	e, tauQ, tauP := work[:n], work[n:2*n], work[2*n:3*n]
	impl.Dgebrd(m, n, a, lda, s, e, tauQ, tauP, work[3*n:], lwork)
	saved := w.saved[:2*n]
	copy(saved[:n], s)
	copy(saved[n:], e)
	if dlasq1(n, s, e, work[n:]) == 0 {
		return s, nil
	}
	// dqds did not finish: do what Dbdsqr does then, on the bidiagonal.
	copy(s, saved[:n])
	copy(e, saved[n:])
	if !impl.Dbdsqr(blas.Upper, n, 0, 0, 0, s, e, nil, 1, nil, 1, nil, 1, work[n:]) {
		return nil, ErrNoConvergence
	}
	return s, nil
}

// inPlace reports whether Dgesvd takes its path without QR and without
// scaling for a: m ≥ n below the crossover and the largest |a_ij| in
// [small, big] or zero.
func (w *Work) inPlace(m, n int, a []float64, lda int) bool {
	var impl gonum.Implementation
	if m < n || m >= impl.Ilaenv(6, "DGESVD", "NN", m, n, 0, 0) {
		return false
	}
	// The largest |a_ij| by its bits: an order on magnitudes in which
	// NaN comes above +Inf (and is declined with it).
	var bits uint64
	for i := range m {
		for _, v := range a[i*lda : i*lda+n] {
			bits = max(bits, math.Float64bits(v)&^(1<<63))
		}
	}
	largest := math.Float64frombits(bits)
	return largest == 0 || largest >= small && largest <= big
}
