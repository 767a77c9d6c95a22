package data

import (
	"errors"
	"fmt"
	"math"
)

// ReLU1D is the fixed 1D regression of the paper's two-layer ReLU
// experiment (spec E4): 12 points x_i = (−5.5 + i)/4 + 0.07 with targets
// 0.345 + (−2, 1.5, 0, 0, 2, 1, 0, −1, 0, 1, 2, −1); the test set is the
// training set. Its evaluation points (Evaluator) are EvalPoints draws
// from U[min x, max x] (numpy's legacy uniform, seeded with Seed), at
// which E4 measures the rank of the Jacobian.
type ReLU1D struct {
	EvalPoints int    `json:"eval_points"`
	Seed       uint32 `json:"seed,omitempty"`
}

var relu1dY = [12]float64{-2, 1.5, 0, 0, 2, 1, 0, -1, 0, 1, 2, -1}

// Validate reports every invalid field, by its JSON key.
func (r ReLU1D) Validate() error {
	if r.EvalPoints < 0 || r.EvalPoints > MaxValues/2 {
		return errors.Join(fmt.Errorf("eval_points: must be in [0, %d], got %d", MaxValues/2, r.EvalPoints))
	}
	return nil
}

// Size implements Source.
func (r ReLU1D) Size() Size { return Size{N: 12, NTest: 12, D: 1, NEval: r.EvalPoints} }

// Load implements Source.
func (r ReLU1D) Load() (train, test Set, err error) {
	if err := r.Validate(); err != nil {
		return Set{}, Set{}, err
	}
	s := Set{X: make([]float64, 12), Y: make([]float64, 12), N: 12, D: 1}
	for i := range s.X {
		s.X[i] = (-5.5+float64(i))/4 + 0.07
		s.Y[i] = 0.345 + relu1dY[i]
	}
	test = Set{X: append([]float64(nil), s.X...), Y: append([]float64(nil), s.Y...), N: 12, D: 1}
	return s, test, nil
}

// EvalSet implements Evaluator: EvalPoints uniform points on the span of
// the training inputs, in draw order.
func (r ReLU1D) EvalSet() (Set, error) {
	train, _, err := r.Load()
	if err != nil {
		return Set{}, err
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range train.X {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	rnd := NewNumpyRand(r.Seed)
	s := Set{X: make([]float64, r.EvalPoints), Y: make([]float64, r.EvalPoints), N: r.EvalPoints, D: 1}
	for i := range s.X {
		s.X[i] = lo + (hi-lo)*rnd.Float64()
	}
	return s, nil
}
