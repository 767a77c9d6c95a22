// Package data provides the data sets of the experiments and NumpyRand, a
// random source that reproduces numpy's legacy RandomState bit for bit.
//
// The package sits below models, train and analysis, which all share its
// types. Keeping the generator and the data here, in one place, is what lets
// the authors' numpy data and SGD index streams be reproduced exactly: a
// model or a training loop that draws its sample indices from a NumpyRand
// seeded like the authors' np.random.seed sees the same indices in the same
// order, on the same data, as their notebooks did.
//
// Matrices are stored as flat float64 slices in row-major (C) order, the
// order in which numpy fills them, so that element (i, j) of an N×D matrix
// is at index i*D+j.
//
// The regression sources (sparse_regression, relu_1d, teacher_student)
// give one target per example. The image sources (mnist, cifar10) give
// classification sets: K = 10 one-hot targets per example, the classes in
// Set.Labels, and images in CHW order (see ImageShape); MNIST needs no
// download (its files come with a Go module dependency), CIFAR-10 is read
// from a directory of its binary version. Augmentation crops and flips
// batches of such images.
package data
