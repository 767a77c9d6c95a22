//go:build !amd64

package gemm

// Elsewhere than on amd64 only the pure-Go kernels run.
func asmPaths() []*path { return nil }

// fmaPeakAsm is the FMA probe's kernel: none.
var fmaPeakAsm func(int, *[PeakLanes]float32, float32, float32)
