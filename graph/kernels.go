package graph

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unsafe"

	"github.com/chewxy/math32"
	"gonum.org/v1/gonum/blas"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// This file holds the native kernels of the executor. Each reproduces the
// arithmetic of the Gorgonia v0.9.18 / tensor v0.9.24 operation it
// replaces, in the same order, so results are bit-identical to the
// TapeMachine's (TestExecutorMatchesTapeMachine); the file names the
// Gorgonia code each one mirrors. Gorgonia's operation types are
// unexported, so they are recognised by their Go type name and String,
// which this pinned version fixes; anything not recognised here runs
// through Gorgonia's generic path.

// float is the element type of a native kernel.
type float interface{ float32 | float64 }

// operand is the memory of a fixed value: a scalar or a row-major tensor.
type operand[T float] struct {
	s     *T
	d     []T
	shape tensor.Shape
}

// memOf returns the memory behind v: a scalar (*F64, *F32) or a plain
// row-major tensor of element type T. Views, transposed tensors and other
// types report !ok.
func memOf[T float](v gorgonia.Value) (s *T, d []T, ok bool) {
	switch x := v.(type) {
	case *gorgonia.F64:
		s, ok = any((*float64)(x)).(*T)
		return s, nil, ok
	case *gorgonia.F32:
		s, ok = any((*float32)(x)).(*T)
		return s, nil, ok
	case *tensor.Dense:
		if x.IsMaterializable() || x.Shape().IsScalar() || !x.DataOrder().IsRowMajor() {
			return nil, nil, false
		}
		d, ok = x.Data().([]T)
		if !ok || len(d) < x.Shape().TotalSize() {
			return nil, nil, false
		}
		return nil, d[:x.Shape().TotalSize()], true
	}
	return nil, nil, false
}

// newOut allocates the output of a node of shape sh: a Gorgonia scalar for
// shape (), a tensor otherwise.
func newOut[T float](sh tensor.Shape) (v gorgonia.Value, s *T, d []T) {
	if sh.IsScalar() {
		var z T
		switch any(z).(type) {
		case float64:
			f := gorgonia.NewF64(0)
			return f, any((*float64)(f)).(*T), nil
		default:
			f := gorgonia.NewF32(0)
			return f, any((*float32)(f)).(*T), nil
		}
	}
	d = make([]T, sh.TotalSize())
	return tensor.New(tensor.WithShape(sh.Clone()...), tensor.WithBacking(d)), nil, d
}

// native returns the output value of n and the kernel that computes it
// (nil if the value needs no computation, as for a reshape view), or
// !ok if n has no native kernel.
func native[T float](e *executor, n *Node, cs []*Node, in []int) (gorgonia.Value, func() error, bool) {
	ops := make([]operand[T], len(in))
	for j, k := range in {
		s, d, ok := memOf[T](e.vals[k])
		if !ok {
			return nil, nil, false
		}
		ops[j] = operand[T]{s: s, d: d, shape: cs[j].Shape()}
		if s == nil && ops[j].shape.TotalSize() != len(d) {
			return nil, nil, false
		}
	}
	str := n.Op().String()
	var run func()
	var v gorgonia.Value
	var ok bool
	if op, isOwn := n.Op().(ownOp); isOwn {
		v, run, ok = ownKernel(op, n.Shape(), ops)
	} else {
		v, run, ok = gorgoniaKernel(n, str, ops)
	}
	if !ok {
		return nil, nil, false
	}
	if run == nil {
		return v, nil, true
	}
	return v, func() error { run(); return nil }, true
}

// gorgoniaKernel returns the native kernel of a Gorgonia operation (or
// of batchedMatVec), recognised by its type name.
func gorgoniaKernel[T float](n *Node, str string, ops []operand[T]) (v gorgonia.Value, run func(), ok bool) {
	switch op := n.Op(); fmt.Sprintf("%T", op) {
	case "graph.batchedMatVec":
		v, run, ok = batchedKernel(op.(batchedMatVec), n.Shape(), ops)
	case "gorgonia.elemBinOp":
		v, run, ok = elemBin(n.Shape(), str, ops)
	case "gorgonia.elemUnaryOp":
		v, run, ok = elemUnary(n.Shape(), str, ops)
	case "gorgonia.sumOp":
		v, run, ok = reduction(n.Shape(), strings.TrimPrefix(str, "Σ"), false, ops)
	case "*gorgonia.maxOp":
		v, run, ok = reduction(n.Shape(), strings.TrimPrefix(str, "MaxAlong"), true, ops)
	case "gorgonia.reshapeOp":
		v, run, ok = reshape(n.Shape(), ops)
	case "*gorgonia.repeatOp":
		v, run, ok = repeat(n.Shape(), ops)
	case "gorgonia.linAlgBinOp":
		v, run, ok = linAlg(n.Shape(), str, ops)
	}
	return v, run, ok
}

// elemBin mirrors elemBinOp.Do: tensor.Add/Sub/Mul/Div (vecf64/vecf32
// loops), their scalar-tensor forms, the comparisons with retSame (1 or 0
// in the input type), and Gorgonia's scalar-scalar arithmetic.
func elemBin[T float](sh tensor.Shape, str string, ops []operand[T]) (gorgonia.Value, func(), bool) {
	f := strings.Fields(str)
	if len(ops) != 2 || len(f) != 2 {
		return nil, nil, false
	}
	sym, same := f[0], f[1] == "true"
	switch sym {
	case "+", "-", "⊙", "÷":
	case "<", ">", "<=", ">=", "==", "!=":
		if !same {
			return nil, nil, false // boolean result
		}
	default:
		return nil, nil, false
	}
	a, b := ops[0], ops[1]
	v, os, o := newOut[T](sh)
	switch {
	case a.s != nil && b.s != nil:
		if os == nil {
			return nil, nil, false
		}
		x, y := a.s, b.s
		switch sym {
		case "+":
			return v, func() { *os = *x + *y }, true
		case "-":
			return v, func() { *os = *x - *y }, true
		case "⊙":
			return v, func() { *os = *x * *y }, true
		case "÷":
			return v, func() { *os = *x / *y }, true
		}
		return nil, nil, false
	case a.s == nil && b.s == nil:
		if o == nil || len(a.d) != len(o) || len(b.d) != len(o) {
			return nil, nil, false
		}
		return v, binTT(sym, o, a.d, b.d), true
	case a.s != nil:
		if o == nil || len(b.d) != len(o) {
			return nil, nil, false
		}
		return v, binST(sym, o, a.s, b.d), true
	default:
		if o == nil || len(a.d) != len(o) {
			return nil, nil, false
		}
		return v, binTS(sym, o, a.d, b.s), true
	}
}

func binTT[T float](sym string, o, a, b []T) func() {
	switch sym {
	case "+":
		return func() {
			a, b := a[:len(o)], b[:len(o)] // no bounds checks in the loop
			for i := range o {
				o[i] = a[i] + b[i]
			}
		}
	case "-":
		return func() {
			a, b := a[:len(o)], b[:len(o)] // no bounds checks in the loop
			for i := range o {
				o[i] = a[i] - b[i]
			}
		}
	case "⊙":
		return func() {
			a, b := a[:len(o)], b[:len(o)] // no bounds checks in the loop
			for i := range o {
				o[i] = a[i] * b[i]
			}
		}
	case "÷":
		return func() {
			a, b := a[:len(o)], b[:len(o)] // no bounds checks in the loop
			for i := range o {
				o[i] = a[i] / b[i]
			}
		}
	}
	return compare(sym, o, a, 1, b, 1)
}

func binST[T float](sym string, o []T, a *T, b []T) func() {
	switch sym {
	case "+":
		return func() {
			x := *a
			for i := range o {
				o[i] = x + b[i]
			}
		}
	case "-":
		return func() {
			x := *a
			for i := range o {
				o[i] = x - b[i]
			}
		}
	case "⊙":
		return func() {
			x := *a
			for i := range o {
				o[i] = x * b[i]
			}
		}
	case "÷":
		return func() {
			x := *a
			for i := range o {
				o[i] = x / b[i]
			}
		}
	}
	return compare(sym, o, unsafe.Slice(a, 1), 0, b, 1)
}

func binTS[T float](sym string, o, a []T, b *T) func() {
	switch sym {
	case "+":
		return func() {
			y := *b
			for i := range o {
				o[i] = a[i] + y
			}
		}
	case "-":
		return func() {
			y := *b
			for i := range o {
				o[i] = a[i] - y
			}
		}
	case "⊙":
		return func() {
			y := *b
			for i := range o {
				o[i] = a[i] * y
			}
		}
	case "÷":
		return func() {
			y := *b
			for i := range o {
				o[i] = a[i] / y
			}
		}
	}
	return compare(sym, o, a, 1, unsafe.Slice(b, 1), 0)
}

// compare returns a kernel setting o[i] to Gorgonia's numeric result of
// the comparison sym of a[i·sa] and b[i·sb]: 1 if it holds, else 0 (a
// stride of 0 repeats a scalar). The operator is chosen once, outside the
// loop.
func compare[T float](sym string, o, a []T, sa int, b []T, sb int) func() {
	switch sym {
	case "<":
		return func() {
			for i := range o {
				o[i] = one[T](a[i*sa] < b[i*sb])
			}
		}
	case ">":
		return func() {
			for i := range o {
				o[i] = one[T](a[i*sa] > b[i*sb])
			}
		}
	case "<=":
		return func() {
			for i := range o {
				o[i] = one[T](a[i*sa] <= b[i*sb])
			}
		}
	case ">=":
		return func() {
			for i := range o {
				o[i] = one[T](a[i*sa] >= b[i*sb])
			}
		}
	case "==":
		return func() {
			for i := range o {
				o[i] = one[T](a[i*sa] == b[i*sb])
			}
		}
	}
	// "!=", the last of the comparisons elemBin lets through.
	return func() {
		for i := range o {
			o[i] = one[T](a[i*sa] != b[i*sb])
		}
	}
}

// one is 1 if r holds, else 0, without a branch (an integer the compiler
// sets from the flags): a ReLU's mask on data of random sign would
// mispredict every other element.
func one[T float](r bool) T {
	var i int
	if r {
		i = 1
	}
	return T(i)
}

// elemUnary mirrors elemUnaryOp.Do. Tensors go through tensor's StdEng
// (execution.NegF64, SquareF64, ExpF64 = math.Exp, ExpF32 = math32.Exp,
// …); scalars through Gorgonia's own functions (math.go), of which only
// neg and square are reproduced here, as the others differ from the tensor
// versions in float32.
func elemUnary[T float](sh tensor.Shape, name string, ops []operand[T]) (gorgonia.Value, func(), bool) {
	if len(ops) != 1 {
		return nil, nil, false
	}
	a := ops[0]
	v, os, o := newOut[T](sh)
	if a.s != nil {
		if os == nil {
			return nil, nil, false
		}
		x := a.s
		switch name {
		case "neg":
			return v, func() { *os = -*x }, true
		case "square":
			return v, func() { *os = *x * *x }, true
		case "softplus":
			return v, func() { *os = softplus(*x) }, true
		case "sigmoid":
			return v, func() { *os = sigmoid(*x) }, true
		}
		return nil, nil, false
	}
	if o == nil || len(a.d) != len(o) {
		return nil, nil, false
	}
	x := a.d
	var z T
	_, f32 := any(z).(float32)
	switch name {
	case "neg":
		return v, func() {
			for i := range o {
				o[i] = -x[i]
			}
		}, true
	case "square":
		return v, func() {
			for i := range o {
				o[i] = x[i] * x[i]
			}
		}, true
	case "exp":
		if f32 {
			o32, x32 := any(o).([]float32), any(x).([]float32)
			return v, func() {
				for i := range o32 {
					o32[i] = math32.Exp(x32[i])
				}
			}, true
		}
		o64, x64 := any(o).([]float64), any(x).([]float64)
		return v, func() {
			for i := range o64 {
				o64[i] = math.Exp(x64[i])
			}
		}, true
	case "ln":
		if f32 {
			o32, x32 := any(o).([]float32), any(x).([]float32)
			return v, func() {
				for i := range o32 {
					o32[i] = math32.Log(x32[i])
				}
			}, true
		}
		o64, x64 := any(o).([]float64), any(x).([]float64)
		return v, func() {
			for i := range o64 {
				o64[i] = math.Log(x64[i])
			}
		}, true
	case "softplus":
		return v, func() {
			for i := range o {
				o[i] = softplus(x[i])
			}
		}, true
	case "sigmoid":
		return v, func() {
			for i := range o {
				o[i] = sigmoid(x[i])
			}
		}, true
	case "sqrt":
		if f32 {
			o32, x32 := any(o).([]float32), any(x).([]float32)
			return v, func() {
				for i := range o32 {
					o32[i] = math32.Sqrt(x32[i])
				}
			}, true
		}
		o64, x64 := any(o).([]float64), any(x).([]float64)
		return v, func() {
			for i := range o64 {
				o64[i] = math.Sqrt(x64[i])
			}
		}, true
	case "inv":
		return v, func() {
			for i := range o {
				o[i] = 1 / x[i]
			}
		}, true
	case "tanh":
		if f32 {
			o32, x32 := any(o).([]float32), any(x).([]float32)
			return v, func() {
				for i := range o32 {
					o32[i] = math32.Tanh(x32[i])
				}
			}, true
		}
		o64, x64 := any(o).([]float64), any(x).([]float64)
		return v, func() {
			for i := range o64 {
				o64[i] = math.Tanh(x64[i])
			}
		}, true
	}
	return nil, nil, false
}

// softplus is Gorgonia's _softplusf64 / _softplusf32 (math.go), which
// its tensor and scalar paths both apply.
func softplus[T float](x T) T {
	if _, f32 := any(x).(float32); f32 {
		switch {
		case x < -103:
			return 0
		case x > 14:
			return x
		}
		return T(float32(math.Log1p(math.Exp(float64(x)))))
	}
	switch {
	case x < -708:
		return 0
	case x > 16:
		return x
	}
	return T(math.Log1p(math.Exp(float64(x))))
}

// sigmoid is Gorgonia's _sigmoidf64 / _sigmoidf32 of math_nooptim.go;
// Gorgonia built with its fastmath tag differs, which the TapeMachine test
// would report.
func sigmoid[T float](x T) T {
	if _, f32 := any(x).(float32); f32 {
		switch {
		case x < -88:
			return 0
		case x > 15:
			return 1
		}
		return T(float32(1.0 / (1.0 + math.Exp(float64(-float32(x))))))
	}
	switch {
	case x < -709:
		return 0
	case x > 19:
		return 1
	}
	return T(1.0 / (1.0 + math.Exp(-float64(x))))
}

// parseAxes reads the axes of a reduction's String, e.g. "[0 1]".
func parseAxes(s string) ([]int, bool) {
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return nil, false
	}
	var axes []int
	for _, f := range strings.Fields(s[1 : len(s)-1]) {
		a, err := strconv.Atoi(f)
		if err != nil {
			return nil, false
		}
		axes = append(axes, a)
	}
	return axes, true
}

// reduction mirrors sumOp.Do and maxOp.Do (tensor's StdEng.reduce):
// reducing every axis runs execution.SumF64 (from 0) or SliceMaxF64 (from
// the first element) over the flat data; axis 0 of a matrix copies the
// first row and folds in the others (ReduceFirst with VecAdd / VecMax);
// the last axis folds each row (ReduceLast with SumF64 / SliceMaxF64).
// Other reductions are left to Gorgonia.
func reduction[T float](sh tensor.Shape, axesStr string, isMax bool, ops []operand[T]) (gorgonia.Value, func(), bool) {
	axes, ok := parseAxes(axesStr)
	if !ok || len(ops) != 1 || ops[0].s != nil {
		return nil, nil, false
	}
	a := ops[0]
	dims := a.shape.Dims()
	all := len(axes) == 0 || len(axes) == dims
	for i, ax := range axes {
		all = all && ax == i
	}
	v, os, o := newOut[T](sh)
	x := a.d
	switch {
	case all:
		if os == nil || len(x) == 0 {
			return nil, nil, false
		}
		if isMax {
			return v, func() { *os = sliceMax(x) }, true
		}
		return v, func() { *os = sum(x) }, true
	case dims == 2 && len(axes) == 1 && axes[0] == 0:
		rows, cols := a.shape[0], a.shape[1]
		if o == nil || len(o) != cols {
			return nil, nil, false
		}
		return v, func() {
			copy(o, x[:cols])
			for r := 1; r < rows; r++ {
				row := x[r*cols : (r+1)*cols]
				if isMax {
					for j, b := range row {
						if b > o[j] {
							o[j] = b
						}
					}
				} else {
					for j, b := range row {
						o[j] += b
					}
				}
			}
		}, true
	case dims == 2 && len(axes) == 1 && axes[0] == 1:
		rows, cols := a.shape[0], a.shape[1]
		if o == nil || len(o) != rows || cols == 0 {
			return nil, nil, false
		}
		return v, func() {
			for r := range o {
				row := x[r*cols : (r+1)*cols]
				if isMax {
					o[r] = sliceMax(row)
				} else {
					o[r] = sum(row)
				}
			}
		}, true
	}
	return nil, nil, false
}

// sum is execution.SumF64: a sequential sum from +0.
func sum[T float](x []T) T {
	var s T
	for _, v := range x {
		s += v
	}
	return s
}

// sliceMax is execution.SliceMaxF64: ReduceF64(MaxF64, x[0], x[1:]...)
// with MaxF64(a, b) = a if a > b else b.
func sliceMax[T float](x []T) T {
	m := x[0]
	for _, v := range x[1:] {
		if !(m > v) {
			m = v
		}
	}
	return m
}

// reshape mirrors reshapeOp.Do: a tensor keeps its memory under the new
// shape (the TapeMachine's ShallowClone), so the output is a fixed view
// that needs no kernel; a scalar is copied into a one-element tensor.
func reshape[T float](sh tensor.Shape, ops []operand[T]) (gorgonia.Value, func(), bool) {
	if len(ops) != 1 || sh.IsScalar() {
		return nil, nil, false
	}
	a := ops[0]
	if a.s != nil {
		if sh.TotalSize() != 1 {
			return nil, nil, false
		}
		v, _, o := newOut[T](sh)
		x := a.s
		return v, func() { o[0] = *x }, true
	}
	if len(a.d) != sh.TotalSize() {
		return nil, nil, false
	}
	return tensor.New(tensor.WithShape(sh.Clone()...), tensor.WithBacking(a.d)), nil, true
}

// repeat mirrors repeatOp.Do where it broadcasts: every repeated axis of
// the input has length 1, so the output copies the input along it. The
// operands after the first are the repeat counts, which the static output
// shape already fixes.
func repeat[T float](sh tensor.Shape, ops []operand[T]) (gorgonia.Value, func(), bool) {
	if len(ops) < 1 || ops[0].s != nil {
		return nil, nil, false
	}
	a := ops[0]
	if a.shape.Dims() != sh.Dims() || sh.Dims() > 2 || sh.Dims() == 0 {
		return nil, nil, false
	}
	for i := range sh {
		if a.shape[i] != sh[i] && a.shape[i] != 1 {
			return nil, nil, false
		}
	}
	v, _, o := newOut[T](sh)
	x := a.d
	if sh.Dims() == 1 {
		if len(x) == len(o) {
			return v, func() { copy(o, x) }, true
		}
		return v, func() {
			for i := range o {
				o[i] = x[0]
			}
		}, true
	}
	rows, cols := sh[0], sh[1]
	inRows, inCols := a.shape[0], a.shape[1]
	return v, func() {
		for r := 0; r < rows; r++ {
			src := x
			if inRows > 1 {
				src = x[r*inCols : (r+1)*inCols]
			}
			dst := o[r*cols : (r+1)*cols]
			if inCols == cols {
				copy(dst, src[:cols])
				continue
			}
			s := src[0]
			for j := range dst {
				dst[j] = s
			}
		}
	}, true
}

// linAlg mirrors linAlgBinOp.Do for matrix products, matrix-vector
// products and outer products (tensor's StdEng.MatMul, MatVecMul and
// Outer): the same BLAS routine with the same transposition flags and
// leading dimensions, so the same summation order.
func linAlg[T float](sh tensor.Shape, str string, ops []operand[T]) (gorgonia.Value, func(), bool) {
	if len(ops) != 2 || ops[0].s != nil || ops[1].s != nil {
		return nil, nil, false
	}
	a, b := ops[0], ops[1]
	v, _, o := newOut[T](sh)
	if o == nil {
		return nil, nil, false
	}
	switch str {
	case "A × B", "Aᵀ × B", "A × Bᵀ", "Aᵀ × Bᵀ":
		if a.shape.Dims() != 2 || b.shape.Dims() != 2 || sh.Dims() != 2 {
			return nil, nil, false
		}
		tA, tB := blas.NoTrans, blas.NoTrans
		m, k := a.shape[0], a.shape[1]
		lda := k
		if strings.HasPrefix(str, "Aᵀ") {
			tA, m, k, lda = blas.Trans, a.shape[1], a.shape[0], a.shape[1]
		}
		kb, n := b.shape[0], b.shape[1]
		ldb := n
		if strings.HasSuffix(str, "Bᵀ") {
			tB, kb, n, ldb = blas.Trans, b.shape[1], b.shape[0], b.shape[1]
		}
		if kb != k || sh[0] != m || sh[1] != n {
			return nil, nil, false
		}
		return v, matMul(tA, tB, m, n, k, a.d, lda, b.d, ldb, o, n), true
	case "A × b", "Aᵀ × b":
		if a.shape.Dims() != 2 || b.shape.Dims() != 1 || sh.Dims() != 1 {
			return nil, nil, false
		}
		m, n := a.shape[0], a.shape[1]
		tA, rows, cols := blas.NoTrans, m, n
		if str == "Aᵀ × b" {
			tA, rows, cols = blas.Trans, n, m
		}
		if len(b.d) != cols || len(o) != rows {
			return nil, nil, false
		}
		return v, gemv(tA, m, n, a.d, b.d, o), true
	case "a ⊗ b":
		if a.shape.Dims() != 1 || b.shape.Dims() != 1 || sh.Dims() != 2 || sh[0] != len(a.d) || sh[1] != len(b.d) {
			return nil, nil, false
		}
		return v, ger(a.d, b.d, o), true
	}
	return nil, nil, false
}

// gemv computes y = op(A)·x for a row-major m×n A, as StdEng.MatVecMul.
func gemv[T float](tA blas.Transpose, m, n int, a, x, y []T) func() {
	switch a := any(a).(type) {
	case []float64:
		x, y := any(x).([]float64), any(y).([]float64)
		return func() { blasImpl.Dgemv(tA, m, n, 1, a, n, x, 1, 0, y, 1) }
	case []float32:
		x, y := any(x).([]float32), any(y).([]float32)
		return func() { blasImpl.Sgemv(tA, m, n, 1, a, n, x, 1, 0, y, 1) }
	}
	panic("unreachable")
}

// ger computes the outer product x·yᵀ into a zeroed output, as
// Dense.Outer (DGER only accumulates).
func ger[T float](x, y, out []T) func() {
	m, n := len(x), len(y)
	switch out := any(out).(type) {
	case []float64:
		x, y := any(x).([]float64), any(y).([]float64)
		return func() {
			clear(out)
			blasImpl.Dger(m, n, 1, x, 1, y, 1, out, n)
		}
	case []float32:
		x, y := any(x).([]float32), any(y).([]float32)
		return func() {
			clear(out)
			blasImpl.Sger(m, n, 1, x, 1, y, 1, out, n)
		}
	}
	panic("unreachable")
}
