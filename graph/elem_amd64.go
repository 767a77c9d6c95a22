package graph

import "sgdlab/internal/gemm"

// elemAsm says whether the float32 element-wise kernels run in assembly:
// on the assembly paths of the matrix kernels, which need AVX2 and which
// SGDLAB_KERNEL=go turns off for both (see internal/gemm).
var elemAsm = gemm.Path() != "go"

//go:noescape
func reluAVX2(n int, x, out *float32)

//go:noescape
func reluMaskAVX2(n int, x, grad, out *float32, geq bool)

//go:noescape
func bnAffineAVX2(n int, x, out *float32, mu, a, b float32)

//go:noescape
func bnGradAVX2(n int, x, grad, out *float32, a, b, c float32)

//go:noescape
func sum4AVX2(n int, x *float32, s *[4]float64)

//go:noescape
func narrowAVX2(n int, x *float64, out *float32)

//go:noescape
func sqDev4AVX2(n int, x *float32, mu float64, s *[4]float64)

//go:noescape
func sumDot4AVX2(n int, grad, x *float32, s *[8]float64)
