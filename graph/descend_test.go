package graph

import (
	"math"
	"math/rand/v2"
	"testing"
)

// loopDescend is the update descend replaces.
func loopDescend[T float](w, g []T, lr T) {
	for j := range w {
		w[j] -= lr * g[j]
	}
}

// TestDescendIsTheLoop: the axpy-based update rounds every element as
// the plain loop w[j] −= lr·g[j] does, in both types, for lengths around
// the assembly's unrolling, for signed zeros, infinities, NaNs and
// subnormals, and for zero and non-finite step sizes.
func TestDescendIsTheLoop(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	special := []float64{0, math.Copysign(0, -1), 1e-310, -1e-310, math.Inf(1), math.Inf(-1), math.NaN(), 1e308, -3}
	for _, lr := range []float64{0.282, 1e-3, 3.53, -0.5, 0, math.Inf(1), math.NaN()} {
		for _, n := range []int{1, 2, 3, 7, 8, 9, 31, 200} {
			w, g := make([]float64, n), make([]float64, n)
			for j := range w {
				w[j], g[j] = r.NormFloat64(), r.NormFloat64()*math.Pow(10, float64(r.IntN(40)-20))
				if r.IntN(4) == 0 {
					w[j] = special[r.IntN(len(special))]
				}
				if r.IntN(4) == 0 {
					g[j] = special[r.IntN(len(special))]
				}
			}
			want := append([]float64(nil), w...)
			loopDescend(want, g, lr)
			got := append([]float64(nil), w...)
			descend(got, g, lr)
			if j := sameBits(got, want); j >= 0 {
				t.Errorf("float64, lr %v, n %d: w[%d] = %v, loop %v (w %v, g %v)", lr, n, j, got[j], want[j], w[j], g[j])
			}
			w32, g32 := make([]float32, n), make([]float32, n)
			for j := range w {
				w32[j], g32[j] = float32(w[j]), float32(g[j])
			}
			want32 := append([]float32(nil), w32...)
			loopDescend(want32, g32, float32(lr))
			got32 := append([]float32(nil), w32...)
			descend(got32, g32, float32(lr))
			for j := range got32 {
				if math.Float32bits(got32[j]) != math.Float32bits(want32[j]) {
					t.Errorf("float32, lr %v, n %d: w[%d] = %v, loop %v", lr, n, j, got32[j], want32[j])
					break
				}
			}
		}
	}
}
