// Package gemm computes dense matrix products (GEMM) and matrix–vector
// products (GEMV) in float32 and float64 with packed panels and a
// register-tiled micro-kernel, in Go assembly with FMA on amd64 (an AVX2 and
// an AVX-512 variant, chosen once at init from the CPU's features) and in
// pure Go with the same packing and blocking everywhere else.
//
// It is a package of its own, below graph, because its kernels are
// CPU-specific and serve three users at once: sgdlab's executor, Gorgonia's
// tensor engine and gonum's LAPACK, which all reach it through
// Implementation, a gonum BLAS.
//
// # Determinism
//
// Every element of a product is one fused multiply–add chain over k in
// increasing order, c = fma(a_il, b_lj, c), started from beta·c: the
// result depends neither on the tiling, the transposition flags, the
// number of threads nor the scheduling (work is split over tiles of C
// only). A matrix–vector product sums each dot product in eight (float64)
// or sixteen (float32) interleaved fma chains reduced pairwise, and adds
// the rows of Aᵀ·x one fma chain per element, on every path. The AVX2,
// AVX-512 and pure-Go (math.FMA) paths therefore agree bit for bit in
// float64, and the two assembly paths in float32; the pure-Go float32 path
// rounds each fma through float64 and may differ from them in the last
// bit. The same binary on the same machine gives bit-identical results;
// results may differ in the last bits between machines whose CPUs select
// different paths (the pure-Go one in float32), and from any other BLAS.
// Products below smallGemm multiply-adds (smallGemv elements for GEMV) run
// on gonum's own kernels instead (see Implementation), on every path.
//
// # Choosing a path
//
// The environment variable SGDLAB_KERNEL, read once at init, forces a
// path: "go", "avx2" or "avx512" (empty or "auto": the fastest the CPU
// supports). A value that is unknown, or a path the CPU cannot run, stops
// the program at init with a message naming the valid values.
package gemm
