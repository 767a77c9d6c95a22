// Package analysis measures what SGD has learned: sparsity and norms of a
// linear predictor, balancedness of a diagonal network, and the rank of
// the Jacobian φ_θ(X) whose rows are the per-example gradients of the
// model output with respect to all parameters.
package analysis
