package gemm

import (
	"runtime"
	"sync"
	"unsafe"
)

// Blocking: a kc-deep slice of k at a time, B packed nc columns at a time
// (for the L3 cache), A packed mc rows at a time (for L2); the micro-kernel
// streams one kc×nr panel of B from L1 against the mr-row panels of A.
// mc is a multiple of every path's mr and nc of every nr.
const (
	kc = 256
	mc = 120
	nc = 3072
	// maxTile is the largest mr·nr of a path.
	maxTile = 8 * 32
)

// parallelWork is the smallest m·n·k split over the worker pool (about
// half a millisecond on one core): handing a part to another core costs
// a wake-up, tens of microseconds on a loaded or virtual machine, and a
// core shared with other processes may take longer to answer.
const parallelWork = 1 << 25

func unsafeSlice[T any](p *T, n int) []T { return unsafe.Slice(p, n) }

// buffers are one worker's packing buffers.
type buffers[T float] struct {
	a, b, tile []T
}

var (
	bufs32 = newFree[buffers[float32]]()
	bufs64 = newFree[buffers[float64]]()
)

// getBuffers returns a worker's packing buffers, allocated on first use.
func getBuffers[T float]() *buffers[T] {
	var b *buffers[T]
	var t T
	if _, ok := any(t).(float32); ok {
		b = any(bufs32.get()).(*buffers[T])
	} else {
		b = any(bufs64.get()).(*buffers[T])
	}
	if b.a == nil {
		*b = buffers[T]{a: make([]T, mc*kc), b: make([]T, kc*nc), tile: make([]T, maxTile)}
	}
	return b
}

func putBuffers[T float](b *buffers[T]) {
	switch b := any(b).(type) {
	case *buffers[float32]:
		bufs32.put(b)
	case *buffers[float64]:
		bufs64.put(b)
	}
}

// call is one product C = alpha·op(A)·op(B) + beta·C, split into parts
// of C's rows (byRows) or columns.
type call[T float] struct {
	k             *kernel[T]
	tA, tB        bool
	m, n, kk      int
	alpha         T
	a, b, c       []T
	lda, ldb, ldc int
	parts, chunk  int
	byRows        bool
	fresh         bool  // beta 0: C is overwritten, not read
	rowsB         []int // if not nil, the offsets in b of the stored rows of B (see SgemmRows)
	wg            sync.WaitGroup
}

var (
	calls32 = newFree[call[float32]]()
	calls64 = newFree[call[float64]]()
)

// gemm computes C = alpha·op(A)·op(B) + beta·C for row-major operands,
// op(A) m×k and op(B) k×n; the arguments are valid. tA and tB say whether
// A and B are stored transposed; rowsB, if not nil, gives the offsets in b
// of the rows of B (or of Bᵀ if tB) instead of ldb.
func gemm[T float](kern *kernel[T], free free[call[T]], tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, rowsB []int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	// beta·C first, so that each element's chain starts from it; with beta
	// 0 the chains start from zero instead, in the kernel (NaN in C must
	// not survive).
	product := k > 0 && alpha != 0
	if beta != 1 && (beta != 0 || !product) {
		for i := range m {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
				continue
			}
			for j := range row {
				row[j] *= beta
			}
		}
	}
	if !product {
		return
	}
	g := free.get()
	*g = call[T]{k: kern, tA: tA, tB: tB, m: m, n: n, kk: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, parts: 1, fresh: beta == 0, rowsB: rowsB}
	// GOMAXPROCS takes a lock: asked only when the product is large.
	if m*n*k >= parallelWork {
		if procs := runtime.GOMAXPROCS(0); procs > 1 {
			g.split(procs)
		}
	}
	if g.parts == 1 {
		g.do(0)
	} else {
		run(g, g.parts, &g.wg)
	}
	*g = call[T]{}
	free.put(g)
}

// split divides C into up to procs parts along its longer side, whole
// tiles each.
func (g *call[T]) split(procs int) {
	size, tile := g.n, g.k.nr
	if g.m >= g.n {
		size, tile, g.byRows = g.m, g.k.mr, true
	}
	tiles := (size + tile - 1) / tile
	per := (tiles + procs - 1) / procs
	g.chunk = per * tile
	g.parts = (size + g.chunk - 1) / g.chunk
}

// do computes part p of C.
func (g *call[T]) do(p int) {
	i0, i1, j0, j1 := 0, g.m, 0, g.n
	if g.parts > 1 {
		if g.byRows {
			i0, i1 = p*g.chunk, min((p+1)*g.chunk, g.m)
		} else {
			j0, j1 = p*g.chunk, min((p+1)*g.chunk, g.n)
		}
	}
	bf := getBuffers[T]()
	g.block(bf, i0, i1, j0, j1)
	putBuffers(bf)
}

// block computes rows [i0, i1) and columns [j0, j1) of C, the k loop
// outside the loops over tiles so that each element's chain runs in k
// order.
func (g *call[T]) block(bf *buffers[T], i0, i1, j0, j1 int) {
	mr, nr := g.k.mr, g.k.nr
	// k in equal slices of at most kc: a short last one would pay for
	// loading and storing C's tiles with little work in between.
	depth := (g.kk + (g.kk+kc-1)/kc - 1) / ((g.kk + kc - 1) / kc)
	for jc := j0; jc < j1; jc += nc {
		nb := min(nc, j1-jc)
		for pc := 0; pc < g.kk; pc += depth {
			kb := min(depth, g.kk-pc)
			load := pc > 0 || !g.fresh
			packB(&g.k.pack, bf.b, g.tB, g.b, g.ldb, g.rowsB, pc, kb, jc, nb, nr)
			for ic := i0; ic < i1; ic += mc {
				mb := min(mc, i1-ic)
				packA(&g.k.pack, bf.a, g.tA, g.a, g.lda, ic, mb, pc, kb, mr, g.alpha)
				for jr := 0; jr < nb; jr += nr {
					pb := &bf.b[jr*kb]
					for ir := 0; ir < mb; ir += mr {
						pa := &bf.a[ir*kb]
						ci := (ic+ir)*g.ldc + jc + jr
						if ir+mr <= mb && jr+nr <= nb {
							g.k.micro(kb, pa, pb, &g.c[ci], g.ldc, load)
							continue
						}
						// An edge tile: through a full tile, so the
						// kernel never touches C outside the product.
						rows, cols := min(mr, mb-ir), min(nr, nb-jr)
						t := bf.tile[:mr*nr]
						if load {
							for i := range rows {
								copy(t[i*nr:i*nr+cols], g.c[ci+i*g.ldc:])
							}
						}
						g.k.micro(kb, pa, pb, &t[0], nr, load)
						for i := range rows {
							copy(g.c[ci+i*g.ldc:ci+i*g.ldc+cols], t[i*nr:])
						}
					}
				}
			}
		}
	}
}

// packA copies rows [i0, i0+rows) and columns [p0, p0+depth) of op(A),
// scaled by alpha, into panels of mr rows: for each panel, column after
// column, mr values each, rows past the end zero.
func packA[T float](pk *packers[T], dst []T, trans bool, a []T, lda, i0, rows, p0, depth, mr int, alpha T) {
	for ir := 0; ir < rows; ir += mr {
		panel := dst[ir*depth : (ir+mr)*depth]
		h := min(mr, rows-ir)
		if h < mr {
			clear(panel)
		}
		if trans {
			copyRows(pk, panel, mr, a[p0*lda+i0+ir:], lda, h, depth)
		} else {
			interleave(pk, panel, mr, a[(i0+ir)*lda+p0:], lda, h, depth)
		}
		if alpha != 1 {
			for l := range panel {
				panel[l] *= alpha
			}
		}
	}
}

// packB copies rows [p0, p0+depth) and columns [j0, j0+cols) of op(B)
// into panels of nr columns: for each panel, row after row, nr values
// each, columns past the end zero. With rows, row i of the stored form
// (B, or Bᵀ if trans) is b[rows[i]:].
func packB[T float](pk *packers[T], dst []T, trans bool, b []T, ldb int, rows []int, p0, depth, j0, cols, nr int) {
	for jr := 0; jr < cols; jr += nr {
		panel := dst[jr*depth : (jr+nr)*depth]
		w := min(nr, cols-jr)
		if w < nr {
			clear(panel)
		}
		switch {
		case rows != nil && trans:
			interleaveAt(pk, panel, nr, b, rows[j0+jr:j0+jr+w], p0, depth)
		case rows != nil:
			copyRowsAt(pk, panel, nr, b, rows[p0:p0+depth], j0+jr, w)
		case trans:
			interleave(pk, panel, nr, b[(j0+jr)*ldb+p0:], ldb, w, depth)
		default:
			copyRows(pk, panel, nr, b[p0*ldb+j0+jr:], ldb, w, depth)
		}
	}
}

// copyRowsAt is copyRows of the rows b[offs[l]+j0:], w values each.
func copyRowsAt[T float](pk *packers[T], dst []T, width int, b []T, offs []int, j0, w int) {
	size := int(unsafe.Sizeof(b[0]))
	if pk.copyRowsAt != nil && w == width && width*size%32 == 0 {
		// The offsets were checked against b by the caller of the product.
		_ = dst[len(offs)*width-1]
		pk.copyRowsAt(len(offs), width*size/32, (*byte)(unsafe.Pointer(&b[j0])), &offs[0], size, (*byte)(unsafe.Pointer(&dst[0])), width*size)
		return
	}
	for l, off := range offs {
		copy(dst[l*width:l*width+w], b[off+j0:off+j0+w])
	}
}

// interleaveAt is interleave of the rows b[offs[r]+p0:], depth values
// each.
func interleaveAt[T float](pk *packers[T], dst []T, width int, b []T, offs []int, p0, depth int) {
	rows, r := len(offs), 0
	if bl := pk.block; pk.transposeAt != nil && rows >= bl && depth >= bl {
		var cols int
		r, cols = rows/bl*bl, depth/bl*bl
		_ = dst[(cols-1)*width+r-1]
		pk.transposeAt(r/bl, cols/bl, &b[p0], &offs[0], &dst[0], width)
		for i, off := range offs[:r] {
			for l, v := range b[off+p0+cols : off+p0+depth] {
				dst[(cols+l)*width+i] = v
			}
		}
	}
	for ; r < rows; r++ {
		for l, v := range b[offs[r]+p0 : offs[r]+p0+depth] {
			dst[l*width+r] = v
		}
	}
}

// copyRows copies the first w values of depth rows of src (leading
// dimension ld) into a panel of rows width apart.
func copyRows[T float](pk *packers[T], dst []T, width int, src []T, ld, w, depth int) {
	size := int(unsafe.Sizeof(src[0]))
	if pk.copyRows != nil && w == width && width*size%32 == 0 {
		// The kernel reads what these slices hold.
		_, _ = src[(depth-1)*ld+w-1], dst[depth*width-1]
		pk.copyRows(depth, width*size/32, (*byte)(unsafe.Pointer(&src[0])), ld*size, (*byte)(unsafe.Pointer(&dst[0])), width*size)
		return
	}
	for l := range depth {
		copy(dst[l*width:l*width+w], src[l*ld:l*ld+w])
	}
}

// interleave transposes into a panel: dst[l·width+r] = src[r·ld+l] for the
// first rows rows of src (leading dimension ld) and depth columns, in
// blocks on a path with a transposing kernel, else four rows at a time
// for the loads' and stores' sake.
func interleave[T float](pk *packers[T], dst []T, width int, src []T, ld, rows, depth int) {
	r := 0
	if b := pk.block; pk.transpose != nil && rows >= b && depth >= b {
		var cols int
		r, cols = rows/b*b, depth/b*b
		_, _ = src[(r-1)*ld+cols-1], dst[(cols-1)*width+r-1]
		pk.transpose(r/b, cols/b, &src[0], ld, &dst[0], width)
		// The columns past the blocks, for the blocks' rows.
		for i := range r {
			for l, v := range src[i*ld+cols : i*ld+depth] {
				dst[(cols+l)*width+i] = v
			}
		}
	}
	for ; r+4 <= rows; r += 4 {
		r0 := src[r*ld : r*ld+depth]
		r1 := src[(r+1)*ld : (r+1)*ld+depth]
		r2 := src[(r+2)*ld : (r+2)*ld+depth]
		r3 := src[(r+3)*ld : (r+3)*ld+depth]
		for l := range r0 {
			d := dst[l*width+r : l*width+r+4]
			d[0], d[1], d[2], d[3] = r0[l], r1[l], r2[l], r3[l]
		}
	}
	for ; r < rows; r++ {
		for l, v := range src[r*ld : r*ld+depth] {
			dst[l*width+r] = v
		}
	}
}
