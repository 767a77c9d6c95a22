package gemm

import (
	"runtime"
	"sync"
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

// free is a free list of *T. Unlike a sync.Pool it never drops what it
// holds (a garbage collection would, and a value put on one P is not
// found from another), so a steady state allocates nothing; it holds at
// most as many values as were in use at once, up to its capacity.
type free[T any] struct{ c chan *T }

func newFree[T any]() free[T] { return free[T]{c: make(chan *T, 64)} }

// get returns a held value, or a new zero one.
func (f free[T]) get() *T {
	select {
	case p := <-f.c:
		return p
	default:
		return new(T)
	}
}

// put holds p for a later get.
func (f free[T]) put(p *T) {
	select {
	case f.c <- p:
	default:
	}
}
