"""numpy peer of the E1 figure with losses and rank at every grid point
(the `e1-rank` workload, equal work to `sgdlab reproduce dln-sgd` restricted to
train_loss, test_loss and rank): the 4 DLN SGD runs of ../shared/bench/e1_numpy.py,
and at each of the 348 grid points also rank(φ) of the 400×400 Jacobian
φ = [X∘v, X∘u] of the outputs on the first 400 test points with respect to (u, v),
from its singular values (np.linalg.svd, compute_uv=False), threshold σᵢ/σ₁ > 1e-15.
Prints wall seconds, the final losses and ranks, and for each run the first grid point
at which its parameters are no longer finite (null if never: the replay's 0.28 runs can
diverge, depending on the BLAS's rounding; sgdlab's runs, on the authors' arithmetic, do
not). A diverged run has no rank, but to keep the work equal to sgdlab's it still takes
the singular values of its last finite φ at each later grid point, discarded:
"stand_in_svds" counts them, "stand_in_seconds" and "svd_seconds" time them and the
real ones."""
import json, time
import numpy as np

def grid(T, first=100, k=250):
    return sorted(set(range(first)) | set(np.round(np.linspace(0, T, k)).astype(int)[:-1].tolist()))

def main(T=100001):
    np.random.seed(0)
    n, d, r = 80, 200, 20
    X = np.random.multivariate_normal(np.zeros(d), np.eye(d), n)
    Xt = np.random.multivariate_normal(np.zeros(d), np.eye(d), 1000)
    th = np.random.randn(d); th[r:] = 0; th = np.abs(th) / np.linalg.norm(th)
    y, yt = X @ th, Xt @ th
    J = Xt[:400]
    I = set(grid(T))
    runs = [(0.25, -1, 1.0), (0.28, int(0.1*T), 4.8), (0.28, int(0.3*T), 3.4), (0.28, int(0.5*T), 1.5)]
    t0 = time.perf_counter()
    finals, diverged, stand_ins, svd_s, stand_in_s = [], [], 0, 0.0, 0.0
    for g0, thr, dec in runs:
        np.random.seed(1)
        u, v, g = 0.1*np.ones(d), np.zeros(d), g0
        last, div, finite = None, None, None
        for i in range(T):
            if i in I:
                b = u*v
                phi = np.hstack([J*v, J*u])
                # A run that diverges in this replay (see e1_numpy.py) has no
                # rank once its parameters are no longer finite.
                rank = float("nan")
                if np.all(np.isfinite(phi)):
                    finite = phi
                    t1 = time.perf_counter()
                    s = np.linalg.svd(phi, compute_uv=False)
                    svd_s += time.perf_counter() - t1
                    rank = int(np.sum(s/s[0] > 1e-15)) if s[0] > 0 else 0
                else:
                    if div is None:
                        div = i
                    if finite is not None:
                        t1 = time.perf_counter()
                        np.linalg.svd(finite, compute_uv=False)
                        stand_in_s += time.perf_counter() - t1
                        stand_ins += 1
                last = (np.sum((X@b-y)**2)/(2*n), np.sum((Xt@b-yt)**2)/(2*1000), rank)
            k = np.random.randint(n)
            e = X[k] @ (u*v) - y[k]
            gx = e * X[k]
            u, v = u - g*gx*v, v - g*gx*u
            if i == thr:
                g /= dec
        finals.append(last)
        diverged.append(div)
    print(json.dumps({"seconds": time.perf_counter()-t0, "final_train_test_rank": finals, "diverged_at": diverged, "stand_in_svds": stand_ins,
                      "svd_seconds": svd_s, "stand_in_seconds": stand_in_s}))

if __name__ == "__main__":
    main()
