package plots_test

import (
	"fmt"
	"image/color"
	"log"
	"math"
	"os"
	"path/filepath"

	"sgdlab/plots"
)

// A figure of two runs, one with a step-size decay halfway, in two panels:
// the training loss on a log axis and the sparsity of the predictor.
func ExampleRow_Save() {
	var iters, lossConst, lossDecay, nnzConst, nnzDecay []float64
	for t := 0.0; t <= 10000; t += 100 {
		iters = append(iters, t)
		lossConst = append(lossConst, 0.5*math.Exp(-t/1500))
		nnzConst = append(nnzConst, 200)
		if t < 5000 {
			// Large steps: the loss bounces while features get sparse.
			lossDecay = append(lossDecay, 0.01*(1+math.Sin(t/300)))
			nnzDecay = append(nnzDecay, math.Round(70+130*math.Exp(-t/1500)))
		} else {
			lossDecay = append(lossDecay, 0.01*math.Exp(-(t-5000)/500))
			nnzDecay = append(nnzDecay, nnzDecay[len(nnzDecay)-1])
		}
	}

	row := plots.Row{
		Panels: []plots.Panel{
			{Title: "train loss", LogY: true, YMin: 1e-5, YMax: 1, Series: []plots.Series{
				{Label: "SGD η=0.25", X: iters, Y: lossConst},
				{Label: "SGD η=0.28, decay at 50 %", X: iters, Y: lossDecay},
			}},
			{Title: "‖β‖₀", Series: []plots.Series{
				{Label: "SGD η=0.25", X: iters, Y: nnzConst},
				{Label: "SGD η=0.28, decay at 50 %", X: iters, Y: nnzDecay},
			}},
		},
		Marks: []plots.Mark{{X: 5000}},
	}

	dir, err := os.MkdirTemp("", "plots-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sparsity.png")
	if err := row.Save(path); err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		log.Fatal(err)
	}
	fmt.Println("ok")
	// Output: ok
}

func ExampleRamp() {
	fmt.Println(plots.Ramp(color.White, color.Black, 3))
	// Output: [{255 255 255 255} {128 128 128 255} {0 0 0 255}]
}
