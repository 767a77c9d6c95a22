package gemm

import "math"

// PeakLanes is the number of float32 accumulators of FMAPeak: 12 vector
// registers of 8 lanes.
const PeakLanes = 96

// PeakFlops is the number of floating-point operations of one round of
// FMAPeak: a multiply and an add in each lane.
const PeakFlops = 2 * PeakLanes

// FMAPeak runs rounds of acc[i] ← m·acc[i] + a, each a fused
// multiply-add rounded once, on all PeakLanes accumulators and reports
// whether it ran the AVX2 kernel. The kernel's rounds are 12 independent
// 8-lane FMAs with no memory traffic, so their rate on one core is the
// core's AVX2 FMA peak, 2 units × 8 lanes × 2 flops a cycle on current
// x86 cores: the bound the products' speed is set against (`sgdlab
// bench fma-peak`). Without AVX2 and FMA it runs the pure-Go reference,
// which measures nothing (and rounds twice where m·acc + a is inexact in
// float64).
func FMAPeak(rounds int, acc *[PeakLanes]float32, m, a float32) bool {
	if fmaPeakAsm != nil {
		fmaPeakAsm(max(rounds, 0), acc, m, a)
		return true
	}
	fmaPeakGo(rounds, acc, m, a)
	return false
}

// fmaPeakGo is the reference of fmaPeakAVX2. The float64 FMA rounded to
// float32 rounds twice; it equals the float32 FMA wherever m·acc + a is
// exact in float64, as in the tests.
func fmaPeakGo(rounds int, acc *[PeakLanes]float32, m, a float32) {
	for range rounds {
		for i, v := range acc {
			acc[i] = float32(math.FMA(float64(m), float64(v), float64(a)))
		}
	}
}
