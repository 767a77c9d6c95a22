package graph

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestElementKernels compares the assembly element-wise kernels with
// their pure-Go references, bit for bit, on every length up to a few
// vectors (the tails), with signed zeros, NaN and infinities among the
// values.
func TestElementKernels(t *testing.T) {
	if !elemAsm {
		t.Skip("the element-wise kernels run in pure Go on this path")
	}
	defer func() { elemAsm = true }()
	r := rand.New(rand.NewPCG(41, 42))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-40}
	vec := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
			if r.IntN(8) == 0 {
				v[i] = special[r.IntN(len(special))]
			}
		}
		return v
	}
	both := func(f func() []float64) (asm, ref []float64) {
		elemAsm = true
		asm = f()
		elemAsm = false
		ref = f()
		return asm, ref
	}
	for n := 0; n <= 70; n++ {
		x, g := vec(n), vec(n)
		mu, a, b := float32(r.NormFloat64()), float32(r.NormFloat64()), float32(r.NormFloat64())
		for name, f := range map[string]func() []float64{
			"relu": func() []float64 {
				out := make([]float32, n)
				relu(false, false, out, x, nil)
				return widen(out)
			},
			"relu_mask": func() []float64 {
				out := make([]float32, n)
				relu(true, false, out, x, g)
				return widen(out)
			},
			"rectify_mask": func() []float64 {
				out := make([]float32, n)
				relu(true, true, out, x, g)
				return widen(out)
			},
			"narrow": func() []float64 {
				out := make([]float32, n)
				narrow(out, widen(x))
				return widen(out)
			},
			"narrow, rounding": func() []float64 {
				// Doubles between floats, halfway ones among them.
				in := widen(x)
				for i := range in {
					in[i] += in[i] * 0x1p-25 * float64(i%3)
				}
				out := make([]float32, n)
				narrow(out, in)
				return widen(out)
			},
			"normalize": func() []float64 {
				out := make([]float32, n)
				normalize(out, x, mu, a, b)
				return widen(out)
			},
			"gradX": func() []float64 {
				out := make([]float32, n)
				gradX(out, x, g, mu, a, b)
				return widen(out)
			},
			"sums": func() []float64 {
				sg, sgx := sumDot64(g, x)
				return []float64{sum64(x), sqDev64(x, float64(mu)), sg, sgx}
			},
		} {
			asm, ref := both(f)
			for i := range ref {
				if math.Float64bits(asm[i]) != math.Float64bits(ref[i]) && !(math.IsNaN(asm[i]) && math.IsNaN(ref[i])) {
					t.Fatalf("%s, n %d: value %d is %v in assembly, %v in Go", name, n, i, asm[i], ref[i])
				}
			}
		}
	}
}

// widen returns v in float64, exactly (signed zeros kept).
func widen(v []float32) []float64 {
	w := make([]float64, len(v))
	for i, x := range v {
		w[i] = float64(x)
	}
	return w
}
