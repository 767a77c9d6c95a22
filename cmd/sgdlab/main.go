// Command sgdlab reproduces the experiments of "SGD with Large Step Sizes
// Learns Sparse Features" (Andriushchenko et al., ICML 2023) and runs
// experiments of any registered model; see package cmd for its usage.
package main

import (
	"context"
	"os"

	"sgdlab/cmd"
)

func main() {
	ctx, stop := cmd.WithSignals(context.Background())
	code := cmd.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
