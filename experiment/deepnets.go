package experiment

import (
	"fmt"

	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/metric"
	"sgdlab/models"
	"sgdlab/train"
)

// mnist is the CPU stand-in for the paper's deep-net experiments (spec §2,
// C7): a small CNN on a 10 000-image MNIST subset, SGD with batch 128 in
// shuffled epochs, a small constant step size against a large one warmed
// up exponentially (the deep_piecewise schedule of the authors' deep-net
// code) and decayed at 10, 30 and 50 % of the epochs, each over three
// seeds; losses, test error and the feature sparsity of every block
// (spec §3.4) every epoch.
func mnist() Config {
	const (
		epochs = 20
		batch  = 128
		n      = 10000
		steps  = n / batch // drop-last batches per epoch
	)
	seeds := []uint32{1, 2, 3}
	var runs []RunSpec
	add := func(name, label string, sched train.ScheduleSpec) {
		for _, s := range seeds {
			runs = append(runs, RunSpec{Name: fmt.Sprintf("%s-seed%d", name, s), Label: label,
				Optimizer: Optimizer{Kind: "sgd_epochs", Batch: batch, Seed: s}, Schedule: sched, ModelSeed: &s})
		}
	}
	add("small", "η=0.02", train.ScheduleSpec{Kind: "constant", LR: 0.02})
	for _, p := range []float64{0.1, 0.3, 0.5} {
		add(fmt.Sprintf("decay-%.0f", 100*p), fmt.Sprintf("η=0.1·1.01^(100t/E), ÷10 at %.0f %%", 100*p),
			train.ScheduleSpec{Kind: "deep_piecewise", LR: 0.1, P: p, WarmupFactor: 1, WarmupExp: 1.01, Epochs: epochs, StepsPerEpoch: steps})
	}
	blocks := []string{"feature_sparsity_block1", "feature_sparsity_block2"}
	panels := []PanelSpec{
		{Metric: "train_loss", Title: "train loss", YLabel: "cross-entropy", LogY: true},
		{Metric: "test_error", Title: "test error", YLabel: "fraction"},
	}
	for i, b := range blocks {
		panels = append(panels, PanelSpec{Metric: b, Title: fmt.Sprintf("feature sparsity, block %d", i+1), YLabel: "fraction"})
	}
	return Config{
		Name: "mnist",
		Description: "CPU stand-in for E7–E9 (C7): a CNN on 10 000 MNIST images, SGD batch 128, η=0.02 constant " +
			"and η=0.1 warmed up exponentially, ÷10 at 10/30/50 % of 20 epochs (then ÷10 at 90 %), three seeds each; block-wise feature sparsity",
		Data:       Data("mnist", &data.MNIST{NTrain: n}),
		Model:      Model("cnn", &models.CNNSpec{Input: []int{1, 28, 28}, Classes: 10, Channels: []int{16, 32}}),
		Loss:       graph.SoftmaxCE,
		Iterations: epochs * steps,
		Grid:       train.Grid{Kind: "every", T: epochs * steps, Every: steps, Final: true},
		Metrics:    append([]string{"train_loss", "test_loss", "test_error"}, blocks...),
		Features:   metric.FeatureOptions{Examples: 2048, Threshold: 0.95, Units: 1000},
		EvalBatch:  500,
		Runs:       runs,
		Figures: []FigureSpec{{
			File:   "mnist.png",
			Title:  "MNIST stand-in for the deep nets (C7): mean of three seeds per setting",
			XAxis:  "epoch",
			Panels: panels,
		}},
	}
}
