package train

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Grid is the serialisable description of the iterations at which a run
// is evaluated.
//
// Kind "paper" is the authors' grid (spec §0.3): the first First
// iterations, plus round-half-even(k·T/(Linspace−1)) for
// k = 0 … Linspace−2, which is np.linspace(0, T, Linspace) with its last
// point dropped. The DLN experiments use T = 100001, First = 100,
// Linspace = 250 (348 points, the last at 99599).
//
// Kind "every" evaluates at 0, Every, 2·Every, … below T.
//
// Kind "log" is the grid of the 2D-surface notebook (E3): the first First
// iterations and ⌊10^(k·log10(T−1)/Points)⌋ for k = 0 … Points, that is
// np.logspace(0, log10(T−1), Points+1) truncated to integers.
//
// After shifts every point by one and adds 0: the authors' surface
// notebook records after the update of an iteration, which is before the
// update of the next; 0 is the initial point they prepend.
//
// Final adds T itself, after the shift: the point after the last update
// (Run.Eval's Iterations). Kind "every" with Final is the deep-net grid,
// every Every updates and the end, e.g. Every = 5 epochs of updates (the
// authors' default) for T = Epochs·BatchesPerEpoch.
type Grid struct {
	Kind     string `json:"kind"`
	T        int    `json:"t"`
	First    int    `json:"first,omitempty"`
	Linspace int    `json:"linspace,omitempty"`
	Every    int    `json:"every,omitempty"`
	Points   int    `json:"points,omitempty"`
	After    bool   `json:"after,omitempty"`
	Final    bool   `json:"final,omitempty"`
}

// MaxPoints bounds the evaluation points of a Grid: each holds a row of
// metrics per run, and parameter snapshots where asked for.
const MaxPoints = 1_000_000

// Iterations returns the sorted, distinct evaluation iterations. It
// refuses a grid of more than MaxPoints points before building it.
func (g Grid) Iterations() ([]int, error) {
	if g.T < 1 {
		return nil, fmt.Errorf("grid: t must be ≥ 1, got %d", g.T)
	}
	if n := g.bound(); n > MaxPoints {
		return nil, fmt.Errorf("grid: %s grid of up to %d points exceeds the limit of %d", g.Kind, n, MaxPoints)
	}
	set := make(map[int]bool)
	switch g.Kind {
	case "paper":
		if g.First < 0 || g.Linspace < 2 {
			return nil, fmt.Errorf("grid paper: need first ≥ 0 and linspace ≥ 2, got %d and %d", g.First, g.Linspace)
		}
		for i := 0; i < g.First && i < g.T; i++ {
			set[i] = true
		}
		step := float64(g.T) / float64(g.Linspace-1)
		for k := 0; k < g.Linspace-1; k++ {
			set[int(math.RoundToEven(float64(k)*step))] = true
		}
	case "every":
		if g.Every < 1 {
			return nil, fmt.Errorf("grid every: every must be ≥ 1, got %d", g.Every)
		}
		for i := 0; i < g.T; i += g.Every {
			set[i] = true
		}
	case "log":
		if g.First < 0 || g.Points < 1 || g.T < 2 {
			return nil, fmt.Errorf("grid log: need first ≥ 0, points ≥ 1 and t ≥ 2, got %d, %d and %d", g.First, g.Points, g.T)
		}
		for i := 0; i < g.First && i < g.T; i++ {
			set[i] = true
		}
		step := math.Log10(float64(g.T-1)) / float64(g.Points)
		for k := 0; k <= g.Points; k++ {
			set[int(math.Pow(10, float64(k)*step))] = true
		}
	default:
		return nil, fmt.Errorf("grid: unknown kind %q (allowed: paper, every, log)", g.Kind)
	}
	its := make([]int, 0, len(set)+1)
	for i := range set {
		if g.After {
			i++
		}
		its = append(its, i)
	}
	if g.After {
		its = append(its, 0)
	}
	if g.Final && !slices.Contains(its, g.T) {
		its = append(its, g.T)
	}
	sort.Ints(its)
	return its, nil
}

// bound returns an upper bound on the points of g, computed without
// building them (0 for an unknown kind, which Iterations reports).
func (g Grid) bound() int {
	// Each term is capped so that the sum cannot overflow.
	first := min(max(0, g.First), g.T, MaxPoints+1)
	if g.Final {
		first++
	}
	switch g.Kind {
	case "paper":
		return first + min(max(0, g.Linspace), MaxPoints+1)
	case "every":
		if g.Every < 1 {
			return 0
		}
		return g.T/g.Every + 1
	case "log":
		return first + min(max(0, g.Points), MaxPoints+1) + 1
	}
	return 0
}
