#!/usr/bin/env bash
# End-to-end test of sgdlab sweeps on Slurm, for CI (as root, on a Debian
# machine without systemd): installs slurm-wlm and munge if missing, starts
# a single-node cluster (.ci/slurm/cluster.sh), builds sgdlab, submits the
# small sweep .ci/slurm/sweep.json as a 4-task array job
# (.ci/slurm/sweep.sbatch), and checks that every task ran only its own
# shard, that `sweep collect -require-all` finds every point, that
# collect.csv has one row per point and run, that a resubmission reruns
# nothing, and that a task cancelled while training (SIGTERM, as at a time
# limit) stops and leaves its point for a rerun. Everything it started is
# stopped, and its temporary directory removed, on every exit path. About
# 25 s with slurm-wlm installed and sgdlab's build cached.
# Ends with one line: SLURM TEST PASSED or SLURM TEST FAILED.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.ci/slurm/cluster.sh
source .ci/slurm/cluster.sh

TASKS=4           # array tasks, = shards
JOB_TIMEOUT=300   # seconds to wait for an array job
T0=$SECONDS
WORK=
JOBS=()
JOB=
CLUSTER_STARTED=0
STEP="setup"

fail() {
	echo "SLURM TEST FAILED: $*" >&2
	exit 1
}

cleanup() {
	local rc=$? j i
	trap - EXIT INT TERM
	set +e
	for j in "${JOBS[@]}"; do
		scancel "$j" 2>/dev/null
	done
	if [ "${#JOBS[@]}" -gt 0 ]; then
		for ((i = 0; i < 30; i++)); do
			[ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
			sleep 0.5
		done
	fi
	if [ "$rc" != 0 ]; then
		if [ -n "$WORK" ] && [ -d "$WORK/logs" ]; then
			for f in "$WORK"/logs/*; do
				[ -f "$f" ] || continue
				echo "--- $f" >&2
				tail -n 40 "$f" >&2
			done
		fi
		[ "$CLUSTER_STARTED" = 1 ] && cluster_logs
	fi
	[ "$CLUSTER_STARTED" = 1 ] && cluster_down
	[ -n "$WORK" ] && rm -rf "$WORK"
	if [ "$rc" = 0 ]; then
		echo "SLURM TEST PASSED: $NPOINTS points x $NRUNS runs in $TASKS array tasks, each its own shard; collected; resubmission skipped all; SIGTERM left the point for a rerun; $((SECONDS - T0)) s"
	else
		echo "SLURM TEST FAILED: exit $rc during $STEP, after $((SECONDS - T0)) s" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_job JOB waits up to JOB_TIMEOUT s for every task of the array job to
# end, then checks that each of the TASKS tasks completed with exit 0.
wait_job() {
	local job=$1 start=$SECONDS left records n
	while :; do
		# An squeue that fails (the controller busy) is asked again.
		if left=$(squeue -h -j "$job" -t PENDING,CONFIGURING,RUNNING,COMPLETING,SUSPENDED -o %i 2>/dev/null); then
			[ -z "$left" ] && break
			left=$(wc -l <<<"$left")
		else
			left="?"
		fi
		((SECONDS - start < JOB_TIMEOUT)) ||
			fail "array job $job: $left tasks still pending or running after $JOB_TIMEOUT s"
		sleep 1
	done
	records=$(scontrol -o show job "$job") || fail "scontrol show job $job"
	n=$(grep -c 'JobState=COMPLETED .*ExitCode=0:0' <<<"$records" || true)
	if [ "$n" != "$TASKS" ]; then
		echo "$records" | grep -oE 'ArrayTaskId=[^ ]+|JobState=[^ ]+|ExitCode=[^ ]+' | paste - - - >&2
		fail "array job $job: $n of $TASKS tasks completed with exit 0"
	fi
	cluster_log "array job $job: $TASKS tasks completed in $((SECONDS - start)) s"
}

# sbatch_sweep NAME TASKS SWEEP OUT submits the sweep file SWEEP as an
# array job of TASKS tasks writing to OUT, logs in $WORK/logs/NAME-TASK.log,
# and sets JOB to its ID.
sbatch_sweep() {
	JOB=$(sbatch --parsable --array=0-$(($2 - 1)) --chdir="$WORK" \
		--output="$WORK/logs/$1-%a.log" --time=00:05:00 \
		.ci/slurm/sweep.sbatch "$WORK/sgdlab" "$3" "$4") ||
		fail "sbatch failed"
	JOB=${JOB%%;*}
	JOBS+=("$JOB")
	cluster_log "submitted array job $JOB ($1)"
}

# submit NAME submits the sweep as an array job of TASKS tasks and waits
# for it.
submit() {
	sbatch_sweep "$1" "$TASKS" "$WORK/sweep.json" "$WORK/out"
	wait_job "$JOB"
}

# check_sigterm cancels a task while it trains a long point, the way Slurm
# ends a task at its time limit (SIGTERM, SIGKILL KillWait later), and
# checks that sgdlab got the SIGTERM, stopped (exit 143) and left the
# point not done, for a rerun.
check_sigterm() {
	local out="$WORK/slow-out" log="$WORK/logs/sigterm-0.log" start=$SECONDS state
	cp .ci/slurm/slow.json "$WORK/slow.json"
	sbatch_sweep sigterm 1 "$WORK/slow.json" "$out"
	# Training has begun once the point holds its lock file.
	until compgen -G "$out/points/*/.running" >/dev/null; do
		((SECONDS - start < 60)) || fail "sigterm: the slow point did not start within 60 s"
		[ -n "$(squeue -h -j "$JOB" -o %i 2>/dev/null)" ] || fail "sigterm: the task ended before it was cancelled (see $log)"
		sleep 0.5
	done
	sleep 1
	scancel "$JOB" || fail "scancel $JOB"
	while [ -n "$(squeue -h -j "$JOB" -o %i 2>/dev/null)" ]; do
		((SECONDS - start < 90)) || fail "sigterm: job $JOB still there 30 s after scancel"
		sleep 0.5
	done
	grep -q '^sgdlab: interrupted by SIGTERM' "$log" ||
		fail "sigterm: the cancelled task's log does not show sgdlab stopping on SIGTERM (see $log)"
	state=$("$WORK/sgdlab" sweep plan "$WORK/slow.json" -out "$out" | cut -f4)
	[ -z "$state" ] || fail "sigterm: the interrupted point is '$state', want not done"
	cluster_log "sigterm: the cancelled task stopped on SIGTERM and left its point for a rerun ($((SECONDS - start)) s)"
}

# plan_points FILE prints the point indices of `sweep plan`'s output
# (index, ID, overrides, state; tab-separated), one a line.
plan_points() {
	cut -f1 "$1"
}

# check_shards NAME checks the logs of the array job NAME: task i ran the
# points k with k mod TASKS = i, all of them, and no other.
check_shards() {
	local i log want got
	for ((i = 0; i < TASKS; i++)); do
		log="$WORK/logs/$1-$i.log"
		[ -f "$log" ] || fail "$1: no log of array task $i ($log)"
		want=$(awk -v i="$i" -v n="$TASKS" '$1 % n == i { print $1 }' <<<"$PLAN_POINTS" | sort -n | tr '\n' ' ')
		got=$(sed -nE 's/^sweep [^ ]+: point ([0-9]+) \([0-9a-f]+\) done in .*/\1/p' "$log" | sort -n | tr '\n' ' ')
		[ "$got" = "$want" ] || fail "$1: array task $i trained points '$got', want its shard's '$want' (see $log)"
		grep -qE "^sweep [^ ]+ shard $i/$TASKS: $(wc -w <<<"$want") points done now, 0 already done, 0 failed" "$log" ||
			fail "$1: array task $i: no summary line 'shard $i/$TASKS: $(wc -w <<<"$want") points done now, 0 already done, 0 failed' in $log"
	done
	cluster_log "$1: each of the $TASKS tasks trained exactly the points of its shard"
}

# check_rerun NAME checks that the array job NAME, a resubmission of a
# finished sweep, trained nothing: every task skipped all its points.
check_rerun() {
	local i log n
	for ((i = 0; i < TASKS; i++)); do
		log="$WORK/logs/$1-$i.log"
		[ -f "$log" ] || fail "$1: no log of array task $i ($log)"
		n=$(awk -v i="$i" -v m="$TASKS" '$1 % m == i' <<<"$PLAN_POINTS" | wc -l)
		! grep -qE '^sweep [^ ]+: point [0-9]+ ' "$log" ||
			fail "$1: array task $i trained points again (see $log)"
		grep -qE "^sweep [^ ]+ shard $i/$TASKS: 0 points done now, $n already done, 0 failed" "$log" ||
			fail "$1: array task $i: no summary line 'shard $i/$TASKS: 0 points done now, $n already done, 0 failed' in $log"
	done
	cluster_log "$1: the resubmitted tasks skipped every finished point"
}

# check_collect CSV checks that collect.csv has one row per point and run:
# NPOINTS x NRUNS rows, each (index, run) once, every point present.
check_collect() {
	[ -f "$1" ] || fail "no $1"
	local msg
	msg=$(awk -F, -v points="$NPOINTS" -v runs="$NRUNS" '
		NR == 1 { for (c = 1; c <= NF; c++) col[$c] = c
			if (!("index" in col) || !("run" in col)) { print "no index or run column in the header: " $0; exit }
			next }
		{ rows++; key = $col["index"] SUBSEP $col["run"]
		  if (seen[key]++) dup = dup " " $col["index"] "/" $col["run"]
		  per[$col["index"]]++ }
		END {
			if (NR == 0) { print "empty"; exit }
			if (dup != "") { print "duplicate rows (point/run):" dup; exit }
			for (k = 0; k < points; k++) if (per[k] != runs) { print "point " k " has " per[k] + 0 " rows, want " runs; exit }
			if (rows != points * runs) { print rows " rows, want " points * runs; exit }
		}' "$1")
	[ -z "$msg" ] || fail "$1: $msg"
	cluster_log "collect.csv: $((NPOINTS * NRUNS)) rows, one per point and run"
}

# One run at a time on a machine: a second would stop the first's daemons.
# Holding the lock, the work directories of runs that died without their
# cleanup (SIGKILL) can go.
STEP="waiting for another run of .ci/slurm-test.sh to end"
mkdir -p /run/lock
exec 9>/run/lock/sgdlab-slurm-test.lock
flock -w 600 9 || fail "another .ci/slurm-test.sh has held /run/lock/sgdlab-slurm-test.lock for 10 minutes"
rm -rf /tmp/sgdlab-slurm.??????

STEP="installing slurm-wlm and munge"
cluster_install || fail "could not install slurm-wlm/munge: $CLUSTER_ERR"

STEP="building sgdlab"
WORK=$(mktemp -d /tmp/sgdlab-slurm.XXXXXX)
chmod 0755 "$WORK"
mkdir "$WORK/logs"
go build -o "$WORK/sgdlab" ./cmd/sgdlab || fail "go build ./cmd/sgdlab"
cp .ci/slurm/sweep.json "$WORK/sweep.json"

STEP="planning the sweep"
"$WORK/sgdlab" sweep plan "$WORK/sweep.json" >"$WORK/plan.txt" ||
	fail "sgdlab sweep plan .ci/slurm/sweep.json"
cat "$WORK/plan.txt"
# PLAN_POINTS: the point numbers of the plan, one a line.
PLAN_POINTS=$(plan_points "$WORK/plan.txt")
NPOINTS=$(wc -l <<<"$PLAN_POINTS")
NRUNS=4 # runs of dln-sgd
[ "$NPOINTS" = 8 ] || fail "sweep plan lists $NPOINTS points, want 8"

STEP="starting the cluster"
CLUSTER_STARTED=1
cluster_up || fail "could not start the single-node Slurm cluster"

STEP="running the sweep"
submit run
check_shards run

STEP="collecting"
"$WORK/sgdlab" sweep collect "$WORK/sweep.json" -out "$WORK/out" -require-all ||
	fail "sgdlab sweep collect -require-all"
check_collect "$WORK/out/collect.csv"

STEP="resubmitting"
submit rerun
check_rerun rerun

STEP="cancelling a task"
check_sigterm
