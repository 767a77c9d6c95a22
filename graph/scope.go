package graph

import (
	"fmt"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Node is a node of a Gorgonia expression graph.
type Node = gorgonia.Node

// Model is an architecture written as a Gorgonia graph.
type Model interface {
	// Params returns the trainable parameters in a fixed order; all share
	// one Dtype and have distinct names.
	Params() []*Param
	// Input returns the shape of one example (e.g. [d]).
	Input() []int
	// Forward adds the model to s for the inputs x, of shape
	// (batch, Input()...), and returns the outputs: shape (batch) for a
	// scalar-output model, (batch, k) for k outputs.
	Forward(s *Scope, x *Node) *Node
}

// Scope is the graph a model is being built into. Building blocks record
// the first error they meet and return nil afterwards, so an architecture
// reads as straight-line code; Compile reports that error.
type Scope struct {
	g        *gorgonia.ExprGraph
	dtype    Dtype
	params   map[*Param]*Node
	features []feature // in the order the model tagged them
	mode     Mode      // how batch normalisation normalises
	// firstOrder is set for graphs differentiated at most once, whose
	// batch normalisation may use the fused operation (bnOp).
	firstOrder bool
	bns        []bnStat // the batch-norm layers of a train-mode graph
	err        error
}

func newScope(dt Dtype) *Scope {
	return &Scope{g: gorgonia.NewGraph(), dtype: dt, params: make(map[*Param]*Node)}
}

// Feature tags n, of shape (batch, width), as the feature map called
// name — a representation the model exposes, such as the post-ReLU
// activations "1" of its first hidden layer — and returns n. A compiled
// Program then reads it (Program.Feature), so analysis can measure any
// named layer of any model without a second model. Names must be
// non-empty and distinct.
func (s *Scope) Feature(name string, n *Node) *Node {
	if s.failed(n) {
		return nil
	}
	if name == "" || slices.ContainsFunc(s.features, func(f feature) bool { return f.name == name }) {
		s.err = fmt.Errorf("graph: feature map name %q is empty or used twice", name)
		return nil
	}
	if len(n.Shape()) != 2 {
		s.err = fmt.Errorf("graph: feature map %q has shape %v, want (batch, width)", name, n.Shape())
		return nil
	}
	s.features = append(s.features, feature{name, n})
	return n
}

// feature is a node tagged by Scope.Feature.
type feature struct {
	name string
	node *Node
}

// Graph returns the underlying Gorgonia graph.
func (s *Scope) Graph() *gorgonia.ExprGraph { return s.g }

// Dtype returns the floating-point type of the graph.
func (s *Scope) Dtype() Dtype { return s.dtype }

// Err returns the first error met while building, or nil.
func (s *Scope) Err() error { return s.err }

// Must returns n, or records err and returns nil. It lets any Gorgonia
// operation be used as a building block:
//
//	h := s.Must(gorgonia.Tanh(x))
func (s *Scope) Must(n *Node, err error) *Node {
	if s.err != nil {
		return nil
	}
	if err != nil {
		s.err = err
		return nil
	}
	return n
}

// failed reports whether the scope has already failed or any of the nodes
// is missing (recording that as the error), so blocks can return early.
func (s *Scope) failed(ns ...*Node) bool {
	if s.err != nil {
		return true
	}
	for _, n := range ns {
		if n == nil {
			s.err = fmt.Errorf("graph: nil node given to a building block")
			return true
		}
	}
	return false
}

// Param returns the graph node of p, bound to p's storage.
func (s *Scope) Param(p *Param) *Node {
	if n, ok := s.params[p]; ok {
		return n
	}
	if s.err != nil {
		return nil
	}
	if p.Dtype() != s.dtype {
		s.err = fmt.Errorf("graph: parameter %q is %v, the graph is %v", p.name, p.Dtype(), s.dtype)
		return nil
	}
	n := gorgonia.NewTensor(s.g, s.dtype, len(p.shape), gorgonia.WithShape(p.shape...),
		gorgonia.WithName(p.name), gorgonia.WithValue(p.value))
	s.params[p] = n
	return n
}

// input adds a named input of the given shape, bound to a zero tensor.
func (s *Scope) input(name string, shape []int) *Node {
	t := tensor.New(tensor.Of(s.dtype), tensor.WithShape(shape...))
	return gorgonia.NewTensor(s.g, s.dtype, len(shape), gorgonia.WithShape(shape...),
		gorgonia.WithName(name), gorgonia.WithValue(t))
}

// Dense returns x·W + b for x of shape (batch, in), W of shape (in, out)
// and b of shape (out); b may be nil. The result has shape (batch, out).
func (s *Scope) Dense(x *Node, w, b *Param) *Node {
	if s.failed(x) {
		return nil
	}
	y := s.Must(gorgonia.Mul(x, s.Param(w)))
	if b == nil || y == nil {
		return y
	}
	return s.Must(gorgonia.BroadcastAdd(y, s.Param(b), nil, []byte{0}))
}

// Hadamard returns the element-wise product a⊙b of two nodes of one shape.
func (s *Scope) Hadamard(a, b *Node) *Node {
	if s.failed(a, b) {
		return nil
	}
	return s.Must(gorgonia.HadamardProd(a, b))
}

// ReLU returns max(x, 0) element-wise, an operation of this package
// whose gradient takes one pass (reluOp). Its derivative at 0 is 0 on
// (batch, c, h, w) activations and 1 on others, as Gorgonia's Rectify
// has it, with which the MLPs' stored results were computed.
func (s *Scope) ReLU(x *Node) *Node {
	if s.failed(x) {
		return nil
	}
	if x.Dims() == 4 {
		return s.Must(gorgonia.ApplyOp(newRelu(false, false, 4), x))
	}
	return s.Must(gorgonia.ApplyOp(newRelu(false, true, x.Dims()), x))
}

// MatVec returns x·v for x of shape (batch, d) and a vector v of shape (d):
// the outputs of a linear predictor, shape (batch). x must not be a
// parameter (Gorgonia's gradient of a matrix-vector product with respect to
// the matrix is wrong; use Dense with an (in, 1) weight for that).
func (s *Scope) MatVec(x, v *Node) *Node {
	if s.failed(x, v) {
		return nil
	}
	return s.Must(gorgonia.Mul(x, v))
}

// Flat reshapes the (batch, 1) output of a Dense layer to shape (batch);
// with k > 1 it leaves a (batch, k) output as it is.
func (s *Scope) Flat(x *Node, k int) *Node {
	if s.failed(x) || k > 1 {
		return x
	}
	return s.Must(gorgonia.Reshape(x, tensor.Shape{x.Shape()[0]}))
}
