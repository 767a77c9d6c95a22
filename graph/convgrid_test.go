package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// TestGridMatchesUnfolding runs each convolution operation on grids and
// unfolded, in both precisions, on geometries of every padding, window
// and group split: the convolution and its filter gradient sum the same
// products in the same order, so they agree to the bit; the data
// gradient on a grid is the adjoint convolution, a different order, so
// it agrees to rounding.
func TestGridMatchesUnfolding(t *testing.T) {
	defer func(c int, w float64) { convChunk, maxGridWaste = c, w }(convChunk, maxGridWaste)
	r := rand.New(rand.NewPCG(31, 32))
	for _, gc := range []struct{ b, c, h, w, k, p, cout int }{
		{3, 8, 12, 12, 3, 1, 16}, {2, 5, 9, 14, 3, 0, 24}, {2, 6, 11, 10, 5, 2, 16},
		{4, 16, 8, 8, 1, 0, 32}, {2, 4, 13, 7, 5, 1, 20}, {3, 9, 10, 10, 2, 1, 8},
	} {
		g, err := newWindow(tensor.Shape{gc.b, gc.c, gc.h, gc.w}, gc.k, 1, gc.p)
		if err != nil {
			t.Fatal(err)
		}
		for _, chunk := range []int{4096, 150} {
			convChunk = chunk
			name := fmt.Sprintf("%v_to_%d_chunk%d", g, gc.cout, chunk)
			x := randVec(r, gc.b*gc.c*gc.h*gc.w)
			w := randVec(r, gc.cout*gc.c*gc.k*gc.k)
			y := randVec(r, gc.b*gc.cout*g.oh*g.ow)
			t.Run(name+"/float64", func(t *testing.T) { compareGrid(t, g, gc.cout, x, w, y) })
			t.Run(name+"/float32", func(t *testing.T) {
				compareGrid(t, g, gc.cout, toF32(x), toF32(w), toF32(y))
			})
		}
	}
}

func toF32(v []float64) []float32 {
	s := make([]float32, len(v))
	for i, x := range v {
		s[i] = float32(x)
	}
	return s
}

func compareGrid[T float](t *testing.T, g window, cout int, x, w, y []T) {
	for _, tc := range []struct {
		kind  convKind
		a, b  []T
		exact bool
	}{
		{convFwd, x, w, true},
		{convFilter, y, x, true},
		{convData, y, w, false},
	} {
		op := newConvOp(tc.kind, g, cout)
		run := func(waste float64) []T {
			maxGridWaste = waste
			out := make([]T, outLen(op))
			op.compute(out, []any{tc.a, tc.b})
			return out
		}
		unfolded, onGrid := run(0), run(math.Inf(1))
		if _, ok := newGrid(g); !ok && tc.kind != convData {
			t.Fatalf("%v: no grid", g)
		}
		var scale float64
		for _, v := range unfolded {
			scale = max(scale, math.Abs(float64(v)))
		}
		tol := 1e-13
		if _, ok := any(x).([]float32); ok {
			tol = 1e-5
		}
		for i := range unfolded {
			if tc.exact && onGrid[i] != unfolded[i] {
				t.Fatalf("%s: element %d is %v on a grid, %v unfolded", convNames[tc.kind], i, onGrid[i], unfolded[i])
			}
			if d := math.Abs(float64(onGrid[i] - unfolded[i])); d > tol*scale {
				t.Fatalf("%s: element %d is %v on a grid, %v unfolded", convNames[tc.kind], i, onGrid[i], unfolded[i])
			}
		}
	}
}

// outLen is the number of values of op's result.
func outLen(op convOp) int {
	switch op.kind {
	case convFwd:
		return op.yShape().TotalSize()
	case convData:
		return op.g.inShape().TotalSize()
	}
	return op.cout * op.ckk()
}
