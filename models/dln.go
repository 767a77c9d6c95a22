package models

import (
	"errors"
	"fmt"
	"math"

	"sgdlab/data"
	"sgdlab/graph"
)

// DLN is the diagonal linear network h(x) = ⟨u⊙v, x⟩ with parameters
// u, v ∈ R^d: a linear predictor β = u⊙v whose over-parametrisation makes
// SGD prefer sparse β.
type DLN struct {
	U, V *graph.Param // shape (d)
}

// NewDLN returns a float64 DLN of dimension d with u = v = 0.
func NewDLN(d int) *DLN {
	return &DLN{U: graph.NewParam("u", graph.Float64, d), V: graph.NewParam("v", graph.Float64, d)}
}

// Params returns u then v.
func (m *DLN) Params() []*graph.Param { return []*graph.Param{m.U, m.V} }

// Input returns [d].
func (m *DLN) Input() []int { return m.U.Shape() }

// Forward returns X(u⊙v), shape (batch).
func (m *DLN) Forward(s *graph.Scope, x *graph.Node) *graph.Node {
	return s.MatVec(x, s.Hadamard(s.Param(m.U), s.Param(m.V)))
}

// Beta writes the linear predictor β = u⊙v into dst (length d).
func (m *DLN) Beta(dst []float64) {
	u, v := m.U.Float64s(), m.V.Float64s()
	for j := range dst {
		dst[j] = u[j] * v[j]
	}
}

// InitConst sets u = α·1 and v = 0: the paper's "alpha const" start,
// where β = 0 and the scale α sets how close to the lazy regime SGD starts.
func (m *DLN) InitConst(alpha float64) {
	u, v := m.U.Float64s(), m.V.Float64s()
	for j := range u {
		u[j], v[j] = alpha, 0
	}
}

// Normal is a source of standard normal numbers.
type Normal interface{ NormFloat64() float64 }

// InitRandom sets u and v to independent α·N(0,1) entries, u first.
func (m *DLN) InitRandom(alpha float64, r Normal) {
	for _, p := range m.Params() {
		w := p.Float64s()
		for j := range w {
			w[j] = alpha * r.NormFloat64()
		}
	}
}

// DLNSpec is the parameters of model kind "dln": a DLN of dimension D
// and its start.
type DLNSpec struct {
	D     int     `json:"d"`
	Alpha float64 `json:"alpha"`
	// Init is "const" (u = α·1, v = 0) or "random" (α·N(0,1) from a
	// numpy-compatible source seeded with Seed).
	Init string `json:"init"`
	Seed uint32 `json:"seed,omitempty"`
}

// Validate reports every invalid field, by its JSON key.
func (s *DLNSpec) Validate() error {
	var errs []error
	if s.D < 1 || s.D > MaxParams/2 {
		errs = append(errs, fmt.Errorf("d: must be in [1, %d], got %d", MaxParams/2, s.D))
	}
	if !(s.Alpha > 0) || math.IsInf(s.Alpha, 1) {
		errs = append(errs, fmt.Errorf("alpha: must be > 0 and finite, got %v", s.Alpha))
	}
	if s.Init != "const" && s.Init != "random" {
		errs = append(errs, fmt.Errorf("init: unknown %q (allowed: const, random)", s.Init))
	}
	return errors.Join(errs...)
}

// New returns the DLN at its initialisation.
func (s *DLNSpec) New() (graph.Model, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	m := NewDLN(s.D)
	if s.Init == "const" {
		m.InitConst(s.Alpha)
	} else {
		m.InitRandom(s.Alpha, data.NewNumpyRand(s.Seed))
	}
	return m, nil
}

// L0Threshold is the paper's threshold for counting a coordinate of
// β = u⊙v as non-zero (diag_nets notebooks): |β_j| > 1e-50. It needs
// float64: float32 flushes such values to zero.
const L0Threshold = 1e-50

// L0 returns ‖β‖₀ = #{j : |β_j| > L0Threshold}; beta is scratch space of
// length d.
func (m *DLN) L0(beta []float64) int {
	m.Beta(beta)
	n := 0
	for _, b := range beta {
		if math.Abs(b) > L0Threshold {
			n++
		}
	}
	return n
}

// L1 returns ‖β‖₁ = Σ|β_j|, summed in order; beta is scratch space of
// length d.
func (m *DLN) L1(beta []float64) float64 {
	m.Beta(beta)
	var s float64
	for _, b := range beta {
		s += math.Abs(b)
	}
	return s
}

// Balancedness returns ‖|u|−|v|‖₂: zero when the network is balanced,
// the invariant that gradient flow started at u = v preserves.
func (m *DLN) Balancedness() float64 {
	u, v := m.U.Float64s(), m.V.Float64s()
	var s float64
	for j := range u {
		d := math.Abs(u[j]) - math.Abs(v[j])
		s += d * d
	}
	return math.Sqrt(s)
}

// Metrics returns the DLN's own metrics l0, l1 and balancedness (see L0,
// L1 and Balancedness).
func (m *DLN) Metrics() []Metric {
	beta := make([]float64, m.U.Len())
	return []Metric{
		{Name: "l0", Doc: "‖u⊙v‖₀, entries above 1e-50 in magnitude", Measure: func() float64 { return float64(m.L0(beta)) }},
		{Name: "l1", Doc: "‖u⊙v‖₁", Measure: func() float64 { return m.L1(beta) }},
		{Name: "balancedness", Doc: "‖|u|−|v|‖₂", Measure: m.Balancedness},
	}
}

// DLNEnsemble is K diagonal linear networks of dimension d trained
// together (see graph.EnsembleModel): member k is the DLN with
// u = U[k], v = V[k], and its outputs X_k(u_k⊙v_k) are computed exactly as
// DLN's, so a member trains bit for bit as a separate DLN does.
type DLNEnsemble struct {
	U, V *graph.Param // shape (K, d)
}

// NewDLNEnsemble returns K float64 DLNs of dimension d, all with u = v = 0.
// Their parameters are named "u" and "v", as DLN's.
func NewDLNEnsemble(k, d int) *DLNEnsemble {
	return &DLNEnsemble{U: graph.NewParam("u", graph.Float64, k, d), V: graph.NewParam("v", graph.Float64, k, d)}
}

// Params returns U then V.
func (m *DLNEnsemble) Params() []*graph.Param { return []*graph.Param{m.U, m.V} }

// Input returns [d].
func (m *DLNEnsemble) Input() []int { return m.U.Shape()[1:] }

// Members returns K.
func (m *DLNEnsemble) Members() int { return m.U.Shape()[0] }

// Forward returns x[k]·(U[k]⊙V[k]) for every member k: shape (K, batch)
// for x of shape (K, batch, d).
func (m *DLNEnsemble) Forward(s *graph.Scope, x *graph.Node) *graph.Node {
	return s.BatchedMatVec(x, s.Hadamard(s.Param(m.U), s.Param(m.V)))
}
