package data_test

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"sgdlab/data"
)

// TestSetTargets checks that K = 0 counts as one target and other K as
// themselves, in a Set and a Size.
func TestSetTargets(t *testing.T) {
	for _, tc := range []struct{ k, want int }{{0, 1}, {1, 1}, {10, 10}} {
		if got := (data.Set{K: tc.k}).Targets(); got != tc.want {
			t.Errorf("Set{K: %d}.Targets() = %d, want %d", tc.k, got, tc.want)
		}
		if got := (data.Size{K: tc.k}).Targets(); got != tc.want {
			t.Errorf("Size{K: %d}.Targets() = %d, want %d", tc.k, got, tc.want)
		}
	}
}

// classSet is 3 examples of 2 features, 3 classes, labels 2, 0, 1.
func classSet() data.Set {
	return data.Set{
		X: []float64{1, 2, 3, 4, 5, 6},
		Y: []float64{0, 0, 1, 1, 0, 0, 0, 1, 0},
		N: 3, D: 2, K: 3, Labels: []int{2, 0, 1},
	}
}

// TestSetGatherClasses checks that Gather copies K targets per example
// in the order of idx, repeats included, that GatherLabels copies the
// matching labels, and that neither allocates.
func TestSetGatherClasses(t *testing.T) {
	s := classSet()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	idx := []int{2, 0, 2}
	x, y, l := make([]float64, 6), make([]float64, 9), make([]int, 3)
	s.Gather(idx, x, y)
	s.GatherLabels(idx, l)
	if want := []float64{5, 6, 1, 2, 5, 6}; !reflect.DeepEqual(x, want) {
		t.Errorf("Gather x = %v, want %v", x, want)
	}
	if want := []float64{0, 1, 0, 0, 0, 1, 0, 1, 0}; !reflect.DeepEqual(y, want) {
		t.Errorf("Gather y = %v, want %v", y, want)
	}
	if want := []int{1, 2, 1}; !reflect.DeepEqual(l, want) {
		t.Errorf("GatherLabels = %v, want %v", l, want)
	}
	if n := testing.AllocsPerRun(10, func() { s.Gather(idx, x, y); s.GatherLabels(idx, l) }); n != 0 {
		t.Errorf("Gather and GatherLabels allocate %v times", n)
	}
}

// TestSetTargetAndSlice checks Target's row and capacity, and that Slice
// gives a valid view of the chosen examples sharing the set's memory.
func TestSetTargetAndSlice(t *testing.T) {
	s := classSet()
	if r := s.Target(1); !reflect.DeepEqual(r, []float64{1, 0, 0}) || cap(r) != 3 {
		t.Errorf("Target(1) = %v (cap %d), want [1 0 0] (cap 3)", r, cap(r))
	}
	v := s.Slice(1, 3)
	if err := v.Validate(); err != nil {
		t.Fatalf("Slice(1, 3): %v", err)
	}
	want := data.Set{X: []float64{3, 4, 5, 6}, Y: []float64{1, 0, 0, 0, 1, 0}, N: 2, D: 2, K: 3, Labels: []int{0, 1}}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("Slice(1, 3) = %+v, want %+v", v, want)
	}
	v.X[0] = 99
	if s.X[2] != 99 {
		t.Error("Slice does not share X with the set")
	}
	r := data.Set{X: []float64{1, 2, 3}, Y: []float64{4, 5, 6}, N: 3, D: 1}.Slice(0, 2)
	if !reflect.DeepEqual(r.Y, []float64{4, 5}) || r.Labels != nil || cap(r.Y) != 2 {
		t.Errorf("regression Slice(0, 2) = %+v", r)
	}
	for _, bad := range []struct {
		name string
		f    func()
	}{
		{"Target(3)", func() { s.Target(3) }},
		{"Target(-1)", func() { s.Target(-1) }},
		{"Slice(2, 1)", func() { s.Slice(2, 1) }},
		{"Slice(0, 4)", func() { s.Slice(0, 4) }},
		{"GatherLabels without labels", func() { data.Set{N: 1, D: 1}.GatherLabels([]int{0}, make([]int, 1)) }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", bad.name)
				}
			}()
			bad.f()
		}()
	}
}

// TestErrorRate checks the count of argmax ≠ label: ties to the first
// maximum, NaN rows wrong, and errors for bad shapes and unlabelled sets.
func TestErrorRate(t *testing.T) {
	s := classSet() // labels 2, 0, 1
	nan := math.NaN()
	for _, tc := range []struct {
		name string
		out  []float64
		want float64
	}{
		{"all right", []float64{0, 1, 2, 5, -1, 0, 0, 3, 2}, 0},
		{"all wrong", []float64{3, 1, 2, 0, 1, 0, 4, 3, 2}, 1},
		{"tie to the first", []float64{2, 2, 2, 1, 1, 0, 0, 1, 1}, 1.0 / 3}, // rows: 0≠2, 0=0, 1=1
		{"NaN row", []float64{0, 0, 1, nan, 0, 0, 0, 1, 0}, 1.0 / 3},
	} {
		got, err := s.ErrorRate(tc.out)
		if err != nil || got != tc.want {
			t.Errorf("%s: ErrorRate = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if n, err := data.Misclassified([]float64{1, 0, 0, 1}, []int{1, 1}, 2); n != 1 || err != nil {
		t.Errorf("Misclassified = %d, %v; want 1", n, err)
	}
	for _, tc := range []struct {
		name string
		f    func() error
		want string
	}{
		{"short", func() error { _, err := s.ErrorRate(make([]float64, 8)); return err }, "8 scores for 3 labels of 3 classes, want 9"},
		{"no labels", func() error {
			_, err := (data.Set{N: 1, D: 1, X: []float64{0}, Y: []float64{0}}).ErrorRate([]float64{0})
			return err
		}, "no labels"},
		{"k 0", func() error { _, err := data.Misclassified(nil, nil, 0); return err }, "of 0 classes"},
	} {
		if err := tc.f(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	out, labels := []float64{0, 1, 2, 5, -1, 0}, []int{2, 0}
	if n := testing.AllocsPerRun(10, func() { data.Misclassified(out, labels, 3) }); n != 0 {
		t.Errorf("Misclassified allocates %v times", n)
	}
}
