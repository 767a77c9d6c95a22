// Package tensorfile reads and writes safetensors files: an 8-byte
// little-endian header length n, n bytes of JSON header (per tensor its
// dtype, shape and data_offsets into the data section, plus an optional
// "__metadata__" map of strings), then the tensors' raw little-endian
// bytes. PyTorch users read them with safetensors.torch.load_file.
//
// The encoding and the header's parsing and validation are those of
// github.com/nlpodyssey/safetensors (a port of Hugging Face's reference
// implementation: offsets contiguous from 0, no gaps or overlaps, each
// tensor's byte length equal to its shape times its dtype's size, the
// data section ending at the end of the file). This package exists to put
// around it what sgdlab's checkpoints need: errors that name the file and
// the offset or tensor at fault, a bound on memory (a header is checked
// against the file's size before anything it claims is allocated), no
// panic on any input, the float64, float32 and int64 tensors converted to
// Go slices, and atomic writes (a temporary file renamed over the target,
// so that a crash never leaves a half-written file under the final name).
package tensorfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/nlpodyssey/safetensors"
)

// The dtypes this package converts, as the safetensors header spells them.
const (
	F64 = "F64"
	F32 = "F32"
	I64 = "I64"
)

// maxHeader is the largest JSON header accepted, in bytes: the library's
// own limit.
const maxHeader = 100_000_000

// Tensor is one named tensor. Exactly the slice of its Dtype is set, of
// length the product of Shape (1 for the empty shape of a scalar; 0 if a
// dimension is 0).
type Tensor struct {
	Name  string
	Dtype string // F64, F32 or I64
	Shape []int
	F64   []float64
	F32   []float32
	I64   []int64
}

// Len returns the number of elements of t's shape.
func (t Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is the decoded content of a safetensors file.
type File struct {
	// Tensors in the order of their data in the file.
	Tensors []Tensor
	// Meta is the header's "__metadata__" map (nil if it has none).
	Meta  map[string]string
	index map[string]int
}

// Tensor returns the tensor called name and whether there is one.
func (f *File) Tensor(name string) (Tensor, bool) {
	k, ok := f.index[name]
	if !ok {
		return Tensor{}, false
	}
	return f.Tensors[k], true
}

// view is a Tensor as the library serialises it.
type view struct {
	dtype safetensors.DType
	shape []uint64
	data  []byte
}

func (v view) DType() safetensors.DType { return v.dtype }
func (v view) Shape() []uint64          { return v.shape }
func (v view) Data() []byte             { return v.data }
func (v view) DataLen() uint64          { return uint64(len(v.data)) }

// toView checks t and encodes its values little-endian.
func toView(t Tensor) (view, error) {
	n := 1
	v := view{shape: make([]uint64, len(t.Shape))}
	for k, d := range t.Shape {
		if d < 0 {
			return view{}, fmt.Errorf("tensor %q: shape %v has a negative dimension", t.Name, t.Shape)
		}
		if d != 0 && n > math.MaxInt/8/d {
			return view{}, fmt.Errorf("tensor %q: shape %v overflows", t.Name, t.Shape)
		}
		n *= d
		v.shape[k] = uint64(d)
	}
	have := -1
	switch t.Dtype {
	case F64:
		v.dtype, have = safetensors.F64, len(t.F64)
		v.data = make([]byte, 0, 8*len(t.F64))
		for _, x := range t.F64 {
			v.data = binary.LittleEndian.AppendUint64(v.data, math.Float64bits(x))
		}
	case F32:
		v.dtype, have = safetensors.F32, len(t.F32)
		v.data = make([]byte, 0, 4*len(t.F32))
		for _, x := range t.F32 {
			v.data = binary.LittleEndian.AppendUint32(v.data, math.Float32bits(x))
		}
	case I64:
		v.dtype, have = safetensors.I64, len(t.I64)
		v.data = make([]byte, 0, 8*len(t.I64))
		for _, x := range t.I64 {
			v.data = binary.LittleEndian.AppendUint64(v.data, uint64(x))
		}
	default:
		return view{}, fmt.Errorf("tensor %q: dtype %q, want %s, %s or %s", t.Name, t.Dtype, F64, F32, I64)
	}
	if have != n {
		return view{}, fmt.Errorf("tensor %q: %d %s values for shape %v (%d elements)", t.Name, have, t.Dtype, t.Shape, n)
	}
	return v, nil
}

// Write writes the tensors and the metadata to path atomically: into a
// temporary file of the same directory, synced, then renamed to path.
// Names must be distinct, non-empty and not "__metadata__". On error path
// is left as it was and the temporary file is removed.
func Write(path string, tensors []Tensor, meta map[string]string) (err error) {
	views := make(map[string]view, len(tensors))
	for _, t := range tensors {
		if t.Name == "" || t.Name == "__metadata__" {
			return fmt.Errorf("tensorfile: writing %s: invalid tensor name %q", path, t.Name)
		}
		if _, dup := views[t.Name]; dup {
			return fmt.Errorf("tensorfile: writing %s: two tensors are named %q", path, t.Name)
		}
		v, err := toView(t)
		if err != nil {
			return fmt.Errorf("tensorfile: writing %s: %w", path, err)
		}
		views[t.Name] = v
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("tensorfile: writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	if err := safetensors.SerializeToWriter(views, meta, w); err != nil {
		return fmt.Errorf("tensorfile: writing %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("tensorfile: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("tensorfile: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tensorfile: writing %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("tensorfile: writing %s: %w", path, err)
	}
	// The rename is durable once the directory is synced; a failure here
	// leaves a complete file, so it is not reported.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Read reads and decodes the safetensors file at path (see Decode). It
// reads at most the file's size, which it checks against the header
// length before reading the header.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tensorfile: %w", err)
	}
	return Decode(path, b)
}

// Decode decodes the content b of a safetensors file called name (used in
// errors only). Beyond the format's rules it rejects the dtypes other
// than F64, F32 and I64 and shapes whose elements do not fit an int.
// Every error names the file, and the offset or the tensor at fault; no
// input makes it panic, and it allocates at most about twice len(b).
func Decode(name string, b []byte) (f *File, err error) {
	defer func() {
		// The library is fuzzed through this function (FuzzDecode); a
		// panic that escaped it would still be a bad file, not a crash.
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("tensorfile: %s: malformed file (%v)", name, r)
		}
	}()
	if len(b) < 8 {
		return nil, fmt.Errorf("tensorfile: %s: %d bytes, too short for the 8-byte header length at offset 0", name, len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("tensorfile: %s: header length %d at offset 0 runs past the end of the file (%d bytes after offset 8)", name, n, len(b)-8)
	}
	if n > maxHeader {
		return nil, fmt.Errorf("tensorfile: %s: header length %d at offset 0 exceeds the limit of %d bytes", name, n, maxHeader)
	}
	if n < 2 || b[8] != '{' {
		return nil, fmt.Errorf("tensorfile: %s: the header at offset 8 is not a JSON object", name)
	}
	_, md, err := safetensors.ReadMetadata(b)
	if err != nil {
		return nil, fmt.Errorf("tensorfile: %s: header at offset 8 (%d bytes), data from offset %d: %w", name, n, 8+n, err)
	}
	data := b[8+n:]
	infos := md.Tensors()
	f = &File{Meta: md.Metadata(), index: make(map[string]int, len(infos))}
	for tn, info := range infos {
		f.Tensors = append(f.Tensors, Tensor{Name: tn})
		if info == nil {
			return nil, fmt.Errorf("tensorfile: %s: tensor %q has no header entry", name, tn)
		}
	}
	// Data order, as in the file (the library has checked that the
	// offsets tile the data section).
	sort.Slice(f.Tensors, func(i, j int) bool {
		return infos[f.Tensors[i].Name].DataOffsets[0] < infos[f.Tensors[j].Name].DataOffsets[0] ||
			infos[f.Tensors[i].Name].DataOffsets[0] == infos[f.Tensors[j].Name].DataOffsets[0] && f.Tensors[i].Name < f.Tensors[j].Name
	})
	for k := range f.Tensors {
		info := infos[f.Tensors[k].Name]
		off := info.DataOffsets
		t, err := fromInfo(f.Tensors[k].Name, info, data[off[0]:off[1]])
		if err != nil {
			return nil, fmt.Errorf("tensorfile: %s: %w (data at file offset %d)", name, err, 8+n+off[0])
		}
		f.index[t.Name] = k
		f.Tensors[k] = t
	}
	return f, nil
}

// fromInfo converts the bytes data of one tensor, whose length the
// library has checked against its shape and dtype.
func fromInfo(name string, info *safetensors.TensorInfo, data []byte) (Tensor, error) {
	t := Tensor{Name: name, Shape: make([]int, len(info.Shape))}
	for k, d := range info.Shape {
		if d > math.MaxInt32 {
			return Tensor{}, fmt.Errorf("tensor %q: dimension %d of shape %v is too large", name, k, info.Shape)
		}
		t.Shape[k] = int(d)
	}
	switch info.DType {
	case safetensors.F64:
		t.Dtype, t.F64 = F64, make([]float64, len(data)/8)
		for k := range t.F64 {
			t.F64[k] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*k:]))
		}
	case safetensors.F32:
		t.Dtype, t.F32 = F32, make([]float32, len(data)/4)
		for k := range t.F32 {
			t.F32[k] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*k:]))
		}
	case safetensors.I64:
		t.Dtype, t.I64 = I64, make([]int64, len(data)/8)
		for k := range t.I64 {
			t.I64[k] = int64(binary.LittleEndian.Uint64(data[8*k:]))
		}
	default:
		return Tensor{}, fmt.Errorf("tensor %q: dtype %s, want %s, %s or %s", name, info.DType, F64, F32, I64)
	}
	return t, nil
}

// ErrNotFound is wrapped by Require for a missing tensor.
var ErrNotFound = errors.New("no such tensor")

// Require returns the tensor called name, checking its dtype and shape;
// the error names the file (name of the File's source, given as file).
func (f *File) Require(file, name, dtype string, shape []int) (Tensor, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return Tensor{}, fmt.Errorf("tensorfile: %s: tensor %q: %w", file, name, ErrNotFound)
	}
	if t.Dtype != dtype {
		return Tensor{}, fmt.Errorf("tensorfile: %s: tensor %q has dtype %s, want %s", file, name, t.Dtype, dtype)
	}
	if !sameShape(t.Shape, shape) {
		return Tensor{}, fmt.Errorf("tensorfile: %s: tensor %q has shape %v, want %v", file, name, t.Shape, shape)
	}
	return t, nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}
