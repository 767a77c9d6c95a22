package tensorfile

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sample() []Tensor {
	return []Tensor{
		{Name: "w", Dtype: F32, Shape: []int{2, 3}, F32: []float32{1, -2, 3.5, float32(math.Inf(1)), 0, float32(math.Copysign(0, -1))}},
		{Name: "v", Dtype: F64, Shape: []int{3}, F64: []float64{math.Pi, -1e-310, math.MaxFloat64}},
		{Name: "iters", Dtype: I64, Shape: []int{2}, I64: []int64{0, math.MaxInt64}},
		{Name: "empty", Dtype: F64, Shape: []int{0, 4}, F64: []float64{}},
		{Name: "scalar", Dtype: F64, Shape: []int{}, F64: []float64{7}},
	}
}

// TestRoundTrip writes every dtype (signed zeros, infinities, subnormals
// and extremes included), a zero-sized and a scalar tensor and metadata,
// and reads back the same bits, and checks the layout a PyTorch reader
// relies on: the header length, an 8-byte aligned JSON header that opens
// with '{', and no temporary file left in the directory.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.safetensors")
	meta := map[string]string{"format": "test/1", "iteration": "12"}
	if err := Write(path, sample(), meta); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Meta, meta) {
		t.Errorf("metadata %v, want %v", f.Meta, meta)
	}
	for _, want := range sample() {
		got, ok := f.Tensor(want.Name)
		if !ok {
			t.Fatalf("tensor %q missing", want.Name)
		}
		if got.Dtype != want.Dtype || !reflect.DeepEqual(got.Shape, want.Shape) || got.Len() != want.Len() {
			t.Errorf("%s: dtype %s shape %v, want %s %v", want.Name, got.Dtype, got.Shape, want.Dtype, want.Shape)
		}
		for k := range want.F64 {
			if math.Float64bits(got.F64[k]) != math.Float64bits(want.F64[k]) {
				t.Errorf("%s[%d] = %v, want %v", want.Name, k, got.F64[k], want.F64[k])
			}
		}
		for k := range want.F32 {
			if math.Float32bits(got.F32[k]) != math.Float32bits(want.F32[k]) {
				t.Errorf("%s[%d] = %v, want %v", want.Name, k, got.F32[k], want.F32[k])
			}
		}
		if !reflect.DeepEqual(got.I64, want.I64) {
			t.Errorf("%s = %v, want %v", want.Name, got.I64, want.I64)
		}
	}
	b, _ := os.ReadFile(path)
	n := binary.LittleEndian.Uint64(b)
	if n%8 != 0 || b[8] != '{' || !strings.Contains(string(b[8:8+n]), `"__metadata__"`) {
		t.Errorf("header of %d bytes: %q", n, b[8:8+n])
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after Write, want the file alone", len(entries))
	}
	if _, err := f.Require(path, "w", F32, []int{2, 3}); err != nil {
		t.Error(err)
	}
	for _, tc := range []struct {
		name, dtype string
		shape       []int
		want        string
	}{
		{"w", F64, []int{2, 3}, `tensor "w" has dtype F32, want F64`},
		{"w", F32, []int{3, 2}, `tensor "w" has shape [2 3], want [3 2]`},
		{"nope", F32, nil, `tensor "nope": no such tensor`},
	} {
		if _, err := f.Require(path, tc.name, tc.dtype, tc.shape); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("Require(%s, %s, %v) = %v, want an error naming the file and containing %q", tc.name, tc.dtype, tc.shape, err, tc.want)
		}
	}
}

// TestWriteErrors: bad tensors are refused before anything is written,
// and a failed write leaves the previous file in place.
func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.safetensors")
	if err := Write(path, sample()[:1], nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	for _, tc := range []struct {
		ts   []Tensor
		want string
	}{
		{[]Tensor{{Name: "a", Dtype: F64, Shape: []int{2}, F64: []float64{1}}}, `tensor "a": 1 F64 values for shape [2]`},
		{[]Tensor{{Name: "a", Dtype: "F16", Shape: []int{1}}}, `dtype "F16"`},
		{[]Tensor{{Name: "a", Dtype: F64, Shape: []int{-1}}}, "negative dimension"},
		{[]Tensor{{Name: "", Dtype: F64, Shape: []int{0}}}, "invalid tensor name"},
		{[]Tensor{{Name: "__metadata__", Dtype: F64, Shape: []int{0}}}, "invalid tensor name"},
		{[]Tensor{{Name: "a", Dtype: F64, Shape: []int{0}}, {Name: "a", Dtype: F64, Shape: []int{0}}}, `two tensors are named "a"`},
	} {
		if err := Write(path, tc.ts, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Write(%v) = %v, want an error containing %q", tc.ts, err, tc.want)
		}
	}
	if err := Write(filepath.Join(dir, "missing", "x.safetensors"), sample(), nil); err == nil {
		t.Error("Write into a missing directory succeeded")
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(before) {
		t.Error("failed writes changed the file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want the file alone", len(entries))
	}
}

// encode builds a file from a raw header and data section.
func encode(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

// TestDecodeRejects feeds Decode malformed files and checks that each
// error names the file and what is wrong: where in the file, or which
// tensor.
func TestDecodeRejects(t *testing.T) {
	eight := make([]byte, 8)
	huge := binary.LittleEndian.AppendUint64(nil, 1<<62)
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "0 bytes, too short for the 8-byte header length at offset 0"},
		{"short", []byte{1, 2, 3}, "3 bytes, too short"},
		{"header past the end", append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...), "header length 100 at offset 0 runs past the end of the file (2 bytes after offset 8)"},
		{"huge header length", append(huge, "{}"...), "header length 4611686018427387904 at offset 0 runs past"},
		{"zero header", eight, "not a JSON object"},
		{"not JSON", encode("[1, 2]  ", nil), "not a JSON object"},
		{"broken JSON", encode(`{"a": `, nil), "header at offset 8"},
		{"unknown dtype", encode(`{"a":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}}`, []byte{0}), "header at offset 8"},
		{"unsupported dtype", encode(`{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}`, []byte{0, 0}), `tensor "a": dtype F16`},
		{"offsets past the data", encode(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, []byte{0}), "header at offset 8"},
		{"data left over", encode(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 16)), "incomplete"},
		{"overlapping offsets", encode(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"b":{"dtype":"F64","shape":[1],"data_offsets":[4,12]}}`, make([]byte, 12)), `tensor "b"`},
		{"gap", encode(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}`, make([]byte, 16)), `tensor "a"`},
		{"shape mismatch", encode(`{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)), "offsets mismatch"},
		{"shape overflow", encode(`{"a":{"dtype":"F64","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}}`, make([]byte, 8)), "overflow"},
		{"negative dimension", encode(`{"a":{"dtype":"F64","shape":[-1],"data_offsets":[0,8]}}`, make([]byte, 8)), `tensor "a"`},
		{"metadata not strings", encode(`{"__metadata__":{"k":1}}`, nil), `__metadata__ "k"`},
	} {
		f, err := Decode("bad.safetensors", tc.b)
		if err == nil || !strings.Contains(err.Error(), "bad.safetensors") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Decode = %v, %v; want an error naming the file and containing %q", tc.name, f, err, tc.want)
		}
	}
}

// FuzzDecode: no input makes Decode (or the library under it, whose panics
// Decode recovers) panic, and whatever it accepts
// re-encodes (Write) and decodes to the same tensors. The seeds — a valid
// file, its truncations and the malformed files above — run in go test.
func FuzzDecode(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.safetensors")
	if err := Write(path, sample(), map[string]string{"k": "v"}); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	f.Add(good)
	for _, cut := range []int{0, 7, 8, 9, 40, len(good) - 1} {
		f.Add(good[:cut])
	}
	f.Add(encode(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"b":{"dtype":"F64","shape":[1],"data_offsets":[4,12]}}`, make([]byte, 12)))
	f.Add(encode(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add(encode(`{"__metadata__":{"k":"v"},"a":{"dtype":"I64","shape":[0],"data_offsets":[0,0]}}`, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Decode("fuzz", b)
		if err != nil {
			if file != nil {
				t.Fatal("Decode returned a file with its error")
			}
			if strings.Contains(err.Error(), "malformed file (") {
				t.Fatalf("Decode recovered from a panic: %v", err)
			}
			return
		}
		out := filepath.Join(t.TempDir(), "re.safetensors")
		if err := Write(out, file.Tensors, file.Meta); err != nil {
			t.Fatalf("re-encoding an accepted file: %v", err)
		}
		again, err := Read(out)
		if err != nil {
			t.Fatalf("decoding the re-encoded file: %v", err)
		}
		if len(again.Tensors) != len(file.Tensors) {
			t.Fatalf("%d tensors re-read, want %d", len(again.Tensors), len(file.Tensors))
		}
		for _, want := range file.Tensors {
			got, ok := again.Tensor(want.Name)
			if !ok || got.Dtype != want.Dtype || !reflect.DeepEqual(got.Shape, want.Shape) ||
				len(got.F64) != len(want.F64) || len(got.F32) != len(want.F32) || len(got.I64) != len(want.I64) {
				t.Fatalf("tensor %q re-read as %+v, want %+v", want.Name, got, want)
			}
		}
	})
}
