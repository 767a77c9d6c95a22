// Package graph turns models written as Gorgonia computation graphs into
// programs that evaluate a loss and its gradients for a batch.
//
// A model owns its parameters ([Param]) and describes its forward pass on a
// [Scope], using the building blocks of this package (Dense, Hadamard, ReLU,
// MatVec) or any Gorgonia operation through [Scope.Must]. [Compile] adds a
// [Loss], differentiates the graph with Gorgonia's symbolic autodiff and
// returns a [Program]; callers then feed batches and read losses and
// gradients without touching Gorgonia. Parameters live outside any graph, so
// one model can be compiled several times (a batch-1 training program, a
// full-data evaluation program, a per-example Jacobian program) and every
// program sees the same values.
//
// Image models use the convolutional blocks: [Scope.Conv2D],
// [Scope.MaxPool2D], [Scope.AvgPool2D], [Scope.GlobalAvgPool],
// [Scope.BatchNorm], [Scope.Add] (residual sums) and [Scope.Flatten], on
// NCHW tensors. They are operations of this package (convolution, pooling
// and batch normalisation as families of operations closed under
// differentiation), so their derivatives of every order are exact and
// [HVP] works on conv and residual nets, where Gorgonia's own Conv2d,
// MaxPool2D and BatchNorm have no correct second derivative. (Training
// programs, differentiated once, run batch normalisation as one fused
// operation with a hand-written gradient; HVP.Check compares the
// Hessian against differences of those gradients.)
//
// Batch normalisation has two modes ([Mode]). Training programs
// ([Compile]) and the Hessian ([CompileHVP]) normalise with the batch's
// statistics; evaluation programs ([CompileLoss]) with the running
// statistics held in the [BatchNorm] layer, which [Program.Descend]
// (or [Program.UpdateBatchNorm]) advances once per training step as
// PyTorch does, and [RefreshBatchNorm] recomputes from a data set (for
// iterate averages). Nothing else changes them.
//
// An [EnsembleModel] holds K independent members of one architecture, each
// parameter with a leading run dimension; [CompileEnsemble] returns an
// [EnsembleProgram] that evaluates every member on its own batch in one
// graph, member by member bit-identical to K separate programs in float64
// ([Scope.BatchedMatVec] is MatVec with the run dimension).
//
// Matrix products, in programs and in Gorgonia's TapeMachine alike, run on
// sgdlab's kernels (internal/gemm; the smallest on gonum's, see
// gemm.Implementation), which importing this package installs
// in Gorgonia, in its tensor package and in gonum's blas32 and blas64, so
// that gonum's LAPACK (mat.SVD, the rank metric, Lanczos) uses them too.
// The same binary on the same machine gives bit-identical results; float64
// results are the same on every kernel path, float32 ones may differ in
// the last bit between the assembly and the pure-Go path, and the
// environment variable SGDLAB_KERNEL=go|avx2|avx512 forces a path (see
// internal/gemm).
package graph
