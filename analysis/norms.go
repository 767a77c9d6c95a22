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

// MeanSE returns the mean of the samples v and its standard error, the
// sample standard deviation over √len(v); both NaN for fewer than two
// samples.
func MeanSE(v []float64) (mean, se float64) {
	if len(v) < 2 {
		return math.NaN(), math.NaN()
	}
	n := float64(len(v))
	for _, x := range v {
		mean += x
	}
	mean /= n
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / (n - 1) / n)
}
