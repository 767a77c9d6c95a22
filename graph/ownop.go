package graph

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ownOp is an operation of this package on float tensors whose result is
// computed by one function of the operands' memory, the same in
// Gorgonia's machines (Do) and in the executor (a native kernel), so
// the two are bit-identical by construction. The convolution, pooling
// and layout operations are ownOps.
type ownOp interface {
	gorgonia.Op
	// outShape returns the output shape for operands of shapes in.
	outShape(in ...tensor.Shape) (tensor.Shape, error)
	// compute writes the result into out ([]float64 or []float32) from
	// the operands in (of the same type, row-major). It must not
	// allocate: the executor calls it at every step.
	compute(out any, in []any)
}

// opBase holds what every ownOp shares: its name (with its parameters,
// for String and the hash), its arity and the ranks of its operands and
// result.
type opBase struct {
	name    string
	inDims  []int
	outDims int
}

func (b opBase) Arity() int { return len(b.inDims) }

// Type is a function of tensors of the operand ranks to a tensor of the
// result's rank, all of one element type.
func (b opBase) Type() hm.Type {
	a := hm.TypeVariable('a')
	ts := make([]hm.Type, 0, len(b.inDims)+1)
	for _, d := range b.inDims {
		ts = append(ts, gorgonia.TensorType{Dims: d, Of: a})
	}
	ts = append(ts, gorgonia.TensorType{Dims: b.outDims, Of: a})
	return hm.NewFnType(ts...)
}

func (b opBase) ReturnsPtr() bool     { return false }
func (b opBase) CallsExtern() bool    { return false }
func (b opBase) OverwritesInput() int { return -1 }
func (b opBase) String() string       { return b.name }

func (b opBase) WriteHash(h hash.Hash) {
	h.Write([]byte("sgdlab."))
	h.Write([]byte(b.name))
}

func (b opBase) Hashcode() uint32 {
	h := fnv.New32a()
	b.WriteHash(h)
	return h.Sum32()
}

// shapesOf returns the shapes of InferShape's operands.
func shapesOf(op gorgonia.Op, ds []gorgonia.DimSizer) ([]tensor.Shape, error) {
	if len(ds) != op.Arity() {
		return nil, fmt.Errorf("%v: %d operands, want %d", op, len(ds), op.Arity())
	}
	sh := make([]tensor.Shape, len(ds))
	for i, d := range ds {
		s, ok := d.(tensor.Shape)
		if !ok {
			return nil, fmt.Errorf("%v: operand %d has no shape", op, i)
		}
		sh[i] = s
	}
	return sh, nil
}

// inferShape implements InferShape for an ownOp.
func inferShape(op ownOp, ds []gorgonia.DimSizer) (tensor.Shape, error) {
	sh, err := shapesOf(op, ds)
	if err != nil {
		return nil, err
	}
	return op.outShape(sh...)
}

// doOwn implements Do for an ownOp: it allocates the result and runs
// compute on the operands' memory.
func doOwn(op ownOp, vs []gorgonia.Value) (gorgonia.Value, error) {
	if len(vs) != op.Arity() {
		return nil, fmt.Errorf("%v: %d operands, want %d", op, len(vs), op.Arity())
	}
	shapes := make([]tensor.Shape, len(vs))
	for i, v := range vs {
		shapes[i] = v.Shape()
	}
	sh, err := op.outShape(shapes...)
	if err != nil {
		return nil, err
	}
	switch vs[0].Dtype() {
	case tensor.Float64:
		return doOwnT[float64](op, sh, vs)
	case tensor.Float32:
		return doOwnT[float32](op, sh, vs)
	}
	return nil, fmt.Errorf("%v: unsupported type %v", op, vs[0].Dtype())
}

func doOwnT[T float](op ownOp, sh tensor.Shape, vs []gorgonia.Value) (gorgonia.Value, error) {
	in := make([]any, len(vs))
	for i, v := range vs {
		_, d, ok := memOf[T](v)
		if !ok {
			if t, isDense := v.(*tensor.Dense); isDense && t.IsMaterializable() {
				_, d, ok = memOf[T](t.Materialize())
			}
		}
		if !ok {
			return nil, fmt.Errorf("%v: operand %d is a %T of shape %v", op, i, v, v.Shape())
		}
		in[i] = d
	}
	out, _, o := newOut[T](sh)
	op.compute(o, in)
	return out, nil
}

// ownKernel returns the executor's kernel for an ownOp: compute on the
// fixed memory of the operands, into a fixed output. The interfaces are
// boxed once, here, so a run allocates nothing.
func ownKernel[T float](op ownOp, sh tensor.Shape, ops []operand[T]) (gorgonia.Value, func(), bool) {
	shapes := make([]tensor.Shape, len(ops))
	in := make([]any, len(ops))
	for i, o := range ops {
		if o.s != nil {
			return nil, nil, false
		}
		shapes[i] = o.shape
		in[i] = o.d
	}
	want, err := op.outShape(shapes...)
	if err != nil || !want.Eq(sh) {
		return nil, nil, false
	}
	v, _, o := newOut[T](sh)
	if o == nil {
		return nil, nil, false
	}
	var out any = o
	return v, func() { op.compute(out, in) }, true
}
