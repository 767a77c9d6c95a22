package gemm

import (
	"math/rand/v2"
	"testing"
)

// TestFMAPeak checks the probe's kernel against its reference, bit for
// bit, on values whose m·acc + a is exact in float64 (m a power of two,
// acc and a small floats), so that the reference's double rounding is
// the single rounding of the float32 FMA; and that every lane runs every
// round: with m = 1, a = 1 integer lanes count the rounds.
func TestFMAPeak(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		rounds int
		m, a   float32
	}{
		{0, 0.5, 1},
		{1, 0.5, 1},
		{7, 0.5, 0.1},
		{100, -0.5, 3},
		{1000, 1, 1},
	} {
		var got, want [PeakLanes]float32
		for i := range got {
			got[i] = float32(r.NormFloat64() * 1e3)
			if tc.m == 1 {
				got[i] = float32(int(got[i])) // integers, so that the sums are exact
			}
		}
		want = got
		start := got
		asm := FMAPeak(tc.rounds, &got, tc.m, tc.a)
		fmaPeakGo(tc.rounds, &want, tc.m, tc.a)
		if got != want {
			t.Errorf("rounds %d, m %v, a %v (asm %v): kernel and reference differ:\n%v\n%v", tc.rounds, tc.m, tc.a, asm, got, want)
		}
		if tc.m == 1 && tc.a == 1 {
			for i, v := range got {
				if v != start[i]+float32(tc.rounds) {
					t.Errorf("lane %d: %v after %d rounds from %v", i, v, tc.rounds, start[i])
				}
			}
		}
	}
}
