package models

import (
	"fmt"
	"math"
	"strconv"

	"sgdlab/graph"
)

// MLP is a fully connected ReLU network: layer i computes h·W_i + b_i,
// followed by a ReLU on every layer but the last. Its output has shape
// (batch) for one output unit and (batch, k) for k, so it serves both
// regression (MSE) and classification (SoftmaxCE).
type MLP struct {
	// Sizes are the layer widths, input first: 784, 256, 256, 10 is an
	// MNIST-shaped net with two hidden layers.
	Sizes []int
	// W[i] has shape (Sizes[i], Sizes[i+1]); B[i] has shape (Sizes[i+1]),
	// or is nil in a net without biases.
	W, B []*graph.Param
}

// NewMLP returns a zero-valued MLP of type dt (graph.Float64 or
// graph.Float32) with the given layer widths, with biases if bias is set.
// It panics for fewer than two widths or a width below 1: programmer
// errors, as in graph.NewParam.
func NewMLP(dt graph.Dtype, bias bool, sizes ...int) *MLP {
	if len(sizes) < 2 {
		panic(fmt.Sprintf("models: an MLP needs at least two widths, got %v", sizes))
	}
	m := &MLP{Sizes: append([]int(nil), sizes...)}
	for i := 0; i+1 < len(sizes); i++ {
		m.W = append(m.W, graph.NewParam(fmt.Sprintf("w%d", i+1), dt, sizes[i], sizes[i+1]))
		if bias {
			m.B = append(m.B, graph.NewParam(fmt.Sprintf("b%d", i+1), dt, sizes[i+1]))
		} else {
			m.B = append(m.B, nil)
		}
	}
	return m
}

// Params returns W1, b1, W2, b2, … (biases omitted when absent).
func (m *MLP) Params() []*graph.Param {
	var ps []*graph.Param
	for i, w := range m.W {
		ps = append(ps, w)
		if m.B[i] != nil {
			ps = append(ps, m.B[i])
		}
	}
	return ps
}

// Input returns [Sizes[0]].
func (m *MLP) Input() []int { return []int{m.Sizes[0]} }

// Forward returns the network's outputs for x of shape (batch, Sizes[0]).
// The post-ReLU activations of hidden layer i are feature map "i" ("1",
// "2", …).
func (m *MLP) Forward(s *graph.Scope, x *graph.Node) *graph.Node {
	h := x
	for i, w := range m.W {
		h = s.Dense(h, w, m.B[i])
		if i+1 < len(m.W) {
			h = s.Feature(strconv.Itoa(i+1), s.ReLU(h))
		}
	}
	return s.Flat(h, m.Sizes[len(m.Sizes)-1])
}

// ReadoutWeights returns the output weights of the last hidden layer
// (Sizes[len−2] values) for its feature map, the last, when the net has
// one output; nil otherwise.
func (m *MLP) ReadoutWeights(name string) []float64 {
	last := len(m.W) - 1
	if last < 1 || m.Sizes[last+1] != 1 || name != strconv.Itoa(last) {
		return nil
	}
	a := make([]float64, m.W[last].Len())
	m.W[last].Get(a)
	return a
}

// InitHe draws every weight from N(0, 2/fan-in) (He et al.), in the order
// of Params, and sets the biases to 0.
func (m *MLP) InitHe(r Normal) {
	for i, w := range m.W {
		std := math.Sqrt(2 / float64(m.Sizes[i]))
		vals := make([]float64, w.Len())
		for j := range vals {
			vals[j] = std * r.NormFloat64()
		}
		w.Set(vals)
		if b := m.B[i]; b != nil {
			b.Set(make([]float64, b.Len()))
		}
	}
}

// TwoLayer is the two-layer ReLU network of the paper's teacher–student
// experiments: h(x) = Σ_j a_j·relu(⟨w_j, x⟩), without biases.
type TwoLayer struct {
	W *graph.Param // shape (d, m): column j is the neuron w_j
	A *graph.Param // shape (m, 1): the output weights
}

// NewTwoLayer returns a zero-valued two-layer net of type dt with input
// dimension d and m hidden neurons.
func NewTwoLayer(dt graph.Dtype, d, m int) *TwoLayer {
	return &TwoLayer{W: graph.NewParam("w", dt, d, m), A: graph.NewParam("a", dt, m, 1)}
}

// Params returns W then a.
func (t *TwoLayer) Params() []*graph.Param { return []*graph.Param{t.W, t.A} }

// Input returns [d].
func (t *TwoLayer) Input() []int { return []int{t.W.Shape()[0]} }

// Forward returns relu(x·W)·a, shape (batch); relu(x·W) is feature map
// "1". The output layer is a (m, 1) Dense weight rather than a vector:
// Gorgonia's gradient of a matrix-vector product with respect to the
// matrix is wrong.
func (t *TwoLayer) Forward(s *graph.Scope, x *graph.Node) *graph.Node {
	return s.Flat(s.Dense(s.Feature("1", s.ReLU(s.Dense(x, t.W, nil))), t.A, nil), 1)
}

// ReadoutWeights returns a (m values) for feature map "1".
func (t *TwoLayer) ReadoutWeights(name string) []float64 {
	if name != "1" {
		return nil
	}
	a := make([]float64, t.A.Len())
	t.A.Get(a)
	return a
}

// InitScaled draws W from scale·N(0,1) (row-major, in the order of the
// neurons' inputs) and sets a = 0, the start of the teacher–student
// benchmark.
func (t *TwoLayer) InitScaled(scale float64, r Normal) {
	w := make([]float64, t.W.Len())
	for j := range w {
		w[j] = scale * r.NormFloat64()
	}
	t.W.Set(w)
	t.A.Set(make([]float64, t.A.Len()))
}
