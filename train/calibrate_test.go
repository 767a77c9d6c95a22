package train_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"sgdlab/train"
)

// TestCalibrate runs the search against a known divergence edge: step
// sizes above edge(seed) diverge.
func TestCalibrate(t *testing.T) {
	edge := map[uint32]float64{1: 0.5, 2: 0.45, 3: 0.48}
	calls := 0
	survive := func(_ context.Context, lr float64, seed uint32) (bool, error) {
		calls++
		return lr <= edge[seed], nil
	}
	c := train.Calibration{Start: 1, Ratio: 1.02, Fraction: 0.5, Seeds: []uint32{1, 2, 3}}
	got, err := c.Calibrate(context.Background(), survive)
	if err != nil {
		t.Fatal(err)
	}
	// The first 1/1.02^k ≤ 0.45: k = ⌈ln(1/0.45)/ln 1.02⌉ = 41.
	want := 1 / math.Pow(1.02, 41)
	if math.Abs(got-want) > 1e-12 || got > 0.45 || got*1.02 <= 0.45 {
		t.Errorf("calibrated %v, want %v, the largest grid value ≤ 0.45", got, want)
	}
	// Seeds stop at the first failure: each grid value above 0.5 costs one call.
	if calls > 3*42 {
		t.Errorf("%d calls, want the seeds of a step size to stop at the first that diverges", calls)
	}
	c.MaxSteps = 10
	if _, err := c.Calibrate(context.Background(), survive); err == nil || !strings.Contains(err.Error(), "no step size") {
		t.Errorf("a grid that never reaches the edge: %v", err)
	}
	boom := errors.New("boom")
	if _, err := c.Calibrate(context.Background(), func(context.Context, float64, uint32) (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Errorf("a failing run: %v, want it wrapped", err)
	}
	for _, bad := range []train.Calibration{
		{Start: 0, Ratio: 1.02, Fraction: 0.5, Seeds: []uint32{1}},
		{Start: 1, Ratio: 1, Fraction: 0.5, Seeds: []uint32{1}},
		{Start: 1, Ratio: 1.02, Fraction: 1.5, Seeds: []uint32{1}},
		{Start: 1, Ratio: 1.02, Fraction: 0.5},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
