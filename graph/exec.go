package graph

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// executor runs the nodes a program needs, in topological order, without
// allocating once it is built. Gorgonia's TapeMachine does the same work
// but hands every run to a locked OS thread and, after its Reset,
// allocates every intermediate value again; both cost more than a whole
// SGD step of the paper's small models.
//
// Every computed node owns an output buffer allocated here, never shared
// with another node, so no operation ever writes into one of its own
// inputs. The operations of the programs sgdlab compiles (element-wise
// arithmetic, the unary maps of the losses and activations, sums and
// maxima along an axis, reshapes, broadcasting repeats and BLAS products)
// run as native kernels that reproduce Gorgonia's arithmetic operation by
// operation, so results are bit-identical to the TapeMachine's. Any other
// operation runs through Gorgonia itself: UsePreallocDo into the node's
// buffer where the operation supports it, otherwise Op.Do, which
// allocates its result on every run (see fallbacks).
type executor struct {
	steps []func() error
	vals  []gorgonia.Value // by position in the order; inputs and constants are fixed
	// fixed marks positions whose Value, and the memory behind it, stays
	// the same across runs: inputs, constants and native outputs. Native
	// kernels read their operands' memory directly, so they need fixed
	// operands.
	fixed []bool
	index map[int64]int // node ID → position
	// fallbacks names the operations that run through Gorgonia's generic
	// path, one entry per node, for diagnostics.
	fallbacks []string
}

// newExecutor prepares the evaluation of targets in g.
func newExecutor(g *gorgonia.ExprGraph, targets []*Node) (*executor, error) {
	need := make(map[int64]bool)
	var mark func(n *Node)
	mark = func(n *Node) {
		if need[n.ID()] {
			return
		}
		need[n.ID()] = true
		for _, c := range children(g, n) {
			mark(c)
		}
	}
	for _, t := range targets {
		mark(t)
	}
	sorted, err := gorgonia.Sort(g)
	if err != nil {
		return nil, fmt.Errorf("graph: sorting the graph: %w", err)
	}
	e := &executor{index: make(map[int64]int)}
	for i := len(sorted) - 1; i >= 0; i-- {
		n := sorted[i]
		if !need[n.ID()] {
			continue
		}
		pos := len(e.vals)
		e.index[n.ID()] = pos
		e.vals = append(e.vals, nil)
		e.fixed = append(e.fixed, true)
		cs := children(g, n)
		switch {
		case n.Op() == nil:
			if n.Value() == nil {
				return nil, fmt.Errorf("graph: input %q has no value", n.Name())
			}
			e.vals[pos] = n.Value()
		case len(cs) == 0:
			v, err := n.Op().Do()
			if err != nil {
				return nil, fmt.Errorf("graph: constant %q: %w", n.Name(), err)
			}
			e.vals[pos] = v
		default:
			in := make([]int, len(cs))
			for j, c := range cs {
				in[j] = e.index[c.ID()]
			}
			if err := e.add(n, cs, in, pos); err != nil {
				return nil, err
			}
		}
	}
	return e, nil
}

// add plans the evaluation of the computed node n at position pos whose
// operands cs sit at positions in.
func (e *executor) add(n *Node, cs []*Node, in []int, pos int) error {
	if v, ok := sizeOf(n, cs); ok {
		e.vals[pos] = v
		return nil
	}
	allFixed := true
	for _, k := range in {
		allFixed = allFixed && e.fixed[k]
	}
	if allFixed {
		var v gorgonia.Value
		var run func() error
		var ok bool
		switch n.Dtype() {
		case tensor.Float64:
			v, run, ok = native[float64](e, n, cs, in)
		case tensor.Float32:
			v, run, ok = native[float32](e, n, cs, in)
		}
		if ok {
			e.vals[pos] = v
			if run != nil {
				e.steps = append(e.steps, run)
			}
			return nil
		}
	}
	e.generic(n, in, pos)
	return nil
}

// generic runs n through Gorgonia: UsePreallocDo into n's output buffer
// when the operation supports it (falling back to Do if it refuses that
// buffer), Op.Do otherwise. Op.Do allocates its result on every run; for
// float nodes the result is copied into the node's own buffer, so the
// value stays fixed and the operations downstream keep their native
// kernels. Among the operations of sgdlab's blocks and losses none takes
// this path; others (sqrt, cube, slices, concatenations, convolutions, …)
// do, and then cost Gorgonia's allocations.
func (e *executor) generic(n *Node, in []int, pos int) {
	op := n.Op()
	e.fallbacks = append(e.fallbacks, fmt.Sprintf("%T %v", op, op))
	args := make([]gorgonia.Value, len(in))
	var out gorgonia.Value
	var keep func(v gorgonia.Value) error
	switch n.Dtype() {
	case tensor.Float64:
		out, keep = keeper[float64](n.Shape())
	case tensor.Float32:
		out, keep = keeper[float32](n.Shape())
	default:
		e.fixed[pos] = false
	}
	pd, canPrealloc := op.(gorgonia.UsePreallocDoer)
	canPrealloc = canPrealloc && out != nil && !n.Shape().IsScalar()
	if out != nil {
		e.vals[pos] = out
	}
	e.steps = append(e.steps, func() error {
		for j, k := range in {
			args[j] = e.vals[k]
		}
		var v gorgonia.Value
		var err error
		if canPrealloc {
			if v, err = pd.UsePreallocDo(out, args...); err == nil && v == out {
				return nil
			}
		}
		if v, err = op.Do(args...); err != nil {
			return fmt.Errorf("graph: running %v: %w", op, err)
		}
		if keep == nil {
			e.vals[pos] = v
			return nil
		}
		if err := keep(v); err != nil {
			return fmt.Errorf("graph: result of %v: %w", op, err)
		}
		return nil
	})
}

// keeper allocates the fixed output of a generic node of shape sh and
// returns the function that copies a result of Gorgonia's into it.
func keeper[T float](sh tensor.Shape) (gorgonia.Value, func(gorgonia.Value) error) {
	out, os, o := newOut[T](sh)
	return out, func(v gorgonia.Value) error {
		s, d, ok := memOf[T](v)
		if !ok {
			if t, isDense := v.(*tensor.Dense); isDense && t.IsMaterializable() {
				s, d, ok = memOf[T](t.Materialize())
			}
		}
		switch {
		case !ok:
			return fmt.Errorf("unexpected value %T of shape %v", v, v.Shape())
		case os != nil && s != nil:
			*os = *s
		case os != nil && len(d) == 1:
			*os = d[0]
		case o != nil && s != nil && len(o) == 1:
			o[0] = *s
		case o != nil && len(d) == len(o):
			copy(o, d)
		default:
			return fmt.Errorf("value of shape %v for a node of shape %v", v.Shape(), sh)
		}
		return nil
	}
}

// sizeOf evaluates Gorgonia's SizeOf nodes once: their value depends only
// on the static shape of their operand.
func sizeOf(n *Node, cs []*Node) (gorgonia.Value, bool) {
	if fmt.Sprintf("%T", n.Op()) != "gorgonia.sizeOp" || len(cs) != 1 {
		return nil, false
	}
	c := cs[0]
	var dummy gorgonia.Value
	switch {
	case c.Shape().IsScalar():
		return nil, false
	case c.Dtype() == tensor.Float64 || c.Dtype() == tensor.Float32:
		dummy = tensor.New(tensor.Of(c.Dtype()), tensor.WithShape(c.Shape().Clone()...))
	default:
		return nil, false
	}
	v, err := n.Op().Do(dummy)
	if err != nil {
		return nil, false
	}
	return v, true
}

// children returns the operands of n in order.
func children(g *gorgonia.ExprGraph, n *Node) []*Node {
	var cs []*Node
	for it := g.From(n.ID()); it.Next(); {
		cs = append(cs, it.Node().(*Node))
	}
	return cs
}

// run evaluates every step once.
func (e *executor) run() error {
	for _, s := range e.steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

// value returns the current value of n, which must be one of the targets
// or their ancestors.
func (e *executor) value(n *Node) gorgonia.Value { return e.vals[e.index[n.ID()]] }

// float64s returns the memory behind the value of n if it is a fixed
// float64 tensor, so callers can keep it across runs; nil otherwise.
func (e *executor) float64s(n *Node) []float64 {
	pos, ok := e.index[n.ID()]
	if !ok || !e.fixed[pos] {
		return nil
	}
	_, d, ok := memOf[float64](e.vals[pos])
	if !ok {
		return nil
	}
	return d
}

// float32s is float64s for float32 tensors.
func (e *executor) float32s(n *Node) []float32 {
	pos, ok := e.index[n.ID()]
	if !ok || !e.fixed[pos] {
		return nil
	}
	_, d, ok := memOf[float32](e.vals[pos])
	if !ok {
		return nil
	}
	return d
}
