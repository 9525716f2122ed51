#!/bin/bash
# Emulated N-node Slurm cluster for splitckpt's tests: slurmctld in the root namespaces, one slurmd
# per node nI in its own network/UTS/mount/IPC namespaces on a private bridge. This file is the
# command-line front end (settings, check, locking, up/down/status/env/run/exec/logs, signals); the
# cluster-*.sh files next to it do the work. See tests/cluster/README.md for usage and traps.

# shellcheck source-path=SCRIPTDIR # the libraries below
set -euo pipefail

cl_self=$(realpath -e -- "${BASH_SOURCE[0]}")
cl_prog=cluster.sh

# The libraries live next to this script (also in an out-of-tree build and in 'make distcheck').
cl_libdir=${cl_self%/*}
# shellcheck source=cluster-state.sh
. "$cl_libdir/cluster-state.sh"
# shellcheck source=cluster-proc.sh
. "$cl_libdir/cluster-proc.sh"
# shellcheck source=cluster-net.sh
. "$cl_libdir/cluster-net.sh"
# shellcheck source=cluster-slurm.sh
. "$cl_libdir/cluster-slurm.sh"
# shellcheck source=cluster-node.sh
. "$cl_libdir/cluster-node.sh"
# shellcheck source=cluster-lifecycle.sh
. "$cl_libdir/cluster-lifecycle.sh"

# --- configuration ---------------------------------------------------------------------------
cl_id=${SC_CLUSTER_ID:-0}
if ! [[ $cl_id =~ ^[0-9]+$ ]] || ((cl_id > 99)); then
	echo "$cl_prog: SC_CLUSTER_ID must be an integer 0..99 (got '$cl_id')" >&2
	exit 2
fi
cl_default_dir=${TMPDIR:-/tmp}/splitckpt-cluster-$cl_id
cl_cpus=${SC_CLUSTER_CPUS:-4}
cl_port=${SC_CLUSTER_PORT:-$((26817 + cl_id))}
cl_lock_timeout=${SC_CLUSTER_LOCK_TIMEOUT:-300}
cl_up_timeout=${SC_CLUSTER_UP_TIMEOUT:-60}
cl_maxn=64

cl_net=10.250.$cl_id
cl_ctld_addr=$cl_net.1
cl_bridge=sck${cl_id}br
cl_ns_prefix=sck${cl_id}-n
cl_veth_prefix=sck${cl_id}-v
cl_reg_dir=/run/splitckpt-cluster
cl_reg=$cl_reg_dir/$cl_id.dir
cl_lock_dir=/run/lock
[ -d "$cl_lock_dir" ] || cl_lock_dir=/run
cl_lock=$cl_lock_dir/splitckpt-cluster-$cl_id.lock
cl_marker=.splitckpt-cluster
cl_have_lock=0
# Inside the command of a 'run' of the same cluster (which holds the lock and tears it down).
cl_nested=0
[ "${SC_CLUSTER_LOCK_HELD:-}" = "$cl_id" ] && cl_nested=1

log() { echo "$cl_prog: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

usage() {
	cat <<EOF
usage: $cl_prog COMMAND [ARGS]
  check               exit 0 if a cluster can be created here, else print why and exit 77
  up N                bring up N nodes n1..nN (no-op if already up and healthy with N nodes)
  down [-f]           stop everything of this cluster (works after a partial up; -f: no lock)
  status              show the cluster (exit 0 healthy, 1 degraded, 3 down)
  env                 print 'export SLURM_CONF=...'
  run N -- CMD...     up N if needed, run CMD with SLURM_CONF exported, always tear down,
                      exit with CMD's status (77 if no cluster can be created here)
  exec I -- CMD...    run CMD inside node nI's namespaces (network, UTS, mount, IPC)
  logs [LINES]        print the tail of every daemon log
environment: SC_CLUSTER_ID (0..99, default 0) SC_CLUSTER_DIR (default \${TMPDIR:-/tmp}/splitckpt-cluster-ID)
  SC_CLUSTER_CPUS (per node, default 4) SC_CLUSTER_PORT SC_CLUSTER_SHARE (extra paths under /tmp
  the nodes must see, ':'-separated) SC_CLUSTER_LOCK_TIMEOUT SC_CLUSTER_UP_TIMEOUT SC_CLUSTER_KEEP=1
EOF
}

# --- locking: one cluster instance per ID; children never inherit the lock fd (9) --------------
lock() {
	[ "$cl_have_lock" = 1 ] && return 0
	[ "$cl_nested" = 1 ] && return 0 # the enclosing 'run' holds it
	exec 9>>"$cl_lock"
	if ! flock -n 9; then
		log "waiting up to ${cl_lock_timeout}s for cluster $cl_id's lock $cl_lock, held by: $(cat "$cl_lock.owner" 2>/dev/null || echo unknown)"
		if ! flock -w "$cl_lock_timeout" 9; then
			die "timed out after ${cl_lock_timeout}s waiting for $cl_lock (held by: $(cat "$cl_lock.owner" 2>/dev/null || echo unknown))"
		fi
	fi
	echo "pid $$ since $(date '+%F %T'): $cl_prog $*" >"$cl_lock.owner"
	cl_have_lock=1
}

# --- preconditions -----------------------------------------------------------------------------
has_cap() { # bit
	local eff
	eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
	(((0x$eff >> $1) & 1))
}

# Prints why no cluster can be created here (empty output: it can).
why_not() {
	local b why
	if [ "$(id -u)" != 0 ]; then
		echo "not root (needs root with CAP_NET_ADMIN and CAP_SYS_ADMIN for namespaces and a bridge)"
		return
	fi
	has_cap 12 || {
		echo "no CAP_NET_ADMIN"
		return
	}
	has_cap 21 || {
		echo "no CAP_SYS_ADMIN"
		return
	}
	for b in slurmctld slurmd srun sinfo scontrol squeue scancel ip nsenter unshare flock timeout setsid realpath mount; do
		command -v "$b" >/dev/null 2>&1 || {
			echo "'$b' not found (Debian packages: slurm-wlm, slurm-client, iproute2, util-linux)"
			return
		}
	done
	why=$(slurm_why_not)
	if [ -n "$why" ]; then
		echo "$why"
		return
	fi
	net_why_not
}

cmd_check() {
	local why
	why=$(why_not)
	if [ -n "$why" ]; then
		echo "SKIP: no emulated Slurm cluster possible here: $why" >&2
		exit 77
	fi
}

# --- status / env / exec / run -----------------------------------------------------------------
cmd_status() {
	local n i pid
	if ! anything_up; then
		echo "cluster $cl_id: down"
		return 3
	fi
	n=$(cat "$cl_dir/etc/nodes" 2>/dev/null || echo 0)
	echo "cluster $cl_id: state dir $cl_dir, $n nodes, bridge $cl_bridge $cl_ctld_addr/24, slurmctld port $cl_port"
	echo "  slurmctld pid: $(daemon_pid "$cl_dir/run/slurmctld.spid" "$cl_dir/etc/slurm.conf" || echo none)"
	for ((i = 1; i <= n; i++)); do
		pid=$(daemon_pid "$cl_dir/run/slurmd-n$i.spid" "$cl_dir/etc/slurm.conf" || echo none)
		echo "  n$i: $(node_ip "$i") netns $cl_ns_prefix$i slurmd pid $pid"
	done
	echo "  shared into the nodes' /tmp: $(tr '\n' ' ' <"$cl_dir/etc/shares" 2>/dev/null)"
	sl sinfo -N 2>&1 | sed 's/^/  /' || true
	sl squeue 2>&1 | sed 's/^/  /' || true
	if healthy "$n"; then
		echo "healthy"
		return 0
	fi
	echo "degraded (not all daemons up, nodes not idle, or jobs running)"
	return 1
}

cmd_env() {
	[ -s "$cl_dir/etc/slurm.conf" ] || die "cluster $cl_id is not up (no $cl_dir/etc/slurm.conf)"
	echo "export SLURM_CONF=$cl_dir/etc/slurm.conf"
}

cmd_exec() { # I -- CMD...
	local i=${1:-} pid
	[[ $i =~ ^[0-9]+$ ]] || die "exec: node number expected (exec I -- CMD...)"
	shift
	[ "${1:-}" = -- ] && shift
	[ $# -gt 0 ] || set -- bash
	pid=$(daemon_pid "$cl_dir/run/slurmd-n$i.spid" "$cl_dir/etc/slurm.conf") || die "node n$i is not up (no slurmd) in cluster $cl_id"
	# shellcheck disable=SC2016 # expanded by the inner bash
	exec nsenter --target "$pid" --net --uts --mount --ipc -- env SLURM_CONF="$cl_dir/etc/slurm.conf" \
		/bin/bash -c 'cd "$1" 2>/dev/null || cd /; shift; exec "$@"' _ "$PWD" "$@" 9>&-
}

cl_cmd_pid=
cl_stage=
on_signal() { # signal-number
	trap '' INT TERM HUP
	log "received signal $1, stopping and tearing the cluster down"
	if [ -n "$cl_cmd_pid" ]; then
		kill -TERM "$cl_cmd_pid" 2>/dev/null || true
	fi
	exit $((128 + $1))
}

# EXIT trap of 'up' and 'run': tears the cluster down (always for run, on failure for up).
cleanup() {
	local rc=$?
	trap - EXIT
	trap '' INT TERM HUP
	if [ "$cl_stage" = up ] && [ $rc -ne 0 ]; then
		log "error: could not bring up cluster $cl_id (logs kept in $cl_dir/log); cleaning up"
		[ $rc -eq 77 ] && rc=1 # a failed 'up' is a failure, never a skip
	fi
	if [ -n "$cl_cmd_pid" ] && kill -0 "$cl_cmd_pid" 2>/dev/null; then
		kill -TERM "$cl_cmd_pid" 2>/dev/null || true
	fi
	if [ "$cl_cmd" = run ] && [ "$cl_stage" != up ] && [ "$cl_nested" = 1 ]; then
		: # a 'run' inside a 'run': the outer one tears the cluster down
	elif [ "$cl_cmd" = run ] && [ "$cl_stage" != up ] && [ "${SC_CLUSTER_KEEP:-0}" = 1 ]; then
		log "SC_CLUSTER_KEEP=1: leaving cluster $cl_id up; stop it with: $cl_self down"
	elif [ "$cl_cmd" = run ] || [ "$cl_stage" = up ]; then
		if ! do_down && [ $rc -eq 0 ]; then
			rc=1
		fi
	fi
	if [ -n "$cl_cmd_pid" ]; then
		kill -KILL "$cl_cmd_pid" 2>/dev/null || true
	fi
	exit "$rc"
}

cmd_up() { # N
	[ $# -eq 1 ] || die "usage: $cl_prog up N"
	cmd_check
	lock up "$@"
	trap cleanup EXIT
	trap 'on_signal 2' INT
	trap 'on_signal 15' TERM
	trap 'on_signal 1' HUP
	cl_stage=up
	do_up "$1" # errexit is active here: any failing step exits through cleanup
	cl_stage=ready
	cmd_env
}

cmd_run() { # N -- CMD...
	local n=${1:-} rc
	[[ $n =~ ^[0-9]+$ ]] || die "run: N expected (run N -- CMD...)"
	shift
	[ "${1:-}" = -- ] && shift
	[ $# -gt 0 ] || die "run: no command given (run N -- CMD...)"
	cmd_check
	lock run "$n" "$@"
	trap cleanup EXIT
	trap 'on_signal 2' INT
	trap 'on_signal 15' TERM
	trap 'on_signal 1' HUP
	cl_stage=up
	do_up "$n"
	cl_stage=run
	export SLURM_CONF=$cl_dir/etc/slurm.conf SC_CLUSTER_DIR=$cl_dir SC_CLUSTER_NODES=$n \
		SC_CLUSTER_SHARED=$cl_dir/shared SC_CLUSTER_LOCK_HELD=$cl_id
	# In the background so that a signal is handled at once; stdin kept (bash would use /dev/null).
	if { true <&0; } 2>/dev/null; then exec 8<&0; else exec 8</dev/null; fi
	"$@" <&8 8<&- 9>&- &
	cl_cmd_pid=$!
	exec 8<&-
	rc=0
	wait "$cl_cmd_pid" || rc=$?
	cl_cmd_pid=
	cl_stage=ready
	exit "$rc"
}

# --- main --------------------------------------------------------------------------------------
[ $# -gt 0 ] || {
	usage >&2
	exit 2
}
cl_cmd=$1
shift
case $cl_cmd in
_node) node_main "$@" ;;
_ctld) ctld_main "$@" ;;
esac
cl_dir=$(state_dir)

case $cl_cmd in
check) cmd_check ;;
up) cmd_up "$@" ;;
down)
	if [ "${1:-}" != -f ]; then
		lock down
	fi
	if do_down; then
		log "cluster $cl_id down"
	else
		exit 1
	fi
	;;
status) cmd_status ;;
env) cmd_env ;;
exec) cmd_exec "$@" ;;
run) cmd_run "$@" ;;
logs) dump_logs "${1:-40}" 2>&1 ;;
-h | --help | help) usage ;;
*)
	usage >&2
	exit 2
	;;
esac
