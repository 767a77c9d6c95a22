package data

import (
	"math"
)

// TorchRand is a random source whose outputs match those of PyTorch 1.13's
// default CPU generator (torch.manual_seed, torch.randn, torch.rand,
// Tensor.uniform_, and the default initialisation of torch.nn.Linear) bit
// for bit, for float32 tensors on x86-64 CPUs with AVX2.
//
// The underlying engine is the MT19937 stream that NumpyRand also
// produces; what differs from numpy is how words become floats and that
// torch keeps its own cache of one standard normal value. Each method fills
// a tensor of len(dst) elements in C (row-major) order, drawing exactly the
// words the corresponding torch call draws, so calls can be interleaved as
// in a Python program and stay in sync with it.
//
// Only the CPU generator and float32 tensors are matched, and only torch's
// AVX2 kernels, which torch 1.13 selects on every x86-64 CPU with AVX2
// (AVX-512 CPUs included: normal_ has no AVX-512 kernel, and the AVX-512
// uniform_ kernel rounds as the AVX2 one). The default kernels, used on
// CPUs without AVX2 or with ATEN_CPU_CAPABILITY=default, round uniform_
// without a fused multiply-add and compute vectorised normals with libm's
// logf, sinf and cosf, so they differ in the last bits. Float64 tensors
// use 53-bit uniforms, and CUDA another generator altogether.
//
// The zero value is not a seeded generator; create one with NewTorchRand.
// A TorchRand is not safe for concurrent use by multiple goroutines.
// None of its methods allocate, except Linear, which returns new slices.
type TorchRand struct {
	mt        NumpyRand // used only for its MT19937 word stream
	hasNormal bool      // whether normal holds a cached value
	normal    float64   // torch's next_double_normal_sample
}

// NewTorchRand returns a generator in the state torch.manual_seed(seed)
// leaves the default CPU generator in.
func NewTorchRand(seed uint64) *TorchRand {
	r := new(TorchRand)
	r.Seed(seed)
	return r
}

// Seed resets r to the state of torch.manual_seed(seed). As in torch, only
// the low 32 bits of seed reach the MT19937 key schedule, so seeds that
// differ by a multiple of 2³² give the same stream. Seeding also clears the
// cached normal value.
func (r *TorchRand) Seed(seed uint64) {
	r.mt.Seed(uint32(seed))
	r.hasNormal = false
	r.normal = 0
}

// Uint32 returns the next 32-bit MT19937 output, torch's generator->random().
func (r *TorchRand) Uint32() uint32 {
	return r.mt.Uint32()
}

// float32Unit returns a uniform value in [0, 1) as torch's
// uniform_real_distribution<float> does: the low 24 bits of one word,
// scaled by 2⁻²⁴.
func (r *TorchRand) float32Unit() float32 {
	return float32(r.Uint32()&(1<<24-1)) * (1.0 / (1 << 24))
}

// float64Unit returns a uniform value in [0, 1) as torch's
// uniform_real_distribution<double> does: the low 53 bits of a 64-bit value
// made of two words (the first word high), scaled by 2⁻⁵³.
func (r *TorchRand) float64Unit() float64 {
	hi := uint64(r.Uint32())
	v := hi<<32 | uint64(r.Uint32())
	return float64(v&(1<<53-1)) * (1.0 / (1 << 53))
}

// Rand fills dst as torch.rand(len(dst)) or torch.rand_like would, with
// float32 values in [0, 1) on the grid k·2⁻²⁴, one word per element.
//
// torch.round(torch.rand_like(x)) is Rand followed by math.RoundToEven on
// each element; the value 0.5 rounds to 0.
func (r *TorchRand) Rand(dst []float32) {
	for i := range dst {
		dst[i] = r.float32Unit()
	}
}

// Uniform fills dst as Tensor.uniform_(lo, hi) does on a float32 tensor,
// one word per element. Torch converts its float64 bounds to float32 before
// use, so a caller holding float64 bounds should pass float32(lo) and
// float32(hi), which round the same way. The value is u·(hi−lo)+lo with u
// from Rand, computed in float32 with a fused multiply-add as the AVX2
// build of torch does.
func (r *TorchRand) Uniform(dst []float32, lo, hi float32) {
	width := hi - lo
	for i := range dst {
		dst[i] = fma32(r.float32Unit(), width, lo)
	}
}

// Randn fills dst with standard normal values as torch.randn(len(dst)) or
// torch.randn_like does for a contiguous float32 tensor. Torch takes one
// of two paths depending on the number of elements:
//
// With fewer than 16 elements, each value comes from a float64 Box–Muller
// pair built from two 53-bit uniforms (four words); the second value of a
// pair is cached in the generator and returned by the next such draw, even
// in a later call. Other methods leave the cache alone; only Seed clears it.
//
// With 16 or more elements, torch first fills the tensor with float32
// uniforms, then transforms each block of 16 in place by a float32
// Box–Muller (element j of the block and element j+8 form a pair) using
// AVX2 polynomial approximations of log, sin and cos. If len(dst) is not a
// multiple of 16, the last 16 elements are refilled with fresh uniforms and
// transformed again, so a tensor of n elements draws n + 16 words when
// n % 16 != 0, and n otherwise. This path neither reads nor writes the
// cached normal value.
func (r *TorchRand) Randn(dst []float32) {
	n := len(dst)
	if n < 16 {
		for i := range dst {
			dst[i] = float32(r.normFloat64())
		}
		return
	}
	r.Rand(dst)
	for i := 0; i+16 <= n; i += 16 {
		boxMuller16(dst[i : i+16])
	}
	if n%16 != 0 {
		tail := dst[n-16:]
		r.Rand(tail)
		boxMuller16(tail)
	}
}

// normFloat64 returns a standard normal value as torch's
// normal_distribution<double> does: from uniforms u1 and u2, it returns
// r·cos θ and caches r·sin θ, with r = √(−2 log(1−u2)) and θ = 2π·u1.
// Go's math.Log, math.Sin and math.Cos are not glibc's and differ from it
// in the last bit for a few percent of arguments; the conversion to
// float32 done by Randn hides that unless the value lies within an ulp of
// a float32 rounding boundary, far less often than once in 10⁸ draws.
func (r *TorchRand) normFloat64() float64 {
	if r.hasNormal {
		r.hasNormal = false
		return r.normal
	}
	u1 := r.float64Unit()
	u2 := r.float64Unit()
	rad := math.Sqrt(-2 * math.Log(1-u2))
	theta := 2 * math.Pi * u1
	r.normal = rad * math.Sin(theta)
	r.hasNormal = true
	return rad * math.Cos(theta)
}

// Linear draws what the construction of torch.nn.Linear(in, out,
// bias=bias) draws and returns the initial weight, out×in in row-major
// order (torch's layout), and the bias of length out, or nil without bias.
//
// The weight comes from kaiming_uniform_(a=√5), which is uniform on
// [−b, b] with b = √3·√(2/(1+a²))/√in, and the bias from uniform on
// [−1/√in, 1/√in], both computed in float64 as torch.nn.init does.
// Linear panics if in or out is not positive.
func (r *TorchRand) Linear(in, out int, bias bool) (weight, b []float32) {
	if in <= 0 || out <= 0 {
		panic("data: TorchRand.Linear: non-positive dimension")
	}
	weight = make([]float32, out*in)
	a := math.Sqrt(5)
	gain := math.Sqrt(2 / (1 + a*a))
	bound := math.Sqrt(3) * (gain / math.Sqrt(float64(in)))
	r.Uniform(weight, float32(-bound), float32(bound))
	if !bias {
		return weight, nil
	}
	b = make([]float32, out)
	bound = 1 / math.Sqrt(float64(in))
	r.Uniform(b, float32(-bound), float32(bound))
	return weight, b
}

// cFloat rounds x to float32 at run time. The cephes constants below are C
// double literals stored into float arrays, so they round twice, first to
// float64 and then to float32; a Go float32 constant would round once.
func cFloat(x float64) float32 { return float32(x) }

// Constants of the AVX2 log and sincos approximations torch 1.13 uses
// (avx_mathfun.h, after Pommier's sse_mathfun and cephes' logf and sinf).
var (
	tpSqrtHalf = cFloat(0.707106781186547524)
	tpLogP     = [...]float32{
		cFloat(7.0376836292e-2), cFloat(-1.1514610310e-1), cFloat(1.1676998740e-1),
		cFloat(-1.2420140846e-1), cFloat(1.4249322787e-1), cFloat(-1.6668057665e-1),
		cFloat(2.0000714765e-1), cFloat(-2.4999993993e-1), cFloat(3.3333331174e-1),
	}
	tpLogQ1  = cFloat(-2.12194440e-4)
	tpLogQ2  = cFloat(0.693359375)
	tpFourPi = cFloat(1.27323954473516) // 4/π
	tpDP1    = cFloat(-0.78515625)
	tpDP2    = cFloat(-2.4187564849853515625e-4)
	tpDP3    = cFloat(-3.77489497744594108e-8)
	tpSinP0  = cFloat(-1.9515295891e-4)
	tpSinP1  = cFloat(8.3321608736e-3)
	tpSinP2  = cFloat(-1.6666654611e-1)
	tpCosP0  = cFloat(2.443315711809948e-5)
	tpCosP1  = cFloat(-1.388731625493765e-3)
	tpCosP2  = cFloat(4.166664568298827e-2)
	tpTwoPi  = cFloat(2 * math.Pi)
)

// boxMuller16 transforms 16 uniforms in place into 16 normals as torch's
// normal_fill_16_AVX2 does, lane j pairing elements j and j+8.
func boxMuller16(d []float32) {
	_ = d[15]
	for j := 0; j < 8; j++ {
		u1 := 1 - d[j]
		u2 := d[j+8]
		rad := float32(math.Sqrt(float64(-2 * logAVX(u1))))
		s, c := sincosAVX(tpTwoPi * u2)
		// torch finishes with fma(n, std, mean); with std 1 and mean 0
		// that is n, except that −0 becomes +0.
		d[j] = float32(rad*c) + 0
		d[j+8] = float32(rad*s) + 0
	}
}

// logAVX is one lane of log256_ps for x in [2⁻²⁴, 1], the range of 1−u;
// torch's clamping of subnormal inputs and its NaN for x ≤ 0 never apply
// there. Its float32 operations follow the intrinsics, with each multiply
// whose only use is an add fused into one rounding, as GCC contracts them
// when it builds torch's AVX2 kernels (-mfma, -ffp-contract=fast); the
// unfused variants disagree with torch on long streams.
func logAVX(x float32) float32 {
	bits := math.Float32bits(x)
	e := float32(int32(bits>>23)-0x7f) + 1
	x = math.Float32frombits(bits&^0x7f800000 | 0x3f000000) // mantissa in [0.5, 1)
	if x < tpSqrtHalf {
		e--
		x = x - 1 + x
	} else {
		x--
	}
	z := float32(x * x)
	y := tpLogP[0]
	for _, p := range tpLogP[1:] {
		y = fma32(y, x, p)
	}
	y = float32(y * x)
	// Of the two products summed here GCC fuses the first, y·z.
	y = fma32(y, z, float32(e*tpLogQ1))
	y -= float32(z * 0.5)
	x += y
	return x + float32(e*tpLogQ2)
}

// sincosAVX is one lane of sincos256_ps for x ≥ 0, with the same
// contraction of multiply-adds as logAVX.
func sincosAVX(x float32) (sin, cos float32) {
	j := int32(float32(x * tpFourPi)) // truncation, as cvttps
	j = (j + 1) &^ 1
	y := float32(j)
	sinNeg := j&4 != 0
	cosNeg := (j-2)&4 == 0
	usePoly := j&2 == 0
	// Cody–Waite reduction by π/4 = −(DP1+DP2+DP3).
	x = fma32(y, tpDP1, x)
	x = fma32(y, tpDP2, x)
	x = fma32(y, tpDP3, x)
	z := float32(x * x)

	c := fma32(tpCosP0, z, tpCosP1)
	c = fma32(c, z, tpCosP2)
	c = float32(c * z)
	c = fma32(c, z, -float32(z*0.5))
	c++

	s := fma32(tpSinP0, z, tpSinP1)
	s = fma32(s, z, tpSinP2)
	s = float32(s * z)
	s = fma32(s, x, x)

	if !usePoly {
		s, c = c, s
	}
	if sinNeg {
		s = -s
	}
	if cosNeg {
		c = -c
	}
	return s, c
}

// fma32 returns x·y+z rounded once to float32. The product is exact in
// float64, so only the sum can round twice; that matters only when the
// float64 sum is inexact and lies exactly halfway between two float32
// values, in which case it is nudged towards the exact sum first.
func fma32(x, y, z float32) float32 {
	xy := float64(x) * float64(y)
	zz := float64(z)
	s := xy + zz
	bits := math.Float64bits(s)
	if bits&(1<<29-1) != 1<<28 {
		return float32(s)
	}
	// Knuth's TwoSum gives the exact rounding error of s.
	bb := s - xy
	err := (xy - (s - bb)) + (zz - bb)
	switch {
	case err == 0:
		return float32(s)
	case (err > 0) == (s > 0):
		bits++
	default:
		bits--
	}
	return float32(math.Float64frombits(bits))
}

// Layers replays the construction of a torch module made of
// torch.nn.Linear(sizes[i], sizes[i+1], bias=bias[i]) for every layer in
// order (the authors' FCNet and FCNet2Layers), and returns the weights
// (out×in, row-major: torch's layout) and biases (nil where bias[i] is
// false). It panics unless len(bias) = len(sizes) − 1.
func (r *TorchRand) Layers(sizes []int, bias []bool) (ws, bs [][]float32) {
	if len(bias) != len(sizes)-1 {
		panic("data: TorchRand.Layers: need one bias flag per layer")
	}
	ws, bs = make([][]float32, len(bias)), make([][]float32, len(bias))
	for i, b := range bias {
		ws[i], bs[i] = r.Linear(sizes[i], sizes[i+1], b)
	}
	return ws, bs
}
