package suggest

import "testing"

func TestKey(t *testing.T) {
	allowed := []string{"iterations", "grid", "metrics", "n_test"}
	for _, tc := range []struct{ k, want string }{
		{"iteratons", ` (did you mean "iterations"?)`},
		{"Iterations", ` (did you mean "iterations"?)`},
		{"gird", ` (did you mean "grid"?)`},
		{"ntest", ` (did you mean "n_test"?)`},
		{"schedule", ""},
		{"", ""},
	} {
		if got := Key(tc.k, allowed); got != tc.want {
			t.Errorf("Key(%q) = %q, want %q", tc.k, got, tc.want)
		}
	}
	if got := Key("x", nil); got != "" {
		t.Errorf("Key with nothing allowed = %q", got)
	}
}
