package graph

// A grid lays a group of images out so that a stride-1 convolution reads
// its unfolded windows straight from the input: each channel's images
// are stacked with pad zero rows between them and pad zero columns
// between their rows, so that the window offset (ki, kj) of every output
// position q is one fixed shift, and row (ci, ki, kj) of im2col is the
// channel's stack shifted by (ki−pad)·rowStride + kj−pad — a row of the
// stack itself. The product reads these rows in place
// (gemm.SgemmRows): the input is copied once instead of unfolded k·k
// times. The product's columns are the grid's positions q, those of the
// image rows' gap columns and of the gap rows included; they are computed
// and dropped (waste), so the layout only pays on images whose gaps are
// small against them.
type grid struct {
	g         window // stride 1
	rowStride int    // w + pad
	imgStride int    // (h + pad) · rowStride
	lead      int    // zeros before the first image
	size      int    // values per channel
	positions int    // the product's columns: batch · imgStride
}

// maxGridWaste bounds the ratio of a grid's positions to the output
// positions. It admits resnet_tiny's 32×32 and 16×16 stages (1.06 and
// 1.13) and MNIST's 28×28 and 14×14 (1.07 and 1.15), whose unfolding cost
// most next to their products (few channels), and keeps the 8×8 and 4×4
// stages (1.27 and 1.56) unfolded; the whole step was measured faster
// with it, the threshold was not tuned stage by stage. A variable for the
// tests, which run every convolution both ways.
var maxGridWaste = 1.2

// newGrid returns the grid of window geometry g, and whether its
// convolutions run on it: stride 1 and little waste.
func newGrid(g window) (grid, bool) {
	if g.stride != 1 {
		return grid{}, false
	}
	rs := g.w + g.pad
	gr := grid{g: g, rowStride: rs, imgStride: (g.h + g.pad) * rs, lead: g.pad*rs + g.pad}
	gr.positions = g.batch * gr.imgStride
	// The last row's window reaches (k−1−pad)·(rowStride+1) past the
	// last position.
	gr.size = gr.lead + gr.positions + (g.k-1-g.pad)*(rs+1)
	waste := float64(gr.imgStride) / float64(g.oh*g.ow)
	return gr, waste <= maxGridWaste
}

// rows sets offs (c·k·k values) to the offsets, in a stack of the grid's
// channels, of the rows of im2col in PyTorch's filter order (ci, ki, kj).
func (gr grid) rows(offs []int) {
	g := gr.g
	l := 0
	for ci := range g.c {
		for ki := range g.k {
			for kj := range g.k {
				offs[l] = ci*gr.size + gr.lead + (ki-g.pad)*gr.rowStride + kj - g.pad
				l++
			}
		}
	}
}

// stack copies the images x, (batch, c, h, w), into dst (c·size values)
// in the grid's layout, zeros in the gaps.
func stack[T float](gr grid, x, dst []T) {
	g := gr.g
	clear(dst)
	for ci := range g.c {
		ch := dst[ci*gr.size+gr.lead:]
		for b := range g.batch {
			img := x[(b*g.c+ci)*g.h*g.w:][:g.h*g.w]
			at := ch[b*gr.imgStride:]
			for y := range g.h {
				copy(at[y*gr.rowStride:][:g.w], img[y*g.w:][:g.w])
			}
		}
	}
}

// spread copies y, (batch, cout, oh, ow), into dst (cout · positions), a
// row of the grid's positions per channel, zeros at the positions that
// are not outputs.
func spread[T float](gr grid, cout int, y, dst []T) {
	g := gr.g
	clear(dst)
	for co := range cout {
		row := dst[co*gr.positions:][:gr.positions]
		for b := range g.batch {
			img := y[(b*cout+co)*g.oh*g.ow:][:g.oh*g.ow]
			for i := range g.oh {
				copy(row[b*gr.imgStride+i*gr.rowStride:][:g.ow], img[i*g.ow:][:g.ow])
			}
		}
	}
}

// gather is spread's inverse: it copies the outputs among the positions
// of src (cout · positions) into y, (batch, cout, oh, ow).
func gather[T float](gr grid, cout int, src, y []T) {
	g := gr.g
	for co := range cout {
		row := src[co*gr.positions:][:gr.positions]
		for b := range g.batch {
			img := y[(b*cout+co)*g.oh*g.ow:][:g.oh*g.ow]
			for i := range g.oh {
				copy(img[i*g.ow:][:g.ow], row[b*gr.imgStride+i*gr.rowStride:][:g.ow])
			}
		}
	}
}
