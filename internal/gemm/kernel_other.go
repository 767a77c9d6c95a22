//go:build !amd64

package gemm

// Elsewhere than on amd64 only the pure-Go kernels run.
func asmPaths() []*path { return nil }
