package gemm

import (
	"fmt"
	"os"
	"strings"
)

type float interface{ ~float32 | ~float64 }

// kernel is one micro-kernel and its tile: micro sets the mr×nr tile of C
// at c (row-major, leading dimension ldc) to the product of an mr×k panel
// of A and a k×nr panel of B packed by packA and packB, added to the
// tile's values if load (starting the chains from zero otherwise rounds
// alike and spares reading C).
type kernel[T float] struct {
	mr, nr int
	micro  func(k int, a, b, c *T, ldc int, load bool)
	pack   packers[T]
}

// packers are the copying kernels of the packing, on a path that has them
// (the zero value: plain Go loops). copyRows copies rows rows of
// chunks·32 bytes from src, lds bytes apart, to dst, ldd bytes apart;
// transpose sets dst[l·ldd+r] = src[r·lds+l] for r < block·rowBlocks
// and l < block·depthBlocks (strides in elements). copyRowsAt and
// transposeAt do as much for rows at offsets: row i of the source at
// base + offs[i] elements (of size bytes). Packing moves values and
// computes nothing, so every path packs the same panels.
type packers[T float] struct {
	copyRows    func(rows, chunks int, src *byte, lds int, dst *byte, ldd int)
	copyRowsAt  func(rows, chunks int, base *byte, offs *int, size int, dst *byte, ldd int)
	transpose   func(rowBlocks, depthBlocks int, src *T, lds int, dst *T, ldd int)
	transposeAt func(rowBlocks, depthBlocks int, base *T, offs *int, dst *T, ldd int)
	block       int
}

// vec are the matrix–vector kernels of a path, on unit-stride vectors,
// for the 4·groups rows of A at a (leading dimension lda, n columns):
// dot4 sets y[r] to the dot product of x with row r, and axpy4 adds to y
// the rows scaled by s[r], in row order; dot1 and axpy1 do as much for
// one row (at a), with the same sums.
type vec[T float] struct {
	dot4  func(groups, n int, a *T, lda int, x, y *T)
	dot1  func(n int, a, x, y *T)
	axpy4 func(groups, n int, a *T, lda int, s, y *T)
	axpy1 func(n int, s T, x, y *T)
}

// path is one set of kernels.
type path struct {
	name   string
	s      kernel[float32]
	d      kernel[float64]
	sv     vec[float32]
	dv     vec[float64]
	usable bool // the CPU runs it
}

// goPath is the pure-Go reference, usable everywhere.
var goPath = path{
	name:   "go",
	s:      kernel[float32]{mr: 4, nr: 4, micro: microGo32},
	d:      kernel[float64]{mr: 4, nr: 4, micro: microGo64},
	sv:     vec[float32]{dot4: dot4Go(dot1Go32), dot1: dot1Go32, axpy4: axpy4Go32, axpy1: axpy1Go32},
	dv:     vec[float64]{dot4: dot4Go(dot1Go64), dot1: dot1Go64, axpy4: axpy4Go64, axpy1: axpy1Go64},
	usable: true,
}

// active is the path every product runs on, set once at init.
var active = choose(os.Getenv("SGDLAB_KERNEL"))

// paths lists the paths from the fastest; asmPaths is set per
// architecture.
func paths() []*path { return append(asmPaths(), &goPath) }

// choose returns the path named by the SGDLAB_KERNEL value env, the
// fastest usable one if env is empty or "auto". It panics on an unknown
// or unusable name: a misconfigured environment must not run silently on
// another path.
func choose(env string) *path {
	ps := paths()
	if env == "" || env == "auto" {
		for _, p := range ps {
			if p.usable {
				return p
			}
		}
	}
	var names []string
	for _, p := range ps {
		if p.name == env {
			if !p.usable {
				panic(fmt.Sprintf("gemm: SGDLAB_KERNEL=%s: this CPU cannot run the %s kernels", env, env))
			}
			return p
		}
		names = append(names, p.name)
	}
	panic(fmt.Sprintf("gemm: SGDLAB_KERNEL=%q is not one of auto, %s", env, strings.Join(names, ", ")))
}

// Path returns the name of the kernels in use: "go", "avx2" or "avx512".
func Path() string { return active.name }
