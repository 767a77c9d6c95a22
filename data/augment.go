package data

import (
	"errors"
	"fmt"
)

// Augmentation is the standard augmentation of image batches:
// torchvision's RandomCrop(size = (H, W), padding = Pad, zero fill)
// followed, if Flip, by RandomHorizontalFlip(p = 0.5). The paper's
// CIFAR-10 recipe (spec §3.5) is
//
//	Augmentation{Shape: ImageShape{C: 3, H: 32, W: 32}, Pad: 4, Flip: true}
//
// A crop of the zero-padded image at offset (oy, ox) ∈ [0, 2·Pad]² is a
// translation: pixel (i, j) of every channel becomes the original pixel
// (i + oy − Pad, j + ox − Pad), or 0 where that falls outside the image.
// A flip then reverses every row. (The authors' MNIST crop to 32 of a
// 28×28 image padded by 4 also enlarges it; this crop keeps H×W.)
type Augmentation struct {
	Shape ImageShape // of each image, stored in CHW order
	Pad   int        // zero padding of the crop, in pixels, in [0, min(H, W)); 0 for no crop
	Flip  bool       // whether to flip each image horizontally with probability 1/2
}

// Validate returns an error unless the shape is positive and Pad is in
// [0, min(H, W)).
func (a Augmentation) Validate() error {
	var errs []error
	s := a.Shape
	if s.C < 1 || s.H < 1 || s.W < 1 || s.C > 1<<16 || s.H > 1<<16 || s.W > 1<<16 {
		errs = append(errs, fmt.Errorf("augmentation: image shape (%d, %d, %d): want C, H, W in [1, 65536]", s.C, s.H, s.W))
	} else if a.Pad < 0 || a.Pad >= min(s.H, s.W) {
		errs = append(errs, fmt.Errorf("augmentation: pad %d: want 0 ≤ pad < min(H, W) = %d", a.Pad, min(s.H, s.W)))
	}
	return errors.Join(errs...)
}

// Apply augments the batch x of len(x)/(C·H·W) images in place, drawing
// from r for each image in turn: oy = r.Intn(2·Pad+1), then
// ox = r.Intn(2·Pad+1) (no draws when Pad = 0), then, with Flip, a flip if
// r.Float64() < 0.5. The same generator state gives the same batch. Apply
// allocates nothing; it returns an error, leaving x as it is, if a is
// invalid or len(x) is not a multiple of C·H·W.
func (a Augmentation) Apply(x []float64, r *NumpyRand) error {
	if err := a.Validate(); err != nil {
		return err
	}
	d := a.Shape.Size()
	if len(x)%d != 0 {
		return fmt.Errorf("augmentation: batch of %d values is not a whole number of %d×%d×%d images", len(x), a.Shape.C, a.Shape.H, a.Shape.W)
	}
	for img := 0; img < len(x); img += d {
		im := x[img : img+d]
		if a.Pad > 0 {
			dy := r.Intn(2*a.Pad+1) - a.Pad
			dx := r.Intn(2*a.Pad+1) - a.Pad
			a.shift(im, dy, dx)
		}
		if a.Flip && r.Float64() < 0.5 {
			a.flip(im)
		}
	}
	return nil
}

// Skip makes the random draws that Apply makes for n images, without an
// image: a resumed run replays its stream with it.
func (a Augmentation) Skip(n int, r *NumpyRand) {
	for range n {
		if a.Pad > 0 {
			r.Intn(2*a.Pad + 1)
			r.Intn(2*a.Pad + 1)
		}
		if a.Flip {
			r.Float64()
		}
	}
}

// shift translates every channel of the image im in place: pixel (i, j)
// becomes (i+dy, j+dx), or 0 outside the image. Writing in the direction
// of the read offset (forward when the source lies ahead in memory) reads
// every source pixel before it is overwritten.
func (a Augmentation) shift(im []float64, dy, dx int) {
	h, w := a.Shape.H, a.Shape.W
	if dy == 0 && dx == 0 {
		return
	}
	forward := dy > 0 || (dy == 0 && dx > 0)
	for c := 0; c < a.Shape.C; c++ {
		plane := im[c*h*w : (c+1)*h*w]
		for t := 0; t < h; t++ {
			i := t
			if !forward {
				i = h - 1 - t
			}
			row := plane[i*w : (i+1)*w]
			si := i + dy
			if si < 0 || si >= h {
				clear(row)
				continue
			}
			src := plane[si*w : (si+1)*w]
			// Columns whose source lies inside the row: j+dx in [0, w).
			lo, hi := max(0, -dx), min(w, w-dx)
			copy(row[lo:hi], src[lo+dx:hi+dx]) // copy handles the overlap of si = i
			clear(row[:lo])
			clear(row[hi:])
		}
	}
}

// flip reverses every row of every channel of im in place.
func (a Augmentation) flip(im []float64) {
	w := a.Shape.W
	for r := 0; r < len(im); r += w {
		row := im[r : r+w]
		for j, k := 0, w-1; j < k; j, k = j+1, k-1 {
			row[j], row[k] = row[k], row[j]
		}
	}
}
