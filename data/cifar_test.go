package data

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// cifarByte is byte p (0 the label) of record i of file f in writeCIFAR's
// files: the label is (f + i) mod 10, the pixels encode f, i and p.
func cifarByte(f, i, p int) byte {
	if p == 0 {
		return byte((f + i) % 10)
	}
	return byte(f*31 + i*7 + p*13)
}

// writeCIFAR writes the six files of a CIFAR-10-like set of perFile
// records each to dir (files 0–4 the training batches, 5 the test
// batch).
func writeCIFAR(t *testing.T, dir string, perFile int) {
	t.Helper()
	for f, name := range append(append([]string(nil), cifarTrainFiles...), cifarTestFiles...) {
		b := make([]byte, perFile*CIFARRecord)
		for i := range perFile {
			for p := range CIFARRecord {
				b[i*CIFARRecord+p] = cifarByte(f, i, p)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCIFARRoundTrip checks that Load returns generated records: every
// training record of the five batches once (with n_train all), in
// numpy's permutation order for the seed, as CHW rows scaled by 1/255 with
// one-hot labels; the test subset from test_batch.bin; and that a dir
// above cifar-10-batches-bin works too.
func TestCIFARRoundTrip(t *testing.T) {
	const per = 4
	parent := t.TempDir()
	dir := filepath.Join(parent, "cifar-10-batches-bin")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeCIFAR(t, dir, per)
	for _, d := range []string{dir, parent} {
		c := CIFAR10{Dir: d, NTest: 3, Seed: 11, perFile: per}
		train, test, err := c.Load()
		if err != nil {
			t.Fatal(err)
		}
		if s := c.Size(); s != (Size{N: 5 * per, NTest: 3, D: 3072, K: 10}) || train.N != s.N || test.N != s.NTest {
			t.Fatalf("Size %+v, sets of %d and %d", s, train.N, test.N)
		}
		r := NewNumpyRand(11)
		orders := [][]int{permutation(r, 5*per), permutation(r, per)[:3]}
		for k, s := range []Set{train, test} {
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			for i, j := range orders[k] {
				f, rec := j/per, j%per
				if k == 1 {
					f = 5
				}
				if s.Labels[i] != int(cifarByte(f, rec, 0)) {
					t.Errorf("split %d example %d: label %d, want that of file %d record %d", k, i, s.Labels[i], f, rec)
				}
				// Channel c, row y, column x is record byte 1 + c·1024 + y·32 + x.
				for _, px := range [][3]int{{0, 0, 0}, {1, 5, 7}, {2, 31, 31}, {2, 0, 31}} {
					p := px[0]*1024 + px[1]*32 + px[2]
					if got, want := s.X[i*3072+p], float64(cifarByte(f, rec, 1+p))/255; got != want {
						t.Errorf("split %d example %d pixel %v = %v, want %v", k, i, px, got, want)
					}
				}
			}
		}
	}
	// frac_train: ⌊0.5·20⌋ = 10 images, the first 10 of the permutation.
	half, _, err := CIFAR10{Dir: dir, FracTrain: 0.5, Seed: 11, perFile: per}.Load()
	if err != nil {
		t.Fatal(err)
	}
	all, _, _ := CIFAR10{Dir: dir, Seed: 11, perFile: per}.Load()
	if half.N != 10 || !reflect.DeepEqual(half.X, all.X[:10*3072]) {
		t.Errorf("frac_train 0.5: %d images, want the first 10 of n_train all", half.N)
	}
	// subset first: records in file order, across the five batches.
	first, _, err := CIFAR10{Dir: dir, NTrain: 6, Subset: SubsetFirst, perFile: per}.Load()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if got, want := first.X[i*3072+100], float64(cifarByte(i/per, i%per, 101))/255; got != want || first.Labels[i] != int(cifarByte(i/per, i%per, 0)) {
			t.Errorf("subset first: example %d is not record %d of file %d", i, i%per, i/per)
		}
	}
}

// TestCIFARRejectsBadFiles checks that truncated, short, long and corrupt
// files fail Load with the file and the offset, and a missing file with
// its name and where CIFAR-10 comes from.
func TestCIFARRejectsBadFiles(t *testing.T) {
	const per = 3
	for _, tc := range []struct {
		name string
		file string
		edit func([]byte) []byte
		want []string
	}{
		{"truncated record", "data_batch_3.bin", func(b []byte) []byte { return b[:len(b)-100] },
			[]string{"data_batch_3.bin: offset 6146: truncated record 2: the file ends 2973 bytes into it (size 9119 is not a multiple of 3073"}},
		{"short", "test_batch.bin", func(b []byte) []byte { return b[:CIFARRecord] },
			[]string{"test_batch.bin: offset 3073: short file: it ends after 1 of 3 records"}},
		{"empty", "data_batch_1.bin", func(b []byte) []byte { return nil },
			[]string{"data_batch_1.bin: offset 0: short file: it ends after 0 of 3 records"}},
		{"long", "data_batch_5.bin", func(b []byte) []byte { return append(b, 1) },
			[]string{"data_batch_5.bin: offset 9219: size mismatch: 9220 bytes, more than 3 records"}},
		{"label 10", "test_batch.bin", func(b []byte) []byte { b[2*CIFARRecord] = 10; return b },
			[]string{"test_batch.bin: offset 6146: label 10 of record 2, want a class in [0, 9]"}},
		{"label 255", "data_batch_2.bin", func(b []byte) []byte { b[0] = 255; return b },
			[]string{"data_batch_2.bin: offset 0: label 255 of record 0"}},
		{"missing", "data_batch_4.bin", nil,
			[]string{"data_batch_4.bin does not exist", "cifar-10-binary.tar.gz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeCIFAR(t, dir, per)
			p := filepath.Join(dir, tc.file)
			if tc.edit == nil {
				os.Remove(p)
			} else {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, tc.edit(b), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := CIFAR10{Dir: dir, perFile: per}.Load()
			for _, w := range append(tc.want, p) {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v, want one containing %q", err, w)
				}
			}
			if tc.edit == nil && !errors.Is(err, ErrNoData) {
				t.Errorf("missing file: error %v does not wrap ErrNoData", err)
			}
		})
	}
}

// TestCIFARValidate checks that every bad parameter is named by its key
// and that the sizes follow n_train and frac_train.
func TestCIFARValidate(t *testing.T) {
	for _, tc := range []struct {
		c    CIFAR10
		want []string
		size Size
	}{
		{CIFAR10{Dir: "d"}, nil, Size{N: 50000, NTest: 10000, D: 3072, K: 10}},
		{CIFAR10{Dir: "d", FracTrain: 0.1, NTest: 1000}, nil, Size{N: 5000, NTest: 1000, D: 3072, K: 10}},
		{CIFAR10{Dir: "d", FracTrain: 1}, nil, Size{N: 50000, NTest: 10000, D: 3072, K: 10}},
		{CIFAR10{Dir: "d", NTrain: 1280}, nil, Size{N: 1280, NTest: 10000, D: 3072, K: 10}},
		{CIFAR10{}, []string{"dir: required", "cifar-10-binary.tar.gz"}, Size{}},
		{CIFAR10{Dir: "d", NTrain: 50001, NTest: -1}, []string{"n_train: must be in [0, 50000]", "n_test: must be in [0, 10000]"}, Size{}},
		{CIFAR10{Dir: "d", NTrain: 10, FracTrain: 0.5}, []string{"n_train, frac_train: set at most one"}, Size{}},
		{CIFAR10{Dir: "d", FracTrain: 1.5}, []string{"frac_train: must be in [0, 1]"}, Size{}},
		{CIFAR10{Dir: "d", FracTrain: 1e-6}, []string{"frac_train: 1e-06 of 50000 images is no image"}, Size{}},
		{CIFAR10{Dir: "d", LabelNoise: 2}, []string{"label_noise:"}, Size{}},
	} {
		err := tc.c.Validate()
		if tc.want == nil {
			if err != nil {
				t.Errorf("%+v: unexpected error %v", tc.c, err)
			}
			if s := tc.c.Size(); s != tc.size {
				t.Errorf("%+v: Size %+v, want %+v", tc.c, s, tc.size)
			}
			if v := tc.c.Size(); (v.N+v.NTest)*(v.D+10) > MaxValues {
				t.Errorf("%+v: %d values exceed MaxValues", tc.c, (v.N+v.NTest)*(v.D+10))
			}
		}
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %v, want one containing %q", tc.c, err, w)
			}
		}
	}
}

// FuzzCIFARRecords checks that the record parser never panics, accepts
// exactly the inputs of whole records with labels in [0, 9] and keeps
// their bytes, and names the file and an offset when it rejects one.
func FuzzCIFARRecords(f *testing.F) {
	rec := make([]byte, CIFARRecord)
	for p := range rec {
		rec[p] = byte(p)
	}
	rec[0] = 3
	f.Add(rec)
	f.Add(append(append([]byte(nil), rec...), rec...))
	f.Add(rec[:100])
	f.Add([]byte{})
	bad := append([]byte(nil), rec...)
	bad[0] = 10
	f.Add(bad)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseCIFARRecords("fuzz.bin", b)
		valid := len(b)%CIFARRecord == 0
		for i := 0; valid && i < len(b); i += CIFARRecord {
			valid = b[i] < 10
		}
		if (err == nil) != valid {
			t.Fatalf("%d bytes: error %v, but the input is valid: %v", len(b), err, valid)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.bin: offset ") {
				t.Fatalf("error %q does not start with the file and an offset", err)
			}
			return
		}
		if s.n != len(b)/CIFARRecord || len(s.labels) != s.n || len(s.pixels) != s.n*3072 {
			t.Fatalf("%d bytes gave %d records, %d labels, %d pixels", len(b), s.n, len(s.labels), len(s.pixels))
		}
		for i := range s.n {
			if s.labels[i] != b[i*CIFARRecord] || string(s.pixels[i*3072:(i+1)*3072]) != string(b[i*CIFARRecord+1:(i+1)*CIFARRecord]) {
				t.Fatalf("record %d not kept", i)
			}
		}
	})
}
