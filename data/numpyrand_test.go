package data_test

import (
	"math"
	"slices"
	"strconv"
	"testing"

	"sgdlab/data"
)

// Unless noted otherwise, the expected values below were printed by numpy
// 1.24.2 (np.random.seed(s) followed by the named legacy call); those of
// Appendix A of the spec agree with them.

func TestNumpyRandUint32(t *testing.T) {
	for _, tc := range []struct {
		seed uint32
		skip int // draws discarded first
		want []uint32
	}{
		{seed: 0, want: []uint32{2357136044, 2546248239}}, // Appendix A
		// The MT19937 reference outputs for the default seed 5489: the
		// first, and the 10000th (required of std::mt19937 by C++11).
		{seed: 5489, want: []uint32{3499211612}},
		{seed: 5489, skip: 9999, want: []uint32{4123659995}},
	} {
		r := data.NewNumpyRand(tc.seed)
		for range tc.skip {
			r.Uint32()
		}
		for i, want := range tc.want {
			if got := r.Uint32(); got != want {
				t.Errorf("seed %d: draw %d = %d, want %d", tc.seed, tc.skip+i, got, want)
			}
		}
	}
}

func TestNumpyRandFloat64(t *testing.T) {
	// np.random.random_sample(5)
	want := []float64{0.5488135039273248, 0.7151893663724195, 0.6027633760716439, 0.5448831829968969, 0.4236547993389047}
	r := data.NewNumpyRand(0)
	for i, w := range want {
		if got := r.Float64(); got != w {
			t.Errorf("draw %d = %v, want %v", i, got, w)
		}
	}
}

func TestNumpyRandNormFloat64(t *testing.T) {
	for _, tc := range []struct {
		seed uint32
		skip int
		want []float64
	}{
		// np.random.randn(5); the first three are in Appendix A.
		{seed: 0, want: []float64{1.764052345967664, 0.4001572083672233, 0.9787379841057392, 2.240893199201458, 1.8675579901499675}},
		{seed: 1, want: []float64{1.6243453636632417}},
		// np.random.randn(100001)[-1]: about 10⁵ logarithms and square
		// roots, so a one-ulp difference from C's libm would likely show.
		{seed: 4, skip: 100000, want: []float64{-0.9311078090638893}},
	} {
		r := data.NewNumpyRand(tc.seed)
		for range tc.skip {
			r.NormFloat64()
		}
		for i, want := range tc.want {
			if got := r.NormFloat64(); got != want {
				t.Errorf("seed %d: draw %d = %v, want %v", tc.seed, tc.skip+i, got, want)
			}
		}
	}
}

func TestNumpyRandSeedClearsGauss(t *testing.T) {
	r := data.NewNumpyRand(7)
	r.NormFloat64() // leaves the second value of a pair cached
	r.Seed(0)
	if got, want := r.NormFloat64(), 1.764052345967664; got != want {
		t.Errorf("first normal after Seed(0) = %v, want %v", got, want)
	}
}

func TestNumpyRandNormals(t *testing.T) {
	// Filling in pieces of odd length must carry the cached value across
	// calls, as consecutive numpy arrays do.
	want := make([]float64, 7)
	data.NewNumpyRand(3).Normals(want)
	r := data.NewNumpyRand(3)
	got := make([]float64, 7)
	r.Normals(got[:3])
	r.Normals(got[3:4])
	r.Normals(got[4:])
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("element %d = %v, want %v", i, got[i], want[i])
		}
	}
	r = data.NewNumpyRand(3)
	for i, w := range want {
		if g := r.NormFloat64(); g != w {
			t.Errorf("NormFloat64 %d = %v, Normals gave %v", i, g, w)
		}
	}
}

func TestNumpyRandIntn(t *testing.T) {
	for _, tc := range []struct {
		seed uint32
		n    int
		want []int
	}{
		// Appendix A.
		{1, 80, []int{37, 12, 72, 9, 75, 5, 79, 64}},
		{1, 40, []int{37, 12, 8, 9, 11, 5, 15, 0}},
		{1, 20, []int{5, 11, 12, 8, 9, 11, 5, 15}},
		{2, 20, []int{8, 15, 13, 8, 11, 18, 11, 8}},
		// numpy only.
		{7, 1000, []int{175, 196, 537, 502, 579, 211, 919, 615}},
		{7, 3, []int{0, 1, 2, 0, 1, 2, 0, 1}},
	} {
		r := data.NewNumpyRand(tc.seed)
		for i, want := range tc.want {
			if got := r.Intn(tc.n); got != want {
				t.Errorf("seed %d, Intn(%d) draw %d = %d, want %d", tc.seed, tc.n, i, got, want)
			}
		}
	}
}

func TestNumpyRandIntnWide(t *testing.T) {
	if strconv.IntSize < 64 {
		t.Skip("int has fewer than 64 bits")
	}
	// n-1 = 2³²-1 is the largest range served by single words; above it
	// each try draws a 64-bit word, high half first. The values are held
	// as uint64 so that this file compiles where int has 32 bits.
	for _, tc := range []struct {
		n    uint64
		want []uint64
	}{
		{1 << 32, []uint64{2365658986, 303761048, 3041471737}},
		{1<<32 + 1, []uint64{303761048, 521102280, 2445173525}},
		{1 << 40, []uint64{455570294424, 1073054410371, 790795084744}},
		{1<<40 + 5, []uint64{1073054410371, 867663915883, 593770158997}},
	} {
		r := data.NewNumpyRand(3)
		for i, want := range tc.want {
			if got := uint64(r.Intn(int(tc.n))); got != want {
				t.Errorf("seed 3, Intn(%d) draw %d = %d, want %d", tc.n, i, got, want)
			}
		}
	}
}

func TestNumpyRandIntnOneDrawsNothing(t *testing.T) {
	r := data.NewNumpyRand(1)
	for range 3 {
		if got := r.Intn(1); got != 0 {
			t.Fatalf("Intn(1) = %d, want 0", got)
		}
	}
	// np.random.seed(1); randint(1) three times; randn() gives the first
	// normal of seed 1, so randint(1) consumed nothing.
	if got, want := r.NormFloat64(), 1.6243453636632417; got != want {
		t.Errorf("normal after Intn(1) = %v, want %v", got, want)
	}
}

func TestNumpyRandIntnPanics(t *testing.T) {
	for _, n := range []int{0, -1, math.MinInt} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Intn(%d) did not panic", n)
				}
			}()
			data.NewNumpyRand(0).Intn(n)
		}()
	}
}

func TestNumpyRandNoAllocs(t *testing.T) {
	r := data.NewNumpyRand(0)
	dst := make([]float64, 9)
	for name, f := range map[string]func(){
		"Intn":        func() { r.Intn(80) },
		"NormFloat64": func() { r.NormFloat64() },
		"Normals":     func() { r.Normals(dst) },
	} {
		if a := testing.AllocsPerRun(1000, f); a != 0 {
			t.Errorf("%s: %v allocations per call, want 0", name, a)
		}
	}
}

func BenchmarkIntn(b *testing.B) {
	r := data.NewNumpyRand(1)
	b.ReportAllocs()
	for b.Loop() {
		r.Intn(80)
	}
}

// TestPermute checks Permute against numpy 1.24's
// np.random.seed(7); np.random.permutation(20)[:5], that it is a
// permutation, and that it allocates nothing.
func TestPermute(t *testing.T) {
	p := make([]int, 20)
	data.NewNumpyRand(7).Permute(p)
	if want := []int{1, 17, 2, 5, 11}; !slices.Equal(p[:5], want) {
		t.Errorf("permutation starts %v, want numpy's %v", p[:5], want)
	}
	if s := slices.Sorted(slices.Values(p)); !slices.Equal(s, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}) {
		t.Errorf("%v is not a permutation of 0..19", p)
	}
	r := data.NewNumpyRand(1)
	if a := testing.AllocsPerRun(100, func() { r.Permute(p) }); a != 0 {
		t.Errorf("Permute allocates %v times", a)
	}
}
