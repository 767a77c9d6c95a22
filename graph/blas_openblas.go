//go:build openblas

package graph

// With the openblas build tag, matrix products run on OpenBLAS through
// gonum's netlib binding, in the executor and in Gorgonia's tensor package
// alike (so the TapeMachine comparison still holds). It needs cgo and the
// OpenBLAS library (Debian: libopenblas-dev):
//
//	go build -tags openblas ./cmd/sgdlab

// #cgo LDFLAGS: -lopenblas
import "C"

import (
	"gonum.org/v1/netlib/blas/netlib"
	"gorgonia.org/gorgonia"
)

// init runs after blas.go's, whose installation it replaces in the
// executor, Gorgonia and tensor; gonum's LAPACK keeps sgdlab's kernels.
func init() {
	blasImpl = netlib.Implementation{}
	gorgonia.Use(netlib.Implementation{})
}
