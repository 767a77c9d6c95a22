#!/usr/bin/env bash
# compare.sh: sgdlab's speed as ratios to the numpy and PyTorch peers of
# ../shared/bench, each peer script run back to back with the matching
# `sgdlab bench` workload on this machine (issue 3's targets). It installs
# nothing: it needs /usr/bin/python3 with numpy and torch (Debian:
# apt-get install -y python3-numpy python3-torch) and Go.
#
#   bash bench/compare.sh            # every row
#   bash bench/compare.sh dln e1     # some rows: dln, e1, e1rank, ensemble, tiny, mlp, gemm, svd, deepnet
#
# Each peer runs 3 times; its median is reported (per key of its JSON).
#
# SGDLAB_PEERS overrides the peer directory, SGDLAB_BENCH_TIME the minimum
# time of each sgdlab measurement (default 2s), and SGDLAB_TAGS=openblas
# builds sgdlab with OpenBLAS (needs cgo and libopenblas-dev).
#
# The peers of the ensemble, e1rank, gemm, svd and deepnet rows
# (dln_ensemble_numpy.py, e1_rank_numpy.py, kernels_peer.py,
# deepnet_peer.py) live in this directory.
#
# The peers' speed depends on the system BLAS: python3-torch alone comes
# with Debian's reference BLAS (BLAS_INFO=generic), about 15 times slower
# on the MLP row than with libopenblas0 installed. The script prints the
# BLAS numpy and PyTorch load; compare against OpenBLAS.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3
PEERS=${SGDLAB_PEERS:-../shared/bench}
if [[ ! -x $PY ]] || ! "$PY" -c 'import numpy, torch' 2>/dev/null; then
	echo "compare.sh: needs $PY with numpy and torch (apt-get install -y python3-numpy python3-torch)" >&2
	exit 1
fi
if [[ ! -f $PEERS/dln_numpy.py ]]; then
	echo "compare.sh: no peer scripts in $PEERS (set SGDLAB_PEERS)" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -tags "${SGDLAB_TAGS:-}" -o "$tmp/sgdlab" ./cmd/sgdlab
echo "peer BLAS: $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown); sgdlab tags: ${SGDLAB_TAGS:-none}" >&2

# Some machines set OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for old
# OpenBLAS builds; they slow a current numpy (and PyTorch's BLAS), so they
# are unset for the peers' commands only.
# peer runs a peer script ($1, a path) 3 times, one JSON line each.
peer() {
	local i
	for i in 1 2 3; do
		env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" "$1" "${@:2}"
	done
}
ours() { "$tmp/sgdlab" bench -json -time "${SGDLAB_BENCH_TIME:-2s}" "$@"; }

rows=("$@")
[[ ${#rows[@]} -gt 0 ]] || rows=(dln e1 e1rank ensemble tiny mlp gemm svd deepnet)
for row in "${rows[@]}"; do
	echo "measuring $row ..." >&2
	case $row in
	dln)
		peer "$PEERS/dln_numpy.py" '{"iters": 100001}' >"$tmp/dln.peer"
		ours dln-step >"$tmp/dln.ours"
		;;
	e1)
		peer "$PEERS/e1_numpy.py" >"$tmp/e1.peer"
		ours e1 >"$tmp/e1.ours"
		;;
	e1rank)
		peer bench/e1_rank_numpy.py >"$tmp/e1rank.peer"
		ours e1-rank >"$tmp/e1rank.ours"
		;;
	ensemble)
		peer bench/dln_ensemble_numpy.py >"$tmp/ensemble.peer"
		ours dln-ensemble dln-ens-1thread dln-separate >"$tmp/ensemble.ours"
		;;
	tiny)
		peer "$PEERS/torch_bench.py" tiny >"$tmp/tiny.peer"
		ours teacher-student >"$tmp/tiny.ours"
		;;
	mlp)
		peer "$PEERS/torch_bench.py" mlp >"$tmp/mlp.peer"
		# The 1-thread row again with OpenBLAS on one thread: Debian's
		# PyTorch runs its products on OpenBLAS's pthreads, which
		# torch.set_num_threads(1) leaves at one per core.
		OPENBLAS_NUM_THREADS=1 peer "$PEERS/torch_bench.py" mlp >"$tmp/mlp1.peer"
		ours mlp >"$tmp/mlp.ours"
		# OpenBLAS (SGDLAB_TAGS=openblas) runs its own threads.
		OPENBLAS_NUM_THREADS=1 ours mlp-1thread >>"$tmp/mlp.ours"
		;;
	gemm)
		peer bench/kernels_peer.py gemm >"$tmp/gemm.peer"
		# fma-peak: this core's AVX2 FMA peak, measured beside the products.
		OPENBLAS_NUM_THREADS=1 ours fma-peak gemm-fwd1 gemm-dx1 gemm-dw1 gemm-fwd2 gemm-dx2 gemm-dw2 >"$tmp/gemm.ours"
		;;
	svd)
		peer bench/kernels_peer.py svd >"$tmp/svd.peer"
		ours svd >"$tmp/svd.ours"
		;;
	deepnet)
		# One thread each: torch.set_num_threads(1) in the peer, and
		# OpenBLAS (the head's products) held to one thread as well.
		OPENBLAS_NUM_THREADS=1 peer bench/deepnet_peer.py >"$tmp/deepnet.peer"
		ours cnn-step resnet-tiny-step >"$tmp/deepnet.ours"
		;;
	*)
		echo "compare.sh: unknown row $row (rows: dln e1 e1rank ensemble tiny mlp gemm svd deepnet)" >&2
		exit 2
		;;
	esac
done

"$PY" - "$tmp" "${rows[@]}" <<'PYEOF'
import json, statistics, sys
tmp, rows = sys.argv[1], sys.argv[2:]
def load(name):
    with open(f"{tmp}/{name}") as f:
        return [json.loads(l) for l in f if l.strip()]
def median(runs):
    """The median of each numeric key (recursively) over a peer's runs."""
    first = runs[0]
    if isinstance(first, dict):
        return {k: median([r[k] for r in runs]) for k in first}
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        return statistics.median(runs)
    return first
def peer(name):
    return median(load(f"{name}.peer"))
def ours(name, key):
    return next(r for r in load(f"{name}.ours") if r["name"] == key)
out = []  # workload, peer, peer time, sgdlab time, allocs, ratio, target
notes = []  # lines printed under the table
for row in rows:
    if row == "dln":
        p, o = peer("dln"), ours("dln", "dln-step")
        out.append(("DLN step d=200 b=1 f64", "numpy", p["us_per_step"], o["ns_per_unit"] / 1e3, "µs/step", o, 1 / 5))
    elif row == "e1":
        p, o = peer("e1"), ours("e1", "e1")
        out.append(("E1 end to end, no rank", "numpy", p["seconds"], o["ns_per_unit"] / 1e9, "s/run", o, 1 / 3))
    elif row == "e1rank":
        p, o = peer("e1rank"), ours("e1rank", "e1-rank")
        # A replay run that diverged takes stand-in SVDs (equal work).
        stand = f" ({p['stand_in_svds']:.0f} stand-in SVDs)" if p["stand_in_svds"] else ""
        out.append((f"E1, losses and rank at every grid point{stand}", "numpy", p["seconds"], o["ns_per_unit"] / 1e9, "s/run", o, 0.4))
    elif row == "ensemble":
        p = peer("ensemble")
        for label, key, target in (("2 ensembles, 2 thr", "dln-ensemble", 1 / 20), ("1 ensemble, 1 thr", "dln-ens-1thread", 1 / 20),
                                   ("separate runs, 2 thr", "dln-separate", None)):
            o = ours("ensemble", key)
            out.append((f"64 DLN runs × 1e4 steps: {label}", "numpy", p["seconds"], o["ns_per_unit"] / 1e9, "s/64run", o, target))
    elif row == "tiny":
        p, o = peer("tiny"), ours("tiny", "teacher-student")
        out.append(("teacher-student d=2 m=20", "PyTorch", p["tiny_us_per_step"], o["ns_per_unit"] / 1e3, "µs/step", o, 1 / 20))
    elif row == "mlp":
        p = peer("mlp")
        # PyTorch on 2 threads can be slower than on 1 on this shared
        # 2-core machine; the row then says so.
        p1 = peer("mlp1")["mlp_b128_us_per_step_1thread"]
        slower = p["mlp_b128_us_per_step_2threads"] > p1
        for threads, key, pt, target in ((2, "mlp", p["mlp_b128_us_per_step_2threads"], 1.5), (1, "mlp-1thread", p1, 1.0)):
            o = ours("mlp", key)
            flag = " (torch slower than 1 thr)" if threads == 2 and slower else ""
            out.append((f"MLP 784-256-256-10 b=128 f32, {threads} thr{flag}", "PyTorch", pt, o["ns_per_unit"] / 1e3, "µs/step", o, target))
    elif row == "gemm":
        peak = ours("gemm", "fma-peak")["gflops"]
        # 2 FMA units × 8 float32 lanes × 2 flops a cycle.
        notes.append(f"AVX2 FMA peak of one core, measured (fma-peak): {peak:.1f} GFLOP/s, {peak / 32:.2f} GHz at 32 flops a cycle")
        for key, us in peer("gemm")["gemm_us"].items():
            o = ours("gemm", key)
            out.append((f"GEMM f32 {key[5:]} of the MLP step, 1 thr", "torch", us, o["ns_per_unit"] / 1e3, "µs/prod", o, 1.0))
            notes.append(f"  {key}: {o['gflops']:.1f} GFLOP/s, {100 * o['gflops'] / peak:.0f} % of that peak (target ≥ 60 %)")
    elif row == "svd":
        p, o = peer("svd"), ours("svd", "svd")
        out.append(("singular values 400×400 f64", "numpy", p["svd_ms"], o["ns_per_unit"] / 1e6, "ms/svd", o, 1.2))
    elif row == "deepnet":
        p = peer("deepnet")
        for label, key, pk in (("CNN 1×28×28 16-32 b=128 f32, 1 thr", "cnn-step", "cnn"),
                               ("resnet_tiny w=16 3×32×32 b=128 f32, 1 thr", "resnet-tiny-step", "resnet_tiny")):
            o = ours("deepnet", key)
            out.append((label, "PyTorch", p[pk]["ms_per_step"], o["ns_per_unit"] / 1e6, "ms/step", o, 1.5))
print(f"{'workload':48} {'peer':8} {'peer time':>12} {'sgdlab time':>12} {'unit':8} {'allocs':>7} {'ratio':>8} {'target':>8}  met")
for name, peer, pt, ot, unit, o, target in out:
    ratio = ot / pt
    if target is None:
        tgt, met = "—", ""
    else:
        inverse = round(1 / target)
        tgt = f"≤1/{inverse}" if target < 1 and abs(1 / target - inverse) < 1e-9 else f"≤{target:.3g}"
        met = "yes" if ratio <= target else "NO"
    print(f"{name:48} {peer:8} {pt:12.4g} {ot:12.4g} {unit:8} {o['allocs_per_unit']:7.3g} {ratio:8.3g} {tgt:>8}  {met}")
for line in notes:
    print(line)
PYEOF
