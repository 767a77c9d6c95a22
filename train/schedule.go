package train

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Schedule gives the step size of each SGD update.
//
// Updates are numbered from 0: update i is the (i+1)-th parameter change.
// Rate is only defined for i >= 0.
type Schedule interface {
	// Rate returns the step size η used by update i.
	Rate(i int) float64
	// Marks returns the updates at which the schedule changes abruptly
	// (the decays), in increasing order, for the dashed lines of figures.
	// It may be empty.
	Marks() []int
	// String returns a short legend text such as "η=0.282, ÷4.8 at 10001".
	String() string
}

// Constant is the schedule with the same step size for every update.
type Constant struct {
	LR float64 // step size η
}

// Rate returns c.LR for every update.
func (c Constant) Rate(int) float64 { return c.LR }

// Marks returns nil: a constant schedule never changes.
func (c Constant) Marks() []int { return nil }

func (c Constant) String() string { return fmt.Sprintf("η=%v", c.LR) }

// Decay is one division of the step size in a Piecewise schedule.
//
// At is the first update that uses the divided rate. The paper's codes
// disagree on when a "decay at iteration t" happens: the diagonal-linear-net
// code (GD, SGD) divides after the update at t, so a DLN experiment uses
// At = t+1, whereas train_fc_net divides before the update at t, so an
// fc-net experiment uses At = t.
type Decay struct {
	At     int     `json:"at"`     // first update with the divided rate, 0-based
	Factor float64 `json:"factor"` // the step size is divided by Factor (> 0)
}

// Piecewise is a step size LR divided by Factor at each Decay:
// update i uses LR / Π{d.Factor : d.At <= i}.
type Piecewise struct {
	LR     float64 // initial step size η
	Decays []Decay // in increasing order of At
}

// Rate returns the step size of update i.
func (p Piecewise) Rate(i int) float64 {
	// Divide one factor at a time, as the paper's η ← η/c does, so that
	// the rates match the authors' code bit for bit.
	r := p.LR
	for _, d := range p.Decays {
		if d.At <= i {
			r /= d.Factor
		}
	}
	return r
}

// Marks returns the updates at which the decays take effect.
func (p Piecewise) Marks() []int {
	var m []int
	for _, d := range p.Decays {
		m = append(m, d.At)
	}
	return m
}

func (p Piecewise) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "η=%v", p.LR)
	for _, d := range p.Decays {
		fmt.Fprintf(&b, ", ÷%v at %d", d.Factor, d.At)
	}
	return b.String()
}

// Warmup is the warm-up-then-decay schedule of the paper's train_fc_net
// (two- and three-layer ReLU nets).
//
// If Until > 0, update i <= Until uses LR·(1 + (Factor−1)·(i/Total)^Exponent),
// and the rate of update Until is additionally divided by Decay; later
// updates keep that divided rate. If Until == 0 every update uses LR.
// The ratio is i/Total, not i/Until, as in the authors' code, so the largest
// warm-up value is LR·(1 + (Factor−1)·(Until/Total)^Exponent). Exponent 1
// gives the linear warm-up of the 1D regression and 0.5 the square-root
// warm-up of the three-layer net.
type Warmup struct {
	LR       float64 // base step size γ
	Total    int     // number of updates T of the run
	Until    int     // last warm-up update ⌊pT⌋, and the update of the decay
	Factor   float64 // warm-up factor F: the warm-up would reach LR·F at i = Total
	Exponent float64 // warm-up exponent e (1: linear)
	Decay    float64 // divisor c of the rate at update Until
}

// Rate returns the step size of update i.
func (w Warmup) Rate(i int) float64 {
	if w.Until <= 0 {
		return w.LR
	}
	// train_fc_net stops updating the rate after the decay, so every later
	// update reuses the rate of update Until.
	i = min(i, w.Until)
	ratio := float64(i) / float64(w.Total)
	// The explicit conversion forbids a fused multiply-add, which would
	// round differently from the authors' code.
	r := w.LR + float64((w.Factor-1)*w.LR*math.Pow(ratio, w.Exponent))
	if i == w.Until {
		r /= w.Decay
	}
	return r
}

// Marks returns the update of the decay, or nil if there is no warm-up.
func (w Warmup) Marks() []int {
	if w.Until <= 0 {
		return nil
	}
	return []int{w.Until}
}

func (w Warmup) String() string {
	if w.Until <= 0 {
		return fmt.Sprintf("η=%v", w.LR)
	}
	return fmt.Sprintf("η=%v, warm-up ×%v^%v until %d of %d, ÷%v",
		w.LR, w.Factor, w.Exponent, w.Until, w.Total, w.Decay)
}

// DeepPiecewise is the piecewise_0Xepochs schedule of the paper's deep-net
// code (get_lr_schedule in deep_nets/utils_train.py) for X = 10·P.
//
// It is a function of the fractional epoch t ∈ (0, Epochs]; update k (0-based
// over the whole run) uses t = ⌊k/StepsPerEpoch⌋ + (k mod StepsPerEpoch + 1)/StepsPerEpoch,
// the value train.py passes for batch k mod StepsPerEpoch of its epoch. With
// x = t/Epochs, q = WarmupExp and f = WarmupFactor, the rate is
//
//	        x < P                      P <= x < 0.9             x >= 0.9
//	q > 1:  q^(100x)·LR                q^(100P)·LR/10           q^(100P)·LR/100
//	q < 1:  (1 + (100x)^q)·LR          (1 + (100P)^q)·LR/10     (1 + (100P)^q)·LR/100
//	q = 1:  LR + (f−1)·LR·t/(Epochs/2) (P/0.5)·f·LR/10          (P/0.5)·f·LR/100
//
// The exponents use 100x, so they are calibrated for 100 epochs. In the q = 1
// row the warm-up stops at f·LR when t reaches Epochs/2, and the rate after
// the first decay is (P/0.5)·f·LR/10, not the warm-up value at P divided by
// 10: with f = 1 the first decay divides by 50, 16.7 and 10 for P = 0.1, 0.3
// and 0.5. This is the authors' code, kept as is.
type DeepPiecewise struct {
	LR            float64 // initial step size
	P             float64 // fraction of the epochs before the first decay, in (0, 0.9)
	WarmupFactor  float64 // f: rate reached at Epochs/2 in units of LR (used when WarmupExp == 1)
	WarmupExp     float64 // q: selects and shapes the warm-up (> 0)
	Epochs        int     // number of epochs E of the run
	StepsPerEpoch int     // updates per epoch (batches per epoch, with drop_last)
}

// epochFraction returns t/Epochs for update k, or NaN if StepsPerEpoch is not
// positive.
func (d DeepPiecewise) epochFraction(k int) float64 {
	if d.StepsPerEpoch <= 0 {
		return math.NaN()
	}
	// Same operations as train.py's epoch − 1 + (i+1)/#batches, so that
	// the comparisons with P and 0.9 flip at the same update.
	t := float64(k/d.StepsPerEpoch) + float64(k%d.StepsPerEpoch+1)/float64(d.StepsPerEpoch)
	return t / float64(d.Epochs)
}

// Rate returns the step size of update k.
func (d DeepPiecewise) Rate(k int) float64 {
	x := d.epochFraction(k)
	q := d.WarmupExp
	var base float64 // the rate between the two decays, times 10
	switch {
	case q > 1:
		if x < d.P {
			return math.Pow(q, x*100) * d.LR
		}
		base = math.Pow(q, d.P*100) * d.LR
	case q < 1:
		if x < d.P {
			return (1 + math.Pow(x*100, q)) * d.LR
		}
		base = (1 + math.Pow(d.P*100, q)) * d.LR
	default:
		if x < d.P {
			return d.interpolate(x * float64(d.Epochs))
		}
		base = d.P / 0.5 * d.WarmupFactor * d.LR
	}
	if x < 0.9 {
		return base / 10
	}
	return base / 100
}

// interpolate returns the linear warm-up from LR at t = 0 to
// WarmupFactor·LR at t = Epochs/2, held constant afterwards, computed as
// numpy.interp does.
func (d DeepPiecewise) interpolate(t float64) float64 {
	half := 0.5 * float64(d.Epochs)
	if t >= half {
		return d.WarmupFactor * d.LR
	}
	slope := (d.WarmupFactor*d.LR - d.LR) / half
	return float64(slope*t) + d.LR // no fused multiply-add, as numpy
}

// Marks returns the first updates at which t/Epochs reaches P and 0.9, or
// nil if d is invalid.
func (d DeepPiecewise) Marks() []int {
	// An invalid P, Epochs or StepsPerEpoch could make the search below
	// loop forever.
	if SpecOf(d).Validate() != nil {
		return nil
	}
	return []int{d.firstUpdateAt(d.P), d.firstUpdateAt(0.9)}
}

// firstUpdateAt returns the first update k with epochFraction(k) >= frac.
func (d DeepPiecewise) firstUpdateAt(frac float64) int {
	// The closed form is only an estimate because of rounding; correct it
	// with the comparison Rate makes.
	k := max(int(math.Ceil(frac*float64(d.Epochs)*float64(d.StepsPerEpoch)))-1, 0)
	for k > 0 && d.epochFraction(k-1) >= frac {
		k--
	}
	for d.epochFraction(k) < frac {
		k++
	}
	return k
}

func (d DeepPiecewise) String() string {
	return fmt.Sprintf("η=%v, piecewise P=%v q=%v f=%v (%d epochs × %d steps)",
		d.LR, d.P, d.WarmupExp, d.WarmupFactor, d.Epochs, d.StepsPerEpoch)
}

// Cosine is the cosine schedule LR·(½ + ½·cos(π·i/Total)), which decreases
// from LR at update 0 to 0 at update Total. Updates after Total use 0.
type Cosine struct {
	LR    float64 // initial step size
	Total int     // update at which the rate reaches 0
}

// Rate returns the step size of update i.
func (c Cosine) Rate(i int) float64 {
	// Past Total the cosine would rise again, which no schedule intends.
	i = min(i, c.Total)
	return c.LR * (0.5 + float64(0.5*math.Cos(math.Pi*float64(i)/float64(c.Total))))
}

// Marks returns nil: a cosine schedule changes smoothly.
func (c Cosine) Marks() []int { return nil }

func (c Cosine) String() string { return fmt.Sprintf("η=%v, cosine to 0 at %d", c.LR, c.Total) }

// Sequence runs schedules one after another. Part k serves the updates
// Starts[k] <= i < Starts[k+1] (the last part serves all later updates) and
// is asked for the rate of update i − Starts[k], so each part counts its
// updates from 0. Starts must begin at 0 and increase strictly, with one
// entry per part.
type Sequence struct {
	Parts  []Schedule
	Starts []int // first update of each part
}

// part returns the index of the part that serves update i, and false if
// none does, which happens only for an invalid Sequence.
func (s Sequence) part(i int) (int, bool) {
	for k := min(len(s.Parts), len(s.Starts)) - 1; k >= 0; k-- {
		if s.Starts[k] <= i {
			return k, s.Parts[k] != nil
		}
	}
	return 0, false
}

// Rate returns the step size of update i, or NaN if no part serves it
// (only for a Sequence that fails ScheduleSpec.Validate).
func (s Sequence) Rate(i int) float64 {
	k, ok := s.part(i)
	if !ok {
		return math.NaN()
	}
	return s.Parts[k].Rate(i - s.Starts[k])
}

// Marks returns the starts of the parts after the first, and the marks of
// each part shifted by its start, leaving out those that fall after the
// part has ended.
func (s Sequence) Marks() []int {
	var marks []int
	n := min(len(s.Parts), len(s.Starts))
	for k := range n {
		start := s.Starts[k]
		if k > 0 {
			marks = append(marks, start)
		}
		if s.Parts[k] == nil {
			continue
		}
		end := math.MaxInt
		if k+1 < n {
			end = s.Starts[k+1]
		}
		for _, m := range s.Parts[k].Marks() {
			if start+m < end {
				marks = append(marks, start+m)
			}
		}
	}
	slices.Sort(marks)
	return slices.Compact(marks)
}

func (s Sequence) String() string {
	var b strings.Builder
	for k := range min(len(s.Parts), len(s.Starts)) {
		if k > 0 {
			fmt.Fprintf(&b, "; from %d: ", s.Starts[k])
		}
		fmt.Fprint(&b, s.Parts[k])
	}
	return b.String()
}

// MaxUpdates bounds the updates a deep_piecewise schedule may describe
// (2⁵⁰, exact in float64).
const MaxUpdates = 1 << 50

// ScheduleSpec is the serialisable form of a Schedule, as stored in the JSON
// files of experiments. Kind selects the schedule and which other fields it
// uses; fields it does not use must be left unset (zero).
type ScheduleSpec struct {
	// Kind is one of constant, piecewise, warmup, deep_piecewise, cosine
	// and sequence.
	Kind string `json:"kind"`

	// LR is the (initial or base) step size of every kind but sequence.
	LR float64 `json:"lr,omitempty"`

	// Decays holds the divisions of a piecewise schedule (Piecewise.Decays).
	Decays []Decay `json:"decays,omitempty"`

	// Total is the number of updates T of a warmup schedule, or the update
	// at which a cosine schedule reaches 0.
	Total int `json:"total,omitempty"`
	// Until, Factor, Exponent and Decay are the fields of Warmup.
	Until    int     `json:"until,omitempty"`
	Factor   float64 `json:"factor,omitempty"`
	Exponent float64 `json:"exponent,omitempty"`
	Decay    float64 `json:"decay,omitempty"`

	// P, WarmupFactor, WarmupExp, Epochs and StepsPerEpoch are the fields
	// of DeepPiecewise.
	P             float64 `json:"p,omitempty"`
	WarmupFactor  float64 `json:"warmup_factor,omitempty"`
	WarmupExp     float64 `json:"warmup_exp,omitempty"`
	Epochs        int     `json:"epochs,omitempty"`
	StepsPerEpoch int     `json:"steps_per_epoch,omitempty"`

	// Parts and Starts are the fields of Sequence.
	Parts  []ScheduleSpec `json:"parts,omitempty"`
	Starts []int          `json:"starts,omitempty"`
}

// Schedule validates s and returns the schedule it describes. The schedule
// shares no memory with s.
func (s ScheduleSpec) Schedule() (Schedule, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s.build(), nil
}

// build returns the schedule of a valid spec.
func (s ScheduleSpec) build() Schedule {
	switch s.Kind {
	case "constant":
		return Constant{LR: s.LR}
	case "piecewise":
		return Piecewise{LR: s.LR, Decays: slices.Clone(s.Decays)}
	case "warmup":
		return Warmup{LR: s.LR, Total: s.Total, Until: s.Until, Factor: s.Factor, Exponent: s.Exponent, Decay: s.Decay}
	case "deep_piecewise":
		return DeepPiecewise{LR: s.LR, P: s.P, WarmupFactor: s.WarmupFactor, WarmupExp: s.WarmupExp,
			Epochs: s.Epochs, StepsPerEpoch: s.StepsPerEpoch}
	case "cosine":
		return Cosine{LR: s.LR, Total: s.Total}
	default: // "sequence"
		parts := make([]Schedule, len(s.Parts))
		for k, p := range s.Parts {
			parts[k] = p.build()
		}
		return Sequence{Parts: parts, Starts: slices.Clone(s.Starts)}
	}
}

// SpecOf returns the spec of a schedule of this package, so that a resolved
// configuration can be written back to JSON. It shares no memory with s.
// For any other type, including pointers to this package's schedules, the
// spec's Kind is the Go type name, which Validate reports as unknown.
func SpecOf(s Schedule) ScheduleSpec {
	switch v := s.(type) {
	case Constant:
		return ScheduleSpec{Kind: "constant", LR: v.LR}
	case Piecewise:
		return ScheduleSpec{Kind: "piecewise", LR: v.LR, Decays: slices.Clone(v.Decays)}
	case Warmup:
		return ScheduleSpec{Kind: "warmup", LR: v.LR, Total: v.Total, Until: v.Until,
			Factor: v.Factor, Exponent: v.Exponent, Decay: v.Decay}
	case DeepPiecewise:
		return ScheduleSpec{Kind: "deep_piecewise", LR: v.LR, P: v.P, WarmupFactor: v.WarmupFactor,
			WarmupExp: v.WarmupExp, Epochs: v.Epochs, StepsPerEpoch: v.StepsPerEpoch}
	case Cosine:
		return ScheduleSpec{Kind: "cosine", LR: v.LR, Total: v.Total}
	case Sequence:
		parts := make([]ScheduleSpec, len(v.Parts))
		for k, p := range v.Parts {
			parts[k] = SpecOf(p)
		}
		return ScheduleSpec{Kind: "sequence", Parts: parts, Starts: slices.Clone(v.Starts)}
	default:
		return ScheduleSpec{Kind: fmt.Sprintf("%T", s)}
	}
}

// Validate reports the first problem of s, if any: an unknown kind, a field
// that the kind does not use, or a field value out of its range. The error
// names the field and its allowed values.
func (s ScheduleSpec) Validate() error {
	err := s.check()
	if err == nil {
		return nil
	}
	if _, ok := s.usedFields(); ok {
		return fmt.Errorf("schedule %s: %w", s.Kind, err)
	}
	return fmt.Errorf("schedule: %w", err)
}

// usedFields returns the JSON names of the fields that s.Kind uses, and
// false if the kind is unknown.
func (s ScheduleSpec) usedFields() ([]string, bool) {
	switch s.Kind {
	case "constant":
		return []string{"lr"}, true
	case "piecewise":
		return []string{"lr", "decays"}, true
	case "warmup":
		return []string{"lr", "total", "until", "factor", "exponent", "decay"}, true
	case "deep_piecewise":
		return []string{"lr", "p", "warmup_factor", "warmup_exp", "epochs", "steps_per_epoch"}, true
	case "cosine":
		return []string{"lr", "total"}, true
	case "sequence":
		return []string{"parts", "starts"}, true
	}
	return nil, false
}

// check is Validate without the "schedule kind:" prefix, so that the errors
// of the parts of a sequence can be nested.
func (s ScheduleSpec) check() error {
	used, ok := s.usedFields()
	if !ok {
		return fmt.Errorf("unknown kind %q (allowed: constant, piecewise, warmup, deep_piecewise, cosine, sequence)", s.Kind)
	}
	if err := s.checkFields(used); err != nil {
		return err
	}
	if s.Kind == "sequence" {
		return s.checkSequence()
	}
	if err := s.checkPositive("lr", s.LR); err != nil {
		return err
	}
	switch s.Kind {
	case "piecewise":
		for k, d := range s.Decays {
			if d.At < 0 {
				return fmt.Errorf("decays[%d].at must be >= 0, got %d", k, d.At)
			}
			if k > 0 && d.At <= s.Decays[k-1].At {
				return fmt.Errorf("decays[%d].at must be > decays[%d].at = %d, got %d", k, k-1, s.Decays[k-1].At, d.At)
			}
			if err := s.checkPositive(fmt.Sprintf("decays[%d].factor", k), d.Factor); err != nil {
				return err
			}
		}
	case "warmup":
		if s.Total <= 0 {
			return fmt.Errorf("total must be > 0, got %d", s.Total)
		}
		if s.Until < 0 || s.Until > s.Total {
			return fmt.Errorf("until must be in [0, total = %d], got %d", s.Total, s.Until)
		}
		if s.Until == 0 {
			return nil // constant rate: factor, exponent and decay are unused
		}
		for _, f := range []struct {
			name string
			v    float64
		}{{"factor", s.Factor}, {"exponent", s.Exponent}, {"decay", s.Decay}} {
			if err := s.checkPositive(f.name, f.v); err != nil {
				return fmt.Errorf("%w (needed since until > 0)", err)
			}
		}
	case "deep_piecewise":
		// From 0.9 on, the first decay would not come before the second.
		if !(s.P > 0 && s.P < 0.9) {
			return fmt.Errorf("p must be in (0, 0.9), got %v", s.P)
		}
		if err := s.checkPositive("warmup_exp", s.WarmupExp); err != nil {
			return err
		}
		if s.WarmupExp == 1 {
			if err := s.checkPositive("warmup_factor", s.WarmupFactor); err != nil {
				return fmt.Errorf("%w (needed since warmup_exp = 1)", err)
			}
		}
		if s.Epochs <= 0 {
			return fmt.Errorf("epochs must be > 0, got %d", s.Epochs)
		}
		if s.StepsPerEpoch <= 0 {
			return fmt.Errorf("steps_per_epoch must be > 0, got %d", s.StepsPerEpoch)
		}
		// Marks searches the updates in int arithmetic: epochs ×
		// steps_per_epoch must be an exact, non-overflowing count.
		if s.Epochs > MaxUpdates/s.StepsPerEpoch {
			return fmt.Errorf("epochs × steps_per_epoch = %d × %d exceeds %d updates", s.Epochs, s.StepsPerEpoch, MaxUpdates)
		}
	case "cosine":
		if s.Total <= 0 {
			return fmt.Errorf("total must be > 0, got %d", s.Total)
		}
	}
	return nil
}

// checkSequence checks the fields of a sequence spec and its parts.
func (s ScheduleSpec) checkSequence() error {
	if len(s.Parts) == 0 {
		return errors.New("parts must hold at least one schedule")
	}
	if len(s.Starts) != len(s.Parts) {
		return fmt.Errorf("starts must have one entry per part (%d), got %d", len(s.Parts), len(s.Starts))
	}
	if s.Starts[0] != 0 {
		return fmt.Errorf("starts[0] must be 0, got %d", s.Starts[0])
	}
	for k := 1; k < len(s.Starts); k++ {
		if s.Starts[k] <= s.Starts[k-1] {
			return fmt.Errorf("starts[%d] must be > starts[%d] = %d, got %d", k, k-1, s.Starts[k-1], s.Starts[k])
		}
	}
	for k, p := range s.Parts {
		if err := p.check(); err != nil {
			if _, ok := p.usedFields(); ok {
				return fmt.Errorf("parts[%d] (%s): %w", k, p.Kind, err)
			}
			return fmt.Errorf("parts[%d]: %w", k, err)
		}
	}
	return nil
}

// checkFields returns an error naming the first field of s that is set but
// not used by s.Kind.
func (s ScheduleSpec) checkFields(used []string) error {
	set := []struct {
		name  string
		isSet bool
	}{
		{"lr", s.LR != 0},
		{"decays", len(s.Decays) > 0},
		{"total", s.Total != 0},
		{"until", s.Until != 0},
		{"factor", s.Factor != 0},
		{"exponent", s.Exponent != 0},
		{"decay", s.Decay != 0},
		{"p", s.P != 0},
		{"warmup_factor", s.WarmupFactor != 0},
		{"warmup_exp", s.WarmupExp != 0},
		{"epochs", s.Epochs != 0},
		{"steps_per_epoch", s.StepsPerEpoch != 0},
		{"parts", len(s.Parts) > 0},
		{"starts", len(s.Starts) > 0},
	}
	for _, f := range set {
		if f.isSet && !slices.Contains(used, f.name) {
			return fmt.Errorf("field %s is not used by kind %s (its fields: %s)", f.name, s.Kind, strings.Join(used, ", "))
		}
	}
	return nil
}

// checkPositive returns an error naming the field unless v is finite and
// > 0. It is a method so as not to take a package-level name in a package
// that other files share.
func (ScheduleSpec) checkPositive(name string, v float64) error {
	if v > 0 && !math.IsInf(v, 1) {
		return nil
	}
	return fmt.Errorf("%s must be > 0 and finite, got %v", name, v)
}
