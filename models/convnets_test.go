package models

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"sgdlab/graph"
)

// imageBatch draws n images of size in and one-hot labels of k classes.
func imageBatch(r *rand.Rand, n, in, k int) (x, y []float64) {
	x = make([]float64, n*in)
	for i := range x {
		x[i] = r.Float64()
	}
	y = make([]float64, n*k)
	for i := 0; i < n; i++ {
		y[i*k+r.IntN(k)] = 1
	}
	return x, y
}

func numParams(m graph.Model) int {
	n := 0
	for _, p := range m.Params() {
		n += p.Len()
	}
	return n
}

// TestResNetMatchesTorchConstruction compares the parameter count and
// initial values of resnet_tiny and PreActResNet18 (width 16) with the
// authors' models.py under torch 1.13 after torch.manual_seed(7):
// TinyResNet(10, model_width=16) has 308 378 parameters and the printed
// first values below, PreActResNet18 701 018.
func TestResNetMatchesTorchConstruction(t *testing.T) {
	m := NewResNet(graph.Float32, [3]int{3, 32, 32}, 16, []int{1, 1, 1, 1}, 10, 7)
	if n := numParams(m); n != 308378 {
		t.Errorf("resnet_tiny width 16: %d parameters, torch 308378", n)
	}
	if n := numParams(NewResNet(graph.Float32, [3]int{3, 32, 32}, 16, []int{2, 2, 2, 2}, 10, 7)); n != 701018 {
		t.Errorf("PreActResNet18 width 16: %d parameters, torch 701018", n)
	}
	byName := map[string][]float32{}
	for _, p := range m.Params() {
		byName[p.Name()] = p.Float32s()
	}
	lw := byName["linear.weight"] // (128, 10): torch's (10, 128) transposed
	for _, tc := range []struct {
		name      string
		got, want []float64
	}{
		{"conv1.weight", f64(byName["conv1.weight"][:3]), []float64{0.013441692106425762, -0.1159307062625885, 0.06128061190247536}},
		{"layer2.0.shortcut.0.weight", f64(byName["layer2.0.shortcut.0.weight"][:2]), []float64{0.11349719762802124, 0.07924893498420715}},
		{"linear.weight", []float64{float64(lw[0]), float64(lw[10])}, []float64{-0.008659038692712784, 0.007025300059467554}},
		{"linear.bias", f64(byName["linear.bias"][:3]), []float64{0.014006840996444225, -0.020985400304198265, -0.003567351261153817}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s starts %v, torch %v", tc.name, tc.got, tc.want)
		}
	}
	var _ graph.Buffered = m
	var _ graph.Buffered = (*CNN)(nil)
	if b := m.Buffers(); len(b) != 2*len(m.BatchNorms()) || b[0].Name() != "layer1.0.bn1.running_mean" || b[len(b)-1].Name() != "bn.running_var" {
		t.Errorf("buffers %v…, want the running statistics named as torch's", b[0].Name())
	}
	for _, bn := range m.BatchNorms() {
		for _, g := range bn.Gamma.Float32s() {
			if g != 1 {
				t.Fatalf("%s: γ = %v, want 1", bn.Name(), g)
			}
		}
		for _, b := range bn.Beta.Float32s() {
			if b != 0 {
				t.Fatalf("%s: β = %v, want 0", bn.Name(), b)
			}
		}
	}
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// TestConvInitBounds: every weight and bias of the CNN lies in
// ±1/√fan-in, and the draws use the range (a max near the bound).
func TestConvInitBounds(t *testing.T) {
	m := NewCNN(graph.Float64, [3]int{1, 28, 28}, []int{16, 32}, 3, 10, false, 3)
	fanIn := map[string]int{"conv1.weight": 9, "conv1.bias": 9, "conv2.weight": 144, "conv2.bias": 144, "linear.weight": 32 * 49, "linear.bias": 32 * 49}
	for _, p := range m.Params() {
		bound := 1 / math.Sqrt(float64(fanIn[p.Name()]))
		var peak float64
		for _, v := range p.Float64s() {
			peak = math.Max(peak, math.Abs(v))
		}
		if peak > bound*(1+1e-6) || (p.Len() > 100 && peak < 0.9*bound) {
			t.Errorf("%s: max |value| %v, bound 1/√%d = %v", p.Name(), peak, fanIn[p.Name()], bound)
		}
	}
}

// smallNets are float64 nets small enough for Hessian checks.
func smallNets() []struct {
	name string
	m    graph.Model
	in   int
} {
	return []struct {
		name string
		m    graph.Model
		in   int
	}{
		{"cnn", NewCNN(graph.Float64, [3]int{1, 8, 8}, []int{3, 4}, 3, 3, false, 1), 64},
		{"cnn_bn", NewCNN(graph.Float64, [3]int{2, 7, 6}, []int{3, 2}, 3, 3, true, 2), 84},
		{"resnet", NewResNet(graph.Float64, [3]int{3, 8, 8}, 2, []int{1, 1, 1, 1}, 3, 3), 192},
		{"resnet_2block", NewResNet(graph.Float64, [3]int{1, 6, 6}, 2, []int{2, 1, 2, 1}, 3, 4), 36},
	}
}

// TestConvNetsHVPCheck: on the CNN (with and without batch norm) and on
// small ResNets in float64, the gradient matches a central difference of
// the loss along a random direction, and the exact HVP passes Check
// (symmetric, and equal to central differences of exact gradients) in
// train mode.
func TestConvNetsHVPCheck(t *testing.T) {
	for i, tc := range smallNets() {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(i), 5))
			const n = 4
			x, y := imageBatch(r, n, tc.in, 3)
			p, err := graph.Compile(tc.m, graph.SoftmaxCE, n)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Run(x, y); err != nil {
				t.Fatal(err)
			}
			w := graph.Flatten(tc.m.Params())
			g := make([]float64, len(w))
			p.Gradient(g)
			v := make([]float64, len(w))
			for j := range v {
				v[j] = r.NormFloat64()
			}
			const eps = 1e-6
			loss := func(s float64) float64 {
				shifted := make([]float64, len(w))
				for j := range w {
					shifted[j] = w[j] + s*v[j]
				}
				graph.Unflatten(tc.m.Params(), shifted)
				l, err := p.Run(x, y)
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			fd := (loss(eps) - loss(-eps)) / (2 * eps)
			graph.Unflatten(tc.m.Params(), w)
			var gv float64
			for j := range g {
				gv += g[j] * v[j]
			}
			if math.Abs(fd-gv) > 1e-6*math.Abs(gv) {
				t.Errorf("directional derivative %v, central difference %v", gv, fd)
			}
			h, err := graph.CompileHVP(tc.m, graph.SoftmaxCE, n)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.SetData(x, y); err != nil {
				t.Fatal(err)
			}
			c, err := h.Check(9)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d parameters: symmetry %.2g, finite differences %.2g", h.Dim(), c.Symmetry, c.FiniteDifference)
			if c.Symmetry > 1e-12 || c.FiniteDifference > 1e-6 {
				t.Errorf("HVP check: symmetry %.3g, finite differences %.3g", c.Symmetry, c.FiniteDifference)
			}
		})
	}
}

// TestConvNetsExecutor: float32 CNNs and ResNets of realistic layout run
// every operation natively, bit-identical to Gorgonia's TapeMachine over
// several SGD steps, and a training step allocates nothing.
func TestConvNetsExecutor(t *testing.T) {
	for i, tc := range []struct {
		name string
		m    graph.Model
		in   int
	}{
		{"cnn", NewCNN(graph.Float32, [3]int{1, 28, 28}, []int{16, 32}, 3, 10, false, 1), 784},
		{"cnn_bn", NewCNN(graph.Float32, [3]int{3, 32, 32}, []int{8, 16}, 3, 10, true, 2), 3072},
		{"resnet", NewResNet(graph.Float32, [3]int{3, 16, 16}, 8, []int{1, 1, 1, 1}, 10, 3), 768},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(i), 6))
			// Every matrix product is either at least 2¹⁵ multiply-adds
			// (sgdlab's kernels) or has all sides ≤ 64: gonum's kernels,
			// which take the smaller ones, start goroutines (and
			// allocate) for a side above 64.
			const n = 4
			p, err := graph.Compile(tc.m, graph.SoftmaxCE, n)
			if err != nil {
				t.Fatal(err)
			}
			for step := 0; step < 3; step++ {
				x, y := imageBatch(r, n, tc.in, 10)
				if err := p.CheckTapeMachine(x, y); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				p.Descend(0.05)
			}
			x, y := imageBatch(r, n, tc.in, 10)
			allocs := testing.AllocsPerRun(10, func() {
				if _, err := p.Run(x, y); err != nil {
					t.Fatal(err)
				}
				p.Descend(1e-3)
			})
			if allocs != 0 {
				t.Errorf("%v allocations per training step, want 0", allocs)
			}
		})
	}
}

// TestConvNetsFeatureMaps checks the names and widths of the feature
// maps (spec §3.4 for the ResNet), and that block 4 is non-negative
// (after a ReLU) while block 1 takes both signs (a pre-activation sum).
func TestConvNetsFeatureMaps(t *testing.T) {
	cnn := NewCNN(graph.Float32, [3]int{1, 28, 28}, []int{16, 32}, 3, 10, false, 1)
	res := NewResNet(graph.Float32, [3]int{3, 32, 32}, 4, []int{1, 1, 1, 1}, 10, 1)
	for _, tc := range []struct {
		m      graph.Model
		in     int
		names  []string
		widths []int
	}{
		{cnn, 784, []string{"block1", "block2"}, []int{16 * 14 * 14, 32 * 7 * 7}},
		{res, 3072, []string{"block1", "block2", "block3", "block4", "block5"},
			[]int{4 * 32 * 32, 8 * 16 * 16, 16 * 8 * 8, 32 * 4 * 4, 32}},
	} {
		const n = 3
		p, err := graph.CompileLoss(tc.m, graph.OutputSum, n)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.FeatureNames(); !slices.Equal(got, tc.names) {
			t.Fatalf("feature maps %v, want %v", got, tc.names)
		}
		x, _ := imageBatch(rand.New(rand.NewPCG(1, 1)), n, tc.in, 10)
		if _, err := p.Run(x, nil); err != nil {
			t.Fatal(err)
		}
		for i, name := range tc.names {
			if w := p.FeatureWidth(name); w != tc.widths[i] {
				t.Errorf("%s: width %d, want %d", name, w, tc.widths[i])
			}
			f := make([]float64, n*tc.widths[i])
			if err := p.Feature(name, f); err != nil {
				t.Fatal(err)
			}
			neg := slices.ContainsFunc(f, func(v float64) bool { return v < 0 })
			if mustNonNeg := tc.m == graph.Model(cnn) || name == "block4" || name == "block5"; mustNonNeg && neg {
				t.Errorf("%s has negative entries after a ReLU", name)
			}
			if tc.m == graph.Model(res) && name == "block1" && !neg {
				t.Errorf("block1 (a pre-activation sum) has no negative entry")
			}
		}
	}
}

// TestConvSpecs: specs decode from JSON, build the models they describe,
// and Validate names every bad key.
func TestConvSpecs(t *testing.T) {
	for _, tc := range []struct {
		kind, json string
		params     int
		errs       []string
	}{
		{"cnn", `{"input": [1, 28, 28], "classes": 10}`, 16*9 + 16 + 32*16*9 + 32 + 32*49*10 + 10, nil},
		{"cnn", `{"input": [3, 32, 32], "classes": 10, "channels": [8], "batch_norm": true, "dtype": "float64"}`, 8*27 + 16 + 8*256*10 + 10, nil},
		{"resnet", `{"input": [3, 32, 32], "classes": 10, "width": 16}`, 308378, nil},
		{"resnet", `{"input": [3, 32, 32], "classes": 10, "width": 16, "blocks": [2, 2, 2, 2]}`, 701018, nil},
		{"cnn", `{"input": [1, 28], "classes": 1, "channels": [0, 5], "kernel": 12, "dtype": "int"}`, 0,
			[]string{"input:", "classes:", "channels[0]:", "kernel:", "dtype:"}},
		{"cnn", `{"input": [1, 6, 6], "classes": 3, "channels": [2, 2, 2]}`, 0, []string{"channels: 3 conv blocks"}},
		{"cnn", `{"input": [0, 2000, 5], "classes": 3}`, 0, []string{"input[0]:", "input[1]:"}},
		{"resnet", `{"input": [3, 32, 32], "classes": 10, "width": 0, "blocks": [1, 1, 0]}`, 0,
			[]string{"width:", "blocks: need 4", "blocks[2]:"}},
		{"resnet", `{"input": [3, 32, 32], "classes": 10, "width": 512, "blocks": [64, 64, 64, 64]}`, 0,
			[]string{"parameters exceed"}},
	} {
		spec, err := NewSpec(tc.kind)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(tc.json), spec); err != nil {
			t.Fatal(err)
		}
		err = spec.Validate()
		if len(tc.errs) > 0 {
			for _, want := range tc.errs {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%s: error %v, want it to name %q", tc.json, err, want)
				}
			}
			if _, nerr := spec.New(); nerr == nil {
				t.Errorf("%s: New accepted an invalid spec", tc.json)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.json, err)
		}
		m, err := spec.New()
		if err != nil {
			t.Fatal(err)
		}
		if n := numParams(m); n != tc.params {
			t.Errorf("%s: %d parameters, want %d", tc.json, n, tc.params)
		}
		m2, _ := spec.New()
		if !slices.Equal(graph.Flatten(m.Params()), graph.Flatten(m2.Params())) {
			t.Errorf("%s: two New calls differ", tc.json)
		}
	}
}
