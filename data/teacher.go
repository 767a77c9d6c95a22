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
// With RNG "numpy" (the default), everything is drawn from one
// numpy-compatible source seeded with Seed, in this order: training
// inputs, test inputs, then the teacher layer by layer (weights row-major
// as (in, out), then biases): a seed gives a teacher of the authors' law,
// not their teacher. With RNG "torch", the draw is the authors' own
// (utils.get_data_*_relu_net with seed+1 = Seed): the inputs from numpy
// seeded with Seed, rounded to float32 and normalised in float32 as
// torch does, and the teacher from torch's generator seeded with Seed
// (data.TorchRand: the construction of its nn.Linear layers, then
// init_gaussian). The labels are then computed in float32, each unit
// accumulating its bias and products with fused multiply-adds in input
// order, the rounding of torch's CPU matmul for d = 2 (E5: all 1015
// labels bit for bit); for other shapes and with biases the authors'
// labels may differ from these in the last float32 bit.
type TeacherStudent struct {
	D       int    `json:"d"`
	N       int    `json:"n"`
	NTest   int    `json:"n_test"`
	Hidden  []int  `json:"hidden"`
	Teacher string `json:"teacher"`
	Seed    uint32 `json:"seed,omitempty"`
	RNG     string `json:"rng,omitempty"`
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
	switch t.RNG {
	case "", "numpy", "torch":
	default:
		add("rng: unknown %q (allowed: numpy, torch)", t.RNG)
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
	torch := t.RNG == "torch"
	for _, s := range []Set{train, test} {
		r.Normals(s.X)
		for i := 0; i < s.N; i++ {
			if torch {
				unit32(s.Row(i))
			} else {
				unit(s.Row(i))
			}
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
	torch := t.RNG == "torch"
	return func(x []float64) float64 {
		h := x
		for l := range ws {
			in, out := sizes[l], sizes[l+1]
			next := make([]float64, out)
			for j := 0; j < out; j++ {
				s := bs[l][j]
				for k := 0; k < in; k++ {
					if torch {
						// Exact float32 operands: the FMA rounds once to
						// float64, the conversion to float32.
						s = float64(float32(math.FMA(h[k], ws[l][k*out+j], s)))
					} else {
						s += h[k] * ws[l][k*out+j]
					}
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
	if t.RNG == "torch" {
		return t.drawTorch(sizes)
	}
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

// drawTorch draws the teacher as the authors' code does with torch: the
// construction of FCNet2Layers (unit: no biases) or FCNet (gaussian:
// biases), then init_gaussian with scale 1; for unit, rows scaled to unit
// norm in float32 and output weights replaced by their signs.
func (t TeacherStudent) drawTorch(sizes []int) (ws, bs [][]float64) {
	bias := make([]bool, len(sizes)-1)
	for l := range bias {
		bias[l] = t.Teacher == "gaussian"
	}
	r := NewTorchRand(uint64(t.Seed))
	w32, b32 := r.Layers(sizes, bias)
	for _, w := range w32 {
		r.Randn(w)
	}
	ws, bs = make([][]float64, len(w32)), make([][]float64, len(w32))
	for l, w := range w32 {
		in, out := sizes[l], sizes[l+1]
		row := make([]float64, in)
		ws[l], bs[l] = make([]float64, in*out), make([]float64, out)
		for j := 0; j < out; j++ {
			for k := range row {
				row[k] = float64(w[j*in+k])
			}
			switch {
			case t.Teacher == "unit" && l == 0:
				unit32(row)
			case t.Teacher == "unit":
				for k, v := range row {
					row[k] = math.Copysign(1, v)
				}
			}
			for k, v := range row {
				ws[l][k*out+j] = v
			}
			if b32[l] != nil {
				bs[l][j] = float64(b32[l][j])
			}
		}
	}
	return ws, bs
}

// unit32 rounds x to float32 and scales it to unit ℓ2 norm in float32
// arithmetic, as x / torch.sum(x**2, 1, keepdim=True)**0.5 does on a
// float32 row (a zero vector stays zero).
func unit32(x []float64) {
	var s float32
	for i, v := range x {
		x[i] = float64(float32(v))
		s += float32(float32(x[i]) * float32(x[i])) // no fused multiply-add, as torch squares first
	}
	if s == 0 {
		return
	}
	n := float32(math.Sqrt(float64(s)))
	for i, v := range x {
		x[i] = float64(float32(v) / n)
	}
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
