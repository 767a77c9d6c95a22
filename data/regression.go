package data

import (
	"errors"
	"fmt"
	"math"
)

// Set is a data set of N examples in D dimensions with K targets each.
//
// X is the N×D design matrix in row-major order: feature j of example i is
// X[i*D+j], so len(X) == N*D. Y is the N×K target matrix, also row-major:
// target k of example i is Y[i*K+k], so len(Y) == N*K. K = 0 means K = 1
// (Targets reports the effective value), so a regression set is written
// Set{X: x, Y: y, N: n, D: d} with its N scalar targets. A classification
// set of K classes has one-hot rows in Y and, in Labels, the class of
// each example (len(Labels) == N, each in [0, K)); Labels is nil for a
// regression set. Image sets store each image in X as C planes of H×W
// pixels (CHW order, see the sources for their shapes).
type Set struct {
	X    []float64
	Y    []float64
	N, D int
	// K is the number of targets per example (the width of Y), 0 for 1.
	K int
	// Labels is the class in [0, K) of each of the N examples, or nil.
	// When non-nil, row i of Y is the one-hot vector of Labels[i].
	Labels []int
}

// Targets returns K, the number of targets per example, counting K = 0
// as 1: row i of Y is Y[i*Targets() : (i+1)*Targets()].
func (s Set) Targets() int {
	if s.K == 0 {
		return 1
	}
	return s.K
}

// Row returns point i, the D features X[i*D : (i+1)*D]. The result shares
// memory with s.X and has capacity D, so appending to it cannot overwrite
// the next row. Row panics if i is not in [0, N).
func (s Set) Row(i int) []float64 {
	if i < 0 || i >= s.N {
		panic(fmt.Sprintf("data: Set.Row: index %d out of range [0, %d)", i, s.N))
	}
	return s.X[i*s.D : (i+1)*s.D : (i+1)*s.D]
}

// Target returns the Targets() targets of point i, a slice of Y sharing
// its memory with capacity Targets(). It panics if i is not in [0, N).
func (s Set) Target(i int) []float64 {
	if i < 0 || i >= s.N {
		panic(fmt.Sprintf("data: Set.Target: index %d out of range [0, %d)", i, s.N))
	}
	k := s.Targets()
	return s.Y[i*k : (i+1)*k : (i+1)*k]
}

// Gather copies the points idx into x (len(idx)·D values) and their
// targets into y (len(idx)·Targets() values, row-major), in the order of
// idx: a batch. It allocates nothing, and panics if an index is out of
// range or x or y is too short.
func (s Set) Gather(idx []int, x, y []float64) {
	k := s.Targets()
	if k == 1 {
		for b, i := range idx {
			copy(x[b*s.D:(b+1)*s.D], s.Row(i))
			y[b] = s.Y[i]
		}
		return
	}
	for b, i := range idx {
		copy(x[b*s.D:(b+1)*s.D], s.Row(i))
		copy(y[b*k:(b+1)*k], s.Y[i*k:(i+1)*k])
	}
}

// GatherLabels copies the labels of the points idx into labels
// (len(idx) values), in the order of idx. It allocates nothing, and
// panics if the set has no Labels or an index is out of range.
func (s Set) GatherLabels(idx []int, labels []int) {
	if s.Labels == nil {
		panic("data: Set.GatherLabels: the set has no labels")
	}
	for b, i := range idx {
		labels[b] = s.Labels[i]
	}
}

// Slice returns the examples [i, j) of s as a Set sharing s's memory
// (X, Y and Labels are subslices). It panics unless 0 ≤ i ≤ j ≤ N.
func (s Set) Slice(i, j int) Set {
	if i < 0 || i > j || j > s.N {
		panic(fmt.Sprintf("data: Set.Slice: [%d, %d) is not within [0, %d]", i, j, s.N))
	}
	k := s.Targets()
	t := Set{X: s.X[i*s.D : j*s.D : j*s.D], Y: s.Y[i*k : j*k : j*k], N: j - i, D: s.D, K: s.K}
	if s.Labels != nil {
		t.Labels = s.Labels[i:j:j]
	}
	return t
}

// Validate returns an error unless the shape fields agree with the slices:
// N >= 0, D >= 1, K >= 0, len(X) == N*D, len(Y) == N*Targets(), and
// Labels nil or of length N with every label in [0, Targets()) and its
// row of Y one-hot.
func (s Set) Validate() error {
	k := s.Targets()
	switch {
	case s.N < 0:
		return fmt.Errorf("data: Set.N = %d, want N >= 0", s.N)
	case s.D < 1:
		return fmt.Errorf("data: Set.D = %d, want D >= 1", s.D)
	case s.K < 0:
		return fmt.Errorf("data: Set.K = %d, want K >= 0 (0 for one target)", s.K)
	case s.N > math.MaxInt/s.D:
		return fmt.Errorf("data: Set N×D = %d×%d overflows int", s.N, s.D)
	case s.N > math.MaxInt/k:
		return fmt.Errorf("data: Set N×K = %d×%d overflows int", s.N, k)
	case len(s.X) != s.N*s.D:
		return fmt.Errorf("data: len(Set.X) = %d, want N×D = %d×%d = %d", len(s.X), s.N, s.D, s.N*s.D)
	case k == 1 && len(s.Y) != s.N:
		return fmt.Errorf("data: len(Set.Y) = %d, want N = %d", len(s.Y), s.N)
	case len(s.Y) != s.N*k:
		return fmt.Errorf("data: len(Set.Y) = %d, want N×K = %d×%d = %d", len(s.Y), s.N, k, s.N*k)
	case s.Labels != nil && len(s.Labels) != s.N:
		return fmt.Errorf("data: len(Set.Labels) = %d, want N = %d (or nil)", len(s.Labels), s.N)
	}
	for i, c := range s.Labels {
		if c < 0 || c >= k {
			return fmt.Errorf("data: Set.Labels[%d] = %d, want a class in [0, K = %d)", i, c, k)
		}
		for j, v := range s.Y[i*k : (i+1)*k] {
			if want := b2f(j == c); v != want {
				return fmt.Errorf("data: Set.Y[%d] = %v, want %v: row %d of Y is not the one-hot vector of Labels[%d] = %d", i*k+j, v, want, i, i, c)
			}
		}
	}
	return nil
}

// b2f is 1 for true and 0 for false.
func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
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
