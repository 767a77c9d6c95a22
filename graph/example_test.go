package graph_test

import (
	"fmt"

	"gorgonia.org/gorgonia"

	"sgdlab/graph"
)

// mlp is a two-layer tanh network written from the building blocks:
// h(x) = tanh(x·W1 + b1)·w2.
type mlp struct{ w1, b1, w2 *graph.Param }

func (m mlp) Params() []*graph.Param { return []*graph.Param{m.w1, m.b1, m.w2} }
func (m mlp) Input() []int           { return []int{2} }
func (m mlp) Forward(s *graph.Scope, x *graph.Node) *graph.Node {
	h := s.Must(gorgonia.Tanh(s.Dense(x, m.w1, m.b1)))
	return s.Flat(s.Dense(h, m.w2, nil), 1)
}

func ExampleCompile() {
	m := mlp{graph.NewParam("w1", graph.Float64, 2, 3), graph.NewParam("b1", graph.Float64, 3), graph.NewParam("w2", graph.Float64, 3, 1)}
	copy(m.w1.Float64s(), []float64{1, 0, -1, 0, 1, 1})
	copy(m.w2.Float64s(), []float64{1, 1, 1})
	prog, err := graph.Compile(m, graph.HalfMSE, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	x := []float64{0.5, -0.5, 1, 1} // two examples of dimension 2
	y := []float64{1, 0}
	before, _ := prog.Run(x, y)
	prog.Descend(0.1) // one SGD step
	after, _ := prog.Run(x, y)
	fmt.Printf("loss %.4f → %.4f\n", before, after)
	// Output: loss 1.3558 → 1.0022
}
