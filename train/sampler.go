package train

import "sgdlab/data"

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
