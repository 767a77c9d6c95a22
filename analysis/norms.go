package analysis

import "math"

// DefaultL0Threshold is the paper's threshold for counting a coordinate of
// β = u⊙v as non-zero (diag_nets notebooks): |β_j| > 1e-50. It needs
// float64: float32 flushes such values to zero.
const DefaultL0Threshold = 1e-50

// L0 returns #{j : |β_j| > thr}.
func L0(beta []float64, thr float64) int {
	n := 0
	for _, b := range beta {
		if math.Abs(b) > thr {
			n++
		}
	}
	return n
}

// L1 returns Σ|β_j|.
func L1(beta []float64) float64 {
	var s float64
	for _, b := range beta {
		s += math.Abs(b)
	}
	return s
}

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

// Balancedness returns ‖|u|−|v|‖₂: zero when the diagonal network is
// balanced, the invariant that gradient flow started at u = v preserves.
func Balancedness(u, v []float64) float64 {
	var s float64
	for j := range u {
		d := math.Abs(u[j]) - math.Abs(v[j])
		s += d * d
	}
	return math.Sqrt(s)
}
