// Package metric provides the quantities an experiment records during
// training — losses, parameter norms, the sharpness of the training loss,
// the cosine between the update and the top Hessian eigenvector, the rank
// of the Jacobian — as train.Metric and train.StepMetric values, and the
// registry through which configurations name them.
//
// The set is open: Register adds a metric for every model, and a model
// offers metrics of its own by implementing models.Measured (the DLN's
// ‖β‖₀ and balancedness). Build resolves a configuration's names against
// both, and Check reports, before any work, the names a model cannot
// provide.
//
// The package sits between experiment and train/analysis, so that train
// stays free of the Hessian tools and analysis free of training.
package metric
