#!/usr/bin/env bash
# compare.sh: sgdlab's speed as ratios to the numpy and PyTorch peers of
# ../shared/bench, each peer script run back to back with the matching
# `sgdlab bench` workload on this machine (issue 3's targets). It installs
# nothing: it needs /usr/bin/python3 with numpy and torch (Debian:
# apt-get install -y python3-numpy python3-torch) and Go.
#
#   bash bench/compare.sh            # every row
#   bash bench/compare.sh dln e1     # some rows: dln, e1, ensemble, tiny, mlp
#
# SGDLAB_PEERS overrides the peer directory, SGDLAB_BENCH_TIME the minimum
# time of each sgdlab measurement (default 2s), and SGDLAB_TAGS=openblas
# builds sgdlab with OpenBLAS (needs cgo and libopenblas-dev).
#
# The ensemble row's peer, dln_ensemble_numpy.py, lives in this directory.
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
peer() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" "$PEERS/$1" "${@:2}"; }
ours() { "$tmp/sgdlab" bench -json -time "${SGDLAB_BENCH_TIME:-2s}" "$@"; }

rows=("$@")
[[ ${#rows[@]} -gt 0 ]] || rows=(dln e1 ensemble tiny mlp)
for row in "${rows[@]}"; do
	echo "measuring $row ..." >&2
	case $row in
	dln)
		peer dln_numpy.py '{"iters": 100001}' >"$tmp/dln.peer"
		ours dln-step >"$tmp/dln.ours"
		;;
	e1)
		peer e1_numpy.py >"$tmp/e1.peer"
		ours e1 >"$tmp/e1.ours"
		;;
	ensemble)
		env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" bench/dln_ensemble_numpy.py >"$tmp/ensemble.peer"
		ours dln-ensemble dln-ens-1thread dln-separate >"$tmp/ensemble.ours"
		;;
	tiny)
		peer torch_bench.py tiny >"$tmp/tiny.peer"
		ours teacher-student >"$tmp/tiny.ours"
		;;
	mlp)
		peer torch_bench.py mlp >"$tmp/mlp.peer"
		ours mlp >"$tmp/mlp.ours"
		# OpenBLAS (SGDLAB_TAGS=openblas) runs its own threads.
		OPENBLAS_NUM_THREADS=1 ours mlp-1thread >>"$tmp/mlp.ours"
		;;
	*)
		echo "compare.sh: unknown row $row (rows: dln e1 ensemble tiny mlp)" >&2
		exit 2
		;;
	esac
done

"$PY" - "$tmp" "${rows[@]}" <<'PYEOF'
import json, sys
tmp, rows = sys.argv[1], sys.argv[2:]
def load(name):
    with open(f"{tmp}/{name}") as f:
        return [json.loads(l) for l in f if l.strip()]
def ours(name, key):
    return next(r for r in load(f"{name}.ours") if r["name"] == key)
out = []  # workload, peer, peer time, sgdlab time, allocs, ratio, target
for row in rows:
    if row == "dln":
        p, o = load("dln.peer")[0], ours("dln", "dln-step")
        out.append(("DLN step d=200 b=1 f64", "numpy", p["us_per_step"], o["ns_per_unit"] / 1e3, "µs/step", o, 1 / 5))
    elif row == "e1":
        p, o = load("e1.peer")[0], ours("e1", "e1")
        out.append(("E1 end to end, no rank", "numpy", p["seconds"], o["ns_per_unit"] / 1e9, "s/run", o, 1 / 3))
    elif row == "ensemble":
        p = load("ensemble.peer")[0]
        for label, key, target in (("2 ensembles, 2 thr", "dln-ensemble", 1 / 20), ("1 ensemble, 1 thr", "dln-ens-1thread", 1 / 20),
                                   ("separate runs, 2 thr", "dln-separate", None)):
            o = ours("ensemble", key)
            out.append((f"64 DLN runs × 1e4 steps: {label}", "numpy", p["seconds"], o["ns_per_unit"] / 1e9, "s/64run", o, target))
    elif row == "tiny":
        p, o = load("tiny.peer")[0], ours("tiny", "teacher-student")
        out.append(("teacher-student d=2 m=20", "PyTorch", p["tiny_us_per_step"], o["ns_per_unit"] / 1e3, "µs/step", o, 1 / 20))
    elif row == "mlp":
        p = load("mlp.peer")[0]
        for threads, key, pk in ((2, "mlp", "mlp_b128_us_per_step_2threads"), (1, "mlp-1thread", "mlp_b128_us_per_step_1thread")):
            o = ours("mlp", key)
            out.append((f"MLP 784-256-256-10 b=128 f32, {threads} thr", "PyTorch", p[pk], o["ns_per_unit"] / 1e3, "µs/step", o, 1.5))
print(f"{'workload':48} {'peer':8} {'peer time':>12} {'sgdlab time':>12} {'unit':8} {'allocs':>7} {'ratio':>8} {'target':>8}  met")
for name, peer, pt, ot, unit, o, target in out:
    ratio = ot / pt
    if target is None:
        tgt, met = "—", ""
    else:
        tgt = f"≤{target:.3g}" if target >= 1 else f"≤1/{round(1 / target)}"
        met = "yes" if ratio <= target else "NO"
    print(f"{name:48} {peer:8} {pt:12.4g} {ot:12.4g} {unit:8} {o['allocs_per_unit']:7.3g} {ratio:8.3g} {tgt:>8}  {met}")
PYEOF
