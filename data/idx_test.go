package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// idxBytes returns a raw IDX file of unsigned bytes with dimensions dims
// and body body (not checked against dims).
func idxBytes(dims []int, body []byte) []byte {
	b := []byte{0, 0, 0x08, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, body...)
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// TestDecodeIDX checks that valid files, raw and gzip, decode to their
// dimensions and body, and that every kind of bad file is rejected with
// the file's name, the offset of the problem and what is wrong.
func TestDecodeIDX(t *testing.T) {
	body := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	good := idxBytes([]int{3, 2, 2}, body)
	corrupt := gzipBytes(good)
	corrupt[len(corrupt)-6] ^= 0xff // the CRC-32 of the trailer
	for _, tc := range []struct {
		name string
		file []byte
		dims int
		want string // "" for success
	}{
		{"raw", good, 3, ""},
		{"gzip", gzipBytes(good), 3, ""},
		{"labels", idxBytes([]int{4}, []byte{0, 9, 3, 1}), 1, ""},
		{"empty", nil, 3, "f.idx: offset 0: truncated header: 0 of 4 magic bytes"},
		{"short magic", []byte{0, 0}, 3, "f.idx: offset 2: truncated header"},
		{"bad magic", append([]byte{0, 0, 0x0d, 3}, good[4:]...), 3, "f.idx: offset 0: bad magic 00 00 0d 03, want 00 00 08 03"},
		{"nonzero magic", append([]byte{1, 0, 8, 3}, good[4:]...), 3, "offset 0: bad magic"},
		{"wrong dimensions", good, 1, "f.idx: offset 3: 3 dimensions, want 1"},
		{"truncated dimensions", good[:9], 3, "f.idx: offset 9: truncated header: 5 of 12 dimension bytes"},
		{"truncated body", good[:len(good)-5], 3, "f.idx: offset 23: truncated body: the header (dimensions [3 2 2]) declares 12 bytes, the file ends after 7"},
		{"truncated body gzip", gzipBytes(good[:len(good)-5]), 3, "f.idx: offset 23 of the decompressed data: truncated body"},
		{"trailing data", append(append([]byte(nil), good...), 0), 3, "f.idx: offset 28: size mismatch: data past the 12 bytes"},
		{"huge claim", idxBytes([]int{1 << 20, 1 << 20, 1}, nil), 3, "f.idx: offset 8: dimensions [1048576 1048576] claim more than 1073741824 bytes"},
		{"corrupt gzip", corrupt, 3, "f.idx: offset 28 of the decompressed data: reading the body: gzip: invalid checksum"},
		{"cut gzip", gzipBytes(good)[:len(gzipBytes(good))-4], 3, "offset 28 of the decompressed data: reading the body"},
		{"cut gzip body", gzipBytes(good)[:20], 3, "of the decompressed data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dims, got, err := decodeIDX("f.idx", bytes.NewReader(tc.file), tc.dims)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want one containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			total := 1
			for _, d := range dims {
				total *= d
			}
			if len(dims) != tc.dims || total != len(got) {
				t.Errorf("dims %v for a body of %d bytes", dims, len(got))
			}
		})
	}
	dims, got, _ := decodeIDX("f", bytes.NewReader(gzipBytes(good)), 3)
	if !bytes.Equal(got, body) || len(dims) != 3 || dims[0] != 3 || dims[1] != 2 || dims[2] != 2 {
		t.Errorf("gzip file decodes to %v, %v; want [3 2 2], %v", dims, got, body)
	}
}

// TestDecodeIDXClaimsCostNoMemory checks that a header claiming 10⁹ bytes
// (within the limit) over a short file is rejected as truncated without
// allocating anything near the claim.
func TestDecodeIDXClaimsCostNoMemory(t *testing.T) {
	file := idxBytes([]int{1_000_000, 1000}, make([]byte, 100))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := decodeIDX("big.idx", bytes.NewReader(file), 2)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "big.idx: offset 112: truncated body") {
		t.Errorf("error %v, want a truncated body at offset 112", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("decoding allocated %d bytes for a 112-byte file", got)
	}
}

// TestReadIDXFileNamesThePath checks that a file read from disk is named
// by its path in the errors.
func TestReadIDXFileNamesThePath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x-idx1-ubyte")
	if err := os.WriteFile(p, idxBytes([]int{5}, []byte{1, 2}), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := readIDXFile(p, 1)
	if err == nil || !strings.Contains(err.Error(), p+": offset 10: truncated body") {
		t.Errorf("error %v, want one naming %s at offset 10", err, p)
	}
}

// FuzzIDX checks that the IDX decoder never panics, that what it accepts
// is consistent (a body of exactly the declared size), and that what it
// rejects is reported with the file and an offset.
func FuzzIDX(f *testing.F) {
	good := idxBytes([]int{2, 2, 3}, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add(good, 3)
	f.Add(gzipBytes(good), 3)
	f.Add(good[:20], 3)
	f.Add(idxBytes([]int{3}, []byte{7, 8, 9}), 1)
	f.Add(idxBytes([]int{1 << 30, 2}, nil), 2)
	f.Add([]byte{0x1f, 0x8b, 0, 0}, 1)
	f.Fuzz(func(t *testing.T, file []byte, dims int) {
		dims = 1 + (dims&3)%3 // 1, 2 or 3
		d, body, err := decodeIDX("fuzz.idx", bytes.NewReader(file), dims)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.idx: offset ") {
				t.Fatalf("error %q does not start with the file and an offset", err)
			}
			return
		}
		total := 1
		for _, v := range d {
			total *= v
		}
		if len(d) != dims || total != len(body) || total > maxIDXBytes {
			t.Fatalf("accepted dims %v with a body of %d bytes", d, len(body))
		}
	})
}
