package data_test

import (
	"fmt"
	"log"

	"sgdlab/data"
)

// The E1 data set of the spec. At the initialisation u = 0.1·1, v = 0 of
// the diagonal linear network, β = u⊙v = 0, so the initial train loss
// ‖Xβ − y‖²/(2n) is ‖y‖²/(2n).
func ExampleSparseRegression_Generate() {
	cfg := data.SparseRegression{N: 80, D: 200, R: 20, NTest: 1000, Seed: 0}
	train, test, thetaStar, err := cfg.Generate()
	if err != nil {
		log.Fatal(err)
	}
	var ss float64
	for _, y := range train.Y {
		ss += float64(y * y) // float64() forbids a fused multiply-add
	}
	fmt.Println(train.N, train.D, test.N, len(thetaStar))
	fmt.Println("initial loss:", ss/float64(2*train.N))
	// Output:
	// 80 200 1000 200
	// initial loss: 0.5018978218784809
}

// MNIST needs no download: its files come with a module dependency. A
// seeded subset of 1000 training and 500 test digits, as 784 pixels in
// [0, 1] and 10 one-hot targets, with 10 % of the training labels made
// wrong once.
func ExampleMNIST() {
	src := data.MNIST{NTrain: 1000, NTest: 500, Seed: 0, LabelNoise: 0.1}
	train, test, err := src.Load()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(train.N, train.D, train.K, test.N, src.ImageShape())
	// Output: 1000 784 10 500 {1 28 28}
}
