package data_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"

	"sgdlab/data"
)

// testdata/torchrand.json was written by a Python script run with Debian's
// build of PyTorch 1.13.1 (torch.__version__ "1.13.0a0", CPU capability
// AVX2, one thread) and numpy 1.24.2. For seeds 0, 1, 3, 5 and 42, each case
// calls torch.manual_seed(seed) and then a sequence of
//
//	randn:     torch.randn(n), repeat times when repeat is set
//	rand:      torch.rand(n)
//	uniform:   torch.empty(n).uniform_(lo, hi)
//	roundrand: torch.round(torch.rand_like(torch.empty(n)))
//	linear:    torch.nn.Linear(fan_in, fan_out, bias=bias), recording
//	           its weight and bias
//
// and records every float32 result as its bit pattern in hex, or, for the
// long outputs, the SHA-256 of the little-endian float32 bytes. The
// sequences include the draws of E5's teacher and student, FCNet2Layers
// followed by init_gaussian. Its e5 object holds what the authors' code
// (tml-epfl/sgd-sparse-features, utils.get_data_two_layer_relu_net with
// n=15, d=2, m_teacher=3, init_scales_teacher [1, 1] and seed 0, then
// np.random.seed(0), torch.manual_seed(0), FCNet2Layers(2, 20) and
// init_gaussian([0.5, 0.0])) produces.
type torchFixture struct {
	Torch string `json:"torch"`
	Cases []struct {
		Seed uint64      `json:"seed"`
		Ops  []torchOpTC `json:"ops"`
	} `json:"cases"`
	E5 struct {
		X        []string `json:"x"`
		Y        []string `json:"y"`
		WTeacher []string `json:"w_teacher"`
		ATeacher []string `json:"a_teacher"`
		WStudent []string `json:"w_student"`
		AStudent []string `json:"a_student"`
	} `json:"e5"`
}

type torchOpTC struct {
	Op     string   `json:"op"`
	N      int      `json:"n"`
	Repeat int      `json:"repeat"`
	Lo     float64  `json:"lo"`
	Hi     float64  `json:"hi"`
	FanIn  int      `json:"fan_in"`
	FanOut int      `json:"fan_out"`
	Bias   bool     `json:"bias"`
	Out    []string `json:"out"`
	W      []string `json:"w"`
	B      []string `json:"b"`
	SHA256 string   `json:"sha256"`
}

func (op *torchOpTC) String() string {
	switch op.Op {
	case "linear":
		return fmt.Sprintf("Linear(%d, %d, bias=%v)", op.FanIn, op.FanOut, op.Bias)
	case "uniform":
		return fmt.Sprintf("uniform_(%d; %v, %v)", op.N, op.Lo, op.Hi)
	case "randn":
		if op.Repeat > 1 {
			return fmt.Sprintf("%d×randn(%d)", op.Repeat, op.N)
		}
	}
	return fmt.Sprintf("%s(%d)", op.Op, op.N)
}

func loadTorchFixture(t *testing.T) *torchFixture {
	t.Helper()
	b, err := os.ReadFile("testdata/torchrand.json")
	if err != nil {
		t.Fatal(err)
	}
	var f torchFixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("fixture has no cases")
	}
	return &f
}

// checkBits reports every element of got whose bits differ from want.
func checkBits(t *testing.T, what string, got []float32, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, fixture has %d", what, len(got), len(want))
		return
	}
	for i, h := range want {
		w, err := strconv.ParseUint(h, 16, 32)
		if err != nil {
			t.Fatalf("%s: bad fixture value %q", what, h)
		}
		if g := math.Float32bits(got[i]); g != uint32(w) {
			t.Errorf("%s[%d] = %08x (%v), want %08x (%v)", what, i, g, got[i], w, math.Float32frombits(uint32(w)))
		}
	}
}

func float32Digest(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestTorchRandFixture(t *testing.T) {
	f := loadTorchFixture(t)
	for _, tc := range f.Cases {
		r := data.NewTorchRand(tc.Seed)
		name := fmt.Sprintf("seed %d", tc.Seed)
		for i := range tc.Ops {
			op := &tc.Ops[i]
			name += " " + op.String()
			var got []float32
			switch op.Op {
			case "randn":
				got = make([]float32, op.N*max(op.Repeat, 1))
				for k := 0; k < len(got); k += op.N {
					r.Randn(got[k : k+op.N])
				}
			case "rand":
				got = make([]float32, op.N)
				r.Rand(got)
			case "uniform":
				got = make([]float32, op.N)
				r.Uniform(got, float32(op.Lo), float32(op.Hi))
			case "roundrand":
				got = make([]float32, op.N)
				r.Rand(got)
				for k, v := range got {
					got[k] = float32(math.RoundToEven(float64(v)))
				}
			case "linear":
				w, b := r.Linear(op.FanIn, op.FanOut, op.Bias)
				checkBits(t, name+" weight", w, op.W)
				checkBits(t, name+" bias", b, op.B)
				continue
			default:
				t.Fatalf("%s: unknown op %q", name, op.Op)
			}
			if op.SHA256 != "" {
				if d := float32Digest(got); d != op.SHA256 {
					t.Errorf("%s: digest %s, want %s", name, d, op.SHA256)
				}
				continue
			}
			checkBits(t, name, got, op.Out)
		}
	}
}

// TestTorchRandWords checks how many MT19937 words Randn consumes: four
// per Box–Muller pair below 16 elements, and one per element plus 16 for
// the recomputed tail otherwise.
func TestTorchRandWords(t *testing.T) {
	for _, tc := range []struct{ n, words int }{
		{1, 4}, {2, 4}, {3, 8}, {15, 32}, {16, 16}, {17, 33}, {32, 32}, {40, 56},
	} {
		r := data.NewTorchRand(9)
		r.Randn(make([]float32, tc.n))
		ref := data.NewTorchRand(9)
		for range tc.words {
			ref.Uint32()
		}
		if got, want := r.Uint32(), ref.Uint32(); got != want {
			t.Errorf("Randn(%d): next word %d, want word %d of the stream (%d)", tc.n, got, tc.words, want)
		}
	}
}

// TestTorchRandNormalCache checks that the cached second value of a
// Box–Muller pair outlives other draws, but not Seed.
func TestTorchRandNormalCache(t *testing.T) {
	pair := make([]float32, 2)
	data.NewTorchRand(4).Randn(pair)

	r := data.NewTorchRand(4)
	one := make([]float32, 1)
	r.Randn(one)
	r.Rand(make([]float32, 3))
	r.Randn(make([]float32, 20))
	r.Randn(one)
	if one[0] != pair[1] {
		t.Errorf("second Randn(1) = %v, want cached %v", one[0], pair[1])
	}

	r.Seed(4)
	r.Randn(one)
	r.Seed(4)
	r.Randn(one)
	if one[0] != pair[0] {
		t.Errorf("Randn(1) after Seed = %v, want %v", one[0], pair[0])
	}
}

func TestTorchRandSeedLow32(t *testing.T) {
	a, b := data.NewTorchRand(5), data.NewTorchRand(1<<32+5)
	for i := range 5 {
		if x, y := a.Uint32(), b.Uint32(); x != y {
			t.Fatalf("word %d: seed 5 gives %d, seed 2³²+5 gives %d", i, x, y)
		}
	}
}

func TestTorchRandNoAlloc(t *testing.T) {
	r := data.NewTorchRand(0)
	small, large := make([]float32, 15), make([]float32, 100)
	if n := testing.AllocsPerRun(10, func() {
		r.Randn(small)
		r.Randn(large)
		r.Rand(large)
		r.Uniform(large, -1, 1)
	}); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

func TestTorchRandLinearPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Linear(0, 3, false) did not panic")
		}
	}()
	data.NewTorchRand(0).Linear(0, 3, false)
}

// unitRows scales each row of the n×2 matrix m to unit norm in float32, as
// m / torch.sum(m**2, 1, keepdim=True)**0.5 does.
func unitRows(m []float32) {
	for i := 0; i < len(m); i += 2 {
		a, b := m[i], m[i+1]
		norm := float32(math.Sqrt(float64(float32(a*a) + float32(b*b))))
		m[i], m[i+1] = a/norm, b/norm
	}
}

// TestTorchRandE5 replays the authors' E5 set-up: the inputs from numpy
// (multivariate_normal with identity covariance reduces to
// standard_normal exactly, since numpy's SVD of I is exact), the teacher
// and the student initialisation from torch.
func TestTorchRandE5(t *testing.T) {
	e5 := loadTorchFixture(t).E5
	const n, d, mTeacher, mStudent = 15, 2, 3, 20

	// np.random.seed(1); multivariate_normal(0, I, 15), then float32.
	normals := make([]float64, n*d)
	data.NewNumpyRand(1).Normals(normals)
	x := make([]float32, n*d)
	for i, v := range normals {
		x[i] = float32(v)
	}
	unitRows(x)
	checkBits(t, "X", x, e5.X)

	// torch.manual_seed(1); FCNet2Layers(2, 3); init_gaussian([1, 1]).
	r := data.NewTorchRand(1)
	r.Linear(d, mTeacher, false)
	r.Linear(mTeacher, 1, false)
	w := make([]float32, mTeacher*d)
	a := make([]float32, mTeacher)
	r.Randn(w)
	r.Randn(a)
	unitRows(w)
	for k, v := range a {
		a[k] = float32(math.Copysign(1, float64(v))) // no draw is zero
	}
	checkBits(t, "W*", w, e5.WTeacher)
	checkBits(t, "a*", a, e5.ATeacher)

	// The labels also depend on how torch's CPU matmul rounds: for d = 2
	// it adds the second product to the rounded first one in one fused
	// step. math.FMA rounds that sum to float64 and the conversion rounds
	// it again to float32; no label here is affected by the double
	// rounding.
	y := make([]float32, n)
	for i := range y {
		for k := range mTeacher {
			first := float32(x[2*i] * w[2*k])
			h := float32(math.FMA(float64(x[2*i+1]), float64(w[2*k+1]), float64(first)))
			y[i] += max(h, 0) * a[k]
		}
	}
	checkBits(t, "y", y, e5.Y)

	// torch.manual_seed(0); FCNet2Layers(2, 20); init_gaussian([0.5, 0]).
	r.Seed(0)
	r.Linear(d, mStudent, false)
	r.Linear(mStudent, 1, false)
	w = make([]float32, mStudent*d)
	a = make([]float32, mStudent)
	r.Randn(w)
	r.Randn(a)
	for i := range w {
		w[i] *= 0.5
	}
	for i := range a {
		a[i] *= 0 // keeps the sign: torch's a starts with signed zeros
	}
	checkBits(t, "W", w, e5.WStudent)
	checkBits(t, "a", a, e5.AStudent)
}

// ExampleTorchRand replays the student initialisation of E5:
// torch.manual_seed(0), FCNet2Layers(2, 20) (two bias-free torch.nn.Linear
// layers, whose initial weights init_gaussian then replaces), and
// init_gaussian([0.5, 0.0]).
func ExampleTorchRand() {
	r := data.NewTorchRand(0)
	r.Linear(2, 20, false) // only advances the stream
	r.Linear(20, 1, false)
	w := make([]float32, 20*2) // row-major, one row per hidden neuron
	r.Randn(w)
	for i := range w {
		w[i] *= 0.5
	}
	a := make([]float32, 20)
	r.Randn(a) // drawn, then multiplied by 0.0
	fmt.Println(w[:4])
	// Output: [0.29716152 0.7709713 0.2536672 -0.29551658]
}

// TestTeacherStudentTorch checks that TeacherStudent with RNG "torch" is
// the authors' E5 draw: inputs, labels and teacher neurons bit for bit.
func TestTeacherStudentTorch(t *testing.T) {
	e5 := loadTorchFixture(t).E5
	ts := data.TeacherStudent{D: 2, N: 15, NTest: 1000, Hidden: []int{3}, Teacher: "unit", Seed: 1, RNG: "torch"}
	train, _, err := ts.Load()
	if err != nil {
		t.Fatal(err)
	}
	f32 := func(v []float64) []float32 {
		out := make([]float32, len(v))
		for i, x := range v {
			if out[i] = float32(x); float64(out[i]) != x {
				t.Fatalf("value %d = %v is not a float32", i, x)
			}
		}
		return out
	}
	checkBits(t, "X", f32(train.X), e5.X)
	checkBits(t, "y", f32(train.Y), e5.Y)
	ns, err := ts.Neurons()
	if err != nil {
		t.Fatal(err)
	}
	var w []float64
	for _, n := range ns {
		w = append(w, n...)
	}
	checkBits(t, "W*", f32(w), e5.WTeacher)
	ts.RNG = "pcg"
	if err := ts.Validate(); err == nil {
		t.Error("rng pcg: no error")
	}
}
