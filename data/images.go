package data

import (
	"errors"
	"fmt"
	"math"
)

// ImageShape is the shape of one image: C channels (planes) of H rows of
// W pixels. A Set of images stores each image in its row of X in CHW
// (planar, row-major) order: channel c, row i, column j of an image is
// at offset c·H·W + i·W + j, the layout of a PyTorch (C, H, W) tensor, so
// D = C·H·W.
type ImageShape struct{ C, H, W int }

// Size returns C·H·W, the values of one image.
func (s ImageShape) Size() int { return s.C * s.H * s.W }

// Imager is implemented by the sources of images (MNIST, CIFAR10): their
// Sets hold images of ImageShape in CHW order, one per row of X.
type Imager interface {
	ImageShape() ImageShape
}

// imageSplit is one decoded split of an image data set: n images of d
// bytes each, back to back, and their n labels.
type imageSplit struct {
	pixels, labels []byte
	n              int
}

// imageClasses are the classes of the image sources (the ten digits, the
// ten CIFAR-10 classes).
const imageClasses = 10

// imageParams are the subset and noise parameters that the image sources
// share (see MNIST for their meaning).
type imageParams struct {
	nTrain, nTest int
	seed          uint32
	labelNoise    float64
	subset        string
}

// validateImageParams returns the problems of p for a source with
// maxTrain training and maxTest test images, by JSON key.
func validateImageParams(p imageParams, maxTrain, maxTest int) []error {
	var errs []error
	if p.nTrain < 0 || p.nTrain > maxTrain {
		errs = append(errs, fmt.Errorf("n_train: must be in [0, %d] (0 for all), got %d", maxTrain, p.nTrain))
	}
	if p.nTest < 0 || p.nTest > maxTest {
		errs = append(errs, fmt.Errorf("n_test: must be in [0, %d] (0 for all), got %d", maxTest, p.nTest))
	}
	if !(p.labelNoise >= 0 && p.labelNoise <= 1) {
		errs = append(errs, fmt.Errorf("label_noise: must be a fraction in [0, 1], got %v", p.labelNoise))
	}
	switch p.subset {
	case "", SubsetRandom, SubsetFirst:
	default:
		errs = append(errs, fmt.Errorf("subset: unknown %q (allowed: %s, %s)", p.subset, SubsetRandom, SubsetFirst))
	}
	return errs
}

// orZero returns n, or all if n is 0.
func orZero(n, all int) int {
	if n == 0 {
		return all
	}
	return n
}

// The subsets of the image sources (their parameter "subset").
const (
	// SubsetRandom picks the first n of a seeded permutation of a split
	// (the default).
	SubsetRandom = "random"
	// SubsetFirst picks the first n images of a split in file order, as
	// the authors' get_loaders (data.data[:n_ex]) does.
	SubsetFirst = "first"
)

// buildImageSets draws the subsets and the label noise of an image source
// and returns its sets: see MNIST.Load for the draws. The splits must
// hold at least nTrain and nTest images of d bytes.
func buildImageSets(train, test imageSplit, d int, p imageParams) (Set, Set) {
	r := NewNumpyRand(p.seed)
	var trainOrder, testOrder []int
	if p.subset == SubsetFirst {
		trainOrder, testOrder = identity(p.nTrain), identity(p.nTest)
	} else {
		trainOrder = permutation(r, train.n)[:p.nTrain]
		testOrder = permutation(r, test.n)[:p.nTest]
	}
	trainSet := classSet(train, d, trainOrder)
	testSet := classSet(test, d, testOrder)
	flipLabels(trainSet, r, p.labelNoise)
	return trainSet, testSet
}

// identity returns 0, 1, …, n−1.
func identity(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}

// permutation returns numpy's legacy permutation(n) drawn from r.
func permutation(r *NumpyRand, n int) []int {
	p := make([]int, n)
	r.Permute(p)
	return p
}

// classSet returns the images order of sp, in that order, as a Set of
// d values each scaled from bytes to [0, 1] (x/255, ToTensor's scaling),
// with one-hot targets and Labels in imageClasses classes.
func classSet(sp imageSplit, d int, order []int) Set {
	n := len(order)
	s := Set{X: make([]float64, n*d), Y: make([]float64, n*imageClasses), N: n, D: d, K: imageClasses, Labels: make([]int, n)}
	for i, j := range order {
		row := s.X[i*d : (i+1)*d]
		for k, b := range sp.pixels[j*d : (j+1)*d] {
			row[k] = float64(b) / 255
		}
		c := int(sp.labels[j])
		s.Labels[i] = c
		s.Y[i*imageClasses+c] = 1
	}
	return s
}

// flipLabels applies the authors' fixed label noise to s: m = ⌊N·p⌋
// examples, the first m of numpy's permutation(N) drawn from r, each get a
// wrong class drawn uniformly from the K−1 others (np.random.choice of the
// list of classes without the true one: Intn(K−1), counted over the other
// classes in increasing order). Labels and Y are updated together.
func flipLabels(s Set, r *NumpyRand, p float64) {
	m := int(math.Floor(float64(s.N) * p))
	if m == 0 {
		return
	}
	for _, i := range permutation(r, s.N)[:m] {
		old := s.Labels[i]
		c := r.Intn(s.K - 1)
		if c >= old {
			c++
		}
		s.Labels[i] = c
		s.Y[i*s.K+old], s.Y[i*s.K+c] = 0, 1
	}
}

// ErrNoData is wrapped by the errors of Load when a data file is missing
// (MNIST, CIFAR10), so that a caller can tell "no data here" from a
// corrupt file with errors.Is.
var ErrNoData = errors.New("data files not found")

// Misclassified returns how many of the len(labels) rows of out (a
// len(labels)×k row-major matrix of scores, such as a model's logits)
// have their largest score at a position other than the label: the
// count of argmax(out_i) ≠ labels[i]. Ties go to the first largest
// score, as torch's argmax; a row holding a NaN counts as misclassified.
// It returns an error if len(out) ≠ len(labels)·k or k < 1. It
// allocates nothing on success.
func Misclassified(out []float64, labels []int, k int) (int, error) {
	if k < 1 || len(out) != len(labels)*k {
		return 0, fmt.Errorf("data: Misclassified: %d scores for %d labels of %d classes, want %d", len(out), len(labels), k, len(labels)*max(k, 0))
	}
	wrong := 0
rows:
	for i, c := range labels {
		row := out[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if math.IsNaN(v) {
				wrong++
				continue rows
			}
			if v > row[best] {
				best = j
			}
		}
		if best != c {
			wrong++
		}
	}
	return wrong, nil
}

// ErrorRate returns the fraction of the N examples of s that out, the
// N×K scores of a model on s, misclassifies (see Misclassified): the
// test error of a classifier. It returns an error if s has no Labels or
// out is not N×K.
func (s Set) ErrorRate(out []float64) (float64, error) {
	if s.Labels == nil {
		return 0, errors.New("data: Set.ErrorRate: the set has no labels (not a classification set)")
	}
	if s.N == 0 {
		return 0, errors.New("data: Set.ErrorRate: the set is empty")
	}
	wrong, err := Misclassified(out, s.Labels, s.Targets())
	if err != nil {
		return 0, err
	}
	return float64(wrong) / float64(s.N), nil
}
