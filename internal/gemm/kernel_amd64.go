package gemm

import "golang.org/x/sys/cpu"

// The assembly kernels in kernel_amd64.s, written by kernel_amd64_gen.py;
// the pure-Go references are in kernel_go.go.

//go:generate python3 kernel_amd64_gen.py

//go:noescape
func microAVX2S(k int, a, b, c *float32, ldc int, load bool)

//go:noescape
func microAVX2D(k int, a, b, c *float64, ldc int, load bool)

//go:noescape
func microAVX512S(k int, a, b, c *float32, ldc int, load bool)

//go:noescape
func microAVX512D(k int, a, b, c *float64, ldc int, load bool)

//go:noescape
func dot4AVX2S(groups, n int, a *float32, lda int, x, y *float32)

//go:noescape
func dot4AVX2D(groups, n int, a *float64, lda int, x, y *float64)

//go:noescape
func dot1AVX2S(n int, a, x, y *float32)

//go:noescape
func dot1AVX2D(n int, a, x, y *float64)

//go:noescape
func axpy4AVX2S(groups, n int, a *float32, lda int, s, y *float32)

//go:noescape
func axpy4AVX2D(groups, n int, a *float64, lda int, s, y *float64)

//go:noescape
func dot4AVX512S(groups, n int, a *float32, lda int, x, y *float32)

//go:noescape
func dot4AVX512D(groups, n int, a *float64, lda int, x, y *float64)

//go:noescape
func axpy4AVX512S(groups, n int, a *float32, lda int, s, y *float32)

//go:noescape
func axpy4AVX512D(groups, n int, a *float64, lda int, s, y *float64)

//go:noescape
func axpy1AVX2S(n int, s float32, x, y *float32)

//go:noescape
func axpy1AVX2D(n int, s float64, x, y *float64)

//go:noescape
func copyRowsAVX2(rows, chunks int, src *byte, lds int, dst *byte, ldd int)

//go:noescape
func copyRowsAtAVX2(rows, chunks int, base *byte, offs *int, size int, dst *byte, ldd int)

//go:noescape
func transposeAtAVX2S(rowBlocks, depthBlocks int, base *float32, offs *int, dst *float32, ldd int)

//go:noescape
func transposeAtAVX2D(rowBlocks, depthBlocks int, base *float64, offs *int, dst *float64, ldd int)

//go:noescape
func transposeAVX2S(rowBlocks, depthBlocks int, src *float32, lds int, dst *float32, ldd int)

//go:noescape
func transposeAVX2D(rowBlocks, depthBlocks int, src *float64, lds int, dst *float64, ldd int)

//go:noescape
func fmaPeakAVX2(rounds int, acc *[PeakLanes]float32, m, a float32)

var (
	avx2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

	packAVX2S = packers[float32]{copyRows: copyRowsAVX2, copyRowsAt: copyRowsAtAVX2, transpose: transposeAVX2S, transposeAt: transposeAtAVX2S, block: 8}
	packAVX2D = packers[float64]{copyRows: copyRowsAVX2, copyRowsAt: copyRowsAtAVX2, transpose: transposeAVX2D, transposeAt: transposeAtAVX2D, block: 4}

	vecAVX2S = vec[float32]{dot4: dot4AVX2S, dot1: dot1AVX2S, axpy4: axpy4AVX2S, axpy1: axpy1AVX2S}
	vecAVX2D = vec[float64]{dot4: dot4AVX2D, dot1: dot1AVX2D, axpy4: axpy4AVX2D, axpy1: axpy1AVX2D}
	// The AVX-512 kernels of groups of rows sum as the AVX2 ones; a row
	// alone is the AVX2 kernel's.
	vecAVX512S = vec[float32]{dot4: dot4AVX512S, dot1: dot1AVX2S, axpy4: axpy4AVX512S, axpy1: axpy1AVX2S}
	vecAVX512D = vec[float64]{dot4: dot4AVX512D, dot1: dot1AVX2D, axpy4: axpy4AVX512D, axpy1: axpy1AVX2D}

	avx2Path = path{
		name:   "avx2",
		s:      kernel[float32]{mr: 6, nr: 16, micro: microAVX2S, pack: packAVX2S},
		d:      kernel[float64]{mr: 6, nr: 8, micro: microAVX2D, pack: packAVX2D},
		sv:     vecAVX2S,
		dv:     vecAVX2D,
		usable: avx2,
	}
	// The AVX-512 path has the AVX2 packing kernels, which are bound by
	// memory, and 512-bit matrix–vector kernels of eight rows at a time:
	// bound by the cache too, but on a Zen 5 core their wider loads read a
	// 400×400 float64 matrix from L2 some 8 % faster, and eight rows a
	// pass over y make the products with Dlabrd's panel (y of ≤ 32) 20 %
	// faster.
	avx512Path = path{
		name:   "avx512",
		s:      kernel[float32]{mr: 8, nr: 32, micro: microAVX512S, pack: packAVX2S},
		d:      kernel[float64]{mr: 8, nr: 16, micro: microAVX512D, pack: packAVX2D},
		sv:     vecAVX512S,
		dv:     vecAVX512D,
		usable: avx2 && cpu.X86.HasAVX512F,
	}
)

func asmPaths() []*path { return []*path{&avx512Path, &avx2Path} }

// fmaPeakAsm is the FMA probe's kernel, nil without AVX2 and FMA.
var fmaPeakAsm = func() func(int, *[PeakLanes]float32, float32, float32) {
	if avx2 {
		return fmaPeakAVX2
	}
	return nil
}()
