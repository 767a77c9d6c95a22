package models

import (
	"math/rand/v2"
	"testing"

	"sgdlab/graph"
)

// benchStep measures one float32 SGD training step (forward, softmax
// cross-entropy, backward, update, batch-norm statistics) of m on a batch
// of 128 random images of in values each; bench/deepnet_peer.py times
// the same step in PyTorch.
func benchStep(b *testing.B, m graph.Model, in int) {
	const batch = 128
	p, err := graph.Compile(m, graph.SoftmaxCE, batch)
	if err != nil {
		b.Fatal(err)
	}
	x, y := imageBatch(rand.New(rand.NewPCG(1, 2)), batch, in, 10)
	for range 2 {
		if _, err := p.Run(x, y); err != nil {
			b.Fatal(err)
		}
		p.Descend(0.01)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Run(x, y); err != nil {
			b.Fatal(err)
		}
		p.Descend(0.01)
	}
}

// BenchmarkCNNStep: the "cnn" kind on MNIST shapes (1×28×28, channels
// 16, 32, 10 classes), batch 128.
func BenchmarkCNNStep(b *testing.B) {
	benchStep(b, NewCNN(graph.Float32, [3]int{1, 28, 28}, []int{16, 32}, 3, 10, false, 0), 784)
}

// BenchmarkResNetTinyStep: resnet_tiny (blocks [1,1,1,1]) of width 16 on
// CIFAR shapes (3×32×32, 10 classes), batch 128.
func BenchmarkResNetTinyStep(b *testing.B) {
	benchStep(b, NewResNet(graph.Float32, [3]int{3, 32, 32}, 16, []int{1, 1, 1, 1}, 10, 0), 3072)
}
