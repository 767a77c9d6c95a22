package data

import (
	"reflect"
	"strings"
	"testing"
)

// testImages returns n images of shape s with distinct non-zero values.
func testImages(s ImageShape, n int) []float64 {
	x := make([]float64, n*s.Size())
	for i := range x {
		x[i] = float64(i + 1)
	}
	return x
}

// cropRef is the crop by definition: pad the image with Pad zeros on
// every side, then take the H×W window at (oy, ox) of the padded image.
func cropRef(im []float64, s ImageShape, pad, oy, ox int) []float64 {
	ph, pw := s.H+2*pad, s.W+2*pad
	out := make([]float64, len(im))
	for c := range s.C {
		padded := make([]float64, ph*pw)
		for i := range s.H {
			copy(padded[(i+pad)*pw+pad:], im[c*s.H*s.W+i*s.W:c*s.H*s.W+(i+1)*s.W])
		}
		for i := range s.H {
			copy(out[c*s.H*s.W+i*s.W:c*s.H*s.W+(i+1)*s.W], padded[(i+oy)*pw+ox:])
		}
	}
	return out
}

// TestAugmentationShift checks the in-place translation against the
// definition (zero padding, then a window) for every offset of a small
// non-square image, so that every direction of the in-place copy is
// exercised.
func TestAugmentationShift(t *testing.T) {
	s := ImageShape{C: 2, H: 5, W: 4}
	const pad = 3
	a := Augmentation{Shape: s, Pad: pad}
	for oy := 0; oy <= 2*pad; oy++ {
		for ox := 0; ox <= 2*pad; ox++ {
			im := testImages(s, 1)
			want := cropRef(im, s, pad, oy, ox)
			a.shift(im, oy-pad, ox-pad)
			if !reflect.DeepEqual(im, want) {
				t.Errorf("offset (%d, %d): got %v, want %v", oy, ox, im, want)
			}
		}
	}
}

// TestAugmentationApply checks Apply on a batch against its documented
// draws: each image cropped at the drawn offset and flipped when the
// draw is below 1/2, images in order; and that the same seed gives the
// same batch, another seed another one, and no allocation.
func TestAugmentationApply(t *testing.T) {
	s := ImageShape{C: 3, H: 6, W: 6}
	for _, a := range []Augmentation{
		{Shape: s, Pad: 2, Flip: true},
		{Shape: s, Pad: 2},
		{Shape: s, Flip: true},
	} {
		x := testImages(s, 16)
		orig := append([]float64(nil), x...)
		if err := a.Apply(x, NewNumpyRand(4)); err != nil {
			t.Fatal(err)
		}
		r := NewNumpyRand(4)
		flips := 0
		for i := range 16 {
			want := orig[i*s.Size() : (i+1)*s.Size()]
			if a.Pad > 0 {
				oy, ox := r.Intn(2*a.Pad+1), r.Intn(2*a.Pad+1)
				want = cropRef(want, s, a.Pad, oy, ox)
			}
			if a.Flip && r.Float64() < 0.5 {
				flips++
				want = append([]float64(nil), want...)
				for row := 0; row < len(want); row += s.W {
					for j := range s.W / 2 {
						want[row+j], want[row+s.W-1-j] = want[row+s.W-1-j], want[row+j]
					}
				}
			}
			if got := x[i*s.Size() : (i+1)*s.Size()]; !reflect.DeepEqual(got, want) {
				t.Fatalf("%+v image %d: got %v, want %v", a, i, got, want)
			}
		}
		if a.Flip && (flips == 0 || flips == 16) {
			t.Errorf("%+v: %d of 16 images flipped", a, flips)
		}
		y := append([]float64(nil), orig...)
		a.Apply(y, NewNumpyRand(4))
		if !reflect.DeepEqual(x, y) {
			t.Errorf("%+v: the same seed gave different batches", a)
		}
		// Skip leaves the stream where Apply on 16 images does.
		skipped := NewNumpyRand(4)
		a.Skip(16, skipped)
		if u, v := skipped.Uint32(), r.Uint32(); u != v {
			t.Errorf("%+v: after Skip the stream gives %d, after Apply %d", a, u, v)
		}
		z := append([]float64(nil), orig...)
		a.Apply(z, NewNumpyRand(5))
		if reflect.DeepEqual(x, z) {
			t.Errorf("%+v: seeds 4 and 5 gave the same batch", a)
		}
		r = NewNumpyRand(1)
		if n := testing.AllocsPerRun(10, func() { a.Apply(z, r) }); n != 0 {
			t.Errorf("%+v: Apply allocates %v times per batch", a, n)
		}
	}
}

// TestAugmentationFlipReversesRows checks a flip directly: every row of
// every channel reversed, and a second flip restoring the image.
func TestAugmentationFlipReversesRows(t *testing.T) {
	s := ImageShape{C: 2, H: 2, W: 3}
	a := Augmentation{Shape: s, Flip: true}
	im := testImages(s, 1)
	a.flip(im)
	if want := []float64{3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10}; !reflect.DeepEqual(im, want) {
		t.Errorf("flip = %v, want %v", im, want)
	}
	a.flip(im)
	if !reflect.DeepEqual(im, testImages(s, 1)) {
		t.Error("two flips did not restore the image")
	}
}

// TestAugmentationRejects checks that invalid augmentations and batches
// that are not whole images are rejected, leaving the batch as it is.
func TestAugmentationRejects(t *testing.T) {
	s := ImageShape{C: 1, H: 4, W: 5}
	for _, tc := range []struct {
		a    Augmentation
		n    int
		want string
	}{
		{Augmentation{Shape: s, Pad: 4}, 20, "pad 4: want 0 ≤ pad < min(H, W) = 4"},
		{Augmentation{Shape: s, Pad: -1}, 20, "pad -1"},
		{Augmentation{Shape: ImageShape{C: 0, H: 4, W: 4}, Pad: 1}, 20, "image shape (0, 4, 4)"},
		{Augmentation{Shape: s, Pad: 1, Flip: true}, 21, "batch of 21 values is not a whole number of 1×4×5 images"},
	} {
		x := testImages(ImageShape{C: 1, H: 1, W: tc.n}, 1)
		err := tc.a.Apply(x, NewNumpyRand(0))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v on %d values: error %v, want one containing %q", tc.a, tc.n, err, tc.want)
		}
		if !reflect.DeepEqual(x, testImages(ImageShape{C: 1, H: 1, W: tc.n}, 1)) {
			t.Errorf("%+v: a rejected batch was changed", tc.a)
		}
	}
}
