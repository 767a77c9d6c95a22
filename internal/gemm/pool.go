package gemm

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// task is a product split into parts.
type task interface{ do(part int) }

type job struct {
	t    task
	part int
	wg   *sync.WaitGroup
}

// jobs feeds the persistent workers; poolOnce starts them.
var (
	jobs     = make(chan job, 64)
	poolOnce sync.Once
)

// run computes parts 1..parts−1 of t on the pool and part 0 on the
// calling goroutine, then helps with whatever is still queued, and returns
// when all parts are done. Nothing is allocated.
func run(t task, parts int, wg *sync.WaitGroup) {
	poolOnce.Do(startWorkers)
	wg.Add(parts - 1)
	for p := 1; p < parts; p++ {
		select {
		case jobs <- job{t: t, part: p, wg: wg}:
		default:
			t.do(p)
			wg.Done()
		}
	}
	t.do(0)
	for {
		select {
		case j := <-jobs:
			j.t.do(j.part)
			j.wg.Done()
			continue
		default:
		}
		break
	}
	wg.Wait()
}

// startWorkers starts one worker per CPU beyond the caller's; they live
// for the rest of the process.
func startWorkers() {
	for range max(runtime.NumCPU(), runtime.GOMAXPROCS(0)) - 1 {
		go func() {
			for j := range jobs {
				j.t.do(j.part)
				j.wg.Done()
			}
		}()
	}
}

// free holds values of T for reuse. Unlike a sync.Pool it never drops
// what it holds (a garbage collection would, and a value put on one P is
// not found from another), so a steady state allocates nothing; unlike a
// channel it takes no lock, which two cores calling small products in a
// loop would contend for. Beyond freeSlots values in use at once, get
// allocates.
type free[T any] struct{ slots *[freeSlots]slot[T] }

const freeSlots = 16

// slot is one held value and whether it is in use, alone on its cache
// lines.
type slot[T any] struct {
	busy atomic.Bool
	_    [56]byte
	v    T
	_    [64]byte
}

func newFree[T any]() free[T] { return free[T]{slots: new([freeSlots]slot[T])} }

// get returns a value not in use, zero the first time.
func (f free[T]) get() *T {
	for i := range f.slots {
		s := &f.slots[i]
		if !s.busy.Load() && s.busy.CompareAndSwap(false, true) {
			return &s.v
		}
	}
	return new(T)
}

// put hands back p, from get.
func (f free[T]) put(p *T) {
	for i := range f.slots {
		if s := &f.slots[i]; &s.v == p {
			s.busy.Store(false)
			return
		}
	}
}
