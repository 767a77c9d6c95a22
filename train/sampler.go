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
	w.r.Permute(w.perm)
	copy(idx, w.perm)
}

// Size implements Sized: w draws from [0, n) for the n of
// NewWithoutReplacement.
func (w *WithoutReplacement) Size() int { return len(w.perm) }

// Epochs is the sampler of shuffled epochs with drop-last batching, as
// PyTorch's DataLoader(shuffle=True, drop_last=True): each epoch is a
// fresh random permutation of [0, n), consumed in consecutive batches of
// len(idx) indices; when fewer than len(idx) indices of the permutation
// are left, they are dropped and the next batch starts a new epoch. With
// a fixed batch size B, every epoch has BatchesPerEpoch(n, B) = ⌊n/B⌋
// batches and each index occurs at most once in an epoch (exactly once
// when B divides n).
//
// The permutations are numpy's: seeded with seed, epoch e's is the e-th
// np.random.permutation(n) after np.random.seed(seed) (Fisher–Yates from
// the last position down with data.NumpyRand.Intn), drawn when its first
// batch is; so batch k of epoch e is perm_e[k·B : (k+1)·B]. PyTorch's own
// permutations (torch.randperm) differ.
type Epochs struct {
	r     *data.NumpyRand
	perm  []int
	pos   int // next unused position of perm
	epoch int // epochs started
}

// NewEpochs returns an Epochs sampler over n ≥ 1 examples seeded with
// seed, or an error if n < 1.
func NewEpochs(n int, seed uint32) (*Epochs, error) {
	if n < 1 {
		return nil, fmt.Errorf("train: NewEpochs: %d examples, want at least 1", n)
	}
	return &Epochs{r: data.NewNumpyRand(seed), perm: make([]int, n), pos: n}, nil
}

// BatchesPerEpoch returns ⌊n/b⌋, the batches of b examples in an epoch of
// n examples with the last partial batch dropped (len(DataLoader) with
// drop_last=True); 0 if b < 1 or b > n.
func BatchesPerEpoch(n, b int) int {
	if b < 1 || n < 0 {
		return 0
	}
	return n / b
}

// Next implements Sampler: idx gets the next len(idx) indices of the
// current epoch's permutation, starting a new epoch first if fewer are
// left. It allocates nothing, and panics if len(idx) > Size() (Train
// rules that out: it requires Batch ≤ Data.N = Size()).
func (e *Epochs) Next(idx []int) {
	n := len(e.perm)
	if len(idx) > n {
		panic(fmt.Sprintf("train: Epochs.Next: batch of %d from %d examples", len(idx), n))
	}
	if e.pos+len(idx) > n {
		e.r.Permute(e.perm)
		e.pos = 0
		e.epoch++
	}
	copy(idx, e.perm[e.pos:])
	e.pos += len(idx)
}

// Epoch returns the number of epochs started: 0 before the first batch,
// 1 during the first epoch, and so on. The batch that Next just returned
// belongs to epoch Epoch() (counting from 1).
func (e *Epochs) Epoch() int { return e.epoch }

// Size implements Sized: e draws from [0, n) for the n of NewEpochs.
func (e *Epochs) Size() int { return len(e.perm) }
