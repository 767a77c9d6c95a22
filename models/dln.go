package models

import (
	"fmt"

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

// DLNSpec is the serialisable description of a DLN and its start.
type DLNSpec struct {
	D     int     `json:"d"`
	Alpha float64 `json:"alpha"`
	// Init is "const" (u = α·1, v = 0) or "random" (α·N(0,1) from a
	// numpy-compatible source seeded with Seed).
	Init string `json:"init"`
	Seed uint32 `json:"seed,omitempty"`
}

// Validate reports the first invalid field.
func (s DLNSpec) Validate() error {
	switch {
	case s.D < 1:
		return fmt.Errorf("dln: d must be ≥ 1, got %d", s.D)
	case !(s.Alpha > 0):
		return fmt.Errorf("dln: alpha must be > 0, got %v", s.Alpha)
	case s.Init != "const" && s.Init != "random":
		return fmt.Errorf("dln: unknown init %q (allowed: const, random)", s.Init)
	}
	return nil
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
