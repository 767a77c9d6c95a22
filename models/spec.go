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
	// Bias gives every layer a bias vector; Biases, if set, chooses per
	// layer (one entry per layer: [true, false] is the 1D net of E4, with
	// a hidden bias and none on the output).
	Bias   bool   `json:"bias,omitempty"`
	Biases []bool `json:"biases,omitempty"`
	// Dtype is "float64" (the default when empty) or "float32".
	Dtype string `json:"dtype,omitempty"`
	// Init is "he" (weights N(0, 2/fan-in), biases 0), "uniform" (weights
	// and biases U(±1/√fan-in), the default of PyTorch's nn.Linear) or
	// "blanc" (Blanc et al., the 1D net of E4, one hidden layer of a
	// scalar input: w_j = 2.5·Scales[0]·(±1), b_j = 2.5·Scales[0]·N(0,1),
	// a_j = 4·Scales[1]·N(0,1)) or "gaussian" (the authors' init_gaussian:
	// the weights of layer i Scales[i]·N(0,1), or Scales[0] for all if
	// there is one scale; biases U(±1/√fan-in) as in "uniform"), drawn in
	// the order of MLP.Params from a numpy-compatible source seeded with
	// Seed.
	Init   string    `json:"init"`
	Scales []float64 `json:"scales,omitempty"`
	Seed   uint32    `json:"seed,omitempty"`
	// RNG "torch" draws uniform, gaussian and blanc as the authors' code
	// does, from torch's generator seeded with Seed (data.TorchRand): the
	// construction of every nn.Linear (weights kaiming-uniform, biases
	// U(±1/√fan-in)), then the init's own draws on torch's (out, in)
	// weights, in float32; so a seed gives the authors' net. "numpy" (the
	// default) draws as above.
	RNG string `json:"rng,omitempty"`
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
	if s.Biases != nil && len(s.Biases) != len(s.Sizes)-1 {
		errs = append(errs, fmt.Errorf("biases: need one entry per layer (%d), got %d", max(0, len(s.Sizes)-1), len(s.Biases)))
	}
	switch s.Init {
	case "he", "uniform":
	case "blanc":
		if len(s.Sizes) != 3 || s.Sizes[0] != 1 || s.Sizes[2] != 1 || len(s.Scales) != 2 {
			errs = append(errs, fmt.Errorf("init: blanc needs sizes [1, m, 1] and two scales, got sizes %v and scales %v", s.Sizes, s.Scales))
		}
	case "gaussian":
		if len(s.Scales) != 1 && len(s.Scales) != len(s.Sizes)-1 {
			errs = append(errs, fmt.Errorf("scales: gaussian needs one scale, or one per layer (%d), got %d", max(0, len(s.Sizes)-1), len(s.Scales)))
		}
	default:
		errs = append(errs, fmt.Errorf("init: unknown %q (allowed: he, uniform, blanc, gaussian)", s.Init))
	}
	for i, v := range s.Scales {
		if !(v > 0) || math.IsInf(v, 1) {
			errs = append(errs, fmt.Errorf("scales[%d]: must be > 0 and finite, got %v", i, v))
		}
	}
	switch {
	case s.RNG == "torch" && s.Init == "he":
		errs = append(errs, fmt.Errorf("rng: torch draws uniform, gaussian and blanc, not he"))
	case s.RNG != "" && s.RNG != "numpy" && s.RNG != "torch":
		errs = append(errs, fmt.Errorf("rng: unknown %q (allowed: numpy, torch)", s.RNG))
	}
	return errors.Join(errs...)
}

// New returns the MLP at its initialisation.
func (s *MLPSpec) New() (graph.Model, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	dt, _ := parseDtype(s.Dtype)
	m := NewMLP(dt, s.Bias || s.Biases != nil, s.Sizes...)
	for i, b := range s.Biases {
		if !b {
			m.B[i] = nil
		}
	}
	if s.RNG == "torch" {
		s.initTorch(m)
		return m, nil
	}
	r := data.NewNumpyRand(s.Seed)
	switch s.Init {
	case "he":
		m.InitHe(r)
	case "uniform":
		m.InitUniform(r)
	case "blanc":
		m.initBlanc(s.Scales[0], s.Scales[1], r)
	case "gaussian":
		m.InitUniform(r)
		for i, w := range m.W {
			scale := s.Scales[0]
			if len(s.Scales) > 1 {
				scale = s.Scales[i]
			}
			v := make([]float64, w.Len())
			for j := range v {
				v[j] = scale * r.NormFloat64()
			}
			w.Set(v)
		}
	}
	return m, nil
}

// initTorch draws m's initialisation as the authors' torch code does
// (see RNG).
func (s *MLPSpec) initTorch(m *MLP) {
	r := data.NewTorchRand(uint64(s.Seed))
	bias := make([]bool, len(m.W))
	for i, b := range m.B {
		bias[i] = b != nil
	}
	ws, bs := r.Layers(m.Sizes, bias)
	scale := func(i int) float32 {
		if len(s.Scales) == 1 {
			return float32(s.Scales[0])
		}
		return float32(s.Scales[i])
	}
	switch s.Init {
	case "gaussian":
		for i, w := range ws {
			r.Randn(w)
			scaleBy(w, scale(i))
		}
	case "blanc":
		// 2.5·s0·(2·round(U) − 1), 2.5·s0·N(0,1), 4·s1·N(0,1), in torch's
		// float32 operation order.
		r.Rand(ws[0])
		for j, u := range ws[0] {
			ws[0][j] = 2.5 * (-1 + 2*float32(math.RoundToEven(float64(u)))) * float32(s.Scales[0])
		}
		if bs[0] != nil {
			r.Randn(bs[0])
			scaleBy(bs[0], float32(2.5*s.Scales[0]))
		}
		r.Randn(ws[1])
		scaleBy(ws[1], float32(4*s.Scales[1]))
	}
	for i, w := range m.W {
		w.Set(fromTorch(ws[i], m.Sizes[i], m.Sizes[i+1]))
		if b := m.B[i]; b != nil {
			b.Set(fromTorch(bs[i], 1, len(bs[i])))
		}
	}
}

// fromTorch returns torch's (out, in) float32 weight w, row-major, as our
// (in, out) float64 one: its transpose. A bias is (out, 1), so in = 1
// copies it as it is.
func fromTorch(w []float32, in, out int) []float64 {
	v := make([]float64, in*out)
	for j := 0; j < out; j++ {
		for k := 0; k < in; k++ {
			v[k*out+j] = float64(w[j*in+k])
		}
	}
	return v
}

// scaleBy multiplies v by c in float32, as a torch float32 tensor times a
// Python float does.
func scaleBy(v []float32, c float32) {
	for i := range v {
		v[i] *= c
	}
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

// initBlanc is the initialisation of Blanc et al. of a one-hidden-layer
// net on scalar inputs: w_j = 2.5·s0·(2·round(U[0,1)) − 1), then
// b_j = 2.5·s0·N(0,1), then a_j = 4·s1·N(0,1) (spec §3.2).
func (m *MLP) initBlanc(s0, s1 float64, r *data.NumpyRand) {
	w := make([]float64, m.W[0].Len())
	for j := range w {
		w[j] = 2.5 * s0 * (2*math.Round(r.Float64()) - 1)
	}
	m.W[0].Set(w)
	if b := m.B[0]; b != nil {
		v := make([]float64, b.Len())
		for j := range v {
			v[j] = 2.5 * s0 * r.NormFloat64()
		}
		b.Set(v)
	}
	a := make([]float64, m.W[1].Len())
	for j := range a {
		a[j] = 4 * s1 * r.NormFloat64()
	}
	m.W[1].Set(a)
	if b := m.B[1]; b != nil {
		b.Set(make([]float64, b.Len()))
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
	// RNG "torch" draws W as the authors' code does, from torch's
	// generator seeded with Seed (data.TorchRand): FCNet2Layers(d, m)
	// constructed, then init_gaussian([Scale, 0]), in float32; "numpy"
	// (the default) draws W from numpy's legacy normal stream, row-major.
	RNG string `json:"rng,omitempty"`
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
	if s.RNG != "" && s.RNG != "numpy" && s.RNG != "torch" {
		errs = append(errs, fmt.Errorf("rng: unknown %q (allowed: numpy, torch)", s.RNG))
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
	if s.RNG != "torch" {
		t.InitScaled(s.Scale, data.NewNumpyRand(s.Seed))
		return t, nil
	}
	r := data.NewTorchRand(uint64(s.Seed))
	ws, _ := r.Layers([]int{s.D, s.M, 1}, []bool{false, false})
	r.Randn(ws[0])
	scaleBy(ws[0], float32(s.Scale))
	t.W.Set(fromTorch(ws[0], s.D, s.M))
	t.A.Set(make([]float64, s.M))
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
