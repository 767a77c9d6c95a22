package gemm

import "math"

// microGo64 is the pure-Go micro-kernel for a 4×4 tile: the same fma
// chain per element as the assembly (math.FMA rounds once, as VFMADD does).
func microGo64(k int, a, b, c *float64, ldc int, load bool) {
	const mr, nr = 4, 4
	pa := unsafeSlice(a, k*mr)
	pb := unsafeSlice(b, k*nr)
	pc := unsafeSlice(c, (mr-1)*ldc+nr)
	var acc [mr][nr]float64
	for i := range mr {
		if load {
			copy(acc[i][:], pc[i*ldc:i*ldc+nr])
		}
	}
	for l := range k {
		av := pa[l*mr : l*mr+mr]
		bv := pb[l*nr : l*nr+nr]
		for i := range mr {
			ai := av[i]
			for j := range nr {
				acc[i][j] = math.FMA(ai, bv[j], acc[i][j])
			}
		}
	}
	for i := range mr {
		copy(pc[i*ldc:i*ldc+nr], acc[i][:])
	}
}

// microGo32 is microGo64 for float32; each fma rounds through float64
// (exact product, then two roundings), which agrees with a float32 fma
// except, rarely, in the last bit.
func microGo32(k int, a, b, c *float32, ldc int, load bool) {
	const mr, nr = 4, 4
	pa := unsafeSlice(a, k*mr)
	pb := unsafeSlice(b, k*nr)
	pc := unsafeSlice(c, (mr-1)*ldc+nr)
	var acc [mr][nr]float64
	for i := range mr {
		for j := range nr {
			if load {
				acc[i][j] = float64(pc[i*ldc+j])
			}
		}
	}
	for l := range k {
		av := pa[l*mr : l*mr+mr]
		bv := pb[l*nr : l*nr+nr]
		for i := range mr {
			ai := float64(av[i])
			for j := range nr {
				acc[i][j] = float64(float32(math.FMA(ai, float64(bv[j]), acc[i][j])))
			}
		}
	}
	for i := range mr {
		for j := range nr {
			pc[i*ldc+j] = float32(acc[i][j])
		}
	}
}

// dot4Go returns the pure-Go dot4 that sums each row with dot1 (as a row
// of dot4AVX2D or dot4AVX2S, so that the pure-Go path agrees with the
// assembly bit for bit).
func dot4Go[T float](dot1 func(n int, a, x, y *T)) func(groups, n int, a *T, lda int, x, y *T) {
	return func(groups, n int, a *T, lda int, x, y *T) {
		pa := unsafeSlice(a, (4*groups-1)*lda+n)
		py := unsafeSlice(y, 4*groups)
		for r := range py {
			dot1(n, &pa[r*lda], x, &py[r])
		}
	}
}

// dot1Go64 sums as a row of dot4AVX2D: eight fma chains over the columns
// j ≡ t mod 8 of the first n−n%8, reduced pairwise (t with t+4, then t
// with t+2, then the two left), then the fma chain of the rest added.
func dot1Go64(n int, a, x, y *float64) {
	row, px := unsafeSlice(a, n), unsafeSlice(x, n)
	body := n - n%8
	var p [8]float64
	for j := 0; j < body; j += 8 {
		for t := range 8 {
			p[t] = math.FMA(row[j+t], px[j+t], p[t])
		}
	}
	var tail float64
	for j := body; j < n; j++ {
		tail = math.FMA(row[j], px[j], tail)
	}
	var q [4]float64
	for t := range 4 {
		q[t] = p[t] + p[t+4]
	}
	*y = ((q[0] + q[2]) + (q[1] + q[3])) + tail
}

// dot1Go32 is dot1Go64 for float32 and a row of dot4AVX2S: sixteen
// chains, reduced t with t+8, t+4, then the pairs (0,1) and (2,3), then
// those two.
func dot1Go32(n int, a, x, y *float32) {
	row, px := unsafeSlice(a, n), unsafeSlice(x, n)
	body := n - n%16
	var p [16]float32
	for j := 0; j < body; j += 16 {
		for t := range 16 {
			p[t] = fma32(row[j+t], px[j+t], p[t])
		}
	}
	var tail float32
	for j := body; j < n; j++ {
		tail = fma32(row[j], px[j], tail)
	}
	var q [8]float32
	for t := range 8 {
		q[t] = p[t] + p[t+8]
	}
	var h [4]float32
	for t := range 4 {
		h[t] = q[t] + q[t+4]
	}
	*y = ((h[0] + h[1]) + (h[2] + h[3])) + tail
}

func axpy4Go64(groups, n int, a *float64, lda int, s, y *float64) {
	pa := unsafeSlice(a, (4*groups-1)*lda+n)
	ps := unsafeSlice(s, 4*groups)
	py := unsafeSlice(y, n)
	for g := range groups {
		for j := range py {
			v := py[j]
			for r := 4 * g; r < 4*g+4; r++ {
				v = math.FMA(ps[r], pa[r*lda+j], v)
			}
			py[j] = v
		}
	}
}

func axpy4Go32(groups, n int, a *float32, lda int, s, y *float32) {
	pa := unsafeSlice(a, (4*groups-1)*lda+n)
	ps := unsafeSlice(s, 4*groups)
	py := unsafeSlice(y, n)
	for g := range groups {
		for j := range py {
			v := py[j]
			for r := 4 * g; r < 4*g+4; r++ {
				v = fma32(ps[r], pa[r*lda+j], v)
			}
			py[j] = v
		}
	}
}

func axpy1Go64(n int, s float64, x, y *float64) {
	px, py := unsafeSlice(x, n), unsafeSlice(y, n)
	for j := range py {
		py[j] = math.FMA(s, px[j], py[j])
	}
}

func axpy1Go32(n int, s float32, x, y *float32) {
	px, py := unsafeSlice(x, n), unsafeSlice(y, n)
	for j := range py {
		py[j] = fma32(s, px[j], py[j])
	}
}

func fma32(a, b, c float32) float32 {
	return float32(math.FMA(float64(a), float64(b), float64(c)))
}
