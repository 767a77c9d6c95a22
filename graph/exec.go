package graph

import (
	"fmt"

	"gorgonia.org/gorgonia"
)

// executor runs the nodes a program needs, in topological order, calling
// each operation directly. Gorgonia's TapeMachine does the same work but
// hands every run to a locked OS thread, which costs more than a whole SGD
// step of the paper's small models.
type executor struct {
	steps []step
	vals  []gorgonia.Value // by position in the order; inputs and constants are fixed
	index map[int64]int    // node ID → position
}

type step struct {
	op   gorgonia.Op
	in   []int
	out  int
	args []gorgonia.Value // reused argument buffer
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
		switch {
		case n.Op() == nil:
			if n.Value() == nil {
				return nil, fmt.Errorf("graph: input %q has no value", n.Name())
			}
			e.vals[pos] = n.Value()
		case len(children(g, n)) == 0:
			v, err := n.Op().Do()
			if err != nil {
				return nil, fmt.Errorf("graph: constant %q: %w", n.Name(), err)
			}
			e.vals[pos] = v
		default:
			cs := children(g, n)
			s := step{op: n.Op(), out: pos, in: make([]int, len(cs)), args: make([]gorgonia.Value, len(cs))}
			for j, c := range cs {
				s.in[j] = e.index[c.ID()]
			}
			e.steps = append(e.steps, s)
		}
	}
	return e, nil
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
	for i := range e.steps {
		s := &e.steps[i]
		for j, k := range s.in {
			s.args[j] = e.vals[k]
		}
		v, err := s.op.Do(s.args...)
		if err != nil {
			return fmt.Errorf("graph: running %v: %w", s.op, err)
		}
		e.vals[s.out] = v
	}
	return nil
}

// value returns the current value of n, which must be one of the targets
// or their ancestors.
func (e *executor) value(n *Node) gorgonia.Value { return e.vals[e.index[n.ID()]] }
