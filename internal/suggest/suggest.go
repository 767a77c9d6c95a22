// Package suggest finds the valid name nearest to a mistyped one, for the
// "did you mean" of the configuration and sweep file errors, which are
// checked in two packages (experiment and sweep).
package suggest

import (
	"fmt"
	"strings"
)

// Key returns ` (did you mean "x"?)` for the name in allowed nearest to
// k (by edit distance, case-insensitively), if it is near enough to be a
// likely typo: at most max(2, len(k)/3) edits. Otherwise it returns "".
func Key(k string, allowed []string) string {
	best, bestD := "", 1<<30
	lower, limit := strings.ToLower(k), max(2, len(k)/3)
	for _, a := range allowed {
		// The distance is at least the difference in length: a name that
		// far cannot be suggested, and the quadratic distance of a huge
		// key is not computed.
		if abs(len(lower)-len(a)) > limit {
			continue
		}
		if d := distance(lower, a); d < bestD {
			best, bestD = a, d
		}
	}
	if best == "" || bestD > limit {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func abs(x int) int { return max(x, -x) }
