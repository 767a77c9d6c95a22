// Package bench defines sgdlab's speed workloads: the paper-shaped
// training steps and runs that the Go benchmarks (go test -bench . ./bench)
// and `sgdlab bench` time, and that compare.sh sets side by side with the
// numpy and PyTorch peers in ../shared/bench. Speed is stated as a ratio
// to a peer measured in the same script, never as a threshold in a test.
package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"

	"sgdlab/data"
	"sgdlab/experiment"
	"sgdlab/graph"
	"sgdlab/internal/gemm"
	"sgdlab/internal/svd"
	"sgdlab/models"
	"sgdlab/train"
)

// Workload is one measured task.
type Workload struct {
	Name string // identifier, e.g. "dln-step"
	// Unit is what one repetition does: "step" (one SGD update) or "run".
	Unit string
	// Peer names the reference it is compared with in compare.sh.
	Peer string
	// Threads, if positive, is the GOMAXPROCS the workload runs under;
	// 0 keeps the process's.
	Threads int
	// Flops is the floating-point operations of one unit where they are
	// fixed (the products and the FMA probe), 0 otherwise.
	Flops float64
	// Setup builds the workload (not timed) and returns a function that
	// performs n units.
	Setup func() (func(n int) error, error)
}

// All returns the workloads in table order.
func All() []Workload {
	return append([]Workload{
		{Name: "dln-step", Unit: "step", Peer: "dln_numpy.py", Setup: DLNStep},
		{Name: "e1", Unit: "run", Peer: "e1_numpy.py", Setup: E1},
		{Name: "teacher-student", Unit: "step", Peer: "torch_bench.py tiny", Setup: TeacherStudent},
		{Name: "dln-ensemble", Unit: "run", Peer: "dln_ensemble_numpy.py", Setup: DLNEnsemble},
		{Name: "dln-ens-1thread", Unit: "run", Peer: "dln_ensemble_numpy.py", Threads: 1, Setup: DLNEnsemble},
		{Name: "dln-separate", Unit: "run", Peer: "dln_ensemble_numpy.py", Setup: DLNSeparate},
		{Name: "mlp", Unit: "step", Peer: "torch_bench.py mlp (2 threads)", Threads: 2, Setup: MLP},
		{Name: "mlp-1thread", Unit: "step", Peer: "torch_bench.py mlp (1 thread)", Threads: 1, Setup: MLP},
		{Name: "e1-rank", Unit: "run", Peer: "e1_rank_numpy.py", Setup: E1Rank},
		{Name: "svd", Unit: "svd", Peer: "kernels_peer.py svd", Setup: SVD},
		{Name: "cnn-step", Unit: "step", Peer: "deepnet_peer.py cnn (1 thread)", Threads: 1, Setup: CNNStep},
		{Name: "resnet-tiny-step", Unit: "step", Peer: "deepnet_peer.py resnet_tiny (1 thread)", Threads: 1, Setup: ResNetTinyStep},
		{Name: "fma-peak", Unit: "probe", Peer: "the products' bound (compare.sh gemm)", Threads: 1, Flops: peakRounds * gemm.PeakFlops, Setup: FMAPeak},
	}, gemmWorkloads()...)
}

// peakRounds is the number of rounds of gemm.FMAPeak in one unit of the
// fma-peak workload: 192 Mflop, about 2 ms.
const peakRounds = 1 << 20

// FMAPeak runs peakRounds rounds of gemm.FMAPeak per unit: its GFLOP/s on
// one thread is this core's AVX2 FMA peak. Without AVX2 it is an error,
// as the pure-Go reference would measure nothing of the kind.
func FMAPeak() (func(n int) error, error) {
	var acc [gemm.PeakLanes]float32
	if !gemm.FMAPeak(0, &acc, 1, 0) {
		return nil, errors.New("fma-peak: this CPU has no AVX2 with FMA")
	}
	return func(n int) error {
		for range n {
			// acc ← acc/2 + 1 stays near 2: no overflow or denormals,
			// whose handling could slow the units.
			gemm.FMAPeak(peakRounds, &acc, 0.5, 1)
		}
		return nil
	}, nil
}

// GemmShapes are the float32 products of a training step of the MLP
// workload (784-256-256-10, batch 128), C (m×n) = op(A) (m×k) · op(B)
// (k×n): the forward product of each hidden layer and both backward
// ones, dX = dY·Wᵀ and dW = Xᵀ·dY.
var GemmShapes = []struct {
	Name    string
	M, N, K int
	TA, TB  bool
}{
	{"gemm-fwd1", 128, 256, 784, false, false},
	{"gemm-dx1", 128, 784, 256, false, true},
	{"gemm-dw1", 784, 256, 128, true, false},
	{"gemm-fwd2", 128, 256, 256, false, false},
	{"gemm-dx2", 128, 256, 256, false, true},
	{"gemm-dw2", 256, 256, 128, true, false},
}

// gemmWorkloads is one single-threaded workload per GemmShapes entry.
func gemmWorkloads() []Workload {
	var ws []Workload
	for _, s := range GemmShapes {
		ws = append(ws, Workload{Name: s.Name, Unit: "product", Peer: "kernels_peer.py gemm (1 thread)", Threads: 1, Flops: 2 * float64(s.M*s.N*s.K),
			Setup: func() (func(n int) error, error) { return GemmProduct[float32](s.M, s.N, s.K, s.TA, s.TB), nil }})
	}
	return ws
}

// Lookup returns the workload called name.
func Lookup(name string) (Workload, error) {
	for _, w := range All() {
		if w.Name == name {
			return w, nil
		}
	}
	var names []string
	for _, w := range All() {
		names = append(names, w.Name)
	}
	return Workload{}, fmt.Errorf("unknown workload %q (valid: %s)", name, strings.Join(names, ", "))
}

// sgdSteps returns a function performing n SGD steps of prog on s with a
// constant step size lr, drawing batch-1 examples as train.Run does.
func sgdSteps(prog *graph.Program, s data.Set, lr float64, seed uint32) func(n int) error {
	sampler := train.NewUniform(s.N, seed)
	idx := make([]int, 1)
	y := make([]float64, 1)
	return func(n int) error {
		for i := 0; i < n; i++ {
			sampler.Next(idx)
			y[0] = s.Y[idx[0]]
			if _, err := prog.Run(s.Row(idx[0]), y); err != nil {
				return err
			}
			prog.Descend(lr)
		}
		return nil
	}
}

// DLNStep is an E1 SGD step: the diagonal linear network with d = 200 on
// the E1 data (n = 80), batch 1, float64, η = 0.25 from u = 0.1·1, v = 0,
// an example drawn by numpy's randint — what dln_numpy.py times.
func DLNStep() (func(n int) error, error) {
	train, _, _, err := data.SparseRegression{N: 80, D: 200, R: 20, Seed: 0}.Generate()
	if err != nil {
		return nil, err
	}
	m := models.NewDLN(200)
	m.InitConst(0.1)
	prog, err := graph.Compile(m, graph.HalfMSE, 1)
	if err != nil {
		return nil, err
	}
	return sgdSteps(prog, train, 0.25, 1), nil
}

// The sweep of the ensemble workloads: EnsembleRuns DLN runs of
// EnsembleSteps SGD steps each, as bench/dln_ensemble_numpy.py.
const (
	EnsembleRuns  = 64
	EnsembleSteps = 10000
)

// ensembleSweep returns the data of the ensemble workloads (the E1 data,
// n = 80, d = 200) and, for run k, its step size 0.05 + 0.2·k/63 and
// index seed k+1: a sweep of converging step sizes.
func ensembleSweep() (data.Set, func(k int) (float64, uint32), error) {
	tr, _, _, err := data.SparseRegression{N: 80, D: 200, R: 20, Seed: 0}.Generate()
	if err != nil {
		return data.Set{}, nil, err
	}
	return tr, func(k int) (float64, uint32) {
		return 0.05 + 0.2*float64(k)/float64(EnsembleRuns-1), uint32(k + 1)
	}, nil
}

// DLNEnsemble trains the sweep (EnsembleRuns DLN runs of EnsembleSteps
// SGD steps, batch 1, float64, from u = 0.1·1, v = 0, no metrics) once per
// unit as train.Ensembles: GOMAXPROCS ensembles of consecutive runs, one
// graph per core, each on its own goroutine (with one thread, one graph of
// all the runs).
func DLNEnsemble() (func(n int) error, error) {
	tr, run, err := ensembleSweep()
	if err != nil {
		return nil, err
	}
	return func(n int) error {
		for range n {
			shards := min(runtime.GOMAXPROCS(0), EnsembleRuns)
			errs := make([]error, shards)
			var wg sync.WaitGroup
			for s := range shards {
				wg.Add(1)
				go func() {
					defer wg.Done()
					lo, hi := s*EnsembleRuns/shards, (s+1)*EnsembleRuns/shards
					mems := make([]train.Member, hi-lo)
					for k := range mems {
						lr, seed := run(lo + k)
						m := models.NewDLN(tr.D)
						m.InitConst(0.1)
						mems[k] = train.Member{Model: m, Sampler: train.NewUniform(tr.N, seed), Schedule: train.Constant{LR: lr}}
					}
					e := train.Ensemble{Model: models.NewDLNEnsemble(len(mems), tr.D), Members: mems, Loss: graph.HalfMSE,
						Data: tr, Batch: 1, Iterations: EnsembleSteps}
					_, errs[s] = e.Train(context.Background())
				}()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// DLNSeparate trains the same sweep as DLNEnsemble once per unit as
// separate train.Run runs, GOMAXPROCS at a time (as experiment.Train
// trains the runs of a Config): the alternative an ensemble must beat.
func DLNSeparate() (func(n int) error, error) {
	tr, run, err := ensembleSweep()
	if err != nil {
		return nil, err
	}
	return func(n int) error {
		for range n {
			jobs := make(chan int)
			errs := make(chan error, EnsembleRuns)
			var wg sync.WaitGroup
			for range runtime.GOMAXPROCS(0) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := range jobs {
						lr, seed := run(k)
						m := models.NewDLN(tr.D)
						m.InitConst(0.1)
						_, err := train.Run{Model: m, Loss: graph.HalfMSE, Data: tr, Batch: 1, Sampler: train.NewUniform(tr.N, seed),
							Schedule: train.Constant{LR: lr}, Iterations: EnsembleSteps}.Train(context.Background())
						errs <- err
					}
				}()
			}
			for k := range EnsembleRuns {
				jobs <- k
			}
			close(jobs)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					return err
				}
			}
		}
		return nil
	}, nil
}

// E1Config is the dln-sgd experiment without the rank metric (and its
// panel), which the peer e1_numpy.py does not compute either: 4 runs of
// 100 001 steps, train and test loss on the 348-point grid.
func E1Config() (experiment.Config, error) {
	c, err := experiment.Lookup("dln-sgd")
	if err != nil {
		return c, err
	}
	c.Metrics = slices.DeleteFunc(slices.Clone(c.Metrics), func(m string) bool { return m == "rank" })
	for i := range c.Figures {
		f := &c.Figures[i]
		f.Panels = slices.DeleteFunc(slices.Clone(f.Panels), func(p experiment.PanelSpec) bool { return p.Metric == "rank" })
	}
	return c, nil
}

// E1RankConfig is the dln-sgd experiment with the losses and the rank of
// the 400×400 Jacobian at every grid point, the work of `sgdlab reproduce
// dln-sgd` that the peer e1_rank_numpy.py does too (not the sharpness,
// norms and balancedness).
func E1RankConfig() (experiment.Config, error) {
	c, err := experiment.Lookup("dln-sgd")
	if err != nil {
		return c, err
	}
	keep := []string{"train_loss", "test_loss", "rank"}
	c.Metrics = keep
	for i := range c.Figures {
		f := &c.Figures[i]
		f.Panels = slices.DeleteFunc(slices.Clone(f.Panels), func(p experiment.PanelSpec) bool { return !slices.Contains(keep, p.Metric) })
	}
	return c, nil
}

// E1Rank trains E1RankConfig once per unit, with the default number of
// workers.
func E1Rank() (func(n int) error, error) {
	c, err := E1RankConfig()
	if err != nil {
		return nil, err
	}
	return train1(c), nil
}

// E1 trains the whole E1 figure (E1Config) once per unit, with the
// default number of workers, as `sgdlab reproduce` does.
func E1() (func(n int) error, error) {
	c, err := E1Config()
	if err != nil {
		return nil, err
	}
	return train1(c), nil
}

// train1 trains c once per unit, with the default number of workers.
func train1(c experiment.Config) func(n int) error {
	return func(n int) error {
		for i := 0; i < n; i++ {
			if _, err := experiment.Train(context.Background(), c, experiment.Options{}); err != nil {
				return err
			}
		}
		return nil
	}
}

// GemmProduct returns a function computing its argument's number of
// products C = op(A)·op(B) of shape (m, n, k) on uniform operands, with
// the BLAS installed in gonum's blas32 or blas64 (sgdlab's kernels).
func GemmProduct[T float32 | float64](m, n, k int, tA, tB bool) func(int) error {
	r := rand.New(rand.NewPCG(4, 5))
	a, b, c := uniform[T](r, m*k), uniform[T](r, k*n), make([]T, m*n)
	ta, lda := blas.NoTrans, k
	if tA {
		ta, lda = blas.Trans, m
	}
	tb, ldb := blas.NoTrans, n
	if tB {
		tb, ldb = blas.Trans, k
	}
	return func(reps int) error {
		for range reps {
			switch a := any(a).(type) {
			case []float32:
				blas32.Implementation().Sgemm(ta, tb, m, n, k, 1, a, lda, any(b).([]float32), ldb, 0, any(c).([]float32), n)
			case []float64:
				blas64.Implementation().Dgemm(ta, tb, m, n, k, 1, a, lda, any(b).([]float64), ldb, 0, any(c).([]float64), n)
			}
		}
		return nil
	}
}

func uniform[T float32 | float64](r *rand.Rand, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(2*r.Float64() - 1)
	}
	return s
}

// SVD computes the singular values (no vectors) of a uniform 400×400
// matrix, the rank metric's Jacobian size, once per unit as the rank
// metric does (internal/svd: mat.SVD's values, bit for bit, on sgdlab's
// BLAS), on a fresh copy of the matrix each time, as numpy's svd copies
// its input.
func SVD() (func(n int) error, error) {
	r := rand.New(rand.NewPCG(6, 7))
	a0 := make([]float64, 400*400)
	for i := range a0 {
		a0[i] = 2*r.Float64() - 1
	}
	a := make([]float64, len(a0))
	var w svd.Work
	return func(n int) error {
		for range n {
			copy(a, a0)
			if _, err := w.Values(400, 400, a, 400); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// TeacherStudent is an SGD step of the student of the two-layer
// teacher–student benchmark: d = 2, m = 20 ReLU neurons, no biases, output
// a·relu(Wx), MSE, batch 1, float32 (as the PyTorch peer), η = 0.13, on 15
// points of the unit circle with Gaussian targets.
func TeacherStudent() (func(n int) error, error) {
	r := rand.New(rand.NewPCG(0, 1))
	s := data.Set{N: 15, D: 2, X: make([]float64, 30), Y: make([]float64, 15)}
	for i := 0; i < s.N; i++ {
		a, b := r.NormFloat64(), r.NormFloat64()
		n := math.Hypot(a, b)
		s.X[2*i], s.X[2*i+1] = a/n, b/n
		s.Y[i] = r.NormFloat64()
	}
	m := models.NewTwoLayer(graph.Float32, 2, 20)
	m.InitScaled(0.5, r)
	prog, err := graph.Compile(m, graph.MSE, 1)
	if err != nil {
		return nil, err
	}
	return sgdSteps(prog, s, 0.13, 2), nil
}

// MLP is a training step of an MNIST-shaped MLP 784-256-256-10 with
// biases, softmax cross-entropy, batch 128, float32, η = 0.1, on a fixed
// Gaussian batch with random labels (as the PyTorch peer).
func MLP() (func(n int) error, error) {
	const batch = 128
	r := rand.New(rand.NewPCG(2, 3))
	m := models.NewMLP(graph.Float32, true, 784, 256, 256, 10)
	m.InitHe(r)
	prog, err := graph.Compile(m, graph.SoftmaxCE, batch)
	if err != nil {
		return nil, err
	}
	x := make([]float64, batch*784)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	y := make([]float64, batch*10)
	for i := 0; i < batch; i++ {
		y[i*10+r.IntN(10)] = 1
	}
	return func(n int) error {
		for i := 0; i < n; i++ {
			if _, err := prog.Run(x, y); err != nil {
				return err
			}
			prog.Descend(0.1)
		}
		return nil
	}, nil
}

// CNNStep is a training step of the "cnn" model kind on MNIST shapes
// (1×28×28, conv blocks of 16 and 32 channels, 10 classes), softmax
// cross-entropy, batch 128, float32, η = 0.01, on a fixed batch of
// uniform images with random labels, as bench/deepnet_peer.py.
func CNNStep() (func(n int) error, error) {
	return imageSteps(models.NewCNN(graph.Float32, [3]int{1, 28, 28}, []int{16, 32}, 3, 10, false, 0))
}

// ResNetTinyStep is a training step of resnet_tiny (the pre-activation
// ResNet with one block per stage) of width 16 on CIFAR shapes
// (3×32×32, 10 classes), batch 128, float32, as bench/deepnet_peer.py.
func ResNetTinyStep() (func(n int) error, error) {
	return imageSteps(models.NewResNet(graph.Float32, [3]int{3, 32, 32}, 16, []int{1, 1, 1, 1}, 10, 0))
}

// imageSteps returns n SGD steps of m on one batch of 128 uniform images
// with random labels among 10 classes.
func imageSteps(m graph.Model) (func(n int) error, error) {
	const batch, classes = 128, 10
	prog, err := graph.Compile(m, graph.SoftmaxCE, batch)
	if err != nil {
		return nil, err
	}
	in := 1
	for _, d := range m.Input() {
		in *= d
	}
	r := rand.New(rand.NewPCG(4, 5))
	x := make([]float64, batch*in)
	for i := range x {
		x[i] = r.Float64()
	}
	y := make([]float64, batch*classes)
	for i := 0; i < batch; i++ {
		y[i*classes+r.IntN(classes)] = 1
	}
	return func(n int) error {
		for i := 0; i < n; i++ {
			if _, err := prog.Run(x, y); err != nil {
				return err
			}
			prog.Descend(0.01)
		}
		return nil
	}, nil
}

// Result is the measurement of one workload.
type Result struct {
	Name   string
	Unit   string
	Units  int           // units timed
	PerOp  time.Duration // wall time per unit
	Allocs float64       // heap allocations per unit
	Bytes  float64       // heap bytes allocated per unit
	// GFLOPS is the rate of floating-point operations in 10⁹/s, 0 for
	// workloads of no fixed count.
	GFLOPS float64
}

// Measure sets w up, warms it up with one unit, then times units until at
// least minTime has passed (at least one unit), under w.Threads.
func Measure(w Workload, minTime time.Duration) (Result, error) {
	if w.Threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(w.Threads))
	}
	do, err := w.Setup()
	if err != nil {
		return Result{}, fmt.Errorf("bench %s: %w", w.Name, err)
	}
	if err := do(1); err != nil {
		return Result{}, fmt.Errorf("bench %s: %w", w.Name, err)
	}
	res := Result{Name: w.Name, Unit: w.Unit}
	var before, after runtime.MemStats
	n := 1
	var elapsed time.Duration
	for {
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		if err := do(n); err != nil {
			return Result{}, fmt.Errorf("bench %s: %w", w.Name, err)
		}
		elapsed = time.Since(start)
		runtime.ReadMemStats(&after)
		if elapsed >= minTime {
			break
		}
		// Aim for 1.2·minTime in one go, growing at most 100-fold.
		next := int(float64(n) * 1.2 * float64(minTime) / float64(max(elapsed, time.Microsecond)))
		n = min(max(next, n+1), 100*n)
	}
	res.Units = n
	res.PerOp = elapsed / time.Duration(n)
	res.Allocs = float64(after.Mallocs-before.Mallocs) / float64(n)
	res.Bytes = float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
	res.GFLOPS = w.Flops * float64(n) / elapsed.Seconds() / 1e9
	return res, nil
}
