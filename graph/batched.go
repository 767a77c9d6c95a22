package graph

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"gonum.org/v1/gonum/blas"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// batchedMatVec is the matrix-vector product of every member of an
// ensemble with its own vector. For x of shape (K, B, d):
//
//	v of shape (K, d):  out[k] = x[k]·v[k],  shape (K, B)
//	g of shape (K, B):  out[k] = x[k]ᵀ·g[k], shape (K, d)  (trans)
//
// Each member's product is one Dgemv call with exactly the arguments that
// tensor's MatVecMul passes for a single run's x[k]·v[k] or x[k]ᵀ·g[k], so
// every member's result is bit-identical to that of a separate program.
// Gorgonia's BatchedMatMul would not be: it computes each member with
// Dgemm, whose sum over d runs in another order than Dgemv's.
type batchedMatVec struct{ trans bool }

// BatchedMatVec returns, for x of shape (K, batch, d) and v of shape (K, d),
// the K matrix-vector products x[k]·v[k]: shape (K, batch). It is MatVec
// with a leading run dimension, for ensembles of K members, and as with
// MatVec x must not depend on a parameter (its gradient with respect to x
// is not defined).
func (s *Scope) BatchedMatVec(x, v *Node) *Node {
	if s.failed(x, v) {
		return nil
	}
	return s.Must(gorgonia.ApplyOp(batchedMatVec{}, x, v))
}

func (op batchedMatVec) Arity() int { return 2 }

// Type is Tensor-3 a → Matrix a → Matrix a in both directions.
func (op batchedMatVec) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(gorgonia.TensorType{Dims: 3, Of: a}, gorgonia.TensorType{Dims: 2, Of: a}, gorgonia.TensorType{Dims: 2, Of: a})
}

func (op batchedMatVec) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(ds) != 2 {
		return nil, fmt.Errorf("%v: %d operands, want 2", op, len(ds))
	}
	x, ok1 := ds[0].(tensor.Shape)
	v, ok2 := ds[1].(tensor.Shape)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%v: operands without shapes", op)
	}
	return op.shape(x, v)
}

// shape returns the output shape for operands of shapes x and v.
func (op batchedMatVec) shape(x, v tensor.Shape) (tensor.Shape, error) {
	if x.Dims() != 3 || v.Dims() != 2 || v[0] != x[0] {
		return nil, fmt.Errorf("%v: shapes %v and %v, want (K, batch, d) and (K, %s)", op, x, v, op.inner())
	}
	k, b, d := x[0], x[1], x[2]
	if op.trans {
		if v[1] != b {
			return nil, fmt.Errorf("%v: shapes %v and %v, want (K, batch, d) and (K, batch)", op, x, v)
		}
		return tensor.Shape{k, d}, nil
	}
	if v[1] != d {
		return nil, fmt.Errorf("%v: shapes %v and %v, want (K, batch, d) and (K, d)", op, x, v)
	}
	return tensor.Shape{k, b}, nil
}

func (op batchedMatVec) inner() string {
	if op.trans {
		return "batch"
	}
	return "d"
}

// Do computes the products for Gorgonia's own machines (and the
// TapeMachine check); the executor runs batchedKernel instead.
func (op batchedMatVec) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vs) != 2 {
		return nil, fmt.Errorf("%v: %d operands, want 2", op, len(vs))
	}
	sh, err := op.shape(vs[0].Shape(), vs[1].Shape())
	if err != nil {
		return nil, err
	}
	switch vs[0].Dtype() {
	case tensor.Float64:
		return doBatched[float64](op, sh, vs)
	case tensor.Float32:
		return doBatched[float32](op, sh, vs)
	}
	return nil, fmt.Errorf("%v: unsupported type %v", op, vs[0].Dtype())
}

func doBatched[T float](op batchedMatVec, sh tensor.Shape, vs []gorgonia.Value) (gorgonia.Value, error) {
	ops := make([]operand[T], 2)
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
		ops[i] = operand[T]{d: d, shape: v.Shape()}
	}
	out, run, ok := batchedKernel(op, sh, ops)
	if !ok {
		return nil, fmt.Errorf("%v: cannot multiply shapes %v and %v", op, ops[0].shape, ops[1].shape)
	}
	run()
	return out, nil
}

// batchedKernel returns the output of op for the operands ops and the
// kernel that computes it: K calls of Dgemv, one per member, each as the
// gemv kernel of a single run's MatVec (or its transpose).
func batchedKernel[T float](op batchedMatVec, sh tensor.Shape, ops []operand[T]) (gorgonia.Value, func(), bool) {
	if len(ops) != 2 || ops[0].s != nil || ops[1].s != nil {
		return nil, nil, false
	}
	want, err := op.shape(ops[0].shape, ops[1].shape)
	if err != nil || !want.Eq(sh) {
		return nil, nil, false
	}
	k, b, d := ops[0].shape[0], ops[0].shape[1], ops[0].shape[2]
	x, v := ops[0].d, ops[1].d
	out, _, o := newOut[T](sh)
	tA, vLen, oLen := blas.NoTrans, d, b
	if op.trans {
		tA, vLen, oLen = blas.Trans, b, d
	}
	if len(x) != k*b*d || len(v) != k*vLen || len(o) != k*oLen {
		return nil, nil, false
	}
	// One closure per member, built once: the type switch in gemv would
	// otherwise run at every step.
	runs := make([]func(), k)
	for m := range runs {
		runs[m] = gemv(tA, b, d, x[m*b*d:(m+1)*b*d], v[m*vLen:(m+1)*vLen], o[m*oLen:(m+1)*oLen])
	}
	return out, func() {
		for _, r := range runs {
			r()
		}
	}, true
}

// DiffWRT: x is data (see BatchedMatVec); only the vector operand is
// differentiable.
func (op batchedMatVec) DiffWRT(inputs int) []bool { return []bool{false, true} }

// SymDiff returns the gradient with respect to the vector operand: for
// out[k] = x[k]·v[k] it is x[k]ᵀ·grad[k], for out[k] = x[k]ᵀ·g[k] it is
// x[k]·grad[k] — the other direction of the same operation, as Gorgonia
// differentiates a single matrix-vector product.
func (op batchedMatVec) SymDiff(inputs gorgonia.Nodes, output, grad *Node) (gorgonia.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("%v: %d operands, want 2", op, len(inputs))
	}
	g, err := gorgonia.ApplyOp(batchedMatVec{trans: !op.trans}, inputs[0], grad)
	if err != nil {
		return nil, fmt.Errorf("%v: gradient: %w", op, err)
	}
	return gorgonia.Nodes{nil, g}, nil
}

func (op batchedMatVec) ReturnsPtr() bool     { return false }
func (op batchedMatVec) CallsExtern() bool    { return false }
func (op batchedMatVec) OverwritesInput() int { return -1 }

func (op batchedMatVec) WriteHash(h hash.Hash) {
	h.Write([]byte("sgdlab.batchedMatVec"))
	if op.trans {
		h.Write([]byte{1})
	} else {
		h.Write([]byte{0})
	}
}

func (op batchedMatVec) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func (op batchedMatVec) String() string {
	if op.trans {
		return "A[k]ᵀ × b[k]"
	}
	return "A[k] × b[k]"
}
