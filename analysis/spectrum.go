package analysis

// Spectral tools for symmetric operators that are only available through
// matrix-vector products (typically Hessians through Hessian-vector
// products): extreme eigenpairs by Lanczos, the trace by Hutch++ and the
// spectral density by stochastic Lanczos quadrature.

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
)

// Operator is a symmetric linear map on R^n, typically a Hessian applied
// through Hessian-vector products.
type Operator interface {
	// Dim returns n.
	Dim() int
	// Apply sets dst = A·v. dst and v have length Dim and do not overlap.
	Apply(dst, v []float64) error
}

// DenseOperator wraps a symmetric *mat.SymDense (for tests and small
// problems).
type DenseOperator struct{ A *mat.SymDense }

// Dim returns the order of A (0 if A is nil).
func (d DenseOperator) Dim() int {
	if d.A == nil {
		return 0
	}
	return d.A.SymmetricDim()
}

// Apply sets dst = A·v. It does not allocate.
func (d DenseOperator) Apply(dst, v []float64) error {
	n := d.Dim()
	if len(dst) != n || len(v) != n {
		return fmt.Errorf("analysis: DenseOperator.Apply: len(dst) = %d, len(v) = %d, want both = Dim = %d", len(dst), len(v), n)
	}
	if n == 0 {
		return nil
	}
	blas64.Symv(1, d.A.RawSymmetric(), blas64.Vector{N: n, Inc: 1, Data: v}, 0, blas64.Vector{N: n, Inc: 1, Data: dst})
	return nil
}

// Eigen holds eigenpairs sorted by decreasing value (BottomEigen: by
// increasing value). Vectors[i] is a unit vector of length Dim belonging to
// Values[i]; the vectors are mutually orthonormal. The sign of each vector
// is fixed so that its entry of largest magnitude is positive.
type Eigen struct {
	Values  []float64
	Vectors [][]float64
}

// LanczosOptions configures TopEigen and BottomEigen.
type LanczosOptions struct {
	// Steps is the Krylov dimension: the largest number of Lanczos vectors
	// held at once. 0 means min(Dim, max(2k+20, 40)). Values above Dim are
	// clamped to Dim; Steps must be at least k. When Steps == k < Dim one
	// extra vector is used so that restarts can make progress.
	Steps int
	// Seed seeds the math/rand/v2 PCG source (rand.NewPCG(Seed, 0)) that
	// draws the Gaussian start vector and every later random vector.
	Seed uint64
	// Tol is the residual at which a Ritz pair counts as converged and the
	// iteration stops early: ‖A·v − λ·v‖ ≤ Tol·‖A‖, with ‖A‖ estimated
	// from the Lanczos run. 0 means DefaultLanczosTol.
	Tol float64
}

// DefaultLanczosTol is the relative residual used when LanczosOptions.Tol
// is 0. Eigenvalues are then accurate to about min(Tol·‖A‖,
// (Tol·‖A‖)²/gap).
const DefaultLanczosTol = 1e-10

// ErrNotConverged is wrapped by the error TopEigen and BottomEigen return
// when the wanted eigenpairs did not reach the tolerance within the budget
// of one Lanczos run (50·max(Steps, 40) operator applications, restarts
// included); the Eigen returned alongside holds the best approximations
// found.
var ErrNotConverged = errors.New("Lanczos did not converge")

const (
	// breakdownTol: β ≤ breakdownTol·max(‖A·q‖, ‖A‖) is treated as an
	// invariant subspace (β = 0).
	breakdownTol = 1e-12
	// pcgStream is the second PCG seed word for every generator here.
	pcgStream = 0
)

// TopEigen returns the k largest (algebraic) eigenpairs of the symmetric
// operator, sorted by decreasing value.
//
// Method: thick-restart Lanczos with full re-orthogonalisation (two passes
// of classical Gram–Schmidt against every Lanczos vector and every locked
// eigenvector), so no spurious "ghost" copies of converged eigenvalues
// appear. The small projected matrix (tridiagonal, or tridiagonal plus an
// arrowhead after a restart) is diagonalised with LAPACK dsyev and the Ritz
// vectors are assembled from the stored basis. Invariant subspaces
// (β ≈ 0) are handled exactly: the Krylov sequence continues from a fresh
// random vector orthogonal to everything found, or stops when nothing is
// left.
//
// A single Krylov sequence cannot see more than one copy of a repeated
// eigenvalue. Once the k wanted pairs have converged they are locked, and a
// verification run is started from a fresh random vector orthogonal to
// them. It stops as soon as its top Ritz value is low enough to rule out,
// with probability ≥ 1 − 1e-6 over the start vector, any eigenvalue above
// the k-th locked one (a Kuczyński–Woźniakowski bound, see done), or when
// its top Ritz pair converges. Any converged eigenvalue it finds above the
// k-th locked one is locked too, and the verification repeats. So exact
// multiplicities are returned correctly.
//
// Cost in operator applications: the first run takes up to Steps (fewer
// when the wanted pairs converge earlier, more when thick restarts are
// needed); the verification run takes a few dozen when λ_k is well
// separated from λ_{k+1} and up to about what the first run took when it
// is not; each missing copy costs one more verification run. When the
// Krylov space exhausts R^n no verification is needed.
//
// Errors: invalid arguments; a failing op.Apply (wrapped with the Lanczos
// step and matvec count); ErrNotConverged (wrapped) together with the best
// approximations.
func TopEigen(op Operator, k int, opt LanczosOptions) (Eigen, error) {
	return extremeEigen("TopEigen", op, k, opt, 1)
}

// BottomEigen returns the k smallest (algebraic) eigenpairs, sorted by
// increasing value. It runs TopEigen's algorithm on −A; see TopEigen.
func BottomEigen(op Operator, k int, opt LanczosOptions) (Eigen, error) {
	return extremeEigen("BottomEigen", op, k, opt, -1)
}

func checkOperator(name string, op Operator) (int, error) {
	if op == nil {
		return 0, fmt.Errorf("analysis: %s: nil Operator", name)
	}
	n := op.Dim()
	if n < 1 {
		return 0, fmt.Errorf("analysis: %s: operator Dim = %d, want Dim ≥ 1", name, n)
	}
	return n, nil
}

func extremeEigen(name string, op Operator, k int, opt LanczosOptions, sign float64) (Eigen, error) {
	n, err := checkOperator(name, op)
	if err != nil {
		return Eigen{}, err
	}
	if k < 1 || k > n {
		return Eigen{}, fmt.Errorf("analysis: %s: k = %d, want 1 ≤ k ≤ Dim = %d", name, k, n)
	}
	steps := opt.Steps
	switch {
	case steps < 0:
		return Eigen{}, fmt.Errorf("analysis: %s: Steps = %d, want Steps = 0 (default) or k = %d ≤ Steps", name, steps, k)
	case steps == 0:
		steps = min(n, max(2*k+20, 40))
	case steps < k:
		return Eigen{}, fmt.Errorf("analysis: %s: Steps = %d, want Steps = 0 (default) or k = %d ≤ Steps", name, steps, k)
	}
	steps = min(steps, n)
	tol := opt.Tol
	if tol < 0 || math.IsNaN(tol) || math.IsInf(tol, 0) {
		return Eigen{}, fmt.Errorf("analysis: %s: Tol = %v, want 0 (default) or a finite Tol > 0", name, tol)
	}
	if tol == 0 {
		tol = DefaultLanczosTol
	}

	rng := rand.New(rand.NewPCG(opt.Seed, pcgStream))
	// One extra vector when Steps == k < Dim so that a restart keeps the
	// k wanted Ritz vectors and still adds a new direction.
	capM := min(n, max(steps, k+1))
	l := newLanczos(name, op, n, capM, sign, rng)

	// Phase 1: the k wanted pairs.
	l.begin(capM)
	l.randomStart()
	conv, err := l.run(k, tol)
	if err != nil {
		return Eigen{}, err
	}
	exhausted := l.stopped && l.nl+l.size == n
	for i := 0; i < k; i++ {
		l.lock(l.ritzPair(i))
	}
	if !conv {
		return l.result(k, sign), fmt.Errorf("analysis: %s: %w: the %d wanted Ritz pairs did not reach residual %.3g·‖A‖ within %d matvecs",
			name, ErrNotConverged, k, tol, l.matvecs)
	}

	// Phase 2: verification from fresh random vectors orthogonal to the
	// locked eigenvectors, to catch copies of repeated eigenvalues (and
	// any eigenvalue the first Krylov space missed).
	for !exhausted && l.nl < n {
		kth := l.kthLocked(k)
		l.begin(min(max(steps, 2), capM, n-l.nl))
		if !l.randomStart() {
			break
		}
		l.verifyBelow = kth
		conv, err := l.run(1, tol)
		l.verifyBelow = math.NaN()
		if err != nil {
			return Eigen{}, err
		}
		if !conv {
			return l.result(k, sign), fmt.Errorf("analysis: %s: %w: verification run did not reach residual %.3g·‖A‖ (%d matvecs in all)",
				name, ErrNotConverged, tol, l.matvecs)
		}
		exhausted = l.stopped && l.nl+l.size == n
		found := 0
		margin := tol * l.anorm
		for i := 0; i < l.size; i++ {
			v, res := l.ritzValue(i)
			if v <= kth+margin || res > tol*l.anorm {
				break
			}
			found++
		}
		if found == 0 {
			break
		}
		for i := 0; i < found; i++ {
			l.lock(l.ritzPair(i))
		}
	}
	return l.result(k, sign), nil
}

// lanczos is the state of a Lanczos process with full re-orthogonalisation
// on sign·P·A·P, where P projects out the locked vectors.
type lanczos struct {
	name string
	op   Operator
	n    int
	sign float64
	rng  *rand.Rand

	matvecs int     // operator applications so far (all runs)
	anorm   float64 // running lower estimate of ‖A‖

	capM      int       // capacity of the basis
	m         int       // basis size limit of the current run (≤ capM)
	q         []float64 // (capM+1)×n row-major: rows 0..size-1 basis, row size next vector
	size      int       // number of basis vectors
	h         []float64 // capM×capM projected matrix Qᵀ·(sign·A)·Q, stride capM
	beta      float64   // ‖residual‖ coupling the last basis vector to row size
	stopped   bool      // invariant subspace and no way to continue
	fresh     bool      // allow a fresh random vector after breakdown
	restarted bool      // the current run has been restarted

	// verifyBelow, when not NaN, lets run stop as soon as the top Ritz
	// value is reliably below it (see done).
	verifyBelow float64

	locked     []float64 // nl×n locked eigenvectors (unit, orthonormal)
	lockedVals []float64 // their sign·eigenvalues
	nl         int

	w    []float64 // n: A·q_j
	coef []float64 // scratch for projection coefficients
	tmp  []float64 // scratch for the coefficients of one projection pass

	// Ritz workspace, valid after ritz() for the current size.
	ev    []float64 // eigenvectors of h[0:size,0:size], columns, stride capM
	theta []float64 // ascending eigenvalues
	work  []float64
	sbuf  []float64 // capM×capM kept Ritz coefficients for restart
	gbuf  []float64 // capM×gemmChunk
}

const gemmChunk = 256

// runBudget is the number of operator applications after which one
// Lanczos run (with restarts) gives up: 50·max(m, 40) for a basis of m
// vectors.
func runBudget(m int) int { return 50 * max(m, 40) }

func newLanczos(name string, op Operator, n, capM int, sign float64, rng *rand.Rand) *lanczos {
	l := &lanczos{
		name: name, op: op, n: n, sign: sign, rng: rng,
		capM:  capM,
		q:     make([]float64, (capM+1)*n),
		h:     make([]float64, capM*capM),
		w:     make([]float64, n),
		coef:  make([]float64, capM+1),
		tmp:   make([]float64, capM+1),
		ev:    make([]float64, capM*capM),
		theta: make([]float64, capM),
		fresh: true,

		verifyBelow: math.NaN(),
	}
	work := []float64{0}
	lapack64.Syev(lapack.EVCompute, blas64.Symmetric{Uplo: blas.Upper, N: capM, Stride: capM, Data: l.ev}, l.theta, work, -1)
	l.work = make([]float64, max(int(work[0]), 3*capM))
	return l
}

func (l *lanczos) row(i int) []float64 { return l.q[i*l.n : (i+1)*l.n] }

// begin resets the basis for a new run with at most m vectors.
func (l *lanczos) begin(m int) {
	l.m = m
	l.size = 0
	l.beta = 0
	l.stopped = false
	l.restarted = false
	clear(l.h)
}

// project removes from v its components along the locked vectors and the
// first rows basis vectors, two passes of classical Gram–Schmidt. If acc is
// not nil, the basis coefficients of both passes are added to acc[:rows].
func (l *lanczos) project(v []float64, rows int, acc []float64) {
	n := l.n
	vv := blas64.Vector{N: n, Inc: 1, Data: v}
	for pass := 0; pass < 2; pass++ {
		if l.nl > 0 {
			if cap(l.tmp) < l.nl {
				l.tmp = make([]float64, l.nl+l.capM)
			}
			c := blas64.Vector{N: l.nl, Inc: 1, Data: l.tmp[:l.nl]}
			lm := blas64.General{Rows: l.nl, Cols: n, Stride: n, Data: l.locked}
			blas64.Gemv(blas.NoTrans, 1, lm, vv, 0, c)
			blas64.Gemv(blas.Trans, -1, lm, c, 1, vv)
		}
		if rows > 0 {
			c := blas64.Vector{N: rows, Inc: 1, Data: l.tmp[:rows]}
			qm := blas64.General{Rows: rows, Cols: n, Stride: n, Data: l.q}
			blas64.Gemv(blas.NoTrans, 1, qm, vv, 0, c)
			blas64.Gemv(blas.Trans, -1, qm, c, 1, vv)
			if acc != nil {
				for i, x := range c.Data {
					acc[i] += x
				}
			}
		}
	}
}

// randomStart puts a random unit vector orthogonal to the locked vectors
// and to the current basis into row size. It returns false when no such
// vector exists (the locked vectors and the basis span R^n).
func (l *lanczos) randomStart() bool {
	if l.nl+l.size >= l.n {
		return false
	}
	v := l.row(l.size)
	for attempt := 0; attempt < 3; attempt++ {
		for i := range v {
			v[i] = l.rng.NormFloat64()
		}
		nrm0 := blas64.Nrm2(blas64.Vector{N: l.n, Inc: 1, Data: v})
		l.project(v, l.size, nil)
		nrm := blas64.Nrm2(blas64.Vector{N: l.n, Inc: 1, Data: v})
		if nrm > 1e-6*nrm0 {
			blas64.Scal(1/nrm, blas64.Vector{N: l.n, Inc: 1, Data: v})
			return true
		}
	}
	return false
}

// step applies the operator to the newest basis vector (row size) and
// extends the Lanczos decomposition A·Q = Q·H + β·q_next·e_lastᵀ by one
// column.
func (l *lanczos) step() error {
	j := l.size
	n := l.n
	w := l.w
	if err := l.op.Apply(w, l.row(j)); err != nil {
		return fmt.Errorf("analysis: %s: Apply failed at Lanczos step %d (matvec %d): %w", l.name, j+1, l.matvecs+1, err)
	}
	l.matvecs++
	wv := blas64.Vector{N: n, Inc: 1, Data: w}
	if l.sign != 1 {
		blas64.Scal(l.sign, wv)
	}
	wn0 := blas64.Nrm2(wv)
	if math.IsNaN(wn0) || math.IsInf(wn0, 0) {
		return fmt.Errorf("analysis: %s: Apply returned non-finite values at Lanczos step %d (matvec %d)", l.name, j+1, l.matvecs)
	}
	l.anorm = max(l.anorm, wn0)
	coef := l.coef[:j+1]
	clear(coef)
	l.project(w, j+1, coef)
	cm := l.capM
	// Column j of H: the diagonal comes from this step; the entries above
	// it (β of the previous step, arrowhead couplings after a restart)
	// are already set. The remaining coefficients are rounding noise.
	l.h[j*cm+j] = coef[j]
	beta := blas64.Nrm2(wv)
	l.size = j + 1
	if beta <= breakdownTol*max(wn0, l.anorm) {
		// Invariant subspace: span(Q) is (numerically) A-invariant.
		l.beta = 0
		if !(l.fresh && l.size < l.m && l.randomStart()) {
			l.stopped = true
		}
		return nil
	}
	l.beta = beta
	next := l.row(j + 1)
	for i, x := range w {
		next[i] = x / beta
	}
	if j+1 < l.m {
		l.h[j*cm+j+1] = beta
		l.h[(j+1)*cm+j] = beta
	}
	return nil
}

// ritz diagonalises the projected matrix of the current basis.
func (l *lanczos) ritz() error {
	s, cm := l.size, l.capM
	for i := 0; i < s; i++ {
		copy(l.ev[i*cm:i*cm+s], l.h[i*cm:i*cm+s])
	}
	ok := lapack64.Syev(lapack.EVCompute, blas64.Symmetric{Uplo: blas.Upper, N: s, Stride: cm, Data: l.ev}, l.theta[:s], l.work, len(l.work))
	if !ok {
		return fmt.Errorf("analysis: %s: eigendecomposition of the %d×%d projected matrix failed", l.name, s, s)
	}
	for _, t := range l.theta[:s] {
		l.anorm = max(l.anorm, math.Abs(t))
	}
	return nil
}

// ritzValue returns the i-th largest Ritz value and its residual norm
// ‖(PAP)·y − θ·y‖ = β·|last component|.
func (l *lanczos) ritzValue(i int) (theta, res float64) {
	s := l.size
	col := s - 1 - i
	return l.theta[col], math.Abs(l.beta * l.ev[(s-1)*l.capM+col])
}

// converged reports whether the want largest Ritz pairs have residuals
// ≤ tol·‖A‖.
func (l *lanczos) converged(want int, tol float64) bool {
	for i := 0; i < want; i++ {
		th, res := l.ritzValue(i)
		if math.IsNaN(th) || !(res <= tol*l.anorm) {
			return false
		}
	}
	return true
}

// verifyFailProb bounds the probability, over the random start vector, that
// a verification run stopped by the Kuczyński–Woźniakowski test in done
// overlooks an eigenvalue above the k-th locked one.
const verifyFailProb = 1e-6

// done reports whether run may stop: the want largest Ritz pairs have
// converged, or, in a verification run, the top Ritz value θ_j after j
// steps of the first cycle is so far below verifyBelow that an eigenvalue
// ≥ verifyBelow is ruled out with probability ≥ 1 − verifyFailProb. The
// test is the bound of Kuczyński & Woźniakowski (SIAM J. Matrix Anal.
// Appl. 13, 1992, Thm 4.2) for Lanczos from a start uniform on the sphere,
// applied to the shifted operator B = sign·PAP − c·I ⪰ 0 on the
// n' = Dim − locked dimensional complement:
//
//	P(θ_j(B) ≤ (1−ε)·λ_max(B)) ≤ 1.648·√n'·exp(−√ε·(2j−1)).
//
// With c = −2·‖A‖est ≤ λ_min (‖A‖est is a lower estimate of ‖A‖; the
// factor 2 covers its error) and ε = (verifyBelow − θ_j)/(verifyBelow − c),
// λ_max ≥ verifyBelow would have made θ_j larger than observed unless the
// bound's rare event happened. The bound holds for the Krylov space of the
// start vector, so it is only used before the first restart.
func (l *lanczos) done(want int, tol float64) bool {
	if l.converged(want, tol) {
		return true
	}
	if math.IsNaN(l.verifyBelow) || l.restarted {
		return false
	}
	th, _ := l.ritzValue(0)
	c := -2 * l.anorm
	eps := (l.verifyBelow - th) / (l.verifyBelow - c)
	if !(eps > 0 && eps < 1) {
		return false
	}
	j := float64(l.size)
	return 1.648*math.Sqrt(float64(l.n-l.nl))*math.Exp(-math.Sqrt(eps)*(2*j-1)) <= verifyFailProb
}

// ritzPair assembles the i-th largest Ritz pair (a newly allocated unit
// vector).
func (l *lanczos) ritzPair(i int) (float64, []float64) {
	s, cm, n := l.size, l.capM, l.n
	col := s - 1 - i
	c := l.coef[:s]
	for r := 0; r < s; r++ {
		c[r] = l.ev[r*cm+col]
	}
	y := make([]float64, n)
	blas64.Gemv(blas.Trans, 1, blas64.General{Rows: s, Cols: n, Stride: n, Data: l.q},
		blas64.Vector{N: s, Inc: 1, Data: c}, 0, blas64.Vector{N: n, Inc: 1, Data: y})
	// Clean up against the locked vectors (the basis is orthogonal to
	// them up to rounding) and normalise.
	l.project(y, 0, nil)
	yv := blas64.Vector{N: n, Inc: 1, Data: y}
	blas64.Scal(1/blas64.Nrm2(yv), yv)
	if y[blas64.Iamax(yv)] < 0 {
		blas64.Scal(-1, yv)
	}
	return l.theta[col], y
}

// run extends the basis, with thick restarts, until the want largest Ritz
// pairs converge. It reports false when the run's budget of
// runBudget(m) operator applications was not enough. On return the Ritz
// decomposition of the final basis is valid.
func (l *lanczos) run(want int, tol float64) (bool, error) {
	budget := l.matvecs + runBudget(l.m)
	for {
		for l.size < l.m && !l.stopped {
			if err := l.step(); err != nil {
				return false, err
			}
			// Check every step for small bases; for large ones every
			// m/40 steps, so the O(size³) eigensolve stays cheap.
			if (l.size >= want && l.size%max(1, l.m/40) == 0) || l.size == l.m || l.stopped {
				if err := l.ritz(); err != nil {
					return false, err
				}
				if l.done(min(want, l.size), tol) {
					return true, nil
				}
			}
		}
		if l.stopped || l.beta == 0 || l.m <= want || l.matvecs >= budget {
			return false, nil
		}
		l.restart(want)
	}
}

// restart keeps the p largest Ritz vectors and the residual direction
// (thick restart, Wu & Simon 2000). The projected matrix becomes
// diag(θ_1..θ_p) bordered by the couplings β·s_last,i.
func (l *lanczos) restart(want int) {
	s, cm, n := l.size, l.capM, l.n
	p := want + (s-want)/2
	if p >= s {
		p = s - 1
	}
	p = max(p, 1)
	// S: s×p, kept Ritz coefficient vectors in decreasing Ritz order.
	sb := l.sbuf
	if sb == nil {
		l.sbuf = make([]float64, cm*cm)
		l.gbuf = make([]float64, cm*gemmChunk)
		sb = l.sbuf
	}
	for r := 0; r < s; r++ {
		for c := 0; c < p; c++ {
			sb[r*p+c] = l.ev[r*cm+(s-1-c)]
		}
	}
	// New rows 0..p-1 = Sᵀ·Q, computed in column chunks with axpys
	// (gonum's Dgemm would start goroutines and allocate).
	for c0 := 0; c0 < n; c0 += gemmChunk {
		wdt := min(gemmChunk, n-c0)
		for r := 0; r < p; r++ {
			out := blas64.Vector{N: wdt, Inc: 1, Data: l.gbuf[r*gemmChunk : r*gemmChunk+wdt]}
			clear(out.Data)
			for i := 0; i < s; i++ {
				blas64.Axpy(sb[i*p+r], blas64.Vector{N: wdt, Inc: 1, Data: l.q[i*n+c0 : i*n+c0+wdt]}, out)
			}
		}
		for r := 0; r < p; r++ {
			copy(l.q[r*n+c0:r*n+c0+wdt], l.gbuf[r*gemmChunk:r*gemmChunk+wdt])
		}
	}
	copy(l.row(p), l.row(s))
	l.restarted = true
	clear(l.h)
	for c := 0; c < p; c++ {
		th := l.theta[s-1-c]
		b := l.beta * l.ev[(s-1)*cm+(s-1-c)]
		l.h[c*cm+c] = th
		l.h[c*cm+p] = b
		l.h[p*cm+c] = b
	}
	l.size = p
}

// lock adds an eigenpair (in sign·A terms) to the locked set.
func (l *lanczos) lock(val float64, vec []float64) {
	l.locked = append(l.locked, vec...)
	l.lockedVals = append(l.lockedVals, val)
	l.nl++
}

// lockedOrder returns the indices of the locked pairs by decreasing value.
func (l *lanczos) lockedOrder() []int {
	idx := make([]int, l.nl)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return l.lockedVals[idx[a]] > l.lockedVals[idx[b]] })
	return idx
}

func (l *lanczos) kthLocked(k int) float64 {
	return l.lockedVals[l.lockedOrder()[k-1]]
}

// result returns the k largest locked pairs, converted back to A.
func (l *lanczos) result(k int, sign float64) Eigen {
	idx := l.lockedOrder()[:min(k, l.nl)]
	e := Eigen{Values: make([]float64, len(idx)), Vectors: make([][]float64, len(idx))}
	for i, j := range idx {
		e.Values[i] = sign * l.lockedVals[j]
		e.Vectors[i] = l.locked[j*l.n : (j+1)*l.n : (j+1)*l.n]
	}
	return e
}

// HutchPP estimates tr(A) with Hutch++ (Meyer, Musco, Musco & Woodruff,
// "Hutch++: Optimal Stochastic Trace Estimation", SOSA 2021) using
// Rademacher vectors and at most matvecs operator applications: s =
// matvecs/3 for the sketch A·S, at most s for tr(Qᵀ·A·Q) with Q an
// orthonormal basis of range(A·S), and the rest (≥ s) for Hutchinson's
// estimator on the deflated operator (I−QQᵀ)·A·(I−QQᵀ):
//
//	tr(A) ≈ tr(Qᵀ·A·Q) + (1/g)·Σ_i gᵢᵀ(I−QQᵀ)·A·(I−QQᵀ)gᵢ.
//
// Sketch columns that are numerically dependent are dropped and their
// matvecs go to the residual term; if Q spans R^n the result is exact.
// Random signs come from a math/rand/v2 PCG seeded with (seed, 0).
func HutchPP(op Operator, matvecs int, seed uint64) (float64, error) {
	const name = "HutchPP"
	n, err := checkOperator(name, op)
	if err != nil {
		return 0, err
	}
	if matvecs < 3 {
		return 0, fmt.Errorf("analysis: %s: matvecs = %d, want matvecs ≥ 3", name, matvecs)
	}
	rng := rand.New(rand.NewPCG(seed, pcgStream))
	s := matvecs / 3
	used := 0
	apply := func(dst, v []float64) error {
		if err := op.Apply(dst, v); err != nil {
			return fmt.Errorf("analysis: %s: Apply failed at matvec %d of %d: %w", name, used+1, matvecs, err)
		}
		used++
		return nil
	}
	vec := func(x []float64) blas64.Vector { return blas64.Vector{N: n, Inc: 1, Data: x} }

	// Sketch Y = A·S, orthonormalised in place into Q (r ≤ min(s, n) rows).
	q := make([]float64, s*n)
	z := make([]float64, n)
	coef := make([]float64, s)
	r := 0
	for i := 0; i < s; i++ {
		rademacher(rng, z)
		y := q[r*n : (r+1)*n]
		if err := apply(y, z); err != nil {
			return 0, err
		}
		nrm0 := blas64.Nrm2(vec(y))
		if r > 0 {
			qm := blas64.General{Rows: r, Cols: n, Stride: n, Data: q}
			c := blas64.Vector{N: r, Inc: 1, Data: coef[:r]}
			for pass := 0; pass < 2; pass++ {
				blas64.Gemv(blas.NoTrans, 1, qm, vec(y), 0, c)
				blas64.Gemv(blas.Trans, -1, qm, c, 1, vec(y))
			}
		}
		nrm := blas64.Nrm2(vec(y))
		if nrm > 1e-10*nrm0 && nrm > 0 && r < n {
			blas64.Scal(1/nrm, vec(y))
			r++
		}
	}
	// tr(Qᵀ·A·Q).
	var trQ float64
	az := make([]float64, n)
	for i := 0; i < r; i++ {
		qi := q[i*n : (i+1)*n]
		if err := apply(az, qi); err != nil {
			return 0, err
		}
		trQ += blas64.Dot(vec(qi), vec(az))
	}
	if r == n {
		return trQ, nil
	}
	// Hutchinson on the deflated operator with the remaining matvecs.
	g := matvecs - used
	var trR float64
	qm := blas64.General{Rows: r, Cols: n, Stride: n, Data: q}
	for i := 0; i < g; i++ {
		rademacher(rng, z)
		if r > 0 {
			c := blas64.Vector{N: r, Inc: 1, Data: coef[:r]}
			blas64.Gemv(blas.NoTrans, 1, qm, vec(z), 0, c)
			blas64.Gemv(blas.Trans, -1, qm, c, 1, vec(z))
		}
		if err := apply(az, z); err != nil {
			return 0, err
		}
		trR += blas64.Dot(vec(z), vec(az))
	}
	return trQ + trR/float64(g), nil
}

// rademacher fills z with independent ±1 entries.
func rademacher(rng *rand.Rand, z []float64) {
	var bits uint64
	for i := range z {
		if i%64 == 0 {
			bits = rng.Uint64()
		}
		if bits&1 == 0 {
			z[i] = 1
		} else {
			z[i] = -1
		}
		bits >>= 1
	}
}

// Density is a spectral density estimate from stochastic Lanczos
// quadrature: Gaussian quadrature nodes and weights averaged over probes;
// the weights sum to 1. Nodes are sorted increasingly and Weights[i]
// belongs to Nodes[i]. The estimate is the discrete measure
// Σ_i Weights[i]·δ(λ − Nodes[i]) ≈ (1/n)·Σ_j δ(λ − λ_j).
type Density struct {
	Nodes, Weights []float64
}

// SpectralDensity estimates the spectral density of op by stochastic
// Lanczos quadrature (Ubaru, Chen & Saad 2017; Ghorbani, Krishnan & Xiao
// 2019; PyHessian's density). For each of probes normalised Rademacher
// start vectors v it runs steps Lanczos steps with full
// re-orthogonalisation (steps is clamped to Dim; the run stops early at an
// invariant subspace, where the quadrature is exact) and takes the Ritz
// values θ_i of the tridiagonal matrix T as nodes and the squared first
// components τ_i² of its eigenvectors, divided by probes, as weights. Then
// Σ w·f(θ) estimates tr(f(A))/n exactly for polynomials f of degree
// < 2·steps in each probe; in particular Σ w·θ = mean(vᵀAv) estimates
// tr(A)/n. Random signs come from a math/rand/v2 PCG seeded with
// (seed, 0). Cost: probes·steps operator applications.
func SpectralDensity(op Operator, steps, probes int, seed uint64) (Density, error) {
	const name = "SpectralDensity"
	n, err := checkOperator(name, op)
	if err != nil {
		return Density{}, err
	}
	if steps < 1 {
		return Density{}, fmt.Errorf("analysis: %s: steps = %d, want steps ≥ 1 (values above Dim = %d are clamped)", name, steps, n)
	}
	if probes < 1 {
		return Density{}, fmt.Errorf("analysis: %s: probes = %d, want probes ≥ 1", name, probes)
	}
	m := min(steps, n)
	rng := rand.New(rand.NewPCG(seed, pcgStream))
	l := newLanczos(name, op, n, m, 1, rng)
	l.fresh = false
	nodes := make([]float64, 0, probes*m)
	weights := make([]float64, 0, probes*m)
	inv := 1 / math.Sqrt(float64(n))
	for p := 0; p < probes; p++ {
		l.begin(m)
		v := l.row(0)
		rademacher(rng, v)
		blas64.Scal(inv, blas64.Vector{N: n, Inc: 1, Data: v})
		for l.size < l.m && !l.stopped {
			if err := l.step(); err != nil {
				return Density{}, fmt.Errorf("analysis: %s: probe %d: %w", name, p+1, err)
			}
		}
		if err := l.ritz(); err != nil {
			return Density{}, err
		}
		s := l.size
		for i := 0; i < s; i++ {
			t := l.ev[i] // first component of eigenvector i
			nodes = append(nodes, l.theta[i])
			weights = append(weights, t*t/float64(probes))
		}
	}
	idx := make([]int, len(nodes))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return nodes[idx[a]] < nodes[idx[b]] })
	d := Density{Nodes: make([]float64, len(idx)), Weights: make([]float64, len(idx))}
	for i, j := range idx {
		d.Nodes[i] = nodes[j]
		d.Weights[i] = weights[j]
	}
	return d, nil
}

// Smooth returns the Gaussian-broadened density
//
//	ρ(t) = Σ_i Weights[i]·exp(−(t−Nodes[i])²/(2σ²)) / (σ·√(2π))
//
// at every point of grid. It integrates to Σ Weights = 1 over a grid wide
// enough to cover the nodes ± several σ. Smooth panics if sigma is not a
// finite positive number or if Nodes and Weights differ in length.
func (d Density) Smooth(grid []float64, sigma float64) []float64 {
	if !(sigma > 0) || math.IsInf(sigma, 0) {
		panic(fmt.Sprintf("analysis: Density.Smooth: sigma = %v, want a finite sigma > 0", sigma))
	}
	if len(d.Nodes) != len(d.Weights) {
		panic(fmt.Sprintf("analysis: Density.Smooth: %d nodes but %d weights", len(d.Nodes), len(d.Weights)))
	}
	out := make([]float64, len(grid))
	c := 1 / (sigma * math.Sqrt(2*math.Pi))
	inv := 1 / (2 * sigma * sigma)
	for g, t := range grid {
		var s float64
		for i, x := range d.Nodes {
			u := t - x
			s += d.Weights[i] * math.Exp(-u*u*inv)
		}
		out[g] = c * s
	}
	return out
}
