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
	"gorgonia.org/tensor"
)

func init() {
	blasImpl = netlib.Implementation{}
	blocked = false
	tensor.Use(netlib.Implementation{})
}
