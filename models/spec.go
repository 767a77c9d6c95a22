package models

import (
	"errors"
	"fmt"
	"math"

	"sgdlab/data"
	"sgdlab/graph"
)

// MLPSpec is the parameters of model kind "mlp": a fully connected ReLU
// network of any depth (see MLP).
type MLPSpec struct {
	// Sizes are the layer widths, input first and output last: [1, 100, 1]
	// is a one-hidden-layer net on 1D inputs with a scalar output.
	Sizes []int `json:"sizes"`
	// Bias gives every layer a bias vector.
	Bias bool `json:"bias,omitempty"`
	// Dtype is "float64" (the default when empty) or "float32".
	Dtype string `json:"dtype,omitempty"`
	// Init is "he" (weights N(0, 2/fan-in), biases 0) or "uniform" (weights
	// and biases U(±1/√fan-in), the default of PyTorch's nn.Linear), drawn
	// in the order of MLP.Params from a numpy-compatible source seeded
	// with Seed.
	Init string `json:"init"`
	Seed uint32 `json:"seed,omitempty"`
}

// Validate reports every invalid field, by its JSON key.
func (s *MLPSpec) Validate() error {
	var errs []error
	if len(s.Sizes) < 2 || len(s.Sizes) > 1000 {
		errs = append(errs, fmt.Errorf("sizes: need 2 to 1000 widths (input … output), got %d", len(s.Sizes)))
	}
	total := 0
	for i, w := range s.Sizes {
		if w < 1 || w > MaxParams {
			errs = append(errs, fmt.Errorf("sizes[%d]: must be in [1, %d], got %d", i, MaxParams, w))
			total = MaxParams + 1
			continue
		}
		if i > 0 && total <= MaxParams {
			total += s.Sizes[i-1]*w + w
		}
	}
	if total > MaxParams {
		errs = append(errs, fmt.Errorf("sizes: %v has more than %d parameters", s.Sizes, MaxParams))
	}
	if _, err := parseDtype(s.Dtype); err != nil {
		errs = append(errs, err)
	}
	if s.Init != "he" && s.Init != "uniform" {
		errs = append(errs, fmt.Errorf("init: unknown %q (allowed: he, uniform)", s.Init))
	}
	return errors.Join(errs...)
}

// New returns the MLP at its initialisation.
func (s *MLPSpec) New() (graph.Model, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	dt, _ := parseDtype(s.Dtype)
	m := NewMLP(dt, s.Bias, s.Sizes...)
	r := data.NewNumpyRand(s.Seed)
	if s.Init == "he" {
		m.InitHe(r)
	} else {
		m.InitUniform(r)
	}
	return m, nil
}

// InitUniform draws every weight and bias of layer i from
// U(−1/√Sizes[i], 1/√Sizes[i]), weight then bias, layer by layer: the
// initialisation of PyTorch's nn.Linear.
func (m *MLP) InitUniform(r interface{ Float64() float64 }) {
	for _, p := range m.Params() {
		// The fan-in of W (in, out) and of b (out) is the layer's input width.
		in := m.Sizes[m.layerOf(p)]
		bound := 1 / math.Sqrt(float64(in))
		vals := make([]float64, p.Len())
		for j := range vals {
			vals[j] = bound * (2*r.Float64() - 1)
		}
		p.Set(vals)
	}
}

// layerOf returns the index of the layer that parameter p belongs to.
func (m *MLP) layerOf(p *graph.Param) int {
	for i := range m.W {
		if m.W[i] == p || m.B[i] == p {
			return i
		}
	}
	panic("models: parameter not in the MLP")
}

// TwoLayerSpec is the parameters of model kind "two_layer": the
// teacher–student network h(x) = Σ_j a_j·relu(⟨w_j, x⟩) (see TwoLayer),
// started with W from Scale·N(0,1) and a = 0.
type TwoLayerSpec struct {
	D     int     `json:"d"` // input dimension
	M     int     `json:"m"` // hidden neurons
	Scale float64 `json:"scale"`
	Dtype string  `json:"dtype,omitempty"` // "float64" (default) or "float32"
	Seed  uint32  `json:"seed,omitempty"`
}

// Validate reports every invalid field, by its JSON key.
func (s *TwoLayerSpec) Validate() error {
	var errs []error
	if s.D < 1 || s.D > MaxParams {
		errs = append(errs, fmt.Errorf("d: must be in [1, %d], got %d", MaxParams, s.D))
	}
	if s.M < 1 || s.M > MaxParams {
		errs = append(errs, fmt.Errorf("m: must be in [1, %d], got %d", MaxParams, s.M))
	}
	if s.D >= 1 && s.M >= 1 && s.D <= MaxParams && s.M <= MaxParams && (s.D+1)*s.M > MaxParams {
		errs = append(errs, fmt.Errorf("d, m: (d+1)·m = %d parameters exceed %d", (s.D+1)*s.M, MaxParams))
	}
	if !(s.Scale > 0) || math.IsInf(s.Scale, 1) {
		errs = append(errs, fmt.Errorf("scale: must be > 0 and finite, got %v", s.Scale))
	}
	if _, err := parseDtype(s.Dtype); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// New returns the two-layer net at its initialisation.
func (s *TwoLayerSpec) New() (graph.Model, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	dt, _ := parseDtype(s.Dtype)
	t := NewTwoLayer(dt, s.D, s.M)
	t.InitScaled(s.Scale, data.NewNumpyRand(s.Seed))
	return t, nil
}

// parseDtype reads the dtype key of a spec; empty means float64.
func parseDtype(s string) (graph.Dtype, error) {
	switch s {
	case "", "float64":
		return graph.Float64, nil
	case "float32":
		return graph.Float32, nil
	}
	return graph.Float64, fmt.Errorf("dtype: unknown %q (allowed: float64, float32)", s)
}
