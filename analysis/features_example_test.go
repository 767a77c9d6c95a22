package analysis_test

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"sgdlab/analysis"
)

// Three samples, four neurons: neuron 1 is dead and neuron 3 duplicates
// neuron 2, so only neurons 0 and 3 survive, with 2 + 2 non-zeros out of
// all 3·4 entries.
func ExampleFeatureSparsity() {
	phi := mat.NewDense(3, 4, []float64{
		1, 0, 2, 2,
		0, 0, 1, 1,
		3, 0, 0, 0,
	})
	s, err := analysis.FeatureSparsity(phi, 0.99)
	if err != nil {
		fmt.Println(err)
		return
	}
	keep, _ := analysis.FeatureSurvivors(phi, 0.99)
	n, _ := analysis.DeadOrDuplicate(phi, 0.99)
	fmt.Printf("sparsity %.4f, survivors %v, dead or duplicate %d\n", s, keep, n)
	// Output: sparsity 0.3333, survivors [0 3], dead or duplicate 2
}
