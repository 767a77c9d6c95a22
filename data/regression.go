package data

import (
	"errors"
	"fmt"
	"math"
)

// Set is a data set of N points in D dimensions with K targets each.
//
// X is the N×D design matrix in row-major order: feature j of point i is
// X[i*D+j], so len(X) == N*D. Y holds the N×K targets in row-major order
// (target k of point i is Y[i*K+k]), len(Y) == N*K: one per point for
// regression, a one-hot row of K classes for classification. K = 0 means
// 1, so that a regression set need not set it.
type Set struct {
	X    []float64
	Y    []float64
	N, D int
	K    int
}

// Targets returns the number of targets per point: K, or 1 if K is 0.
func (s Set) Targets() int { return max(s.K, 1) }

// Row returns point i, the D features X[i*D : (i+1)*D]. The result shares
// memory with s.X and has capacity D, so appending to it cannot overwrite
// the next row. Row panics if i is not in [0, N).
func (s Set) Row(i int) []float64 {
	if i < 0 || i >= s.N {
		panic(fmt.Sprintf("data: Set.Row: index %d out of range [0, %d)", i, s.N))
	}
	return s.X[i*s.D : (i+1)*s.D : (i+1)*s.D]
}

// Gather copies the points idx into x (len(idx)·D values) and their
// targets into y (len(idx)·Targets() values), in the order of idx: a
// batch. It allocates nothing, and panics if an index is out of range.
func (s Set) Gather(idx []int, x, y []float64) {
	if s.K <= 1 {
		for k, i := range idx {
			copy(x[k*s.D:(k+1)*s.D], s.Row(i))
			y[k] = s.Y[i]
		}
		return
	}
	for k, i := range idx {
		copy(x[k*s.D:(k+1)*s.D], s.Row(i))
		copy(y[k*s.K:(k+1)*s.K], s.Y[i*s.K:(i+1)*s.K])
	}
}

// Validate returns an error unless the shape fields agree with the slices:
// N >= 0, D >= 1, K >= 0, len(X) == N*D and len(Y) == N*Targets().
func (s Set) Validate() error {
	switch {
	case s.N < 0:
		return fmt.Errorf("data: Set.N = %d, want N >= 0", s.N)
	case s.D < 1:
		return fmt.Errorf("data: Set.D = %d, want D >= 1", s.D)
	case s.K < 0:
		return fmt.Errorf("data: Set.K = %d, want K >= 0 (0 means 1 target per point)", s.K)
	case s.N > math.MaxInt/s.D || s.N > math.MaxInt/s.Targets():
		return fmt.Errorf("data: Set N×D = %d×%d or N×K = %d×%d overflows int", s.N, s.D, s.N, s.K)
	case len(s.X) != s.N*s.D:
		return fmt.Errorf("data: len(Set.X) = %d, want N×D = %d×%d = %d", len(s.X), s.N, s.D, s.N*s.D)
	case s.K <= 1 && len(s.Y) != s.N:
		return fmt.Errorf("data: len(Set.Y) = %d, want N = %d", len(s.Y), s.N)
	case s.K > 1 && len(s.Y) != s.N*s.K:
		return fmt.Errorf("data: len(Set.Y) = %d, want N×K = %d×%d = %d", len(s.Y), s.N, s.K, s.N*s.K)
	}
	return nil
}

// SparseRegression configures the noiseless sparse linear regression of
// the diagonal-linear-network experiments: x ~ N(0, I_D), y = x·θ*, with θ*
// non-negative, R-sparse and of unit ℓ2 norm. It is a plain value that
// round-trips through JSON.
//
// The spec's experiments use Seed 0 and NTest 1000 with
// (N, D, R) = (80, 200, 20) for E1, (40, 100, 20) for E2 and (20, 30, 3)
// for E3.
type SparseRegression struct {
	N     int    `json:"n"`      // training points, >= 1
	D     int    `json:"d"`      // dimension, >= 1
	R     int    `json:"r"`      // non-zero entries of θ*, in [1, D]
	NTest int    `json:"n_test"` // test points, >= 0
	Seed  uint32 `json:"seed"`   // np.random.seed value
}

// Validate reports every field out of its range, by its JSON key.
func (c SparseRegression) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.N < 1 || c.N > MaxValues {
		add("n: must be in [1, %d], got %d", MaxValues, c.N)
	}
	if c.D < 1 || c.D > MaxValues {
		add("d: must be in [1, %d], got %d", MaxValues, c.D)
	} else if c.R < 1 || c.R > c.D {
		add("r: must be in [1, d = %d], got %d", c.D, c.R)
	}
	if c.NTest < 0 || c.NTest > MaxValues {
		add("n_test: must be in [0, %d], got %d", MaxValues, c.NTest)
	}
	// Generate draws (N+NTest+1)·D normals and N+NTest targets.
	if len(errs) == 0 && (c.N+c.NTest+2)*c.D > MaxValues {
		add("n, n_test, d: (n + n_test + 2)·d = %d values exceed %d", (c.N+c.NTest+2)*c.D, MaxValues)
	}
	return errors.Join(errs...)
}

// Size implements Source.
func (c SparseRegression) Size() Size { return Size{N: c.N, NTest: c.NTest, D: c.D} }

// Load implements Source: the sets of Generate.
func (c SparseRegression) Load() (train, test Set, err error) {
	train, test, _, err = c.Generate()
	return train, test, err
}

// Generate draws the data in the order of the authors' numpy code:
//
//	np.random.seed(Seed)
//	X      = standard_normal((N, D))
//	X_test = standard_normal((NTest, D))
//	θ*     = randn(D); θ*[R:] = 0; θ* = |θ*| / ‖θ*‖₂
//	y, y_test = X θ*, X_test θ*
//
// X and X_test are numpy's draws bit for bit. The norm and the products are
// left-to-right float64 sums, so θ*, y and y_test can differ from numpy's,
// whose BLAS sums in another order, in the last few bits. thetaStar has
// length D. On an invalid configuration Generate returns the error of
// Validate and zero values.
func (c SparseRegression) Generate() (train, test Set, thetaStar []float64, err error) {
	if err := c.Validate(); err != nil {
		return Set{}, Set{}, nil, err
	}
	rnd := NewNumpyRand(c.Seed)
	train = Set{X: make([]float64, c.N*c.D), Y: make([]float64, c.N), N: c.N, D: c.D}
	test = Set{X: make([]float64, c.NTest*c.D), Y: make([]float64, c.NTest), N: c.NTest, D: c.D}
	rnd.Normals(train.X)
	rnd.Normals(test.X)

	thetaStar = make([]float64, c.D)
	rnd.Normals(thetaStar)
	clear(thetaStar[c.R:])
	norm := math.Sqrt(dot(thetaStar, thetaStar))
	for j, t := range thetaStar {
		thetaStar[j] = math.Abs(t) / norm
	}

	for _, s := range []Set{train, test} {
		for i := range s.Y {
			s.Y[i] = dot(s.Row(i), thetaStar)
		}
	}
	return train, test, thetaStar, nil
}

// dot returns the left-to-right sum of a[i]*b[i]. The conversion forbids
// fused multiply-adds so that the result does not depend on the platform.
func dot(a, b []float64) float64 {
	var s float64
	for i, v := range a {
		s += float64(v * b[i])
	}
	return s
}
