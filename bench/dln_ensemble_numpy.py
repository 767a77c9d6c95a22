"""numpy peer of the "dln-ensemble" workload: 64 diagonal-linear-network SGD runs of 10 000
steps each, one after another, as a numpy user sweeping seeds and step sizes would write them.

Modelled on ../shared/bench/dln_numpy.py: sparse regression n=80, d=200, r=20, beta = u*v with
u0 = alpha*1, v0 = 0, SGD batch 1. Run k uses index seed k+1 and step size
0.05 + 0.2*k/(runs-1), as sgdlab's workload does. Prints one JSON object: wall seconds for all
runs, microseconds per run-step, and the mean final train loss (a check that the runs trained).
"""
import json
import sys
import time

import numpy as np


def main(runs=64, iters=10000, n=80, d=200, r=20, alpha=0.1, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    b = rng.randn(d); b[r:] = 0; b = np.abs(b) / np.linalg.norm(b)
    y = X @ b
    finals = []
    t0 = time.perf_counter()
    for k in range(runs):
        gamma = 0.05 + 0.2 * k / (runs - 1)
        idx = np.random.RandomState(k + 1)
        u, v = alpha * np.ones(d), np.zeros(d)
        for _ in range(iters):
            i = idx.randint(n)
            e = (X[i] @ (u * v) - y[i]) * X[i]
            u, v = u - gamma * e * v, v - gamma * e * u
        finals.append(float(np.sum((X @ (u * v) - y) ** 2) / (2 * n)))
    dt = time.perf_counter() - t0
    print(json.dumps(dict(seconds=dt, runs=runs, iters=iters, us_per_run_step=dt / (runs * iters) * 1e6,
                          mean_final_train_loss=float(np.mean(finals)))))


if __name__ == "__main__":
    main(**(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}))
