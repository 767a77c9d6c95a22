package data

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// The CIFAR-10 binary format: files of records of one label byte and
// 3072 pixel bytes (the R, G and B planes of a 32×32 image, each
// row-major), 10 000 records per file.
const (
	CIFARRecord  = 1 + 3072 // bytes per record
	CIFARPerFile = 10000    // records per file
	CIFARTrain   = 5 * CIFARPerFile
	CIFARTest    = CIFARPerFile
)

var (
	cifarTrainFiles = []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
	cifarTestFiles  = []string{"test_batch.bin"}
)

// cifarSource is where CIFAR-10's binary version comes from, for the
// errors about missing files.
const cifarSource = "the binary version of CIFAR-10 (https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz, which unpacks to cifar-10-batches-bin/)"

// CIFAR10 is CIFAR-10 read from its binary version in the directory Dir:
// data_batch_1.bin … data_batch_5.bin (50 000 training images) and
// test_batch.bin (10 000 test images); Dir may also be the directory
// above cifar-10-batches-bin. Its Sets have D = 3072 values per image in
// CHW order (ImageShape (3, 32, 32): the R, G, B planes, each row-major,
// as in the files and in a PyTorch tensor), scaled to [0, 1] as byte/255
// (ToTensor, no mean/std normalisation), K = 10 one-hot targets and the
// classes in Labels.
//
// NTrain or FracTrain (the authors' --frac_train: ⌊FracTrain·50000⌋
// images) picks a training subset, NTest a test subset, random or, with
// Subset "first", the first images as the authors do, and LabelNoise is
// the authors' fixed label noise (--p_label_noise); the draws are those
// of MNIST.Load, over 50 000 and 10 000 images.
type CIFAR10 struct {
	Dir        string  `json:"dir"`                   // directory of the .bin files (required)
	NTrain     int     `json:"n_train,omitempty"`     // training images, in [0, 50000]; 0 for all (or FracTrain)
	FracTrain  float64 `json:"frac_train,omitempty"`  // fraction of the training images, in [0, 1]; 0 for NTrain
	NTest      int     `json:"n_test,omitempty"`      // test images, in [0, 10000]; 0 for all
	Seed       uint32  `json:"seed,omitempty"`        // seed of the subsets and the label noise (numpy's legacy generator)
	LabelNoise float64 `json:"label_noise,omitempty"` // fraction of training labels made wrong, in [0, 1]
	Subset     string  `json:"subset,omitempty"`      // SubsetRandom ("random", the default) or SubsetFirst ("first", the authors' choice)

	// perFile is the records per file, 0 for CIFARPerFile; tests set it
	// to round-trip small files.
	perFile int
}

func (c CIFAR10) records() int { return orZero(c.perFile, CIFARPerFile) }

// nTrain returns the training images the parameters ask for.
func (c CIFAR10) nTrain() int {
	all := len(cifarTrainFiles) * c.records()
	if c.FracTrain > 0 {
		return int(math.Floor(c.FracTrain * float64(all)))
	}
	return orZero(c.NTrain, all)
}

func (c CIFAR10) params() imageParams {
	return imageParams{nTrain: c.nTrain(), nTest: orZero(c.NTest, len(cifarTestFiles)*c.records()), seed: c.Seed, labelNoise: c.LabelNoise, subset: c.Subset}
}

// Validate reports every invalid field, by its JSON key. It does not
// look at the files.
func (c CIFAR10) Validate() error {
	all := len(cifarTrainFiles) * c.records()
	errs := validateImageParams(imageParams{nTrain: c.NTrain, nTest: c.NTest, labelNoise: c.LabelNoise, subset: c.Subset}, all, len(cifarTestFiles)*c.records())
	if c.Dir == "" {
		errs = append(errs, fmt.Errorf("dir: required: the directory of %s", cifarSource))
	}
	switch {
	case !(c.FracTrain >= 0 && c.FracTrain <= 1):
		errs = append(errs, fmt.Errorf("frac_train: must be in [0, 1] (0 for n_train), got %v", c.FracTrain))
	case c.FracTrain > 0 && c.NTrain != 0:
		errs = append(errs, fmt.Errorf("n_train, frac_train: set at most one, got n_train %d and frac_train %v", c.NTrain, c.FracTrain))
	case c.FracTrain > 0 && c.nTrain() == 0:
		errs = append(errs, fmt.Errorf("frac_train: %v of %d images is no image", c.FracTrain, all))
	}
	return errors.Join(errs...)
}

// Size implements Source: D = 3072, K = 10.
func (c CIFAR10) Size() Size {
	p := c.params()
	return Size{N: p.nTrain, NTest: p.nTest, D: 3072, K: imageClasses}
}

// ImageShape implements Imager: (3, 32, 32).
func (CIFAR10) ImageShape() ImageShape { return ImageShape{C: 3, H: 32, W: 32} }

// Load implements Source. A missing file gives an error wrapping
// ErrNoData that names it and says where CIFAR-10's binary version comes
// from; a file of the wrong size (truncated within a record, short or
// long) or with a label byte above 9 gives an error naming the file and
// the byte offset.
func (c CIFAR10) Load() (train, test Set, err error) {
	if err := c.Validate(); err != nil {
		return Set{}, Set{}, err
	}
	dir := c.Dir
	if _, err := os.Stat(filepath.Join(dir, cifarTrainFiles[0])); err != nil {
		if sub := filepath.Join(dir, "cifar-10-batches-bin"); fileExists(filepath.Join(sub, cifarTrainFiles[0])) {
			dir = sub
		}
	}
	trainSplit, err := c.readSplit(dir, cifarTrainFiles)
	if err != nil {
		return Set{}, Set{}, err
	}
	testSplit, err := c.readSplit(dir, cifarTestFiles)
	if err != nil {
		return Set{}, Set{}, err
	}
	train, test = buildImageSets(trainSplit, testSplit, 3072, c.params())
	return train, test, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// readSplit reads and concatenates the files names of dir.
func (c CIFAR10) readSplit(dir string, names []string) (imageSplit, error) {
	var all imageSplit
	for _, name := range names {
		p := filepath.Join(dir, name)
		if !fileExists(p) {
			return imageSplit{}, fmt.Errorf("cifar10: %w: %s does not exist; dir must hold data_batch_1.bin … data_batch_5.bin and test_batch.bin, %s", ErrNoData, p, cifarSource)
		}
		s, err := readCIFARFile(p, c.records())
		if err != nil {
			return imageSplit{}, fmt.Errorf("cifar10: %w", err)
		}
		if all.n == 0 {
			all = imageSplit{pixels: make([]byte, 0, len(names)*len(s.pixels)), labels: make([]byte, 0, len(names)*s.n)}
		}
		all.pixels = append(all.pixels, s.pixels...)
		all.labels = append(all.labels, s.labels...)
		all.n += s.n
	}
	return all, nil
}

// readCIFARFile reads the file path of exactly records records. Its size
// is checked before anything is read.
func readCIFARFile(path string, records int) (imageSplit, error) {
	f, err := os.Open(path)
	if err != nil {
		return imageSplit{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return imageSplit{}, err
	}
	want := int64(records) * CIFARRecord
	if size := fi.Size(); size != want {
		switch {
		case size > want:
			return imageSplit{}, fmt.Errorf("%s: offset %d: size mismatch: %d bytes, more than %d records of %d bytes", path, want, size, records, CIFARRecord)
		case size%CIFARRecord != 0:
			return imageSplit{}, fmt.Errorf("%s: offset %d: truncated record %d: the file ends %d bytes into it (size %d is not a multiple of %d bytes per record)", path, size/CIFARRecord*CIFARRecord, size/CIFARRecord, size%CIFARRecord, size, CIFARRecord)
		default:
			return imageSplit{}, fmt.Errorf("%s: offset %d: short file: it ends after %d of %d records", path, size, size/CIFARRecord, records)
		}
	}
	b := make([]byte, want)
	if n, err := io.ReadFull(f, b); err != nil {
		return imageSplit{}, fmt.Errorf("%s: offset %d: truncated while reading: %w", path, n, err)
	}
	return parseCIFARRecords(path, b)
}

// parseCIFARRecords splits b, whole records of the CIFAR-10 binary
// format, into labels and pixels. name is the file's name for the
// errors, which give the byte offset: a size that is not a multiple of
// CIFARRecord, or a label byte above 9.
func parseCIFARRecords(name string, b []byte) (imageSplit, error) {
	if len(b)%CIFARRecord != 0 {
		at := len(b) / CIFARRecord * CIFARRecord
		return imageSplit{}, fmt.Errorf("%s: offset %d: truncated record %d: %d of %d bytes (size %d is not a multiple of %d)", name, at, len(b)/CIFARRecord, len(b)-at, CIFARRecord, len(b), CIFARRecord)
	}
	n := len(b) / CIFARRecord
	s := imageSplit{pixels: make([]byte, n*(CIFARRecord-1)), labels: make([]byte, n), n: n}
	for i := range n {
		rec := b[i*CIFARRecord : (i+1)*CIFARRecord]
		if rec[0] >= imageClasses {
			return imageSplit{}, fmt.Errorf("%s: offset %d: label %d of record %d, want a class in [0, 9] (is this CIFAR-100, or not the binary version?)", name, i*CIFARRecord, rec[0], i)
		}
		s.labels[i] = rec[0]
		copy(s.pixels[i*(CIFARRecord-1):], rec[1:])
	}
	return s, nil
}

func init() {
	Register("cifar10", func() Source { return new(CIFAR10) })
}
