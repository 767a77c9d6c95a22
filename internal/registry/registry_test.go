package registry

import (
	"slices"
	"strings"
	"testing"
)

func TestSet(t *testing.T) {
	s := New[int]("thing")
	s.Register("b", 2)
	s.Register("a", 1)
	if v, ok := s.Lookup("a"); !ok || v != 1 {
		t.Errorf("Lookup(a) = %d, %v, want 1, true", v, ok)
	}
	if _, ok := s.Lookup("c"); ok {
		t.Error("Lookup(c) found a value never registered")
	}
	if got := s.Names(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Names() = %v, want [a b]", got)
	}
	for _, tc := range []struct {
		name string
		want string
	}{{"a", `thing registry: Register called twice for "a"`}, {"", "thing registry: Register needs a name"}} {
		func() {
			defer func() {
				if r, _ := recover().(string); !strings.Contains(r, tc.want) {
					t.Errorf("Register(%q) panicked with %q, want %q", tc.name, r, tc.want)
				}
			}()
			s.Register(tc.name, 3)
		}()
	}
	if v, _ := s.Lookup("a"); v != 1 {
		t.Errorf("a duplicate Register replaced the value: %d", v)
	}
}
