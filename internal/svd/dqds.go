package svd

import (
	"cmp"
	"math"
	"slices"

	"gonum.org/v1/gonum/lapack"
	"gonum.org/v1/gonum/lapack/gonum"
)

// This file is LAPACK's dqds (dlasq1–dlasq6, reference LAPACK 3.12),
// written from the Fortran for IEEE arithmetic. It does the operations of
// the reference in the reference's order, so that it gives the same bits
// as gonum's translation: only min and max differ, Go's builtins where
// gonum calls math.Min and math.Max (the same values, ±0 and NaN
// included, but inlined instead of an assembly call on amd64).
//
// Within dqds, z is indexed from 1 as in the Fortran, so that each line
// can be read against the reference: z[0] is unused. What the reference
// computes only for its statistics (iteration and division counts, the
// trace) or overwrites before reading is left out.

const (
	eps    = 0x1p-52   // DLAMCH('Precision'): ε·base
	safmin = 0x1p-1022 // DLAMCH('Safe minimum')
	tol    = 100 * eps
	tol2   = tol * tol
	cbias  = 1.5
)

var negZero = math.Copysign(0, -1)

// dlasq1 is LAPACK's dlasq1: it overwrites d (length n) with the singular
// values, descending, of the n×n upper bidiagonal matrix with diagonal d
// and superdiagonal e[:n-1], using work (at least 4n+1 long), and returns
// LAPACK's info: 0, or 1, 2 or 3 when dqds failed or did not finish. Then
// d and e are not the reference's partly reduced matrix: the caller hands
// the matrix to gonum's dbdsqr instead, whose own dqds fails in the same
// way and which then finishes with its QR iteration, as LAPACK's dgesvd
// does.
func dlasq1(n int, d, e, work []float64) int {
	var impl gonum.Implementation
	switch n {
	case 0:
		return 0
	case 1:
		d[0] = math.Abs(d[0])
		return 0
	case 2:
		d[1], d[0] = impl.Dlas2(d[0], e[0], d[1])
		return 0
	}
	var sigmx float64
	for i := range n - 1 {
		d[i] = math.Abs(d[i])
		sigmx = max(sigmx, math.Abs(e[i]))
	}
	d[n-1] = math.Abs(d[n-1])
	if sigmx == 0 {
		sortDecreasing(d[:n])
		return 0
	}
	for _, v := range d[:n] {
		sigmx = max(sigmx, v)
	}
	// The squares of d and e are scaled so that their largest is about
	// 1/√safmin; squaring makes scaling by a power of two pointless.
	scale := math.Sqrt(eps / safmin)
	z := work[:4*n+1]
	for i := range n {
		z[2*i+1] = d[i]
	}
	for i := range n - 1 {
		z[2*i+2] = e[i]
	}
	impl.Dlascl(lapack.General, 0, 0, sigmx, scale, 2*n-1, 1, z[1:], 1)
	for i := 1; i <= 2*n-1; i++ {
		z[i] *= z[i]
	}
	if info := dlasq2(n, z); info != 0 {
		return info
	}
	for i := range n {
		d[i] = math.Sqrt(z[i+1])
	}
	impl.Dlascl(lapack.General, 0, 0, scale, sigmx, n, 1, d, 1)
	return 0
}

// dlasq2 is LAPACK's dlasq2 for n ≥ 3: z[1:2n] holds q₁, e₁, q₂, …, q_n,
// the squares of the bidiagonal's entries (non-negative, as dlasq1 makes
// them), and z must be 4n+1 long. On info 0, z[1:n+1] holds the squared
// singular values, descending.
func dlasq2(n int, z []float64) int {
	z[2*n] = 0
	var d, e float64
	for k := 1; k <= 2*(n-1); k += 2 {
		d += z[k]
		e += z[k+1]
	}
	d += z[2*n-1]
	if e == 0 {
		// Diagonal already: the values only need sorting.
		for k := 2; k <= n; k++ {
			z[k] = z[2*k-1]
		}
		sortDecreasing(z[1 : n+1])
		return 0
	}

	// Spread q and e into groups of four: z[4k-3] = q_k, z[4k-1] = e_k,
	// the other two the ping-pong copy.
	for k := 2 * n; k >= 2; k -= 2 {
		z[2*k] = 0
		z[2*k-1] = z[k]
		z[2*k-2] = 0
		z[2*k-3] = z[k-1]
	}
	i0, n0 := 1, n
	// Reverse the qd array if warranted.
	if cbias*z[4*i0-3] < z[4*n0-3] {
		flip(z, i0, n0)
	}

	// Two initial dqd transforms, with Li's test for negligible e's.
	for pp := range 2 {
		d = z[4*n0+pp-3]
		for i4 := 4*(n0-1) + pp; i4 >= 4*i0+pp; i4 -= 4 {
			if z[i4-1] <= tol2*d {
				z[i4-1] = negZero
				d = z[i4-3]
			} else {
				d = z[i4-3] * (d / (d + z[i4-1]))
			}
		}
		d = z[4*i0+pp-3]
		for i4 := 4*i0 + pp; i4 <= 4*(n0-1)+pp; i4 += 4 {
			z[i4-2*pp-2] = d + z[i4-1]
			switch {
			case z[i4-1] <= tol2*d:
				z[i4-1] = negZero
				z[i4-2*pp-2] = d
				z[i4-2*pp] = 0
				d = z[i4+1]
			case safmin*z[i4+1] < z[i4-2*pp-2] && safmin*z[i4-2*pp-2] < z[i4+1]:
				temp := z[i4+1] / z[i4-2*pp-2]
				z[i4-2*pp] = z[i4-1] * temp
				d *= temp
			default:
				z[i4-2*pp] = z[i4+1] * (z[i4-1] / z[i4-2*pp-2])
				d = z[i4+1] * (d / z[i4-2*pp-2])
			}
		}
		z[4*n0-pp-2] = d
	}

	s := dqds{z: z}
	for range n + 1 {
		if n0 < 1 {
			// Every value has converged: move them to the front and sort.
			for k := 2; k <= n; k++ {
				z[k] = z[4*k-3]
			}
			sortDecreasing(z[1 : n+1])
			return 0
		}
		// The shift of the block below n0 has been stored as −z[4n0−1].
		s.desig, s.sigma = 0, 0
		if n0 != n {
			s.sigma = -z[4*n0-1]
		}
		if s.sigma < 0 {
			return 1
		}

		// Find the last unreduced block, i0 to n0, and bounds of its
		// values.
		var emax float64
		qmin := z[4*n0-3]
		s.qmax = qmin
		i4 := 4 * n0
		for ; i4 >= 8; i4 -= 4 {
			if z[i4-5] <= 0 {
				break
			}
			if qmin >= 4*emax {
				qmin = min(qmin, z[i4-3])
				emax = max(emax, z[i4-5])
			}
			s.qmax = max(s.qmax, z[i4-7]+z[i4-5])
		}
		i0 = i4 / 4
		pp := 0

		if n0-i0 > 1 {
			// Reverse the block if its smallest dqd pivot lies in
			// its first third.
			dee := z[4*i0-3]
			deemin := dee
			kmin := i0
			for i4 := 4*i0 + 1; i4 <= 4*n0-3; i4 += 4 {
				dee = z[i4] * (dee / (dee + z[i4-2]))
				if dee <= deemin {
					deemin = dee
					kmin = (i4 + 3) / 4
				}
			}
			if (kmin-i0)*2 < n0-kmin && deemin <= 0.5*z[4*n0-3] {
				flip(z, i0, n0)
				pp = 2
			}
		}

		// −(initial shift) goes into dmin.
		s.dmin = -max(0, qmin-2*math.Sqrt(qmin)*math.Sqrt(emax))
		s.i0, s.n0, s.pp = i0, n0, pp
		nbig := 100 * (n0 - i0 + 1)
		converged := false
		for range nbig {
			if s.i0 > s.n0 {
				converged = true
				break
			}
			s.step()
			s.pp = 1 - s.pp
			if s.pp == 0 && s.n0-s.i0 >= 3 {
				s.split()
			}
		}
		if !converged {
			return 2
		}
		i0, n0 = s.i0, s.n0
	}
	return 3
}

// sortDecreasing sorts s in decreasing order as gonum's Dlasrt does,
// element for element (so also where +0 and −0 tie): both sort with the
// same pattern-defeating quicksort on the same comparisons, but this one
// does not allocate for sort.Interface.
func sortDecreasing(s []float64) {
	slices.SortFunc(s, func(a, b float64) int { return cmp.Compare(b, a) })
}

// flip reverses the qd array of the block i0…n0 in place, both ping-pong
// copies.
func flip(z []float64, i0, n0 int) {
	ipn4 := 4 * (i0 + n0)
	for j4 := 4 * i0; j4 <= 2*(i0+n0-1); j4 += 4 {
		z[j4-3], z[ipn4-j4-3] = z[ipn4-j4-3], z[j4-3]
		z[j4-2], z[ipn4-j4-2] = z[ipn4-j4-2], z[j4-2]
		z[j4-1], z[ipn4-j4-5] = z[ipn4-j4-5], z[j4-1]
		z[j4], z[ipn4-j4-4] = z[ipn4-j4-4], z[j4]
	}
}

// dqds is the state dlasq2 passes to and from dlasq3–dlasq6: the qd array
// z (from 1), the block i0…n0 and its ping-pong side pp, the accumulated
// shift σ (in sigma and its rounding error desig), the largest q, the
// shift τ with its type and damping g, and the minimum pivots of the last
// transform: dmin over all, dmin1 without the last, dmin2 without the
// last two, and the last three pivots dn, dn1, dn2.
type dqds struct {
	z                  []float64
	i0, n0, pp         int
	dmin, sigma, desig float64
	qmax               float64
	ttype              int
	g, tau             float64
	dmin1, dmin2       float64
	dn, dn1, dn2       float64
}

// split is dlasq2's check for splits when an e has become negligible: it
// marks each split point with −σ and moves i0 past the last one.
func (s *dqds) split() {
	z, i0, n0, sigma := s.z, s.i0, s.n0, s.sigma
	if !(z[4*n0] <= tol2*s.qmax || z[4*n0-1] <= tol2*sigma) {
		return
	}
	splt := i0 - 1
	s.qmax = z[4*i0-3]
	emin := z[4*i0-1]
	oldemn := z[4*i0]
	for i4 := 4 * i0; i4 <= 4*(n0-3); i4 += 4 {
		if z[i4] <= tol2*z[i4-3] || z[i4-1] <= tol2*sigma {
			z[i4-1] = -sigma
			splt = i4 / 4
			s.qmax = 0
			emin = z[i4+3]
			oldemn = z[i4+4]
		} else {
			s.qmax = max(s.qmax, z[i4+1])
			emin = min(emin, z[i4-1])
			oldemn = min(oldemn, z[i4])
		}
	}
	z[4*n0-1] = emin
	z[4*n0] = oldemn
	s.i0 = splt + 1
}

// step is LAPACK's dlasq3: it deflates converged values off the bottom of
// the block, then does one dqds transform with a shift, retrying with
// smaller shifts until the transform succeeds.
func (s *dqds) step() {
	z := s.z
	n0in := s.n0
	for {
		i0, n0, pp := s.i0, s.n0, s.pp
		if n0 < i0 {
			return
		}
		nn := 4*n0 + pp
		one := n0 == i0 ||
			n0 != i0+1 && !(z[nn-5] > tol2*(s.sigma+z[nn-3]) && z[nn-2*pp-4] > tol2*z[nn-7])
		if one {
			// One value has converged.
			z[4*n0-3] = z[4*n0+pp-3] + s.sigma
			s.n0--
			continue
		}
		if n0 != i0+1 && z[nn-9] > tol2*s.sigma && z[nn-2*pp-8] > tol2*z[nn-11] {
			break
		}
		// Two values have converged: those of the trailing 2×2.
		if z[nn-3] > z[nn-7] {
			z[nn-3], z[nn-7] = z[nn-7], z[nn-3]
		}
		t := 0.5 * ((z[nn-7] - z[nn-3]) + z[nn-5])
		if z[nn-5] > z[nn-3]*tol2 && t != 0 {
			r := z[nn-3] * (z[nn-5] / t)
			if r <= t {
				r = z[nn-3] * (z[nn-5] / (t * (1 + math.Sqrt(1+r/t))))
			} else {
				r = z[nn-3] * (z[nn-5] / (t + math.Sqrt(t)*math.Sqrt(t+r)))
			}
			t = z[nn-7] + (r + z[nn-5])
			z[nn-3] *= z[nn-7] / t
			z[nn-7] = t
		}
		z[4*n0-7] = z[nn-7] + s.sigma
		z[4*n0-3] = z[nn-3] + s.sigma
		s.n0 -= 2
	}

	if s.pp == 2 {
		s.pp = 0
	}
	i0, n0, pp := s.i0, s.n0, s.pp
	// Reverse the qd array if warranted.
	if (s.dmin <= 0 || n0 < n0in) && cbias*z[4*i0+pp-3] < z[4*n0+pp-3] {
		flip(z, i0, n0)
		if n0-i0 <= 4 {
			z[4*n0+pp-1] = z[4*i0+pp-1]
			z[4*n0-pp] = z[4*i0-pp]
		}
		s.dmin2 = min(s.dmin2, z[4*n0+pp-1])
		z[4*n0+pp-1] = min(z[4*n0+pp-1], z[4*i0+pp-1], z[4*i0+pp+3])
		z[4*n0-pp] = min(z[4*n0-pp], z[4*i0-pp], z[4*i0-pp+4])
		s.qmax = max(s.qmax, z[4*i0+pp-3], z[4*i0+pp+1])
		s.dmin = negZero
	}

	s.shift(n0in)
	zeroShift := false
retry:
	for {
		s.transform()
		switch {
		case s.dmin >= 0 && s.dmin1 >= 0:
			break retry
		case s.dmin < 0 && s.dmin1 > 0 && z[4*(n0-1)-pp] < tol*(s.sigma+s.dn1) && math.Abs(s.dn) < tol*s.sigma:
			// Convergence hidden by a negative dn: the last e is
			// negligible.
			z[4*(n0-1)-pp+2] = 0
			s.dmin = 0
			break retry
		case s.dmin < 0:
			// The shift was too big: shrink it and try again.
			switch {
			case s.ttype < -22:
				s.tau = 0
			case s.dmin1 > 0:
				s.tau = (s.tau + s.dmin) * (1 - 2*eps)
				s.ttype -= 11
			default:
				s.tau *= 0.25
				s.ttype -= 12
			}
		case math.IsNaN(s.dmin) && s.tau != 0:
			s.tau = 0
		default:
			zeroShift = true
			break retry
		}
	}
	if zeroShift {
		s.transformZeroShift()
		s.tau = 0
	}

	// σ += τ, in compensated summation.
	if s.tau < s.sigma {
		s.desig += s.tau
		t := s.sigma + s.desig
		s.desig -= t - s.sigma
		s.sigma = t
	} else {
		t := s.sigma + s.tau
		s.desig = s.sigma - (t - s.tau) + s.desig
		s.sigma = t
	}
}

// dlasq4's constants.
const (
	cnst1 = 0.563
	cnst2 = 1.01
	cnst3 = 1.05
	third = 0.333
)

// shift is LAPACK's dlasq4: it sets τ to an approximation of the
// smallest eigenvalue of the block from the pivots of the last transform.
// n0in is n0 before step's deflation. Where the reference returns early
// it leaves τ as it was.
func (s *dqds) shift(n0in int) {
	z, i0, n0, pp := s.z, s.i0, s.n0, s.pp
	if s.dmin <= 0 {
		s.tau = -s.dmin
		s.ttype = -1
		return
	}
	nn := 4*n0 + pp
	var a2, b1, b2, gam, gap1, gap2, q float64
	switch {
	case n0in == n0:
		// No eigenvalues deflated.
		switch {
		case s.dmin == s.dn || s.dmin == s.dn1:
			b1 = math.Sqrt(z[nn-3]) * math.Sqrt(z[nn-5])
			b2 = math.Sqrt(z[nn-7]) * math.Sqrt(z[nn-9])
			a2 = z[nn-7] + z[nn-5]
			if s.dmin == s.dn && s.dmin1 == s.dn1 {
				// Cases 2 and 3.
				gap2 = s.dmin2 - a2 - s.dmin2*0.25
				if gap2 > 0 && gap2 > b2 {
					gap1 = a2 - s.dn - (b2/gap2)*b2
				} else {
					gap1 = a2 - s.dn - (b1 + b2)
				}
				if gap1 > 0 && gap1 > b1 {
					q = max(s.dn-(b1/gap1)*b1, 0.5*s.dmin)
					s.ttype = -2
				} else {
					q = 0
					if s.dn > b1 {
						q = s.dn - b1
					}
					if a2 > b1+b2 {
						q = min(q, a2-(b1+b2))
					}
					q = max(q, third*s.dmin)
					s.ttype = -3
				}
				break
			}
			// Case 4.
			s.ttype = -4
			q = 0.25 * s.dmin
			var np int
			if s.dmin == s.dn {
				gam = s.dn
				a2 = 0
				if z[nn-5] > z[nn-7] {
					return
				}
				b2 = z[nn-5] / z[nn-7]
				np = nn - 9
			} else {
				np = nn - 2*pp
				gam = s.dn1
				if z[np-4] > z[np-2] {
					return
				}
				a2 = z[np-4] / z[np-2]
				if z[nn-9] > z[nn-11] {
					return
				}
				b2 = z[nn-9] / z[nn-11]
				np = nn - 13
			}
			var ok bool
			if a2, ok = restOfBlock(z, np, 4*i0-1+pp, a2+b2, b2); !ok {
				return
			}
			// Rayleigh quotient residual bound.
			if a2 < cnst1 {
				q = gam * (1 - math.Sqrt(a2)) / (1 + a2)
			}
		case s.dmin == s.dn2:
			// Case 5.
			s.ttype = -5
			q = 0.25 * s.dmin
			np := nn - 2*pp
			b1 = z[np-2]
			b2 = z[np-6]
			gam = s.dn2
			if z[np-8] > b2 || z[np-4] > b1 {
				return
			}
			a2 = (z[np-8] / b2) * (1 + z[np-4]/b1)
			if n0-i0 > 2 {
				b2 = z[nn-13] / z[nn-15]
				var ok bool
				if a2, ok = restOfBlock(z, nn-17, 4*i0-1+pp, a2+b2, b2); !ok {
					return
				}
			}
			if a2 < cnst1 {
				q = gam * (1 - math.Sqrt(a2)) / (1 + a2)
			}
		default:
			// Case 6: no information to guide the shift.
			switch s.ttype {
			case -6:
				s.g += third * (1 - s.g)
			case -18:
				s.g = 0.25 * third
			default:
				s.g = 0.25
			}
			q = s.g * s.dmin
			s.ttype = -6
		}
	case n0in == n0+1:
		// One eigenvalue just deflated: use dmin1, dn1.
		if s.dmin1 == s.dn1 && s.dmin2 == s.dn2 {
			// Cases 7 and 8.
			s.ttype = -7
			q = third * s.dmin1
			if z[nn-5] > z[nn-7] {
				return
			}
			b1 = z[nn-5] / z[nn-7]
			b2 = b1
			if b2 != 0 {
				for i4 := 4*n0 - 9 + pp; i4 >= 4*i0-1+pp; i4 -= 4 {
					a2 = b1
					if z[i4] > z[i4-2] {
						return
					}
					b1 *= z[i4] / z[i4-2]
					b2 += b1
					if 100*max(b1, a2) < b2 {
						break
					}
				}
			}
			b2 = math.Sqrt(cnst3 * b2)
			a2 = s.dmin1 / (1 + b2*b2)
			gap2 = 0.5*s.dmin2 - a2
			if gap2 > 0 && gap2 > b2*a2 {
				q = max(q, a2*(1-cnst2*a2*(b2/gap2)*b2))
			} else {
				q = max(q, a2*(1-cnst2*b2))
				s.ttype = -8
			}
		} else {
			// Case 9.
			q = 0.25 * s.dmin1
			if s.dmin1 == s.dn1 {
				q = 0.5 * s.dmin1
			}
			s.ttype = -9
		}
	case n0in == n0+2:
		// Two eigenvalues deflated: use dmin2, dn2.
		if s.dmin2 == s.dn2 && 2*z[nn-5] < z[nn-7] {
			// Case 10.
			s.ttype = -10
			q = third * s.dmin2
			if z[nn-5] > z[nn-7] {
				return
			}
			b1 = z[nn-5] / z[nn-7]
			b2 = b1
			if b2 != 0 {
				for i4 := 4*n0 - 9 + pp; i4 >= 4*i0-1+pp; i4 -= 4 {
					if z[i4] > z[i4-2] {
						return
					}
					b1 *= z[i4] / z[i4-2]
					b2 += b1
					if 100*b1 < b2 {
						break
					}
				}
			}
			b2 = math.Sqrt(cnst3 * b2)
			a2 = s.dmin2 / (1 + b2*b2)
			gap2 = z[nn-7] + z[nn-9] - math.Sqrt(z[nn-11])*math.Sqrt(z[nn-9]) - a2
			if gap2 > 0 && gap2 > b2*a2 {
				q = max(q, a2*(1-cnst2*a2*(b2/gap2)*b2))
			} else {
				q = max(q, a2*(1-cnst2*b2))
			}
		} else {
			// Case 11.
			q = 0.25 * s.dmin2
			s.ttype = -11
		}
	default:
		// Case 12: more than two eigenvalues deflated; no shift.
		q = 0
		s.ttype = -12
	}
	s.tau = q
}

// restOfBlock is the approximation of dlasq4's cases 4 and 5 to the
// contribution of the rest of the block to the norm squared: it adds to
// a2 the products of the ratios z[i4]/z[i4−2], i4 from i4 down to stop by
// 4, to the last ratio b2, until they stop mattering, and returns
// cnst3·a2, or false where dlasq4 returns without a new shift.
func restOfBlock(z []float64, i4, stop int, a2, b2 float64) (float64, bool) {
	for ; i4 >= stop; i4 -= 4 {
		if b2 == 0 {
			break
		}
		b1 := b2
		if z[i4] > z[i4-2] {
			return 0, false
		}
		b2 *= z[i4] / z[i4-2]
		a2 += b2
		if 100*max(b2, b1) < a2 || cnst1 < a2 {
			break
		}
	}
	return a2 * cnst3, true
}

// transform is LAPACK's dlasq5 in its IEEE form: one dqds transform of
// the block with shift τ (zeroed when it is below half of ε·(σ+τ)) from
// side pp to the other, recording the minimum pivots. The block has at
// least three rows.
func (s *dqds) transform() {
	z, i0, n0, pp := s.z, s.i0, s.n0, s.pp
	dthresh := eps * (s.sigma + s.tau)
	if s.tau < dthresh*0.5 {
		s.tau = 0
	}
	tau := s.tau
	// With no shift, pivots below dthresh are set to zero.
	clamp := tau == 0
	j4 := 4*i0 + pp - 3
	emin := z[j4+4]
	d := z[j4] - tau
	dmin := d
	// Side pp reads q at 4k-3+pp and e at 4k-1+pp and writes the other
	// side: so, with j4 = 4k, e is z[j4-1+pp], the next q z[j4+1+pp], and
	// the new q and e go to z[j4-2-pp] and z[j4-pp].
	for j4 := 4 * i0; j4 <= 4*(n0-3); j4 += 4 {
		// The loop's time is its chain of dependent operations
		// through d, so values written to z are kept in registers for
		// what reads them next.
		e := z[j4-1+pp]
		q := d + e
		z[j4-2-pp] = q
		temp := z[j4+1+pp] / q
		d = d*temp - tau
		if clamp && d < dthresh {
			d = 0
		}
		dmin = min(dmin, d)
		e *= temp
		z[j4-pp] = e
		emin = min(e, emin)
	}

	// The last two pivots, unrolled to keep dn1 and dn2.
	s.dn2 = d
	s.dmin2 = dmin
	j4 = 4*(n0-2) - pp
	j4p2 := j4 + 2*pp - 1
	z[j4-2] = s.dn2 + z[j4p2]
	z[j4] = z[j4p2+2] * (z[j4p2] / z[j4-2])
	s.dn1 = z[j4p2+2]*(s.dn2/z[j4-2]) - tau
	dmin = min(dmin, s.dn1)
	s.dmin1 = dmin
	j4 += 4
	j4p2 = j4 + 2*pp - 1
	z[j4-2] = s.dn1 + z[j4p2]
	z[j4] = z[j4p2+2] * (z[j4p2] / z[j4-2])
	s.dn = z[j4p2+2]*(s.dn1/z[j4-2]) - tau
	s.dmin = min(dmin, s.dn)
	z[j4+2] = s.dn
	z[4*n0-pp] = emin
}

// transformZeroShift is LAPACK's dlasq6: one dqd transform without a
// shift, guarded against underflow, for when shifted transforms failed.
func (s *dqds) transformZeroShift() {
	z, i0, n0, pp := s.z, s.i0, s.n0, s.pp
	j4 := 4*i0 + pp - 3
	emin := z[j4+4]
	d := z[j4]
	dmin := d
	// Indices as in transform.
	for j4 := 4 * i0; j4 <= 4*(n0-3); j4 += 4 {
		z[j4-2-pp] = d + z[j4-1+pp]
		switch {
		case z[j4-2-pp] == 0:
			z[j4-pp] = 0
			d = z[j4+1+pp]
			dmin = d
			emin = 0
		case safmin*z[j4+1+pp] < z[j4-2-pp] && safmin*z[j4-2-pp] < z[j4+1+pp]:
			temp := z[j4+1+pp] / z[j4-2-pp]
			z[j4-pp] = z[j4-1+pp] * temp
			d *= temp
		default:
			z[j4-pp] = z[j4+1+pp] * (z[j4-1+pp] / z[j4-2-pp])
			d = z[j4+1+pp] * (d / z[j4-2-pp])
		}
		dmin = min(dmin, d)
		emin = min(emin, z[j4-pp])
	}

	s.dn2 = d
	s.dmin2 = dmin
	j4 = 4*(n0-2) - pp
	j4p2 := j4 + 2*pp - 1
	s.dn1, dmin, emin = pivot(z, j4, j4p2, s.dn2, dmin, emin)
	s.dmin1 = dmin
	j4 += 4
	j4p2 = j4 + 2*pp - 1
	s.dn, s.dmin, emin = pivot(z, j4, j4p2, s.dn1, dmin, emin)
	z[j4+2] = s.dn
	z[4*n0-pp] = emin
}

// pivot is one of dlasq6's last two guarded steps: from pivot d it writes
// the new q and e at z[j4-2] and z[j4] and returns the next pivot and
// the updated minima.
func pivot(z []float64, j4, j4p2 int, d, dmin, emin float64) (dnext, dminOut, eminOut float64) {
	z[j4-2] = d + z[j4p2]
	switch {
	case z[j4-2] == 0:
		z[j4] = 0
		dnext = z[j4p2+2]
		dmin = dnext
		emin = 0
	case safmin*z[j4p2+2] < z[j4-2] && safmin*z[j4-2] < z[j4p2+2]:
		temp := z[j4p2+2] / z[j4-2]
		z[j4] = z[j4p2] * temp
		dnext = d * temp
	default:
		z[j4] = z[j4p2+2] * (z[j4p2] / z[j4-2])
		dnext = z[j4p2+2] * (d / z[j4-2])
	}
	return dnext, min(dmin, dnext), emin
}
