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
// (spec §3.4) every other epoch.
func mnist() Config { return mnistConfig(20, 10000, []uint32{1, 2, 3}) }

// mnistConfig is the MNIST stand-in over the given number of epochs, on n
// training images, with each setting run once per seed.
func mnistConfig(epochs, n int, seeds []uint32) Config {
	const batch = 128
	steps := n / batch // drop-last batches per epoch
	var runs []RunSpec
	add := func(name, label string, sched train.ScheduleSpec) {
		for _, s := range seeds {
			runs = append(runs, RunSpec{Name: fmt.Sprintf("%s-seed%d", name, s), Label: label,
				Optimizer: Optimizer{Kind: "sgd_epochs", Batch: batch, Seed: s}, Schedule: sched, ModelSeed: &s})
		}
	}
	add("small", "η=0.05", train.ScheduleSpec{Kind: "constant", LR: 0.05})
	for _, p := range []float64{0.1, 0.3, 0.5} {
		add(fmt.Sprintf("decay-%.0f", 100*p), fmt.Sprintf("η=0.4·1.01^(100t/E), ÷10 at %.0f %%", 100*p),
			train.ScheduleSpec{Kind: "deep_piecewise", LR: 0.4, P: p, WarmupFactor: 1, WarmupExp: 1.01, Epochs: epochs, StepsPerEpoch: steps})
	}
	blocks := []string{"feature_sparsity_block1", "feature_sparsity_block2"}
	panels := []PanelSpec{
		{Metric: "train_loss", Title: "train loss", YLabel: "cross-entropy", LogY: true},
		{Metric: "test_error", Title: "test error", YLabel: "fraction", LogY: true},
	}
	for i, b := range blocks {
		panels = append(panels, PanelSpec{Metric: b, Title: fmt.Sprintf("feature sparsity, block %d", i+1), YLabel: "fraction"})
	}
	return Config{
		Name: "mnist",
		Description: fmt.Sprintf("CPU stand-in for E7–E9 (C7): a CNN on %d MNIST images, SGD batch 128, η=0.05 constant "+
			"and η=0.4 warmed up as 1.01^(100t/E), ÷10 at 10/30/50 %% of %d epochs (then ÷10 at 90 %%), %d seeds each; block-wise feature sparsity",
			n, epochs, len(seeds)),
		Data:       Data("mnist", &data.MNIST{NTrain: n}),
		Model:      Model("cnn", &models.CNNSpec{Input: []int{1, 28, 28}, Classes: 10, Channels: []int{16, 32}}),
		Loss:       graph.SoftmaxCE,
		Iterations: epochs * steps,
		Grid:       train.Grid{Kind: "every", T: epochs * steps, Every: 2 * steps, Final: true},
		Metrics:    append([]string{"train_loss", "test_loss", "test_error"}, blocks...),
		Features:   metric.FeatureOptions{Examples: min(2048, n), Threshold: 0.95, Units: 1000},
		EvalBatch:  500,
		Runs:       runs,
		Figures: []FigureSpec{{
			File:   "mnist.png",
			Title:  "MNIST stand-in for the deep nets (C7): a CNN, three seeds per setting",
			XAxis:  "epoch",
			Panels: panels,
		}},
	}
}

// cifarRuns are the runs of the paper's deep-net recipes on CIFAR-10
// (spec E8, E9): a small constant step size against a large one held
// for 10, 30 or 50 % of the epochs (the deep_piecewise schedules of the
// authors' train.py: the large rate, warmed up for warmupExp > 1, then
// ÷10 and ÷100 after 90 %), with the recipe's momentum, weight decay and
// augmentation.
func cifarRuns(small, large, warmupExp float64, epochs, steps int, momentum, decay float64, augment *AugmentSpec) []RunSpec {
	opt := Optimizer{Kind: "sgd_epochs", Batch: 256}
	runs := []RunSpec{{Name: "small", Label: fmt.Sprintf("η=%g", small), Optimizer: opt,
		Schedule: train.ScheduleSpec{Kind: "constant", LR: small}, Momentum: momentum, WeightDecay: decay, Augment: augment}}
	for _, p := range []float64{0.1, 0.3, 0.5} {
		runs = append(runs, RunSpec{Name: fmt.Sprintf("decay-%.0f", 100*p), Label: fmt.Sprintf("η=%g, piecewise_0%.0f", large, 10*p),
			Optimizer: opt, Momentum: momentum, WeightDecay: decay, Augment: augment,
			Schedule: train.ScheduleSpec{Kind: "deep_piecewise", LR: large, P: p, WarmupFactor: 1, WarmupExp: warmupExp, Epochs: epochs, StepsPerEpoch: steps}})
	}
	return runs
}

// cifar10 is E9, the paper's deep-net "SOTA setting" on CIFAR-10: a
// pre-activation ResNet-18 (width 64), batch 256, 100 epochs, momentum
// 0.9, weight decay 5e-4, random crops and flips; η = 0.002 constant
// against η = 0.05 decayed at 10/30/50 %. It needs the data (-data DIR)
// and, at about 1.7e16 flop a run, a fast machine.
func cifar10() Config {
	return cifarConfig("cifar10", "E9: pre-activation ResNet-18 on CIFAR-10, momentum 0.9, weight decay 5e-4, augmentation; "+
		"η=0.002 constant and η=0.05 decayed at 10/30/50 % of 100 epochs",
		cifarRuns(0.002, 0.05, 1, 100, 195, 0.9, 5e-4, &AugmentSpec{Pad: 4, Flip: true}))
}

// cifar10Plain is E8, the same net without explicit regularisation:
// no momentum, weight decay or augmentation; η = 0.01 constant against
// η = 0.75 warmed up as 1.05^(100t/E) and decayed at 10/30/50 %.
func cifar10Plain() Config {
	return cifarConfig("cifar10-plain", "E8: pre-activation ResNet-18 on CIFAR-10 without momentum, weight decay or augmentation; "+
		"η=0.01 constant and η=0.75 warmed up exponentially (q = 1.05) and decayed at 10/30/50 % of 100 epochs",
		cifarRuns(0.01, 0.75, 1.05, 100, 195, 0, 0, nil))
}

// cifarConfig is what the CIFAR-10 experiments share: the data, the net,
// the evaluation every 200 updates (and the last) as in train.py, the
// losses, the test error and the feature sparsity of blocks 1–5 on
// 10 752 training images (spec §3.4), and the figure against epochs.
func cifarConfig(name, desc string, runs []RunSpec) Config {
	const epochs, steps = 100, 50000 / 256
	blocks := []string{"feature_sparsity_block1", "feature_sparsity_block2", "feature_sparsity_block3", "feature_sparsity_block4", "feature_sparsity_block5"}
	panels := []PanelSpec{
		{Metric: "train_loss", Title: "train loss", YLabel: "cross-entropy", LogY: true},
		{Metric: "test_error", Title: "test error", YLabel: "fraction"},
	}
	for i, b := range blocks {
		panels = append(panels, PanelSpec{Metric: b, Title: fmt.Sprintf("feature sparsity, block %d", i+1), YLabel: "fraction"})
	}
	return Config{
		Name:        name,
		Description: desc,
		Data:        Data("cifar10", &data.CIFAR10{}),
		Model:       Model("resnet", &models.ResNetSpec{Input: []int{3, 32, 32}, Classes: 10, Width: 64, Blocks: []int{2, 2, 2, 2}}),
		Loss:        graph.SoftmaxCE,
		Iterations:  epochs * steps,
		Grid:        train.Grid{Kind: "every", T: epochs * steps, Every: 200, Final: true},
		Metrics:     append([]string{"train_loss", "test_loss", "test_error"}, blocks...),
		Features:    metric.FeatureOptions{Examples: 10752, Threshold: 0.95, Units: 1000},
		EvalBatch:   256,
		// A run takes days on a CPU: save its state every 1000 updates.
		CheckpointEvery: 1000,
		Runs:            runs,
		Figures: []FigureSpec{{
			File:   name + ".png",
			Title:  desc,
			XAxis:  "epoch",
			Panels: panels,
		}},
	}
}
