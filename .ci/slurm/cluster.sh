# shellcheck shell=bash
# A throwaway single-node Slurm cluster on a Debian machine, as root, without
# systemd: Debian's slurm-wlm (22.05) and munge, one node with this host's
# short hostname and all its CPUs, one default partition. Source this file,
# then:
#
#	cluster_install   # apt-get install slurm-wlm munge if missing
#	cluster_up        # stop stale daemons, write the config, start munged,
#	                  # slurmctld and slurmd, wait for the node to be idle
#	...               # sbatch, squeue, scontrol as usual
#	cluster_down      # stop slurmd, slurmctld and munged by their PIDs
#
# .ci/slurm-test.sh uses it in CI; docs/cluster.md points at it for trying
# the Slurm job script on one machine. It writes /etc/slurm/slurm.conf and
# /etc/slurm/cgroup.conf, and refuses to replace files of that name that it
# did not write (a real cluster's). cluster_up is idempotent: daemons left
# by an earlier run (pid files under /run) are stopped first, and slurmctld
# starts with its saved state cleared, so no old job comes back.

CLUSTER_MARK='# written by sgdlab .ci/slurm/cluster.sh'
CLUSTER_CTLD_PID=/run/slurmctld.pid
CLUSTER_SLURMD_PID=/run/slurmd.pid
CLUSTER_MUNGED_PID=/run/munge/munged.pid
CLUSTER_LOG_DIR=/var/log/slurm

cluster_log() { printf '[slurm-test %s] %s\n' "$(date +%T)" "$*" >&2; }

# cluster_install installs slurm-wlm and munge with apt-get unless their
# daemons and clients are already there. On failure it returns non-zero
# with the reason in CLUSTER_ERR (apt-get's own output goes to stderr).
CLUSTER_TOOLS="munged munge unmunge slurmctld slurmd sbatch squeue sinfo scontrol scancel"
CLUSTER_ERR=
cluster_install() {
	local c missing='' log rc
	for c in $CLUSTER_TOOLS; do
		command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
	done
	if [ -z "$missing" ]; then
		cluster_log "slurm-wlm and munge already installed"
		return 0
	fi
	cluster_log "installing slurm-wlm and munge with apt-get (missing:$missing)"
	log=$(mktemp) || { CLUSTER_ERR="mktemp failed"; return 1; }
	export DEBIAN_FRONTEND=noninteractive
	timeout 600 apt-get update -q 2>&1 | tee "$log" >&2
	rc=${PIPESTATUS[0]}
	if [ "$rc" = 0 ]; then
		timeout 900 apt-get install -y -q --no-install-recommends slurm-wlm munge 2>&1 | tee "$log" >&2
		rc=${PIPESTATUS[0]}
		[ "$rc" = 0 ] || CLUSTER_ERR="apt-get install -y slurm-wlm munge exited $rc"
	else
		CLUSTER_ERR="apt-get update exited $rc"
	fi
	if [ "$rc" != 0 ]; then
		c=$(grep -E '^(E|Err):' "$log" | tail -n 3 | tr '\n' ' ')
		[ -z "$c" ] || CLUSTER_ERR="$CLUSTER_ERR: $c"
		rm -f "$log"
		return 1
	fi
	rm -f "$log"
	for c in $CLUSTER_TOOLS; do
		command -v "$c" >/dev/null 2>&1 || { CLUSTER_ERR="installed, but $c is not on PATH"; return 1; }
	done
	cluster_log "installed $(dpkg-query -W -f '${Package} ${Version}  ' slurm-wlm munge)"
}

# cluster_stop_pidfile NAME FILE stops the process whose PID is in FILE if
# it is the program NAME (a stale PID may have been reused), waiting up to
# 10 s for it to exit before SIGKILL, and removes FILE.
cluster_stop_pidfile() {
	local name=$1 file=$2 pid i
	[ -f "$file" ] || return 0
	pid=$(tr -dc 0-9 <"$file" 2>/dev/null || true)
	if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$name" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			cluster_log "$name ($pid) still running after 10 s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.2
		fi
		cluster_log "stopped $name ($pid)"
	fi
	rm -f "$file"
}

# cluster_down stops slurmd, slurmctld and munged by their pid files.
cluster_down() {
	local a b
	cluster_stop_pidfile slurmd "$CLUSTER_SLURMD_PID" &
	a=$!
	cluster_stop_pidfile slurmctld "$CLUSTER_CTLD_PID" &
	b=$!
	wait "$a" "$b"
	cluster_stop_pidfile munged "$CLUSTER_MUNGED_PID"
}

# cluster_check_free fails if a daemon of that name runs without our pid
# file (started some other way): a second one could not bind its port.
cluster_check_free() {
	local name pids
	for name in slurmd slurmctld munged; do
		pids=$(pgrep -x "$name" || true)
		if [ -n "$pids" ]; then
			echo "$name is already running (PID $(tr '\n' ' ' <<<"$pids")) but not from $CLUSTER_CTLD_PID, $CLUSTER_SLURMD_PID or $CLUSTER_MUNGED_PID; stop it first" >&2
			return 1
		fi
	done
}

# cluster_write_config writes /etc/slurm/slurm.conf and cgroup.conf for one
# node: this host's short hostname, CPUs=$(nproc), RealMemory 90 % of
# MemTotal (slurmd drains a node that has less than configured).
cluster_write_config() {
	local host cpus mem f
	host=$(hostname -s)
	cpus=$(nproc)
	mem=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
	mkdir -p /etc/slurm
	for f in /etc/slurm/slurm.conf /etc/slurm/cgroup.conf; do
		if [ -s "$f" ] && ! grep -qxF "$CLUSTER_MARK" "$f"; then
			echo "$f exists and was not written by .ci/slurm/cluster.sh; not replacing it" >&2
			return 1
		fi
	done
	# The addresses are given so that nothing depends on the hostname
	# resolving.
	cat >/etc/slurm/slurm.conf <<EOF || return 1
$CLUSTER_MARK
ClusterName=sgdlab
SlurmctldHost=$host(127.0.0.1)
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SlurmUser=root
SlurmdUser=root
ReturnToService=2
MinJobAge=600
KillWait=10
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$CLUSTER_CTLD_PID
SlurmdPidFile=$CLUSTER_SLURMD_PID
SlurmctldLogFile=$CLUSTER_LOG_DIR/slurmctld.log
SlurmdLogFile=$CLUSTER_LOG_DIR/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
	printf '%s\nConstrainCores=no\n' "$CLUSTER_MARK" >/etc/slurm/cgroup.conf
	cluster_log "slurm.conf: node $host, CPUs=$cpus, RealMemory=$mem MiB"
}

# cluster_start_munge starts munged as the munge user and checks that a
# credential round-trips.
cluster_start_munge() {
	if [ ! -s /etc/munge/munge.key ]; then
		cluster_log "creating /etc/munge/munge.key"
		mkdir -p /etc/munge
		dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
		chown munge:munge /etc/munge/munge.key
		chmod 0400 /etc/munge/munge.key
	fi
	mkdir -p /run/munge /var/lib/munge /var/log/munge
	chown munge:munge /run/munge /var/lib/munge /var/log/munge
	chmod 0755 /run/munge
	runuser -u munge -- /usr/sbin/munged || { echo "munged did not start (see /var/log/munge/munged.log)" >&2; return 1; }
	local i
	for ((i = 0; i < 50; i++)); do
		if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
			cluster_log "munged running ($(cat "$CLUSTER_MUNGED_PID" 2>/dev/null))"
			return 0
		fi
		sleep 0.2
	done
	echo "munge -n | unmunge fails after 10 s" >&2
	return 1
}

# cluster_wait_idle waits up to $1 seconds (default 60) for sinfo to show
# the node idle.
cluster_wait_idle() {
	local limit=${1:-60} host state start=$SECONDS
	host=$(hostname -s)
	while :; do
		state=$(sinfo -h -N -n "$host" -o '%T' 2>/dev/null || true)
		if [ "$state" = idle ]; then
			cluster_log "node $host idle after $((SECONDS - start)) s"
			return 0
		fi
		if ((SECONDS - start >= limit)); then
			echo "node $host not idle after $limit s (state: '${state:-no answer}')" >&2
			sinfo -N -l >&2 || true
			return 1
		fi
		sleep 0.5
	done
}

# cluster_up starts a fresh cluster: stale daemons stopped, config
# written, munged, slurmctld (saved state cleared) and slurmd started, node
# idle.
cluster_up() {
	cluster_down
	cluster_check_free || return 1
	cluster_write_config || return 1
	mkdir -p /var/spool/slurmctld /var/spool/slurmd "$CLUSTER_LOG_DIR"
	: >"$CLUSTER_LOG_DIR/slurmctld.log"
	: >"$CLUSTER_LOG_DIR/slurmd.log"
	cluster_start_munge || return 1
	/usr/sbin/slurmctld -c || { echo "slurmctld did not start (see $CLUSTER_LOG_DIR/slurmctld.log)" >&2; return 1; }
	/usr/sbin/slurmd -c || { echo "slurmd did not start (see $CLUSTER_LOG_DIR/slurmd.log)" >&2; return 1; }
	cluster_wait_idle 60
}

# cluster_logs prints the end of the daemons' logs, for a failure report.
cluster_logs() {
	local f
	for f in "$CLUSTER_LOG_DIR/slurmctld.log" "$CLUSTER_LOG_DIR/slurmd.log" /var/log/munge/munged.log; do
		[ -f "$f" ] || continue
		echo "--- tail of $f" >&2
		tail -n 20 "$f" >&2
	done
}
