package train_test

import (
	"context"
	"fmt"

	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/models"
	"sgdlab/train"
)

// Example trains the diagonal linear network of E1 for 20 000 SGD steps
// with a step size divided by 4 halfway, and reports the train loss on
// the paper's grid.
func ExampleRun() {
	trainSet, _, _, err := data.SparseRegression{N: 80, D: 200, R: 20, NTest: 1000, Seed: 0}.Generate()
	if err != nil {
		fmt.Println(err)
		return
	}
	m := models.NewDLN(200)
	m.InitConst(0.1)
	loss, err := train.LossMetric("train_loss", m, graph.HalfMSE, trainSet)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := train.Run{
		Model: m, Loss: graph.HalfMSE, Data: trainSet,
		Batch: 1, Sampler: train.NewUniform(trainSet.N, 1),
		Schedule:   train.Piecewise{LR: 0.25, Decays: []train.Decay{{At: 10001, Factor: 4}}},
		Iterations: 20001,
		Eval:       []int{0, 10000, 20000},
		Metrics:    []train.Metric{loss},
	}.Train(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for k, it := range res.Iters {
		fmt.Printf("iteration %5d  η=%.4f  train loss %.3g\n", it, res.Rates[k], res.Values[k][0])
	}
	fmt.Println("diverged:", res.Diverged)
	// Output:
	// iteration     0  η=0.2500  train loss 0.502
	// iteration 10000  η=0.2500  train loss 0.000129
	// iteration 20000  η=0.0625  train loss 1.51e-05
	// diverged: false
}

// ExampleHistory_Column reads the metrics of a run by name rather than by
// their position in Run.Metrics.
func ExampleHistory_Column() {
	trainSet, testSet, _, err := data.SparseRegression{N: 40, D: 100, R: 20, NTest: 200, Seed: 0}.Generate()
	if err != nil {
		fmt.Println(err)
		return
	}
	m := models.NewDLN(100)
	m.InitConst(0.1)
	var metrics []train.Metric
	for _, s := range []struct {
		name string
		set  data.Set
	}{{"train_loss", trainSet}, {"test_loss", testSet}} {
		mt, err := train.LossMetric(s.name, m, graph.HalfMSE, s.set)
		if err != nil {
			fmt.Println(err)
			return
		}
		metrics = append(metrics, mt)
	}
	res, err := train.Run{
		Model: m, Loss: graph.HalfMSE, Data: trainSet,
		Batch: 1, Sampler: train.NewUniform(trainSet.N, 1),
		Schedule:   train.Constant{LR: 0.1},
		Iterations: 2000,
		Eval:       []int{0, 1000, 2000}, // 2000: after the last update
		Metrics:    metrics,
	}.Train(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	test, err := res.Column("test_loss")
	if err != nil {
		fmt.Println(err)
		return
	}
	for k, it := range res.Iters {
		fmt.Printf("iteration %4d  test loss %.3g\n", it, test[k])
	}
	final, err := res.Last("train_loss")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("final train loss %.3g\n", final)
	_, err = res.Column("loss")
	fmt.Println(err)
	// Output:
	// iteration    0  test loss 0.436
	// iteration 1000  test loss 0.111
	// iteration 2000  test loss 0.114
	// final train loss 6e-06
	// train: History has no metric "loss" (its metrics: "train_loss", "test_loss")
}
