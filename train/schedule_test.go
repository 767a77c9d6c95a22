package train

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The expected values below come from spec.md (printed to a few digits) or
// from the authors' formulas evaluated in Python (printed with repr, so
// exact).

// TestSchedulePiecewiseE1 checks the decay pairs of E1/E2. The DLN code
// divides after the update at t, so the decay takes effect at At = t+1.
func TestSchedulePiecewiseE1(t *testing.T) {
	for _, tc := range []struct {
		t      int
		factor float64
		after  float64 // η after the decay, from spec E1
	}{
		{10000, 4.8, 0.05875},
		{30000, 3.4, 0.08294117647058824},
		{50000, 1.5, 0.188},
	} {
		s := Piecewise{LR: 0.282, Decays: []Decay{{At: tc.t + 1, Factor: tc.factor}}}
		for _, i := range []int{0, tc.t} {
			if got := s.Rate(i); got != 0.282 {
				t.Errorf("÷%v: Rate(%d) = %v, want 0.282", tc.factor, i, got)
			}
		}
		for _, i := range []int{tc.t + 1, 100000} {
			if got := s.Rate(i); math.Abs(got-tc.after) > 1e-15*tc.after {
				t.Errorf("÷%v: Rate(%d) = %v, want %v", tc.factor, i, got, tc.after)
			}
		}
		if got, want := s.Marks(), []int{tc.t + 1}; !slices.Equal(got, want) {
			t.Errorf("÷%v: Marks() = %v, want %v", tc.factor, got, want)
		}
	}
}

// TestSchedulePiecewiseSeveralDecays checks that decays accumulate and
// that each one starts exactly at its At.
func TestSchedulePiecewiseSeveralDecays(t *testing.T) {
	s := Piecewise{LR: 1, Decays: []Decay{{At: 10, Factor: 2}, {At: 20, Factor: 4}}}
	for _, tc := range []struct {
		i    int
		want float64
	}{{0, 1}, {9, 1}, {10, 0.5}, {19, 0.5}, {20, 0.125}, {1000, 0.125}} {
		if got := s.Rate(tc.i); got != tc.want {
			t.Errorf("Rate(%d) = %v, want %v", tc.i, got, tc.want)
		}
	}
	if got, want := s.Marks(), []int{10, 20}; !slices.Equal(got, want) {
		t.Errorf("Marks() = %v, want %v", got, want)
	}
}

// TestScheduleWarmup checks the train_fc_net warm-ups of E4 (linear) and
// E6 (square root) against the tables of the spec. The printed peak is
// γ(1 + (F−1)(Until/T)^e): the value the code computes at update Until
// before dividing it, so no update uses it; the last warm-up update
// Until−1 uses slightly less.
func TestScheduleWarmup(t *testing.T) {
	for _, tc := range []struct {
		name        string
		w           Warmup
		peak, after float64 // printed in the spec
		tol         float64 // relative, half a unit of the last printed digit
	}{
		{"E4 cell 1, 2 %", Warmup{LR: 2e-4, Total: 31623, Until: 632, Factor: 8, Exponent: 1, Decay: 2.5}, 2.2798e-4, 9.119e-5, 5e-5},
		{"E4 cell 1, 50 %", Warmup{LR: 2e-4, Total: 31623, Until: 15811, Factor: 200, Exponent: 1, Decay: 3}, 2.00994e-2, 6.6998e-3, 1e-5},
		{"E4 cell 2, 2 %", Warmup{LR: 2e-4, Total: 31623, Until: 632, Factor: 10, Exponent: 1, Decay: 2.5}, 2.3597e-4, 9.439e-5, 5e-5},
		{"E4 cell 2, 50 %", Warmup{LR: 2e-4, Total: 31623, Until: 15811, Factor: 250, Exponent: 1, Decay: 3}, 2.50992e-2, 8.3664e-3, 1e-5},
		{"E6 10 %", Warmup{LR: 0.04, Total: 10001, Until: 1000, Factor: 6, Exponent: 0.5, Decay: 3.5}, 0.103242, 0.029498, 1e-5},
		{"E6 30 %", Warmup{LR: 0.04, Total: 10001, Until: 3000, Factor: 6, Exponent: 0.5, Decay: 2.5}, 0.149539, 0.059816, 1e-5},
		{"E6 50 %", Warmup{LR: 0.04, Total: 10001, Until: 5000, Factor: 6, Exponent: 0.5, Decay: 5}, 0.181414, 0.036283, 1e-5},
	} {
		w := tc.w
		closeTo := func(got, want, rel float64) bool { return math.Abs(got-want) <= rel*math.Abs(want) }

		peak := w.LR * (1 + (w.Factor-1)*math.Pow(float64(w.Until)/float64(w.Total), w.Exponent))
		if !closeTo(peak, tc.peak, tc.tol) {
			t.Errorf("%s: peak formula = %v, spec prints %v", tc.name, peak, tc.peak)
		}
		if got := w.Rate(w.Until) * w.Decay; !closeTo(got, peak, 1e-15) {
			t.Errorf("%s: Rate(Until)·Decay = %v, want the peak %v", tc.name, got, peak)
		}
		if got := w.Rate(w.Until); !closeTo(got, tc.after, tc.tol) {
			t.Errorf("%s: Rate(%d) = %v, spec prints %v", tc.name, w.Until, got, tc.after)
		}
		if got := w.Rate(0); got != w.LR {
			t.Errorf("%s: Rate(0) = %v, want γ = %v", tc.name, got, w.LR)
		}
		if a, b := w.Rate(w.Until-2), w.Rate(w.Until-1); !(w.LR < a && a < b && b < peak) {
			t.Errorf("%s: Rate(Until−2), Rate(Until−1) = %v, %v, want increasing between γ = %v and the peak %v",
				tc.name, a, b, w.LR, peak)
		}
		// The rate is frozen after the decay, also past Total.
		for _, i := range []int{w.Until + 1, 20000, w.Total - 1, w.Total + 10} {
			if got, want := w.Rate(i), w.Rate(w.Until); got != want {
				t.Errorf("%s: Rate(%d) = %v, want Rate(Until) = %v", tc.name, i, got, want)
			}
		}
		if got, want := w.Marks(), []int{w.Until}; !slices.Equal(got, want) {
			t.Errorf("%s: Marks() = %v, want %v", tc.name, got, want)
		}
	}
}

// TestScheduleWarmupExact compares with the authors' expression evaluated in
// Python; exponents 1 and 0.5 need no pow approximation, so the rates agree
// bit for bit.
func TestScheduleWarmupExact(t *testing.T) {
	e4 := Warmup{LR: 2e-4, Total: 31623, Until: 632, Factor: 8, Exponent: 1, Decay: 2.5}
	e6 := Warmup{LR: 0.04, Total: 10001, Until: 1000, Factor: 6, Exponent: 0.5, Decay: 3.5}
	for _, tc := range []struct {
		w    Warmup
		i    int
		want float64
	}{
		{e4, 1, 0.00020004427157448694},
		{e4, 631, 0.0002279353635012491},
		{e4, 632, 9.119185403029442e-05},
		{e6, 1, 0.041999900007499376},
		{e6, 999, 0.10321076205802304},
		{e6, 1000, 0.029497826046531},
	} {
		if got := tc.w.Rate(tc.i); got != tc.want {
			t.Errorf("%v: Rate(%d) = %v, want %v", tc.w, tc.i, got, tc.want)
		}
	}
}

// TestScheduleWarmupNone checks E6 run 1: with Until = 0 the rate is
// constant and there is no mark, whatever the other fields say.
func TestScheduleWarmupNone(t *testing.T) {
	w := Warmup{LR: 0.011, Total: 10001, Factor: 6, Exponent: 0.5, Decay: 3}
	for _, i := range []int{0, 1, 5000, 10000} {
		if got := w.Rate(i); got != 0.011 {
			t.Errorf("Rate(%d) = %v, want 0.011", i, got)
		}
	}
	if m := w.Marks(); len(m) != 0 {
		t.Errorf("Marks() = %v, want none", m)
	}
}

// TestScheduleDeepPiecewise checks E8 (exponential warm-up, q = 1.05) and
// E9 (q = 1, f = 1) with 195 steps per epoch (50000/256, drop_last) over
// 100 epochs: 19500 updates.
func TestScheduleDeepPiecewise(t *testing.T) {
	const (
		// The spec prints the E8 rates to 4 decimals, so one unit of the
		// last digit; its peaks 1.2216 and 3.2413 are 1.22167 and 3.24146
		// truncated or slightly off, so they get a relative 1e-4.
		e8Tol = 1e-4
		// The E9 rates are round numbers and agree to rounding.
		e9Tol = 1e-18
	)
	for _, tc := range []struct {
		name              string
		d                 DeepPiecewise
		peak, mid, final  float64 // printed in the spec; peak 0 if not printed
		tol               float64 // absolute, for mid and final
		firstMark         int     // k with (k+1)/195 = 100·P: P·19500 − 1
		rateBeforeFirstAt float64 // exact rate of update firstMark−1, 0 if unchecked
	}{
		{"E8 P=0.5", DeepPiecewise{LR: 0.75, P: 0.5, WarmupFactor: 1, WarmupExp: 1.05, Epochs: 100, StepsPerEpoch: 195}, 8.600, 0.8600, 0.0860, e8Tol, 9749, 0},
		{"E8 P=0.3", DeepPiecewise{LR: 0.75, P: 0.3, WarmupFactor: 1, WarmupExp: 1.05, Epochs: 100, StepsPerEpoch: 195}, 3.2413, 0.3241, 0.0324, e8Tol, 5849, 0},
		{"E8 P=0.1", DeepPiecewise{LR: 0.75, P: 0.1, WarmupFactor: 1, WarmupExp: 1.05, Epochs: 100, StepsPerEpoch: 195}, 1.2216, 0.1222, 0.0122, e8Tol, 1949, 0},
		{"E9 P=0.1", DeepPiecewise{LR: 0.05, P: 0.1, WarmupFactor: 1, WarmupExp: 1, Epochs: 100, StepsPerEpoch: 195}, 0, 0.001, 0.0001, e9Tol, 1949, 0.05},
		{"E9 P=0.3", DeepPiecewise{LR: 0.05, P: 0.3, WarmupFactor: 1, WarmupExp: 1, Epochs: 100, StepsPerEpoch: 195}, 0, 0.003, 0.0003, e9Tol, 5849, 0.05},
		{"E9 P=0.5", DeepPiecewise{LR: 0.05, P: 0.5, WarmupFactor: 1, WarmupExp: 1, Epochs: 100, StepsPerEpoch: 195}, 0, 0.005, 0.0005, e9Tol, 9749, 0.05},
	} {
		d := tc.d
		marks := d.Marks()
		if want := []int{tc.firstMark, 17549}; !slices.Equal(marks, want) {
			t.Fatalf("%s: Marks() = %v, want %v", tc.name, marks, want)
		}
		mid := d.Rate(marks[0])
		if math.Abs(mid-tc.mid) > tc.tol {
			t.Errorf("%s: Rate(%d) = %v, spec prints %v", tc.name, marks[0], mid, tc.mid)
		}
		for _, k := range []int{marks[0] + 1, 12345, marks[1] - 1} {
			if got := d.Rate(k); got != mid {
				t.Errorf("%s: Rate(%d) = %v, want %v as at the first decay", tc.name, k, got, mid)
			}
		}
		for _, k := range []int{marks[1], 19499} {
			if got := d.Rate(k); math.Abs(got-tc.final) > tc.tol || math.Abs(got-mid/10) > 1e-15*mid {
				t.Errorf("%s: Rate(%d) = %v, want %v = Rate(first decay)/10", tc.name, k, got, tc.final)
			}
		}
		before := d.Rate(marks[0] - 1)
		if tc.peak != 0 {
			// The warm-up tends to q^(100P)·LR, ten times the rate after
			// the decay, but stops one update short of it.
			if math.Abs(10*mid-tc.peak) > 1e-4*tc.peak {
				t.Errorf("%s: 10·Rate(first decay) = %v, spec prints peak %v", tc.name, 10*mid, tc.peak)
			}
			if !(before < 10*mid && before > 0.999*10*mid) {
				t.Errorf("%s: Rate(%d) = %v, want just below the peak %v", tc.name, marks[0]-1, before, 10*mid)
			}
			if got, want := d.Rate(0), 0.75*math.Pow(1.05, 1.0/195); math.Abs(got-want) > 1e-15*want {
				t.Errorf("%s: Rate(0) = %v, want 1.05^(1/195)·0.75 = %v", tc.name, got, want)
			}
		}
		if tc.rateBeforeFirstAt != 0 && before != tc.rateBeforeFirstAt {
			t.Errorf("%s: Rate(%d) = %v, want %v", tc.name, marks[0]-1, before, tc.rateBeforeFirstAt)
		}
	}
}

// TestScheduleDeepPiecewisePython compares all three cases with
// get_lr_schedule evaluated in Python. The q = 1 case needs no pow and
// agrees bit for bit; Go's math.Pow may differ from C's pow in the last
// bits, hence the tolerance for q ≠ 1.
func TestScheduleDeepPiecewisePython(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    DeepPiecewise
		k    []int
		want []float64
		tol  float64 // relative
	}{
		{"q>1", DeepPiecewise{LR: 0.75, P: 0.5, WarmupFactor: 1, WarmupExp: 1.05, Epochs: 100, StepsPerEpoch: 195},
			[]int{0, 1, 777, 5848, 5849, 17548, 17549, 19499},
			[]float64{0.7501876779556681, 0.7503754028753564, 0.9111736112418549, 3.2406458509785265,
				3.241456781363001, 0.8600549839315276, 0.08600549839315276, 0.08600549839315276}, 1e-14},
		{"q<1", DeepPiecewise{LR: 0.1, P: 0.3, WarmupFactor: 1, WarmupExp: 0.5, Epochs: 100, StepsPerEpoch: 195},
			[]int{0, 1, 777, 5848, 5849, 17548, 17549, 19499},
			[]float64{0.10716114874039434, 0.11012739367083667, 0.29974342516697744, 0.6476757416105976,
				0.06477225575051662, 0.06477225575051662, 0.006477225575051661, 0.006477225575051661}, 1e-14},
		{"q=1 f=2", DeepPiecewise{LR: 0.1, P: 0.3, WarmupFactor: 2, WarmupExp: 1, Epochs: 100, StepsPerEpoch: 195},
			[]int{0, 1, 777, 5848, 5849, 17548, 17549, 19499},
			[]float64{0.10001025641025642, 0.10002051282051283, 0.10797948717948719, 0.1599897435897436,
				0.012, 0.012, 0.0012, 0.0012}, 0},
		// P > 0.5: the warm-up reaches f·LR at half the epochs and stays
		// there until P (numpy.interp clamps).
		{"q=1 P=0.7", DeepPiecewise{LR: 0.1, P: 0.7, WarmupFactor: 2, WarmupExp: 1, Epochs: 10, StepsPerEpoch: 7},
			[]int{0, 33, 34, 47, 48, 61, 62, 69},
			[]float64{0.10285714285714287, 0.19714285714285715, 0.2, 0.2, 0.027999999999999997,
				0.027999999999999997, 0.0027999999999999995, 0.0027999999999999995}, 0},
	} {
		for j, k := range tc.k {
			got, want := tc.d.Rate(k), tc.want[j]
			if math.Abs(got-want) > tc.tol*want {
				t.Errorf("%s: Rate(%d) = %v, want %v", tc.name, k, got, want)
			}
		}
	}
}

// TestScheduleDeepPiecewiseMarks checks the marks against a linear scan
// where P·Epochs·StepsPerEpoch is not an integer.
func TestScheduleDeepPiecewiseMarks(t *testing.T) {
	for _, d := range []DeepPiecewise{
		{LR: 1, P: 0.1, WarmupExp: 1.05, Epochs: 7, StepsPerEpoch: 13},
		{LR: 1, P: 0.3, WarmupExp: 1.05, Epochs: 7, StepsPerEpoch: 13},
		{LR: 1, P: 0.123, WarmupExp: 0.5, Epochs: 3, StepsPerEpoch: 1},
		{LR: 1, P: 0.5, WarmupExp: 1, WarmupFactor: 1, Epochs: 1, StepsPerEpoch: 2},
		{LR: 1, P: 0.01, WarmupExp: 1.05, Epochs: 100, StepsPerEpoch: 195},
	} {
		var want []int
		for _, frac := range []float64{d.P, 0.9} {
			k := 0
			for d.epochFraction(k) < frac {
				k++
			}
			want = append(want, k)
		}
		if got := d.Marks(); !slices.Equal(got, want) {
			t.Errorf("%v: Marks() = %v, want %v", d, got, want)
		}
	}
}

func TestScheduleCosine(t *testing.T) {
	c := Cosine{LR: 0.1, Total: 1000}
	for _, tc := range []struct {
		i    int
		want float64 // from Python, lr·(0.5 + 0.5·cos(π·i/Total))
	}{
		{0, 0.1}, {250, 0.08535533905932738}, {500, 0.05}, {750, 0.014644660940672627}, {1000, 0},
		{1001, 0}, {2000, 0},
	} {
		if got := c.Rate(tc.i); math.Abs(got-tc.want) > 1e-15*tc.want {
			t.Errorf("Rate(%d) = %v, want %v", tc.i, got, tc.want)
		}
	}
	if m := c.Marks(); len(m) != 0 {
		t.Errorf("Marks() = %v, want none", m)
	}
}

func TestScheduleSequence(t *testing.T) {
	s := Sequence{
		Parts: []Schedule{
			Constant{LR: 0.1},
			// The decay at 60 would come after the part has ended.
			Piecewise{LR: 0.05, Decays: []Decay{{At: 0, Factor: 1}, {At: 10, Factor: 5}, {At: 60, Factor: 2}}},
			Warmup{LR: 0.02, Total: 100, Until: 20, Factor: 3, Exponent: 1, Decay: 4},
		},
		Starts: []int{0, 100, 150},
	}
	for _, tc := range []struct {
		i    int
		want float64
	}{
		{0, 0.1}, {99, 0.1}, // part 0
		{100, 0.05}, {109, 0.05}, {110, 0.01}, {149, 0.01}, // part 1 at 0..49
		{150, 0.02}, {160, 0.02 * 1.2}, {170, 0.02 * 1.4 / 4}, {1000, 0.02 * 1.4 / 4}, // part 2 at 0..
	} {
		if got := s.Rate(tc.i); math.Abs(got-tc.want) > 1e-15*tc.want {
			t.Errorf("Rate(%d) = %v, want %v", tc.i, got, tc.want)
		}
	}
	// Part 1's mark at 0 coincides with its start; its mark at 60 is
	// dropped.
	if got, want := s.Marks(), []int{100, 110, 150, 170}; !slices.Equal(got, want) {
		t.Errorf("Marks() = %v, want %v", got, want)
	}
	want := "η=0.1; from 100: η=0.05, ÷1 at 0, ÷5 at 10, ÷2 at 60; from 150: η=0.02, warm-up ×3^1 until 20 of 100, ÷4"
	if got := s.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestScheduleInvalidNoPanic checks that schedules built without
// validation neither panic nor hang.
func TestScheduleInvalidNoPanic(t *testing.T) {
	for _, s := range []Schedule{
		Constant{}, Piecewise{}, Warmup{}, DeepPiecewise{}, Cosine{}, Sequence{},
		DeepPiecewise{P: math.Inf(1), WarmupExp: 2, Epochs: -1, StepsPerEpoch: 3},
		Sequence{Parts: []Schedule{Constant{LR: 1}}, Starts: []int{5}},
		Sequence{Parts: []Schedule{nil, Constant{LR: 1}}, Starts: []int{0}},
	} {
		for _, i := range []int{0, 1, 100} {
			s.Rate(i)
		}
		_ = s.Marks()
		_ = s.String()
	}
	// A Sequence that serves no part returns NaN rather than a rate that
	// looks valid.
	for _, s := range []Sequence{{}, {Parts: []Schedule{Constant{LR: 1}}, Starts: []int{5}}} {
		if got := s.Rate(0); !math.IsNaN(got) {
			t.Errorf("%#v.Rate(0) = %v, want NaN", s, got)
		}
	}
}

func TestScheduleString(t *testing.T) {
	for _, tc := range []struct {
		s    Schedule
		want string
	}{
		{Constant{LR: 0.25}, "η=0.25"},
		{Piecewise{LR: 0.282, Decays: []Decay{{At: 10001, Factor: 4.8}}}, "η=0.282, ÷4.8 at 10001"},
		{Warmup{LR: 0.011, Total: 10001}, "η=0.011"},
		{Warmup{LR: 0.04, Total: 10001, Until: 1000, Factor: 6, Exponent: 0.5, Decay: 3.5},
			"η=0.04, warm-up ×6^0.5 until 1000 of 10001, ÷3.5"},
		{DeepPiecewise{LR: 0.75, P: 0.5, WarmupFactor: 1, WarmupExp: 1.05, Epochs: 100, StepsPerEpoch: 195},
			"η=0.75, piecewise P=0.5 q=1.05 f=1 (100 epochs × 195 steps)"},
		{Cosine{LR: 0.1, Total: 1000}, "η=0.1, cosine to 0 at 1000"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

// TestScheduleSpecRoundTrip checks, for every kind, that a spec survives
// JSON, that the schedule it builds gives the same rates after the round
// trip, and that SpecOf inverts Schedule.
func TestScheduleSpecRoundTrip(t *testing.T) {
	iters := []int{0, 1, 9, 10, 100, 631, 632, 633, 1000, 1949, 5000, 9749, 10000, 10001, 17549, 19499, 31622, 50000, 100000}
	for _, tc := range []struct {
		spec ScheduleSpec
		want Schedule // the schedule the spec describes
		json string   // the expected encoding, or "" if unchecked
	}{
		{ScheduleSpec{Kind: "constant", LR: 0.25}, Constant{LR: 0.25}, `{"kind":"constant","lr":0.25}`},
		{
			ScheduleSpec{Kind: "piecewise", LR: 0.282, Decays: []Decay{{At: 10001, Factor: 4.8}, {At: 20001, Factor: 2}}},
			Piecewise{LR: 0.282, Decays: []Decay{{At: 10001, Factor: 4.8}, {At: 20001, Factor: 2}}},
			`{"kind":"piecewise","lr":0.282,"decays":[{"at":10001,"factor":4.8},{"at":20001,"factor":2}]}`,
		},
		{
			ScheduleSpec{Kind: "warmup", LR: 2e-4, Total: 31623, Until: 632, Factor: 8, Exponent: 1, Decay: 2.5},
			Warmup{LR: 2e-4, Total: 31623, Until: 632, Factor: 8, Exponent: 1, Decay: 2.5},
			`{"kind":"warmup","lr":0.0002,"total":31623,"until":632,"factor":8,"exponent":1,"decay":2.5}`,
		},
		{ScheduleSpec{Kind: "warmup", LR: 0.011, Total: 10001}, Warmup{LR: 0.011, Total: 10001}, ""},
		{
			ScheduleSpec{Kind: "deep_piecewise", LR: 0.75, P: 0.5, WarmupFactor: 1, WarmupExp: 1.05, Epochs: 100, StepsPerEpoch: 195},
			DeepPiecewise{LR: 0.75, P: 0.5, WarmupFactor: 1, WarmupExp: 1.05, Epochs: 100, StepsPerEpoch: 195},
			`{"kind":"deep_piecewise","lr":0.75,"p":0.5,"warmup_factor":1,"warmup_exp":1.05,"epochs":100,"steps_per_epoch":195}`,
		},
		{
			ScheduleSpec{Kind: "deep_piecewise", LR: 0.1, P: 0.3, WarmupExp: 0.5, Epochs: 100, StepsPerEpoch: 195},
			DeepPiecewise{LR: 0.1, P: 0.3, WarmupExp: 0.5, Epochs: 100, StepsPerEpoch: 195},
			"",
		},
		{ScheduleSpec{Kind: "cosine", LR: 0.1, Total: 19500}, Cosine{LR: 0.1, Total: 19500}, `{"kind":"cosine","lr":0.1,"total":19500}`},
		{
			ScheduleSpec{Kind: "sequence", Starts: []int{0, 10000, 20000}, Parts: []ScheduleSpec{
				{Kind: "constant", LR: 3.53},
				{Kind: "piecewise", LR: 0.5, Decays: []Decay{{At: 5, Factor: 2}}},
				{Kind: "sequence", Starts: []int{0, 7}, Parts: []ScheduleSpec{
					{Kind: "cosine", LR: 0.1, Total: 100},
					{Kind: "deep_piecewise", LR: 0.05, P: 0.1, WarmupFactor: 1, WarmupExp: 1, Epochs: 100, StepsPerEpoch: 195},
				}},
			}},
			Sequence{Starts: []int{0, 10000, 20000}, Parts: []Schedule{
				Constant{LR: 3.53},
				Piecewise{LR: 0.5, Decays: []Decay{{At: 5, Factor: 2}}},
				Sequence{Starts: []int{0, 7}, Parts: []Schedule{
					Cosine{LR: 0.1, Total: 100},
					DeepPiecewise{LR: 0.05, P: 0.1, WarmupFactor: 1, WarmupExp: 1, Epochs: 100, StepsPerEpoch: 195},
				}},
			}},
			"",
		},
	} {
		data, err := json.Marshal(tc.spec)
		if err != nil {
			t.Fatalf("%s: Marshal: %v", tc.spec.Kind, err)
		}
		if tc.json != "" && string(data) != tc.json {
			t.Errorf("%s: JSON = %s, want %s", tc.spec.Kind, data, tc.json)
		}
		var back ScheduleSpec
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatalf("%s: Unmarshal(%s): %v", tc.spec.Kind, data, err)
		}
		if !reflect.DeepEqual(back, tc.spec) {
			t.Errorf("%s: JSON round trip gives %+v, want %+v", tc.spec.Kind, back, tc.spec)
		}
		s, err := back.Schedule()
		if err != nil {
			t.Fatalf("%s: Schedule(): %v", tc.spec.Kind, err)
		}
		if !reflect.DeepEqual(s, tc.want) {
			t.Errorf("%s: Schedule() = %#v, want %#v", tc.spec.Kind, s, tc.want)
		}
		for _, i := range iters {
			if got, want := s.Rate(i), tc.want.Rate(i); got != want {
				t.Errorf("%s: Rate(%d) after the round trip = %v, want %v", tc.spec.Kind, i, got, want)
			}
		}
		if got, want := s.Marks(), tc.want.Marks(); !slices.Equal(got, want) {
			t.Errorf("%s: Marks() after the round trip = %v, want %v", tc.spec.Kind, got, want)
		}
		if got := SpecOf(s); !reflect.DeepEqual(got, tc.spec) {
			t.Errorf("%s: SpecOf(Schedule()) = %+v, want %+v", tc.spec.Kind, got, tc.spec)
		}
	}
}

// TestScheduleSpecNoAliasing checks that a schedule does not change when
// the spec it came from is edited afterwards, and vice versa for SpecOf.
func TestScheduleSpecNoAliasing(t *testing.T) {
	spec := ScheduleSpec{Kind: "piecewise", LR: 1, Decays: []Decay{{At: 10, Factor: 2}}}
	s, err := spec.Schedule()
	if err != nil {
		t.Fatal(err)
	}
	spec.Decays[0].Factor = 4
	if got := s.Rate(10); got != 0.5 {
		t.Errorf("after editing the spec, Rate(10) = %v, want 0.5", got)
	}
	SpecOf(s).Decays[0].At = 0
	if got := s.Rate(0); got != 1 {
		t.Errorf("after editing SpecOf's result, Rate(0) = %v, want 1", got)
	}
}

func TestScheduleSpecValidateErrors(t *testing.T) {
	deep := func(edit func(*ScheduleSpec)) ScheduleSpec {
		s := ScheduleSpec{Kind: "deep_piecewise", LR: 0.05, P: 0.3, WarmupFactor: 1, WarmupExp: 1, Epochs: 100, StepsPerEpoch: 195}
		edit(&s)
		return s
	}
	warm := func(edit func(*ScheduleSpec)) ScheduleSpec {
		s := ScheduleSpec{Kind: "warmup", LR: 0.04, Total: 10001, Until: 1000, Factor: 6, Exponent: 0.5, Decay: 3.5}
		edit(&s)
		return s
	}
	pw := func(decays ...Decay) ScheduleSpec { return ScheduleSpec{Kind: "piecewise", LR: 0.282, Decays: decays} }
	seq := func(starts []int, parts ...ScheduleSpec) ScheduleSpec {
		return ScheduleSpec{Kind: "sequence", Starts: starts, Parts: parts}
	}
	one := ScheduleSpec{Kind: "constant", LR: 1}
	for _, tc := range []struct {
		name string
		spec ScheduleSpec
		want string // a substring of the error
	}{
		{"unknown kind", ScheduleSpec{Kind: "cosin", LR: 1},
			`schedule: unknown kind "cosin" (allowed: constant, piecewise, warmup, deep_piecewise, cosine, sequence)`},
		{"no kind", ScheduleSpec{LR: 1}, `schedule: unknown kind ""`},
		{"lr 0", ScheduleSpec{Kind: "constant"}, "schedule constant: lr must be > 0 and finite, got 0"},
		{"lr < 0", ScheduleSpec{Kind: "cosine", LR: -1, Total: 10}, "schedule cosine: lr must be > 0 and finite, got -1"},
		{"lr NaN", ScheduleSpec{Kind: "constant", LR: math.NaN()}, "lr must be > 0 and finite, got NaN"},
		{"lr Inf", ScheduleSpec{Kind: "constant", LR: math.Inf(1)}, "lr must be > 0 and finite, got +Inf"},
		{"unused field", ScheduleSpec{Kind: "constant", LR: 1, Decays: []Decay{{At: 1, Factor: 2}}},
			"schedule constant: field decays is not used by kind constant (its fields: lr)"},
		{"unused field of warmup", warm(func(s *ScheduleSpec) { s.P = 0.5 }),
			"field p is not used by kind warmup (its fields: lr, total, until, factor, exponent, decay)"},
		{"decay factor 0", pw(Decay{At: 10001, Factor: 4.8}, Decay{At: 20001, Factor: 0}),
			"schedule piecewise: decays[1].factor must be > 0 and finite, got 0"},
		{"decay factor NaN", pw(Decay{At: 10001, Factor: math.NaN()}), "decays[0].factor must be > 0 and finite, got NaN"},
		{"decay at repeated", pw(Decay{At: 10001, Factor: 4.8}, Decay{At: 10001, Factor: 2}),
			"decays[1].at must be > decays[0].at = 10001, got 10001"},
		{"decay at decreasing", pw(Decay{At: 10001, Factor: 4.8}, Decay{At: 5, Factor: 2}),
			"decays[1].at must be > decays[0].at = 10001, got 5"},
		{"decay at negative", pw(Decay{At: -1, Factor: 2}), "decays[0].at must be >= 0, got -1"},
		{"warmup total 0", warm(func(s *ScheduleSpec) { s.Total, s.Until = 0, 0 }), "schedule warmup: total must be > 0, got 0"},
		{"warmup until > total", warm(func(s *ScheduleSpec) { s.Until = 10002 }), "until must be in [0, total = 10001], got 10002"},
		{"warmup until < 0", warm(func(s *ScheduleSpec) { s.Until = -1 }), "until must be in [0, total = 10001], got -1"},
		{"warmup factor 0", warm(func(s *ScheduleSpec) { s.Factor = 0 }), "factor must be > 0 and finite, got 0 (needed since until > 0)"},
		{"warmup exponent < 0", warm(func(s *ScheduleSpec) { s.Exponent = -0.5 }), "exponent must be > 0 and finite, got -0.5"},
		{"warmup decay Inf", warm(func(s *ScheduleSpec) { s.Decay = math.Inf(1) }), "decay must be > 0 and finite, got +Inf"},
		{"deep p 0", deep(func(s *ScheduleSpec) { s.P = 0 }), "schedule deep_piecewise: p must be in (0, 0.9), got 0"},
		{"deep p 1", deep(func(s *ScheduleSpec) { s.P = 1 }), "p must be in (0, 0.9), got 1"},
		{"deep p 0.95", deep(func(s *ScheduleSpec) { s.P = 0.95 }), "p must be in (0, 0.9), got 0.95"},
		{"deep p NaN", deep(func(s *ScheduleSpec) { s.P = math.NaN() }), "p must be in (0, 0.9), got NaN"},
		{"deep q 0", deep(func(s *ScheduleSpec) { s.WarmupExp = 0 }), "warmup_exp must be > 0 and finite, got 0"},
		{"deep f 0 with q 1", deep(func(s *ScheduleSpec) { s.WarmupFactor = 0 }),
			"warmup_factor must be > 0 and finite, got 0 (needed since warmup_exp = 1)"},
		{"deep epochs 0", deep(func(s *ScheduleSpec) { s.Epochs = 0 }), "epochs must be > 0, got 0"},
		{"deep steps < 0", deep(func(s *ScheduleSpec) { s.StepsPerEpoch = -3 }), "steps_per_epoch must be > 0, got -3"},
		{"cosine total 0", ScheduleSpec{Kind: "cosine", LR: 0.1}, "schedule cosine: total must be > 0, got 0"},
		{"sequence empty", seq(nil), "schedule sequence: parts must hold at least one schedule"},
		{"sequence starts missing", seq([]int{0}, one, one), "starts must have one entry per part (2), got 1"},
		{"sequence not from 0", seq([]int{5}, one), "starts[0] must be 0, got 5"},
		{"sequence starts repeated", seq([]int{0, 100, 100}, one, one, one), "starts[2] must be > starts[1] = 100, got 100"},
		{"sequence with lr", ScheduleSpec{Kind: "sequence", LR: 1, Starts: []int{0}, Parts: []ScheduleSpec{one}},
			"field lr is not used by kind sequence (its fields: parts, starts)"},
		{"sequence bad part", seq([]int{0, 10}, one, pw(Decay{At: 1, Factor: 0})),
			"schedule sequence: parts[1] (piecewise): decays[0].factor must be > 0 and finite, got 0"},
		{"sequence unknown part", seq([]int{0}, ScheduleSpec{Kind: "step"}), `schedule sequence: parts[0]: unknown kind "step"`},
		{"nested sequence", seq([]int{0}, seq([]int{0}, ScheduleSpec{Kind: "cosine", LR: 1})),
			"schedule sequence: parts[0] (sequence): parts[0] (cosine): total must be > 0, got 0"},
		{"spec of a pointer", SpecOf(&Constant{LR: 1}), `schedule: unknown kind "*train.Constant"`},
		{"spec of a nil part", SpecOf(Sequence{Parts: []Schedule{nil}, Starts: []int{0}}), `parts[0]: unknown kind "<nil>"`},
	} {
		err := tc.spec.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want an error containing %q", tc.name, err, tc.want)
			continue
		}
		s, err2 := tc.spec.Schedule()
		if s != nil || err2 == nil || err2.Error() != err.Error() {
			t.Errorf("%s: Schedule() = %v, %v, want nil and the error of Validate", tc.name, s, err2)
		}
	}
}
