package analysis

import "math"

// L2 returns the Euclidean norm of all the given vectors taken together,
// e.g. ‖(u, v)‖₂.
func L2(vs ...[]float64) float64 {
	var s float64
	for _, v := range vs {
		for _, x := range v {
			s += x * x
		}
	}
	return math.Sqrt(s)
}
