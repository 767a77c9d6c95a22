// Package train runs stochastic gradient descent with scheduled step sizes
// on models compiled by package graph.
//
// A Run trains one model: it draws batches from a Sampler, takes the step
// size of each update from a Schedule, evaluates Metrics at the iterations
// of an evaluation grid (before the update of that iteration, as in the
// paper's code), and stops a run whose loss explodes, reporting the
// iteration instead of returning meaningless numbers.
//
// An Ensemble trains K runs of one architecture together in one graph with
// a leading run dimension, each Member with its own sampler, schedule,
// metrics and divergence detection; each member's Result is that of its
// own Run, bit for bit.
package train
