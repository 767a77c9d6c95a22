"""Peers of the `gemm-*` and `svd` workloads: torch.matmul on one thread
(torch.set_num_threads(1) and OPENBLAS_NUM_THREADS=1) for each product of a step of the MLP
784-256-256-10 at batch 128, float32 (as bench.GemmShapes: m×k times k×n,
transposed operands as views), and numpy's singular values
(np.linalg.svd, compute_uv=False) of a 400×400 float64 matrix with numpy's
default threads. Prints JSON: microseconds per product by workload name,
milliseconds per SVD."""
import json, os, sys, time

# One thread means one for OpenBLAS too: torch.set_num_threads does not
# bound the threads of the pthreads OpenBLAS that Debian's PyTorch calls for
# its products, and OPENBLAS_NUM_THREADS must be set before it loads.
if sys.argv[1:2] == ["gemm"]:
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
import numpy as np
import torch

# name, m, n, k, A stored transposed, B stored transposed
SHAPES = [("gemm-fwd1", 128, 256, 784, False, False), ("gemm-dx1", 128, 784, 256, False, True),
          ("gemm-dw1", 784, 256, 128, True, False), ("gemm-fwd2", 128, 256, 256, False, False),
          ("gemm-dx2", 128, 256, 256, False, True), ("gemm-dw2", 256, 256, 128, True, False)]

def timeit(f, min_time=0.5):
    f()
    n, t = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            f()
        t = time.perf_counter() - t0
        if t >= min_time:
            return t / n
        n *= 2

def gemm():
    torch.set_num_threads(1)
    out = {}
    for name, m, n, k, ta, tb in SHAPES:
        a = torch.randn(k, m).t() if ta else torch.randn(m, k)
        b = torch.randn(n, k).t() if tb else torch.randn(k, n)
        c = torch.empty(m, n)
        out[name] = timeit(lambda: torch.matmul(a, b, out=c)) * 1e6
    return out

def svd():
    a = np.random.default_rng(1).uniform(-1, 1, (400, 400))
    return timeit(lambda: np.linalg.svd(a, compute_uv=False), 1.0) * 1e3

if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    out = {}
    if which in ("all", "gemm"): out["gemm_us"] = gemm()
    if which in ("all", "svd"): out["svd_ms"] = svd()
    print(json.dumps(out))
