package train_test

import (
	"context"
	"fmt"

	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/models"
	"sgdlab/train"
)

// Example trains three E1 runs as one ensemble: the first run of ExampleRun
// (its train loss at 10 000 matches), the same step size with another index
// seed, and η = 1, which diverges at once while the others go on.
func ExampleEnsemble() {
	trainSet, _, _, err := data.SparseRegression{N: 80, D: 200, R: 20, NTest: 1000, Seed: 0}.Generate()
	if err != nil {
		fmt.Println(err)
		return
	}
	runs := []struct {
		seed uint32
		lr   float64
	}{{1, 0.25}, {2, 0.25}, {1, 1}}
	members := make([]train.Member, len(runs))
	for k, r := range runs {
		m := models.NewDLN(200)
		m.InitConst(0.1)
		loss, err := train.LossMetric("train_loss", m, graph.HalfMSE, trainSet)
		if err != nil {
			fmt.Println(err)
			return
		}
		members[k] = train.Member{Model: m, Sampler: train.NewUniform(trainSet.N, r.seed),
			Schedule: train.Constant{LR: r.lr}, Metrics: []train.Metric{loss}}
	}
	res, err := train.Ensemble{
		Model: models.NewDLNEnsemble(len(runs), 200), Members: members,
		Loss: graph.HalfMSE, Data: trainSet, Batch: 1,
		Iterations: 10001, Eval: []int{0, 10000},
	}.Train(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for k, r := range res {
		last := len(r.Values) - 1
		fmt.Printf("seed %d, η=%.2f: diverged %v (at %d), train loss %.3g at iteration %d\n",
			runs[k].seed, runs[k].lr, r.Diverged, r.DivergedAt, r.Values[last][0], r.Iters[last])
	}
	// Output:
	// seed 1, η=0.25: diverged false (at 0), train loss 0.000129 at iteration 10000
	// seed 2, η=0.25: diverged false (at 0), train loss 0.000212 at iteration 10000
	// seed 1, η=1.00: diverged true (at 7), train loss 0.502 at iteration 0
}
