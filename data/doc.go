// Package data provides the data sets of the diagonal-linear-network
// experiments (E1, E2, E3 of the spec) and NumpyRand, a random source that
// reproduces numpy's legacy RandomState bit for bit.
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
package data
