package graph

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"
	"gorgonia.org/gorgonia"

	"sgdlab/internal/gemm"
)

// blasImpl is the BLAS of the native kernels. It must be the one tensor
// uses for results to match the TapeMachine's: sgdlab's kernels
// (internal/gemm), which init installs in Gorgonia and tensor as well as
// in gonum's blas32 and blas64 (so that gonum's LAPACK, mat.SVD and the
// Hessian tools run on them), or OpenBLAS in a build with the openblas
// tag, which installs it in both instead (blas_openblas.go).
var blasImpl blasFloat = gemm.Implementation{}

// pureGo is gonum's BLAS whatever the build tags: for the element-wise
// updates that must round as plain Go arithmetic does.
var pureGo gonum.Implementation

type blasFloat interface {
	blas.Float32
	blas.Float64
}

func init() {
	gorgonia.Use(gemm.Implementation{})
	blas32.Use(gemm.Implementation{})
	blas64.Use(gemm.Implementation{})
}

// matMul returns a kernel computing C = op(A)·op(B) for row-major
// operands, as tensor's MatMul calls the BLAS: alpha 1, beta 0. Large
// products are split over the cores by the BLAS itself.
func matMul[T float](tA, tB blas.Transpose, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int) func() {
	switch a := any(a).(type) {
	case []float64:
		b, c := any(b).([]float64), any(c).([]float64)
		return func() { blasImpl.Dgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc) }
	case []float32:
		b, c := any(b).([]float32), any(c).([]float32)
		return func() { blasImpl.Sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc) }
	}
	panic("unreachable")
}
