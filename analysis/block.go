package analysis

import (
	"fmt"
	"slices"

	"sgdlab/graph"
)

// Block is a diagonal block of a symmetric operator: H restricted to the
// coordinates of some parameters (a layer, a residual block), H_BB =
// P·H·Pᵀ with P the selection of those coordinates. Its eigenvalues and
// trace are the curvature of the loss in those parameters alone, the rest
// held fixed. Each Apply costs one Apply of H on the full space.
type Block struct {
	op     Operator
	ranges [][2]int // half-open coordinate ranges of the full space, in order
	dim    int
	v, hv  []float64
}

// NewBlock returns the block of op on the parameters of m called names
// (graph.Param.Name), in the order of m.Params, for an op on m's
// parameters flattened in that order (such as graph.HVP). Unknown or
// repeated names are errors that list the valid ones.
func NewBlock(op Operator, m graph.Model, names ...string) (*Block, error) {
	ps := m.Params()
	n := 0
	for _, p := range ps {
		n += p.Len()
	}
	if op.Dim() != n {
		return nil, fmt.Errorf("analysis: block: operator of dimension %d on a model of %d parameters", op.Dim(), n)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("analysis: block: no parameters named")
	}
	all := make([]string, len(ps))
	for i, p := range ps {
		all[i] = p.Name()
	}
	for i, name := range names {
		if !slices.Contains(all, name) {
			return nil, fmt.Errorf("analysis: block: the model has no parameter %q (it has %v)", name, all)
		}
		if slices.Contains(names[:i], name) {
			return nil, fmt.Errorf("analysis: block: parameter %q named twice", name)
		}
	}
	b := &Block{op: op, v: make([]float64, n), hv: make([]float64, n)}
	off := 0
	for _, p := range ps {
		if slices.Contains(names, p.Name()) {
			b.ranges = append(b.ranges, [2]int{off, off + p.Len()})
			b.dim += p.Len()
		}
		off += p.Len()
	}
	return b, nil
}

// Dim returns the number of coordinates in the block.
func (b *Block) Dim() int { return b.dim }

// Apply sets dst = H_BB·v. It allocates nothing.
func (b *Block) Apply(dst, v []float64) error {
	if len(dst) != b.dim || len(v) != b.dim {
		return fmt.Errorf("analysis: Block.Apply: len(dst) = %d, len(v) = %d, want both = Dim = %d", len(dst), len(v), b.dim)
	}
	clear(b.v)
	k := 0
	for _, r := range b.ranges {
		k += copy(b.v[r[0]:r[1]], v[k:])
	}
	if err := b.op.Apply(b.hv, b.v); err != nil {
		return err
	}
	k = 0
	for _, r := range b.ranges {
		k += copy(dst[k:], b.hv[r[0]:r[1]])
	}
	return nil
}
