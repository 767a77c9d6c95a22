package analysis_test

import (
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"sgdlab/analysis"
	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/models"
)

// TestBlockMatchesAssembledHessian checks that the top eigenvalue and the
// trace of each parameter block of a two-layer ReLU net and of an MLP
// layer equal those of the corresponding diagonal block of the Hessian
// assembled from HVPs on the basis vectors.
func TestBlockMatchesAssembledHessian(t *testing.T) {
	tl := models.NewTwoLayer(graph.Float64, 3, 6)
	tl.InitScaled(0.8, data.NewNumpyRand(1))
	a := make([]float64, 6)
	data.NewNumpyRand(2).Normals(a)
	tl.A.Set(a)
	mlp := models.NewMLP(graph.Float64, true, 3, 5, 4, 1)
	mlp.InitUniform(data.NewNumpyRand(3))
	for _, tc := range []struct {
		name   string
		m      graph.Model
		blocks [][]string
	}{
		{"two-layer", tl, [][]string{{"w"}, {"a"}, {"a", "w"}}},
		{"mlp", mlp, [][]string{{"w2", "b2"}, {"w1"}, {"w3", "b3"}}},
	} {
		const n = 9
		x, y := make([]float64, n*3), make([]float64, n)
		r := data.NewNumpyRand(4)
		r.Normals(x)
		r.Normals(y)
		h, err := graph.CompileHVP(tc.m, graph.MSE, n)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.SetData(x, y); err != nil {
			t.Fatal(err)
		}
		full := assemble(t, h)
		for _, names := range tc.blocks {
			b, err := analysis.NewBlock(h, tc.m, names...)
			if err != nil {
				t.Fatal(err)
			}
			// The block's coordinates, in the order of Params.
			var idx []int
			off := 0
			for _, p := range tc.m.Params() {
				for _, nm := range names {
					if p.Name() == nm {
						for k := 0; k < p.Len(); k++ {
							idx = append(idx, off+k)
						}
					}
				}
				off += p.Len()
			}
			sub := mat.NewSymDense(len(idx), nil)
			trace := 0.0
			for i, p := range idx {
				for j, q := range idx {
					sub.SetSym(i, j, (full.At(p, q)+full.At(q, p))/2)
				}
				trace += full.At(p, p)
			}
			var es mat.EigenSym
			if !es.Factorize(sub, false) {
				t.Fatal("EigenSym failed")
			}
			vals := es.Values(nil)
			want := vals[len(vals)-1]
			got, err := analysis.TopEigen(b, 1, analysis.LanczosOptions{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if d := math.Abs(got.Values[0] - want); d > 1e-10*math.Max(1, math.Abs(want)) {
				t.Errorf("%s block %v: λ_max %v, assembled block %v (diff %.3g)", tc.name, names, got.Values[0], want, d)
			}
			// Hutch++ with as many matvecs as the block's dimension is
			// exact up to rounding.
			tr, err := analysis.HutchPP(b, 3*b.Dim(), 1)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(tr-trace) > 1e-8*math.Max(1, math.Abs(trace)) {
				t.Errorf("%s block %v: trace %v, assembled %v", tc.name, names, tr, trace)
			}
		}
	}
	h, _ := graph.CompileHVP(tl, graph.MSE, 2)
	for _, names := range [][]string{{"v"}, {"w", "w"}, nil} {
		if _, err := analysis.NewBlock(h, tl, names...); err == nil {
			t.Errorf("block %v: no error", names)
		} else if len(names) == 1 && !strings.Contains(err.Error(), `no parameter "v" (it has [w a])`) {
			t.Errorf("block %v: %v", names, err)
		}
	}
}

// assemble returns the n×n matrix of op, column j = op·e_j.
func assemble(t *testing.T, op analysis.Operator) *mat.Dense {
	n := op.Dim()
	out := mat.NewDense(n, n, nil)
	e, col := make([]float64, n), make([]float64, n)
	for j := 0; j < n; j++ {
		clear(e)
		e[j] = 1
		if err := op.Apply(col, e); err != nil {
			t.Fatal(err)
		}
		out.SetCol(j, col)
	}
	return out
}
