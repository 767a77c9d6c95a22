package train_test

import (
	"reflect"
	"strings"
	"testing"

	"sgdlab/train"
)

// epochBatches draws epochs·⌊n/b⌋ batches of b from a fresh Epochs
// sampler and returns them grouped by epoch.
func epochBatches(t *testing.T, n, b, epochs int, seed uint32) [][][]int {
	t.Helper()
	s, err := train.NewEpochs(n, seed)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][][]int, epochs)
	for e := range epochs {
		for range train.BatchesPerEpoch(n, b) {
			idx := make([]int, b)
			s.Next(idx)
			if s.Epoch() != e+1 {
				t.Fatalf("n %d b %d: batch %d of epoch %d reports epoch %d", n, b, len(out[e]), e+1, s.Epoch())
			}
			out[e] = append(out[e], idx)
		}
	}
	return out
}

// TestEpochs checks the drop-last epochs: per epoch ⌊n/b⌋ batches of
// distinct indices in [0, n), every index once except the n mod b of the
// dropped tail; the same seed gives the same batches, epochs differ, and
// seeds differ.
func TestEpochs(t *testing.T) {
	for _, tc := range []struct{ n, b, batches int }{
		{10, 3, 3}, {10, 5, 2}, {7, 7, 1}, {1, 1, 1}, {100, 32, 3}, {64, 1, 64}, {33, 16, 2},
	} {
		if got := train.BatchesPerEpoch(tc.n, tc.b); got != tc.batches {
			t.Errorf("BatchesPerEpoch(%d, %d) = %d, want %d", tc.n, tc.b, got, tc.batches)
		}
		got := epochBatches(t, tc.n, tc.b, 4, 9)
		for e, epoch := range got {
			seen := make(map[int]bool)
			for _, batch := range epoch {
				for _, i := range batch {
					if i < 0 || i >= tc.n || seen[i] {
						t.Fatalf("n %d b %d epoch %d: index %d out of range or repeated", tc.n, tc.b, e, i)
					}
					seen[i] = true
				}
			}
			if len(seen) != tc.batches*tc.b || len(seen) != tc.n-tc.n%tc.b {
				t.Errorf("n %d b %d epoch %d: %d distinct indices, want %d", tc.n, tc.b, e, len(seen), tc.n-tc.n%tc.b)
			}
		}
		if again := epochBatches(t, tc.n, tc.b, 4, 9); !reflect.DeepEqual(got, again) {
			t.Errorf("n %d b %d: the same seed gave other batches", tc.n, tc.b)
		}
		if tc.n >= 7 {
			if reflect.DeepEqual(got[0], got[1]) || reflect.DeepEqual(got[1], got[2]) {
				t.Errorf("n %d b %d: consecutive epochs are identical", tc.n, tc.b)
			}
			if reflect.DeepEqual(got, epochBatches(t, tc.n, tc.b, 4, 10)) {
				t.Errorf("n %d b %d: seeds 9 and 10 gave the same batches", tc.n, tc.b)
			}
		}
	}
	for _, tc := range []struct{ n, b int }{{5, 0}, {5, -1}, {4, 5}, {-1, 1}} {
		if got := train.BatchesPerEpoch(tc.n, tc.b); got != 0 {
			t.Errorf("BatchesPerEpoch(%d, %d) = %d, want 0", tc.n, tc.b, got)
		}
	}
}

// TestEpochsIsNumpyPermutation checks the documented stream: the first
// epoch is np.random.permutation(10) after np.random.seed(0), which is
// [2 8 4 9 1 6 7 3 0 5], and, for any seed, the permutation that
// WithoutReplacement (numpy's choice) starts with.
func TestEpochsIsNumpyPermutation(t *testing.T) {
	s, _ := train.NewEpochs(10, 0)
	got := make([]int, 10)
	s.Next(got[:5])
	s.Next(got[5:])
	if want := []int{2, 8, 4, 9, 1, 6, 7, 3, 0, 5}; !reflect.DeepEqual(got, want) {
		t.Errorf("seed 0 epoch 1 = %v, want numpy's %v", got, want)
	}
	for _, seed := range []uint32{1, 2, 77} {
		e, _ := train.NewEpochs(50, seed)
		a, b := make([]int, 16), make([]int, 16)
		e.Next(a)
		train.NewWithoutReplacement(50, seed).Next(b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("seed %d: first batch %v, numpy's choice gives %v", seed, a, b)
		}
	}
}

// TestEpochsSizeAndErrors checks Size, the error of NewEpochs for an
// empty set, that Next allocates nothing, that Train rejects an Epochs
// sampler built for another set and accepts one for its set.
func TestEpochsSizeAndErrors(t *testing.T) {
	if _, err := train.NewEpochs(0, 1); err == nil || !strings.Contains(err.Error(), "0 examples") {
		t.Errorf("NewEpochs(0, 1): error %v, want one about 0 examples", err)
	}
	s, err := train.NewEpochs(37, 1)
	if err != nil {
		t.Fatal(err)
	}
	var sz train.Sized = s
	if sz.Size() != 37 || s.Epoch() != 0 {
		t.Errorf("Size %d, Epoch %d before the first batch; want 37, 0", sz.Size(), s.Epoch())
	}
	idx := make([]int, 8)
	if n := testing.AllocsPerRun(100, func() { s.Next(idx) }); n != 0 {
		t.Errorf("Next allocates %v times", n)
	}
	r, _ := validRun(t)
	r.Sampler, _ = train.NewEpochs(41, 1)
	if _, err := trainNoPanic(t, r); err == nil || !strings.Contains(err.Error(), "draws indices from [0, 41), but Data.N = 40") {
		t.Errorf("an Epochs sampler over 41 for a set of 40: error %v", err)
	}
	r.Sampler, _ = train.NewEpochs(40, 1)
	r.Batch = 16
	if res, err := trainNoPanic(t, r); err != nil || len(res.Iters) != 3 {
		t.Errorf("an Epochs sampler over the set: %v, %d evaluations", err, len(res.Iters))
	}
}
