//go:build !amd64

package graph

// elemAsm is false off amd64: the element-wise kernels below are never
// called.
var elemAsm = false

func reluAVX2(n int, x, out *float32)                          { panic("unreachable") }
func reluMaskAVX2(n int, x, grad, out *float32, geq bool)      { panic("unreachable") }
func bnAffineAVX2(n int, x, out *float32, mu, a, b float32)    { panic("unreachable") }
func bnGradAVX2(n int, x, grad, out *float32, a, b, c float32) { panic("unreachable") }
func sum4AVX2(n int, x *float32, s *[4]float64)                { panic("unreachable") }
func sqDev4AVX2(n int, x *float32, mu float64, s *[4]float64)  { panic("unreachable") }
func sumDot4AVX2(n int, grad, x *float32, s *[8]float64)       { panic("unreachable") }
func narrowAVX2(n int, x *float64, out *float32)               { panic("unreachable") }
