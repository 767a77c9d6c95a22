package train

import (
	"strings"
	"testing"
)

func TestPaperGrids(t *testing.T) {
	// Sizes and last points of the authors' grids (spec §0.3).
	for _, tc := range []struct {
		name          string
		g             Grid
		points, last  int
		wantSomewhere []int
	}{
		{"DLN", Grid{Kind: "paper", T: 100001, First: 100, Linspace: 250}, 348, 99599, []int{0, 99, 402, 803, 1205, 98796, 99198}},
		{"1D regression", Grid{Kind: "paper", T: 31623, First: 100, Linspace: 151}, 249, 31412, nil},
		{"two-layer", Grid{Kind: "paper", T: 14126, First: 100, Linspace: 151}, 248, 14032, nil},
		{"three-layer", Grid{Kind: "paper", T: 10001, First: 100, Linspace: 151}, 248, 9934, nil},
		{"every", Grid{Kind: "every", T: 10, Every: 3}, 4, 9, []int{0, 3, 6}},
		// 566 records after updates plus the initial point (spec §0.3).
		{"2D surface", Grid{Kind: "log", T: 10001, First: 500, Points: 200, After: true}, 567, 10001, []int{0, 1, 500, 502, 10001}},
	} {
		its, err := tc.g.Iterations()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(its) != tc.points || its[len(its)-1] != tc.last {
			t.Errorf("%s: %d points ending at %d, want %d ending at %d", tc.name, len(its), its[len(its)-1], tc.points, tc.last)
		}
		have := make(map[int]bool)
		for k, i := range its {
			have[i] = true
			if k > 0 && i <= its[k-1] {
				t.Fatalf("%s: not increasing at %d", tc.name, k)
			}
		}
		for _, i := range tc.wantSomewhere {
			if !have[i] {
				t.Errorf("%s: iteration %d missing", tc.name, i)
			}
		}
	}
}

func TestGridErrors(t *testing.T) {
	for _, tc := range []struct {
		g    Grid
		want string
	}{
		{Grid{Kind: "paper", T: 0, Linspace: 10}, "t must be ≥ 1"},
		{Grid{Kind: "paper", T: 10, Linspace: 1}, "linspace ≥ 2"},
		{Grid{Kind: "every", T: 10}, "every must be ≥ 1"},
		{Grid{Kind: "log", T: 10}, "need first ≥ 0, points ≥ 1"},
		{Grid{Kind: "exp", T: 10}, `unknown kind "exp" (allowed: paper, every, log)`},
	} {
		if _, err := tc.g.Iterations(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.g, err, tc.want)
		}
	}
}
