package data_test

import (
	"math"
	"strings"
	"testing"

	"sgdlab/data"
)

// TestReLU1D checks the 12 fixed points of spec E4 and the evaluation
// points: in the span of the inputs, as many as asked, and seeded.
func TestReLU1D(t *testing.T) {
	r := data.ReLU1D{EvalPoints: 300, Seed: 3}
	train, test, err := r.Load()
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 12 || train.D != 1 || math.Abs(train.X[0]+1.305) > 1e-15 || math.Abs(train.X[11]-1.445) > 1e-15 ||
		math.Abs(train.Y[0]-(0.345-2)) > 1e-15 || math.Abs(train.Y[4]-2.345) > 1e-15 {
		t.Errorf("train set %+v, want x from -1.305 to 1.445 and y[0] = -1.655, y[4] = 2.345", train)
	}
	for i := range train.X {
		if test.X[i] != train.X[i] || test.Y[i] != train.Y[i] {
			t.Fatalf("test point %d differs from the training point: the test set is the training set", i)
		}
	}
	eval, err := r.EvalSet()
	if err != nil {
		t.Fatal(err)
	}
	if eval.N != 300 || len(eval.X) != 300 {
		t.Fatalf("%d evaluation points, want 300", eval.N)
	}
	for _, x := range eval.X {
		if x < train.X[0] || x > train.X[11] {
			t.Fatalf("evaluation point %v outside [%v, %v]", x, train.X[0], train.X[11])
		}
	}
	other, _ := data.ReLU1D{EvalPoints: 300, Seed: 4}.EvalSet()
	if other.X[0] == eval.X[0] {
		t.Error("another seed gave the same evaluation points")
	}
	if err := (data.ReLU1D{EvalPoints: -1}).Validate(); err == nil || !strings.Contains(err.Error(), "eval_points") {
		t.Errorf("negative eval_points: %v", err)
	}
}

// TestTeacherStudent checks the inputs (unit norm), the two-layer "unit"
// teacher against the same draws made here in the documented order, and
// the validation.
func TestTeacherStudent(t *testing.T) {
	ts := data.TeacherStudent{D: 2, N: 15, NTest: 40, Hidden: []int{3}, Teacher: "unit", Seed: 1}
	train, test, err := ts.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []data.Set{train, test} {
		for i := 0; i < s.N; i++ {
			x := s.Row(i)
			if n := math.Hypot(x[0], x[1]); math.Abs(n-1) > 1e-15 {
				t.Fatalf("input %d has norm %v, want 1", i, n)
			}
		}
	}
	r := data.NewNumpyRand(1)
	skip := make([]float64, (15+40)*2)
	r.Normals(skip)
	w := make([]float64, 2*3)
	r.Normals(w)
	a := make([]float64, 3)
	r.Normals(a)
	for j := 0; j < 3; j++ {
		n := math.Hypot(w[j], w[3+j])
		w[j], w[3+j] = w[j]/n, w[3+j]/n
		a[j] = math.Copysign(1, a[j])
	}
	for i := 0; i < test.N; i++ {
		x := test.Row(i)
		var y float64
		for j := 0; j < 3; j++ {
			y += a[j] * math.Max(x[0]*w[j]+x[1]*w[3+j], 0)
		}
		if math.Abs(y-test.Y[i]) > 1e-15 {
			t.Fatalf("test label %d = %v, want Σ a*·relu(w*·x) = %v", i, test.Y[i], y)
		}
	}
	ns, err := ts.Neurons()
	if err != nil {
		t.Fatal(err)
	}
	for j, n := range ns {
		if math.Abs(n[0]-w[j]) > 1e-15 || math.Abs(n[1]-w[3+j]) > 1e-15 { // Hypot here, a sum of squares there
			t.Errorf("Neurons()[%d] = %v, want the teacher's (%v, %v)", j, n, w[j], w[3+j])
		}
	}
	deep := data.TeacherStudent{D: 5, N: 50, NTest: 10, Hidden: []int{2, 2}, Teacher: "gaussian", Seed: 6}
	d1, _, err := deep.Load()
	if err != nil {
		t.Fatal(err)
	}
	d2, _, _ := deep.Load()
	for i := range d1.Y {
		if d1.Y[i] != d2.Y[i] {
			t.Fatal("two loads of one teacher differ")
		}
	}
	for _, tc := range []struct {
		ts   data.TeacherStudent
		want string
	}{
		{data.TeacherStudent{D: 2, N: 15, Hidden: []int{3, 3}, Teacher: "unit"}, "teacher: unit is a two-layer teacher"},
		{data.TeacherStudent{D: 0, N: 0, Hidden: nil, Teacher: "relu"}, "d: must be in"},
		{data.TeacherStudent{D: 2, N: 15, Hidden: []int{0}, Teacher: "gaussian"}, "hidden[0]: must be in"},
		{data.TeacherStudent{D: 2, N: 15, Hidden: []int{3}, Teacher: "relu"}, `teacher: unknown "relu"`},
		{data.TeacherStudent{D: 1 << 20, N: 1 << 10, NTest: 1 << 10, Hidden: []int{3}, Teacher: "unit"}, "values exceed"},
	} {
		if err := tc.ts.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.ts, err, tc.want)
		}
	}
}
