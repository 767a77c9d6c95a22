package graph

import (
	"fmt"

	"gorgonia.org/tensor"
)

// Dtype is the floating-point type of a parameter: Float64 or Float32.
type Dtype = tensor.Dtype

// The supported parameter types.
var (
	Float64 = tensor.Float64
	Float32 = tensor.Float32
)

// Param is a named, typed parameter tensor. Its values are stored outside
// every graph, so all programs compiled from one model share them.
type Param struct {
	name  string
	shape []int
	value *tensor.Dense
}

// NewParam returns a zero-valued parameter of the given type and shape.
// It panics if dt is neither Float64 nor Float32 or a dimension is not
// positive: both are programmer errors.
func NewParam(name string, dt Dtype, shape ...int) *Param {
	if dt != Float64 && dt != Float32 {
		panic(fmt.Sprintf("graph: parameter %q has unsupported type %v", name, dt))
	}
	if len(shape) == 0 {
		panic(fmt.Sprintf("graph: parameter %q has no shape", name))
	}
	for _, d := range shape {
		if d <= 0 {
			panic(fmt.Sprintf("graph: parameter %q has shape %v", name, shape))
		}
	}
	s := append([]int(nil), shape...)
	return &Param{name: name, shape: s, value: tensor.New(tensor.Of(dt), tensor.WithShape(s...))}
}

// Name returns the parameter's name; it is unique within a model.
func (p *Param) Name() string { return p.name }

// Shape returns a copy of the parameter's shape.
func (p *Param) Shape() []int { return append([]int(nil), p.shape...) }

// Dtype returns the parameter's floating-point type.
func (p *Param) Dtype() Dtype { return p.value.Dtype() }

// Len returns the number of scalars in the parameter.
func (p *Param) Len() int { return p.value.Shape().TotalSize() }

// Float64s returns the parameter's storage in row-major order. Writes are
// seen by every program compiled from the model. It panics for a Float32
// parameter.
func (p *Param) Float64s() []float64 { return p.value.Data().([]float64) }

// Float32s returns the storage of a Float32 parameter; see Float64s.
func (p *Param) Float32s() []float32 { return p.value.Data().([]float32) }

// Get copies the parameter's values into dst (length Len), converting to
// float64.
func (p *Param) Get(dst []float64) {
	switch v := p.value.Data().(type) {
	case []float64:
		copy(dst, v)
	case []float32:
		for i, x := range v {
			dst[i] = float64(x)
		}
	}
}

// Set copies src (length Len) into the parameter, converting to its type.
func (p *Param) Set(src []float64) {
	switch v := p.value.Data().(type) {
	case []float64:
		copy(v, src)
	case []float32:
		narrow(v, src)
	}
}

// Flatten copies the values of ps, in order, into one float64 vector.
func Flatten(ps []*Param) []float64 {
	n := 0
	for _, p := range ps {
		n += p.Len()
	}
	out := make([]float64, n)
	off := 0
	for _, p := range ps {
		p.Get(out[off : off+p.Len()])
		off += p.Len()
	}
	return out
}

// Unflatten is the inverse of Flatten: it writes w into ps in order.
func Unflatten(ps []*Param, w []float64) {
	off := 0
	for _, p := range ps {
		p.Set(w[off : off+p.Len()])
		off += p.Len()
	}
}
