package analysis_test

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"sgdlab/analysis"
)

// The two largest eigenvalues of diag(3, 1, 4, 1.5, 2) by Lanczos through
// matrix-vector products only.
func ExampleTopEigen() {
	a := mat.NewSymDense(5, nil)
	for i, v := range []float64{3, 1, 4, 1.5, 2} {
		a.SetSym(i, i, v)
	}
	e, err := analysis.TopEigen(analysis.DenseOperator{A: a}, 2, analysis.LanczosOptions{Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.4f %.4f\n", e.Values[0], e.Values[1])
	// Output: 4.0000 3.0000
}
