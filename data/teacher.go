package data

import (
	"errors"
	"fmt"
	"math"
)

// TeacherStudent is the data of the paper's teacher–student experiments
// (spec E5, E6): N training and NTest test inputs x ~ N(0, I_D), each
// scaled to unit ℓ2 norm, labelled by a fully connected ReLU teacher with
// the hidden widths Hidden and a scalar output.
//
// Teacher "unit" is the two-layer teacher of E5: one hidden layer, rows
// w*_j of N(0,1) entries scaled to unit norm, output weights
// a*_j = sign(N(0,1)) ∈ {±1}, no biases. Teacher "gaussian" is the
// multi-layer teacher of E6: N(0,1) weights and biases U(±1/√fan-in) (the
// PyTorch default) on every layer.
//
// Everything is drawn from one numpy-compatible source seeded with Seed,
// in this order: training inputs, test inputs, then the teacher layer by
// layer (weights row-major as (in, out), then biases). The authors draw
// the teacher with torch, so a seed gives a teacher of the same law, not
// the same teacher.
type TeacherStudent struct {
	D       int    `json:"d"`
	N       int    `json:"n"`
	NTest   int    `json:"n_test"`
	Hidden  []int  `json:"hidden"`
	Teacher string `json:"teacher"`
	Seed    uint32 `json:"seed,omitempty"`
}

// Validate reports every invalid field, by its JSON key.
func (t TeacherStudent) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if t.D < 1 || t.D > MaxValues {
		add("d: must be in [1, %d], got %d", MaxValues, t.D)
	}
	if t.N < 1 || t.N > MaxValues {
		add("n: must be in [1, %d], got %d", MaxValues, t.N)
	}
	if t.NTest < 0 || t.NTest > MaxValues {
		add("n_test: must be in [0, %d], got %d", MaxValues, t.NTest)
	}
	if len(t.Hidden) < 1 || len(t.Hidden) > 100 {
		add("hidden: need 1 to 100 hidden widths, got %d", len(t.Hidden))
	}
	for i, w := range t.Hidden {
		if w < 1 || w > 1<<20 {
			add("hidden[%d]: must be in [1, %d], got %d", i, 1<<20, w)
		}
	}
	switch t.Teacher {
	case "unit":
		if len(t.Hidden) != 1 {
			add("teacher: unit is a two-layer teacher: hidden needs one width, got %v", t.Hidden)
		}
	case "gaussian":
	default:
		add("teacher: unknown %q (allowed: unit, gaussian)", t.Teacher)
	}
	if len(errs) == 0 && (t.N+t.NTest+1)*(t.D+1) > MaxValues {
		add("n, n_test, d: (n + n_test + 1)·(d + 1) values exceed %d", MaxValues)
	}
	return errors.Join(errs...)
}

// Size implements Source.
func (t TeacherStudent) Size() Size { return Size{N: t.N, NTest: t.NTest, D: t.D} }

// Load implements Source.
func (t TeacherStudent) Load() (train, test Set, err error) {
	if err := t.Validate(); err != nil {
		return Set{}, Set{}, err
	}
	r := NewNumpyRand(t.Seed)
	train = Set{X: make([]float64, t.N*t.D), Y: make([]float64, t.N), N: t.N, D: t.D}
	test = Set{X: make([]float64, t.NTest*t.D), Y: make([]float64, t.NTest), N: t.NTest, D: t.D}
	for _, s := range []Set{train, test} {
		r.Normals(s.X)
		for i := 0; i < s.N; i++ {
			unit(s.Row(i))
		}
	}
	teacher := t.teacher(r)
	for _, s := range []Set{train, test} {
		for i := 0; i < s.N; i++ {
			s.Y[i] = teacher(s.Row(i))
		}
	}
	return train, test, nil
}

// Neurons returns the first-layer neurons w*_j of the teacher (each of
// length D), as Load draws them.
func (t TeacherStudent) Neurons() ([][]float64, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	r := NewNumpyRand(t.Seed)
	skip := make([]float64, (t.N+t.NTest)*t.D)
	r.Normals(skip)
	ws, _ := t.draw(r)
	out := make([][]float64, t.Hidden[0])
	for j := range out {
		out[j] = make([]float64, t.D)
		for k := range out[j] {
			out[j][k] = ws[0][k*t.Hidden[0]+j]
		}
	}
	return out, nil
}

// teacher draws the teacher's parameters from r and returns its function.
func (t TeacherStudent) teacher(r *NumpyRand) func(x []float64) float64 {
	sizes := append(append([]int{t.D}, t.Hidden...), 1)
	ws, bs := t.draw(r)
	return func(x []float64) float64 {
		h := x
		for l := range ws {
			in, out := sizes[l], sizes[l+1]
			next := make([]float64, out)
			for j := 0; j < out; j++ {
				s := bs[l][j]
				for k := 0; k < in; k++ {
					s += h[k] * ws[l][k*out+j]
				}
				if l+1 < len(ws) {
					s = math.Max(s, 0)
				}
				next[j] = s
			}
			h = next
		}
		return h[0]
	}
}

// draw draws the teacher's weights (each layer (in, out), row-major) and
// biases from r.
func (t TeacherStudent) draw(r *NumpyRand) (ws, bs [][]float64) {
	sizes := append(append([]int{t.D}, t.Hidden...), 1)
	ws, bs = make([][]float64, len(sizes)-1), make([][]float64, len(sizes)-1)
	for l := range ws {
		in, out := sizes[l], sizes[l+1]
		ws[l], bs[l] = make([]float64, in*out), make([]float64, out)
		r.Normals(ws[l])
		switch {
		case t.Teacher == "unit" && l == 0:
			// Column j of the (in, out) matrix is neuron w*_j.
			for j := 0; j < out; j++ {
				var s float64
				for k := 0; k < in; k++ {
					s += ws[l][k*out+j] * ws[l][k*out+j]
				}
				for k := 0; k < in; k++ {
					ws[l][k*out+j] /= math.Sqrt(s)
				}
			}
		case t.Teacher == "unit":
			for j := range ws[l] {
				ws[l][j] = math.Copysign(1, ws[l][j])
			}
		default:
			bound := 1 / math.Sqrt(float64(in))
			for j := range bs[l] {
				bs[l][j] = bound * (2*r.Float64() - 1)
			}
		}
	}
	return ws, bs
}

// unit scales x to unit ℓ2 norm (a zero vector stays zero).
func unit(x []float64) {
	var s float64
	for _, v := range x {
		s += v * v
	}
	if s == 0 {
		return
	}
	n := math.Sqrt(s)
	for i := range x {
		x[i] /= n
	}
}
