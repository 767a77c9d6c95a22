package experiment_test

import (
	"context"
	"fmt"
	"os"

	"sgdlab/experiment"
)

// Example runs the E2 experiment shrunk tenfold and prints what
// summary.json records for full-batch GD with γ = 2.
func ExampleRun() {
	c, err := experiment.Lookup("dln-gd")
	if err != nil {
		fmt.Println(err)
		return
	}
	c = c.Quick()
	c.Runs = c.Runs[:1]
	c.CentralFlow = nil // it follows a run left out
	out, err := os.MkdirTemp("", "sgdlab-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(out)
	sum, err := experiment.Run(context.Background(), c, experiment.Options{Out: out})
	if err != nil {
		fmt.Println(err)
		return
	}
	r := sum.Runs[0]
	fmt.Printf("%s: %s, diverged %v, at iteration %d: ‖β‖₀ = %.0f, test loss %.4f\n",
		sum.Experiment, r.Label, r.Diverged, *r.FinalIter, *r.Final["l0"], *r.Final["test_loss"])
	// Output: dln-gd: GD γ=2, diverged false, at iteration 9961: ‖β‖₀ = 100, test loss 0.1682
}
