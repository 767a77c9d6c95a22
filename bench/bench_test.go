package bench

import (
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// benchmark times w through the testing package, reporting allocations
// and the time per unit.
func benchmark(b *testing.B, name string) {
	w, err := Lookup(name)
	if err != nil {
		b.Fatal(err)
	}
	do, err := w.Setup()
	if err != nil {
		b.Fatal(err)
	}
	if err := do(1); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if err := do(b.N); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDLNStep: E1 SGD step, d = 200, batch 1, float64.
func BenchmarkDLNStep(b *testing.B) { benchmark(b, "dln-step") }

// BenchmarkE1: the whole E1 figure without rank, per op.
func BenchmarkE1(b *testing.B) { benchmark(b, "e1") }

// BenchmarkTeacherStudent: two-layer student d = 2, m = 20, batch 1.
func BenchmarkTeacherStudent(b *testing.B) { benchmark(b, "teacher-student") }

// BenchmarkMLP: MLP 784-256-256-10, softmax CE, batch 128, float32,
// GOMAXPROCS threads (run with -cpu 1,2 for both thread counts).
func BenchmarkMLP(b *testing.B) { benchmark(b, "mlp") }

func TestLookup(t *testing.T) {
	for _, w := range All() {
		got, err := Lookup(w.Name)
		if err != nil || got.Name != w.Name {
			t.Errorf("Lookup(%q) = %q, %v", w.Name, got.Name, err)
		}
	}
	if _, err := Lookup("resnet"); err == nil || !strings.Contains(err.Error(), `unknown workload "resnet"`) {
		t.Errorf("Lookup(resnet): error %v", err)
	}
}

// TestE1ConfigHasNoRank: the peer computes no rank, so neither may the
// workload, and the trimmed config must still be valid.
func TestE1ConfigHasNoRank(t *testing.T) {
	c, err := E1Config()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(c.Metrics, "rank") {
		t.Errorf("metrics %v still contain rank", c.Metrics)
	}
	if !slices.Contains(c.Metrics, "train_loss") || !slices.Contains(c.Metrics, "test_loss") {
		t.Errorf("metrics %v lack the losses the peer evaluates", c.Metrics)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	if len(c.Runs) != 4 || c.Iterations != 100001 {
		t.Errorf("%d runs of %d iterations, want 4 of 100001", len(c.Runs), c.Iterations)
	}
}

// TestE1RankConfig: the equal-work peer computes the losses and the rank
// at every grid point, nothing else, with the paper's Jacobian.
func TestE1RankConfig(t *testing.T) {
	c, err := E1RankConfig()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Metrics, []string{"train_loss", "test_loss", "rank"}) {
		t.Errorf("metrics %v, want the losses and rank", c.Metrics)
	}
	if c.Rank.Examples != 400 || c.Rank.Threshold != 1e-15 || c.Rank.Every != 1 {
		t.Errorf("rank options %+v, want 400 examples, threshold 1e-15, every point", c.Rank)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

// TestMeasureCountsAllocations: a workload that allocates once per unit
// must be reported as such, and one that does not as zero.
func TestMeasureCountsAllocations(t *testing.T) {
	var sink []byte
	for _, tc := range []struct {
		name string
		do   func(n int) error
		want float64
	}{
		{"alloc", func(n int) error {
			for i := 0; i < n; i++ {
				sink = make([]byte, 64+i%2)
			}
			return nil
		}, 1},
		{"none", func(n int) error { return nil }, 0},
	} {
		w := Workload{Name: tc.name, Unit: "step", Setup: func() (func(int) error, error) { return tc.do, nil }}
		// The runtime and the test framework allocate now and then on
		// other goroutines, which MemStats counts too (about one
		// measurement in ten caught some); they only add, so the least of
		// a few measurements is the workload's own count.
		least := math.Inf(1)
		for range 5 {
			r, err := Measure(w, 0)
			if err != nil {
				t.Fatal(err)
			}
			least = math.Min(least, r.Allocs)
		}
		if least != tc.want {
			t.Errorf("%s: %v allocations per unit, want %v", tc.name, least, tc.want)
		}
	}
	_ = sink
}

// TestMeasureRatesFlops checks GFLOPS against the workload's flops and
// the measured time per unit, and that a workload of no fixed count has
// no rate.
func TestMeasureRatesFlops(t *testing.T) {
	spin := func(n int) error {
		for i := 0; i < n; i++ {
			for start := time.Now(); time.Since(start) < 50*time.Microsecond; {
			}
		}
		return nil
	}
	for _, flops := range []float64{0, 1e6} {
		w := Workload{Name: "spin", Unit: "step", Flops: flops, Setup: func() (func(int) error, error) { return spin, nil }}
		r, err := Measure(w, time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		// PerOp is elapsed/n truncated to the nanosecond: ≥ 50 µs, so
		// within 1e-4 of the exact time.
		got := r.GFLOPS * 1e9 * r.PerOp.Seconds()
		if math.Abs(got-flops) > 1e-4*flops || flops == 0 && r.GFLOPS != 0 {
			t.Errorf("flops %g: %g GFLOP/s at %v per unit, %g flops a unit", flops, r.GFLOPS, r.PerOp, got)
		}
	}
}

// BenchmarkE1Rank: the E1 figure with the losses and the rank at every
// grid point, per op.
func BenchmarkE1Rank(b *testing.B) { benchmark(b, "e1-rank") }

// BenchmarkGemm: the products of a step of the MLP workload
// (GemmShapes) in float32 and float64 on one thread, in GFLOP/s; set
// SGDLAB_KERNEL to measure another kernel path.
func BenchmarkGemm(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, s := range GemmShapes {
		for _, f := range []struct {
			dtype string
			do    func(int) error
		}{
			{"float32", GemmProduct[float32](s.M, s.N, s.K, s.TA, s.TB)},
			{"float64", GemmProduct[float64](s.M, s.N, s.K, s.TA, s.TB)},
		} {
			b.Run(s.Name+"/"+f.dtype, func(b *testing.B) {
				if err := f.do(1); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				if err := f.do(b.N); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(2*float64(s.M*s.N*s.K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkSVD: singular values of a 400×400 matrix on the installed
// BLAS.
func BenchmarkSVD(b *testing.B) { benchmark(b, "svd") }

// BenchmarkDLNEnsemble: 64 DLN runs of 10⁴ steps as one ensemble per
// thread, per op (-cpu 1 for a single ensemble of 64).
func BenchmarkDLNEnsemble(b *testing.B) { benchmark(b, "dln-ensemble") }

// BenchmarkDLNSeparate: the same 64 runs as separate runs on GOMAXPROCS
// goroutines, per op.
func BenchmarkDLNSeparate(b *testing.B) { benchmark(b, "dln-separate") }

// BenchmarkCNNStep: the "cnn" kind on MNIST shapes, batch 128, float32,
// one thread (run with -cpu 1).
func BenchmarkCNNStep(b *testing.B) { benchmark(b, "cnn-step") }

// BenchmarkResNetTinyStep: resnet_tiny width 16 on CIFAR shapes, batch
// 128, float32 (run with -cpu 1).
func BenchmarkResNetTinyStep(b *testing.B) { benchmark(b, "resnet-tiny-step") }
