package data

import (
	"math"
	"math/bits"
)

// MT19937 parameters.
const (
	mtN         = 624
	mtM         = 397
	mtMatrixA   = 0x9908b0df
	mtUpperMask = 0x80000000
	mtLowerMask = 0x7fffffff
)

// NumpyRand is a Mersenne Twister (MT19937) random source whose outputs
// match numpy's legacy RandomState (np.random.seed, np.random.randn,
// np.random.randint, ...) bit for bit when seeded with the same value; its
// normals to within 2 ulp (see NormFloat64).
//
// The zero value is not a seeded generator; create one with NewNumpyRand.
// A NumpyRand is not safe for concurrent use by multiple goroutines.
// None of its methods allocate.
type NumpyRand struct {
	mt       [mtN]uint32
	index    int     // next word of mt to temper; mtN means "twist first"
	hasGauss bool    // whether gauss holds the second value of a polar pair
	gauss    float64 // cached Gaussian, as numpy's legacy has_gauss/gauss
}

// NewNumpyRand returns a generator in the state of np.random.seed(seed).
func NewNumpyRand(seed uint32) *NumpyRand {
	r := new(NumpyRand)
	r.Seed(seed)
	return r
}

// Seed resets r to the state of np.random.seed(seed): the MT19937
// init_genrand key schedule, and no cached Gaussian.
func (r *NumpyRand) Seed(seed uint32) {
	r.mt[0] = seed
	for i := 1; i < mtN; i++ {
		prev := r.mt[i-1]
		r.mt[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	r.index = mtN
	r.hasGauss = false
	r.gauss = 0
}

// twist regenerates all mtN words of the state at once, as numpy does.
func (r *NumpyRand) twist() {
	mt := &r.mt
	for i := 0; i < mtN; i++ {
		y := mt[i]&mtUpperMask | mt[(i+1)%mtN]&mtLowerMask
		v := mt[(i+mtM)%mtN] ^ y>>1
		if y&1 != 0 {
			v ^= mtMatrixA
		}
		mt[i] = v
	}
	r.index = 0
}

// Uint32 returns the next tempered 32-bit MT19937 output. It is the word
// from which every other method of r is built.
func (r *NumpyRand) Uint32() uint32 {
	if r.index >= mtN {
		r.twist()
	}
	y := r.mt[r.index]
	r.index++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// uint64 returns two words, high then low, as numpy's mt19937_next64.
func (r *NumpyRand) uint64() uint64 {
	hi := uint64(r.Uint32())
	return hi<<32 | uint64(r.Uint32())
}

// Float64 returns a uniform value in [0, 1) with 53 random bits, built from
// two words as numpy's random_sample: (a·2²⁶ + b)/2⁵³ with a the top 27 bits
// of the first word and b the top 26 bits of the second.
func (r *NumpyRand) Float64() float64 {
	a := r.Uint32() >> 5
	b := r.Uint32() >> 6
	return (float64(a)*67108864 + float64(b)) / 9007199254740992
}

// NormFloat64 returns a standard normal value by numpy's legacy polar
// (Marsaglia) method. Each accepted pair (x1, x2) yields two values: the
// call returns f·x2 and caches f·x1 for the next call, exactly as numpy's
// legacy_gauss does, so the cache is part of the stream state. The value
// is numpy's to the last bit except where Go's math.Log and the C
// library's log round differently: measured against numpy 1.24 on glibc,
// 72 of the first 2030 values after seed 1 differ by 1–2 ulp (≤ 4.4e-16).
// The uniforms, and so the stream itself, are unaffected; float32 data
// (the authors' torch tensors) round the difference away.
func (r *NumpyRand) NormFloat64() float64 {
	if r.hasGauss {
		r.hasGauss = false
		return r.gauss
	}
	var x1, x2, r2 float64
	for {
		x1 = 2*r.Float64() - 1
		x2 = 2*r.Float64() - 1
		// The conversions forbid fused multiply-adds, which would change
		// the last bit relative to numpy's C code.
		r2 = float64(x1*x1) + float64(x2*x2)
		if r2 < 1 && r2 != 0 {
			break
		}
	}
	f := math.Sqrt(-2 * math.Log(r2) / r2)
	r.gauss = f * x1
	r.hasGauss = true
	return f * x2
}

// Normals fills dst with standard normal values in order, as numpy's
// standard_normal or randn fills an array of len(dst) elements in C order.
func (r *NumpyRand) Normals(dst []float64) {
	for i := range dst {
		dst[i] = r.NormFloat64()
	}
}

// Permute fills p with numpy's legacy permutation(len(p)) (the array of
// np.random.permutation(n)): 0, …, n−1 shuffled by Fisher–Yates from the
// last position down, position i swapped with Intn(i+1). Its first k
// entries are np.random.choice(n, k, replace=False). It allocates
// nothing.
func (r *NumpyRand) Permute(p []int) {
	for i := range p {
		p[i] = i
	}
	for i := len(p) - 1; i > 0; i-- {
		j := r.Intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
}

// Intn returns a uniform integer in [0, n), the value of numpy's legacy
// np.random.randint(n). It uses numpy's masked rejection: with
// rng = n-1 and mask the smallest 2^k-1 >= rng, it draws v = word & mask
// until v <= rng, one 32-bit word per try when rng < 2^32 and two words
// (high, then low) per try otherwise.
//
// As in numpy, Intn(1) returns 0 without consuming any randomness, so it
// does not advance the stream. Intn panics if n < 1.
func (r *NumpyRand) Intn(n int) int {
	if n < 1 {
		panic("data: NumpyRand.Intn: n < 1")
	}
	rng := uint64(n - 1)
	if rng == 0 {
		return 0
	}
	mask := uint64(1)<<bits.Len64(rng) - 1
	if rng <= math.MaxUint32 {
		m, lim := uint32(mask), uint32(rng)
		for {
			if v := r.Uint32() & m; v <= lim {
				return int(v)
			}
		}
	}
	for {
		if v := r.uint64() & mask; v <= rng {
			return int(v)
		}
	}
}
