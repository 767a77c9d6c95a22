package graph

import (
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// blasImpl is the BLAS of the native kernels. It must be the one tensor
// uses for results to match the TapeMachine's: gonum's pure-Go BLAS
// (tensor's default), or OpenBLAS in a build with the openblas tag, which
// installs it in both (blas_openblas.go).
var blasImpl blasFloat = gonum.Implementation{}

// pureGo is gonum's BLAS whatever the build tags: for the element-wise
// updates that must round as plain Go arithmetic does.
var pureGo gonum.Implementation

// blocked reports whether blasImpl is gonum's, whose large products gemm
// splits itself; OpenBLAS runs its own threads.
var blocked = true

type blasFloat interface {
	blas.Float32
	blas.Float64
}

// Gonum's Dgemm and Sgemm compute large products in 64×64 blocks of C, one
// goroutine per block, each block folding its k range in 64-wide slices;
// smaller products (fewer than minParBlocks blocks of C) run serially over
// the whole k range. gemm reproduces exactly that partition, so results
// are bit-identical to gonum's, but hands the blocks to a persistent pool
// of workers instead of starting goroutines, which allocates on every
// call.
const (
	gemmBlock    = 64 // gonum's blockSize
	minParBlocks = 4  // gonum's minParBlock
)

// gemm returns a kernel computing C = op(A)·op(B) for row-major operands,
// as gonum's Dgemm/Sgemm with alpha 1 and beta 0.
func gemm[T float](tA, tB blas.Transpose, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int) func() {
	g := &gemmCall[T]{tA: tA, tB: tB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc}
	bm, bn := blocks(m), blocks(n)
	if bm*bn < minParBlocks || !blocked {
		return g.serial
	}
	g.bn = bn
	g.nblk = bm * bn
	return g.parallel
}

func blocks(n int) int { return (n + gemmBlock - 1) / gemmBlock }

type gemmCall[T float] struct {
	tA, tB   blas.Transpose
	m, n, k  int
	a, b, c  []T
	lda, ldb int
	ldc      int
	bn, nblk int // blocks per row of C, blocks in all
	wg       sync.WaitGroup
}

// serial is a single BLAS call: the product is too small to split, or the
// BLAS is OpenBLAS.
func (g *gemmCall[T]) serial() {
	switch a := any(g.a).(type) {
	case []float64:
		blasImpl.Dgemm(g.tA, g.tB, g.m, g.n, g.k, 1, a, g.lda, any(g.b).([]float64), g.ldb, 0, any(g.c).([]float64), g.ldc)
	case []float32:
		blasImpl.Sgemm(g.tA, g.tB, g.m, g.n, g.k, 1, a, g.lda, any(g.b).([]float32), g.ldb, 0, any(g.c).([]float32), g.ldc)
	}
}

// parallel zeroes C, as gonum does for beta 0, then computes its blocks on
// the pool and on the calling goroutine; with one thread, on the calling
// goroutine alone (gonum would still start a goroutine per block).
func (g *gemmCall[T]) parallel() {
	for i := 0; i < g.m; i++ {
		clear(g.c[i*g.ldc : i*g.ldc+g.n])
	}
	if runtime.GOMAXPROCS(0) == 1 {
		for blk := 0; blk < g.nblk; blk++ {
			g.block(blk)
		}
		return
	}
	startPool()
	g.wg.Add(g.nblk)
	for blk := 0; blk < g.nblk; blk++ {
		select {
		case gemmJobs <- gemmJob{g: g, blk: blk}:
		default:
			g.block(blk)
			g.wg.Done()
		}
	}
	// Help with the queued blocks rather than sleep.
	for {
		select {
		case j := <-gemmJobs:
			j.g.block(j.blk)
			j.g.done()
			continue
		default:
		}
		break
	}
	g.wg.Wait()
}

func (g *gemmCall[T]) done() { g.wg.Done() }

// block computes block blk of C as gonum's dgemmParallel does: for each
// 64-wide slice of k in order, C_ij += A_ik·B_kj through a serial gonum
// call on the sub-matrices (beta 1 skips the scaling, and one block is
// below gonum's parallel threshold).
func (g *gemmCall[T]) block(blk int) {
	i := (blk / g.bn) * gemmBlock
	j := (blk % g.bn) * gemmBlock
	leni := min(gemmBlock, g.m-i)
	lenj := min(gemmBlock, g.n-j)
	cSub := view(g.c, g.ldc, i, j, leni, lenj)
	for k := 0; k < g.k; k += gemmBlock {
		lenk := min(gemmBlock, g.k-k)
		var aSub, bSub []T
		if g.tA == blas.Trans {
			aSub = view(g.a, g.lda, k, i, lenk, leni)
		} else {
			aSub = view(g.a, g.lda, i, k, leni, lenk)
		}
		if g.tB == blas.Trans {
			bSub = view(g.b, g.ldb, j, k, lenj, lenk)
		} else {
			bSub = view(g.b, g.ldb, k, j, lenk, lenj)
		}
		switch a := any(aSub).(type) {
		case []float64:
			blasImpl.Dgemm(g.tA, g.tB, leni, lenj, lenk, 1, a, g.lda, any(bSub).([]float64), g.ldb, 1, any(cSub).([]float64), g.ldc)
		case []float32:
			blasImpl.Sgemm(g.tA, g.tB, leni, lenj, lenk, 1, a, g.lda, any(bSub).([]float32), g.ldb, 1, any(cSub).([]float32), g.ldc)
		}
	}
}

// view is gonum's sliceView64: the r×c sub-matrix at (i, j) of a
// row-major matrix with leading dimension ld.
func view[T float](a []T, ld, i, j, r, c int) []T {
	return a[i*ld+j : (i+r-1)*ld+j+c]
}

// gemmJob is one block of a parallel product.
type gemmJob struct {
	g   blockComputer
	blk int
}

type blockComputer interface {
	block(blk int)
	done()
}

var (
	gemmJobs = make(chan gemmJob, 4096)
	poolOnce sync.Once
)

// startPool starts GOMAXPROCS−1 workers (the caller is the last) that
// live for the rest of the process.
func startPool() {
	poolOnce.Do(func() {
		for w := 1; w < runtime.GOMAXPROCS(0); w++ {
			go func() {
				for j := range gemmJobs {
					j.g.block(j.blk)
					j.g.done()
				}
			}()
		}
	})
}
