package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestReLUMatchesRectify checks that the ReLU of non-image activations
// (reluOp with geq) gives Gorgonia's Rectify bit for bit, values and
// gradient, on inputs with +0 and −0 (where the two conventions for the
// derivative differ), in float64 and float32, on the assembly and the Go
// path.
func TestReLUMatchesRectify(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	const rows, cols = 5, 13 // 65: assembly blocks of 8 and a Go tail
	x := make([]float64, rows*cols)
	c := make([]float64, rows*cols)
	for i := range x {
		x[i] = r.NormFloat64()
		c[i] = r.NormFloat64()
	}
	for _, i := range []int{0, 9, 17, 64} {
		x[i] = 0
	}
	for _, i := range []int{3, 33, 63} {
		x[i] = math.Copysign(0, -1)
	}
	run := func(dt tensor.Dtype, rectify bool) (val, grad []float64) {
		g := gorgonia.NewGraph()
		var xv, cv tensor.Tensor
		if dt == tensor.Float32 {
			xv = tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(float32s(x)))
			cv = tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(float32s(c)))
		} else {
			xv = tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(append([]float64(nil), x...)))
			cv = tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(append([]float64(nil), c...)))
		}
		xn := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(rows, cols), gorgonia.WithName("x"), gorgonia.WithValue(xv))
		cn := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(rows, cols), gorgonia.WithName("c"), gorgonia.WithValue(cv))
		var y *gorgonia.Node
		var err error
		if rectify {
			y, err = gorgonia.Rectify(xn)
		} else {
			y, err = gorgonia.ApplyOp(newRelu(false, true, 2), xn)
		}
		if err != nil {
			t.Fatal(err)
		}
		loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(cn, y))))
		if _, err := gorgonia.Grad(loss, xn); err != nil {
			t.Fatal(err)
		}
		vm := gorgonia.NewTapeMachine(g)
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		gv, err := xn.Grad()
		if err != nil {
			t.Fatal(err)
		}
		return widenAny(y.Value().Data()), widenAny(gv.Data())
	}
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		for _, asm := range []bool{true, false} {
			saved := elemAsm
			elemAsm = asm && saved
			wantVal, wantGrad := run(dt, true)
			gotVal, gotGrad := run(dt, false)
			elemAsm = saved
			for i := range wantVal {
				if math.Float64bits(gotVal[i]) != math.Float64bits(wantVal[i]) || math.Float64bits(gotGrad[i]) != math.Float64bits(wantGrad[i]) {
					t.Fatalf("%v, assembly %v, x[%d] = %v: relu %v, gradient %v; Rectify %v, %v", dt, asm, i, x[i], gotVal[i], gotGrad[i], wantVal[i], wantGrad[i])
				}
			}
		}
	}
}

func float32s(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func widenAny(d any) []float64 {
	switch d := d.(type) {
	case []float32:
		return widen(d)
	case []float64:
		return append([]float64(nil), d...)
	}
	panic("unreachable")
}
