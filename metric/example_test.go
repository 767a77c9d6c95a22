package metric_test

import (
	"context"
	"fmt"
	"math"

	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/metric"
	"sgdlab/models"
	"sgdlab/train"
)

// Example checks a configuration's metric names against a DLN, builds
// them with Build and trains with train.Run, then reads the results by
// name from the History.
func Example() {
	trainSet, testSet, _, err := data.SparseRegression{N: 20, D: 10, R: 2, NTest: 50}.Generate()
	if err != nil {
		fmt.Println(err)
		return
	}
	m := models.NewDLN(10)
	m.InitConst(0.5)

	// l0 is the DLN's own metric; step_cosine needs sharpness before it.
	names := []string{"train_loss", "l0", "sharpness", "step_cosine"}
	if err := metric.Check(names, m); err != nil {
		fmt.Println(err)
		return
	}
	eval := []int{0, 100, 200, 300, 400}
	env := &metric.Env{Model: m, Loss: graph.HalfMSE, Train: trainSet, Test: testSet,
		Points: len(eval), Sharpness: metric.SharpnessOptions{Every: 2}}
	metrics, steps, err := metric.Build(names, env)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := train.Run{
		Model: m, Loss: graph.HalfMSE, Data: trainSet,
		Batch: 1, Sampler: train.NewUniform(trainSet.N, 1),
		Schedule: train.Constant{LR: 0.05}, Iterations: 400, Eval: eval,
		Metrics: metrics, StepMetrics: steps,
	}.Train(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}

	l0, _ := res.Column("l0")
	sharp, _ := res.Column("sharpness")
	first, _ := res.Column("train_loss")
	last, _ := res.Last("train_loss")
	fmt.Println("names:", res.Names)
	fmt.Println("l0:", l0)
	// With Every = 2, sharpness is measured at points 0, 2 and the last.
	for k, s := range sharp {
		fmt.Printf("iteration %d: sharpness measured: %v\n", res.Iters[k], !math.IsNaN(s))
	}
	fmt.Println("train loss fell:", last < first[0])
	// Output:
	// names: [train_loss l0 sharpness step_cosine]
	// l0: [0 10 10 10 10]
	// iteration 0: sharpness measured: true
	// iteration 100: sharpness measured: false
	// iteration 200: sharpness measured: true
	// iteration 300: sharpness measured: false
	// iteration 400: sharpness measured: true
	// train loss fell: true
}
