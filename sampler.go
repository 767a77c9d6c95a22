package train

import "sgdlab/data"

// Sampler chooses the examples of each update.
type Sampler interface {
	// Next fills idx with example indices in [0, n).
	Next(idx []int)
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

// Full is the sampler of full-batch gradient descent: every example, in
// order, at every update.
type Full struct{}

// Next implements Sampler.
func (Full) Next(idx []int) {
	for i := range idx {
		idx[i] = i
	}
}
