package train

import (
	"fmt"

	"sgdlab/data"
)

// Sampler chooses the examples of each update.
type Sampler interface {
	// Next fills idx with example indices, each in [0, Data.N) of the
	// Run; Train returns an error for any other index.
	Next(idx []int)
}

// Sized is implemented by samplers that draw indices from [0, Size()).
// Train requires Size() = Data.N of its Run, so that a sampler built for
// another set is rejected before the first update rather than at the
// first index past the end (or never, for a smaller range, which would
// silently train on part of the data).
type Sized interface {
	Sampler
	// Size returns the number of examples the sampler draws from.
	Size() int
}

// Uniform draws every index independently and uniformly, with numpy's
// legacy randint, so that a seed gives the authors' index stream
// (np.random.seed(seed); np.random.randint(n) per example).
type Uniform struct {
	r *data.NumpyRand
	n int
}

// NewUniform returns a Uniform sampler over n examples seeded with seed.
func NewUniform(n int, seed uint32) *Uniform { return &Uniform{r: data.NewNumpyRand(seed), n: n} }

// Next implements Sampler.
func (u *Uniform) Next(idx []int) {
	for i := range idx {
		idx[i] = u.r.Intn(u.n)
	}
}

// Size implements Sized: u draws from [0, n) for the n of NewUniform.
func (u *Uniform) Size() int { return u.n }

// Full is the sampler of full-batch gradient descent: every example, in
// order, at every update. It fills idx with 0, 1, …, len(idx)−1, so it
// covers the whole set only with Run.Batch = Data.N, which Train requires.
type Full struct{}

// Next implements Sampler.
func (Full) Next(idx []int) {
	for i := range idx {
		idx[i] = i
	}
}

// WithoutReplacement draws each batch as distinct indices, the authors'
// np.random.choice(n, B, replace=False) in train_fc_net, index for index:
// seeded with seed, it gives the batches of np.random.seed(seed) followed
// by one such call per update. numpy's legacy choice takes the first B
// entries of permutation(n), which shuffles a fresh 0, …, n−1 with
// Fisher–Yates from the last position down, drawing each position with
// the legacy bounded integer (data.NumpyRand.Intn); so does Next. Each
// batch costs n − 1 draws, as in numpy. Batches are independent of each
// other; an index may recur in the next batch.
type WithoutReplacement struct {
	r    *data.NumpyRand
	perm []int
}

// NewWithoutReplacement returns a WithoutReplacement sampler over n ≥ 1
// examples seeded with seed. It panics if n < 1.
func NewWithoutReplacement(n int, seed uint32) *WithoutReplacement {
	if n < 1 {
		panic("train: NewWithoutReplacement: n < 1")
	}
	return &WithoutReplacement{r: data.NewNumpyRand(seed), perm: make([]int, n)}
}

// Next implements Sampler: idx gets len(idx) distinct indices. It
// allocates nothing, and panics if len(idx) > Size() (Train rules that
// out: it requires Batch ≤ Data.N = Size()).
func (w *WithoutReplacement) Next(idx []int) {
	n := len(w.perm)
	if len(idx) > n {
		panic(fmt.Sprintf("train: WithoutReplacement.Next: batch of %d from %d examples", len(idx), n))
	}
	for i := range w.perm {
		w.perm[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := w.r.Intn(i + 1)
		w.perm[i], w.perm[j] = w.perm[j], w.perm[i]
	}
	copy(idx, w.perm)
}

// Size implements Sized: w draws from [0, n) for the n of
// NewWithoutReplacement.
func (w *WithoutReplacement) Size() int { return len(w.perm) }

// Shuffled goes through the set in epochs, as PyTorch's DataLoader with
// shuffle=True and drop_last=True does in the authors' deep-net code:
// each epoch is a fresh permutation of 0, …, n−1, cut into ⌊n/B⌋
// consecutive batches of B = len(idx) indices; the last n mod B indices
// of each permutation are left out. The batches of one epoch are
// disjoint, and update i is batch i mod ⌊n/B⌋ of epoch ⌊i/⌊n/B⌋⌋ (see
// BatchesPerEpoch). The permutations are numpy's: seeded with seed, epoch
// e is the e-th np.random.permutation(n) after np.random.seed(seed)
// (Fisher–Yates from the last position down with data.NumpyRand.Intn,
// n − 1 draws per epoch). That is the law of the authors' torch.randperm,
// not its stream.
type Shuffled struct {
	r    *data.NumpyRand
	perm []int
	pos  int // next position in perm; len(perm) before the first batch
}

// NewShuffled returns a Shuffled sampler over n ≥ 1 examples seeded with
// seed. It panics if n < 1.
func NewShuffled(n int, seed uint32) *Shuffled {
	if n < 1 {
		panic("train: NewShuffled: n < 1")
	}
	return &Shuffled{r: data.NewNumpyRand(seed), perm: make([]int, n), pos: n}
}

// Next implements Sampler: the next batch of the epoch, or the first of a
// new one when fewer than len(idx) indices are left. It allocates nothing,
// and panics if len(idx) > Size() (Train rules that out: it requires
// Batch ≤ Data.N = Size()).
func (s *Shuffled) Next(idx []int) {
	n := len(s.perm)
	if len(idx) > n {
		panic(fmt.Sprintf("train: Shuffled.Next: batch of %d from %d examples", len(idx), n))
	}
	if s.pos+len(idx) > n {
		for i := range s.perm {
			s.perm[i] = i
		}
		for i := n - 1; i > 0; i-- {
			j := s.r.Intn(i + 1)
			s.perm[i], s.perm[j] = s.perm[j], s.perm[i]
		}
		s.pos = 0
	}
	s.pos += copy(idx, s.perm[s.pos:])
}

// Size implements Sized: s draws from [0, n) for the n of NewShuffled.
func (s *Shuffled) Size() int { return len(s.perm) }

// BatchesPerEpoch returns ⌊n/batch⌋, the updates of one epoch of batches
// of batch examples from n (drop_last), or 0 if batch is not in [1, n].
func BatchesPerEpoch(n, batch int) int {
	if batch < 1 || batch > n {
		return 0
	}
	return n / batch
}
