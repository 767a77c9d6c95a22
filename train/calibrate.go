package train

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Calibration is the search for the largest constant step size that does
// not diverge: it tries η_k = Start/Ratio^k for k = 0, 1, … (at most
// MaxSteps values) and keeps the first that survives Fraction of the
// run's updates on every index stream of Seeds. The paper's step sizes sit
// at the divergence edge of their own draws (spec C4: η = 0.455 diverges
// within ~25 steps on most fresh teachers), so a replay on other draws
// asks for "the calibrated η × factor" instead of a number.
type Calibration struct {
	Start    float64  `json:"start"`
	Ratio    float64  `json:"ratio"`    // > 1: 1.02 is the spec's grid
	Fraction float64  `json:"fraction"` // in (0, 1]
	Seeds    []uint32 `json:"seeds"`
	MaxSteps int      `json:"max_steps,omitempty"` // 500 if 0
}

// Validate reports every invalid field, by its JSON key.
func (c Calibration) Validate() error {
	var errs []error
	if !(c.Start > 0) || math.IsInf(c.Start, 1) {
		errs = append(errs, fmt.Errorf("start: must be > 0 and finite, got %v", c.Start))
	}
	if !(c.Ratio > 1) || math.IsInf(c.Ratio, 1) {
		errs = append(errs, fmt.Errorf("ratio: must be > 1 and finite, got %v", c.Ratio))
	}
	if !(c.Fraction > 0 && c.Fraction <= 1) {
		errs = append(errs, fmt.Errorf("fraction: must be in (0, 1], got %v", c.Fraction))
	}
	if len(c.Seeds) < 1 || len(c.Seeds) > 100 {
		errs = append(errs, fmt.Errorf("seeds: need 1 to 100 index streams, got %d", len(c.Seeds)))
	}
	if c.MaxSteps < 0 || c.MaxSteps > 10_000 {
		errs = append(errs, fmt.Errorf("max_steps: must be in [0, 10000] (0: 500), got %d", c.MaxSteps))
	}
	return errors.Join(errs...)
}

// Calibrate returns the first step size of the grid for which survive
// holds on every seed. survive(ctx, lr, seed) trains with the constant
// step size lr on the index stream seed and reports whether the run
// lasted; it is called in grid order, seed by seed, stopping at the first
// failure. It is an error if no step size of the grid survives.
func (c Calibration) Calibrate(ctx context.Context, survive func(ctx context.Context, lr float64, seed uint32) (bool, error)) (float64, error) {
	if err := c.Validate(); err != nil {
		return 0, fmt.Errorf("train: calibration: %w", err)
	}
	steps := c.MaxSteps
	if steps == 0 {
		steps = 500
	}
	lr := c.Start
	for k := 0; k < steps; k++ {
		ok := true
		for _, s := range c.Seeds {
			var err error
			if ok, err = survive(ctx, lr, s); err != nil {
				return 0, fmt.Errorf("train: calibration at η = %g: %w", lr, err)
			}
			if !ok {
				break
			}
		}
		if ok {
			return lr, nil
		}
		lr /= c.Ratio
	}
	return 0, fmt.Errorf("train: calibration: no step size from %g down to %g survived %g of the run", c.Start, lr*c.Ratio, c.Fraction)
}
