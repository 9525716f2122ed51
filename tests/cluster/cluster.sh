#!/bin/bash
# Emulated N-node Slurm cluster for splitckpt's tests: slurmctld in the root namespaces, one slurmd
# per node nI in its own network/UTS/mount/IPC namespaces (private /tmp and /dev/shm) on a private
# bridge (10.250.ID.0/24). Owns the cluster's whole lifecycle: check, up, down, status, env, run,
# exec, logs. See tests/cluster/README.md for usage and the traps this script works around.

set -euo pipefail

cl_self=$(realpath -e -- "${BASH_SOURCE[0]}")
cl_prog=cluster.sh

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

node_ip() { echo "$cl_net.$((10 + $1))"; }

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

# The state directory of the cluster that is (or was) up, else the configured one. The registry
# in /run lets 'down' find a stale cluster started with another SC_CLUSTER_DIR or TMPDIR.
state_dir() {
	if [ -n "${SC_CLUSTER_DIR:-}" ]; then
		echo "$SC_CLUSTER_DIR"
	elif [ -s "$cl_reg" ]; then
		cat "$cl_reg"
	else
		echo "$cl_default_dir"
	fi
}

validate_dir() {
	case $1 in
	/*) ;;
	*) die "state directory must be absolute: '$1'" ;;
	esac
	case $1 in
	*[[:space:]]* | *:* | *%*) die "state directory must not contain spaces, ':' or '%': '$1'" ;;
	esac
	case $(realpath -m -- "$1") in
	/ | /tmp | /var/tmp | /root | /home | /work | "${HOME:-/root}") die "refusing to use '$1' as state directory" ;;
	esac
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
	local b d found
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
	for d in /usr/lib/x86_64-linux-gnu/slurm-wlm /usr/lib64/slurm /usr/lib/slurm /usr/local/lib/slurm; do
		if [ -e "$d/select_cons_tres.so" ]; then
			found=$d
			break
		fi
	done
	if [ -n "${found:-}" ] && { ! [ -e "$found/auth_none.so" ] || ! [ -e "$found/cred_none.so" ]; }; then
		echo "this Slurm ($found) has no auth/none or cred/none plugin"
		return
	fi
	# Really create what 'up' creates: a netns, a bridge, a veth pair into the netns. Names carry
	# our PID (concurrent checks must not collide); leftovers of killed checks are removed.
	local p err ns=sckprobe-$$ br=sckpb$$ v=sckpv$$
	for p in $(ip -o link show 2>/dev/null | sed -nE 's/^[0-9]+: sckp[bv]([0-9]+)[@:].*/\1/p' | sort -u); do
		kill -0 "$p" 2>/dev/null || ip link del "sckpb$p" >/dev/null 2>&1 || true
		kill -0 "$p" 2>/dev/null || ip link del "sckpv$p" >/dev/null 2>&1 || true
	done
	for p in $(ip netns list 2>/dev/null | sed -nE 's/^sckprobe-([0-9]+).*/\1/p'); do
		kill -0 "$p" 2>/dev/null || ip netns del "sckprobe-$p" >/dev/null 2>&1 || true
	done
	if ! err=$({ ip netns add "$ns" && ip link add "$br" type bridge &&
		ip link add "$v" type veth peer name eth0 netns "$ns" &&
		ip link set "$v" master "$br" &&
		nsenter --net="/run/netns/$ns" -- unshare --uts --mount --ipc -- true; } 2>&1); then
		echo "cannot create network namespaces/bridges/veths here: ${err//$'\n'/ }"
	fi
	ip link del "$v" >/dev/null 2>&1 || true
	ip link del "$br" >/dev/null 2>&1 || true
	ip netns del "$ns" >/dev/null 2>&1 || true
}

cmd_check() {
	local why
	why=$(why_not)
	if [ -n "$why" ]; then
		echo "SKIP: no emulated Slurm cluster possible here: $why" >&2
		exit 77
	fi
}

# --- what the nodes must see of the host's /tmp ------------------------------------------------
# Each node has a private /tmp. Paths under the host's /tmp that tests use (build tree, source tree,
# cwd, TMPDIR, state dir, SC_CLUSTER_SHARE) are bind-mounted at the same path into every node's
# /tmp when the node starts; entries created later directly in the host's /tmp stay invisible.
required_shares() {
	local d=$1 p c
	local -a cand=("$d" "$PWD" "$(dirname "$(dirname "$(dirname "$cl_self")")")")
	for c in SC_BUILDDIR SC_SRCDIR SC_TESTS_BUILDDIR TMPDIR; do
		[ -n "${!c:-}" ] && cand+=("${!c}")
	done
	if [ -n "${SC_CLUSTER_SHARE:-}" ]; then
		local IFS=:
		# shellcheck disable=SC2206
		cand+=($SC_CLUSTER_SHARE)
	fi
	for c in "${cand[@]}"; do
		p=$(realpath -e -- "$c" 2>/dev/null) || continue
		case $p in
		/tmp/?*) echo "$p" ;;
		esac
	done | LC_ALL=C sort -u | awk '{ for (i = 1; i <= n; i++) if (index($0 "/", keep[i] "/") == 1) next; keep[++n] = $0; print }'
}

# Succeeds if every required share is inside one recorded in the cluster's shares file.
shares_covered() {
	local d=$1 p s ok
	while read -r p; do
		ok=0
		while read -r s; do
			case $p/ in
			"$s"/*) ok=1 ;;
			esac
		done <"$d/etc/shares"
		[ $ok = 1 ] || return 1
	done < <(required_shares "$d")
}

# --- process helpers -------------------------------------------------------------------------
# PID of a daemon we started (pid file), only if its command line still contains SUBSTRING (the
# state dir), so that a recycled PID is never killed.
daemon_pid() { # file substring
	local pid
	[ -s "$1" ] || return 1
	pid=$(cat "$1")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
	echo "$pid"
}

our_netns() { ip netns list 2>/dev/null | awk -v p="$cl_ns_prefix" 'index($1, p) == 1 && substr($1, length(p) + 1) ~ /^[0-9]+$/ {print $1}'; }

# All PIDs belonging to the cluster: everything inside the nodes' netns, plus slurmctld.
cluster_pids() {
	local d=$1 ns p
	{
		for ns in $(our_netns); do
			ip netns pids "$ns" 2>/dev/null || true
		done
		for p in "$d/run/slurmctld.spid" "$d/run/slurmctld.pid"; do
			daemon_pid "$p" "$d/etc/slurm.conf" || true
		done
		# slurmd still starting (not yet in its netns) or in a netns someone deleted
		for p in "$d"/run/slurmd-n*.spid; do
			[ -e "$p" ] && { daemon_pid "$p" "$d" || true; }
		done
	} | grep -vx -e "$$" || true
}

# Succeeds if one of the PIDs still runs (a zombie waiting for init to reap it does not count).
alive_any() {
	local p st
	for p in "$@"; do
		kill -0 "$p" 2>/dev/null || continue
		st=$(sed -E 's/^.*\) (.).*/\1/' "/proc/$p/stat" 2>/dev/null) || continue
		[ "$st" = Z ] || return 0
	done
	return 1
}

kill_and_wait() { # timeout pids...
	local t=$1 end p
	shift
	[ $# -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null || true
	end=$((SECONDS + t))
	while alive_any "$@" && ((SECONDS < end)); do
		sleep 0.2
	done
	if alive_any "$@"; then
		for p in "$@"; do
			kill -0 "$p" 2>/dev/null && log "pid $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-80)) ignored SIGTERM for ${t}s, sending SIGKILL"
		done
		kill -KILL "$@" 2>/dev/null || true
		end=$((SECONDS + 10))
		while alive_any "$@" && ((SECONDS < end)); do
			sleep 0.2
		done
		if alive_any "$@"; then
			log "warning: pids still alive after SIGKILL: $(for p in "$@"; do kill -0 "$p" 2>/dev/null && echo -n "$p "; done)"
			return 1
		fi
	fi
}

# --- slurm queries (always bounded) ------------------------------------------------------------
sl() { # command args... with this cluster's config, bounded
	SLURM_CONF=$cl_dir/etc/slurm.conf timeout -k 2 10 "$@" 9>&-
}

ctld_up() { sl scontrol ping 2>/dev/null | grep -q 'is UP'; }

nodes_idle_count() { sl sinfo -h -N -t idle -o '%N' 2>/dev/null | sort -u | wc -l; }

all_idle() { [ "$(nodes_idle_count)" = "$1" ]; }

# Polls CMD until it succeeds or T seconds pass; on timeout says what it waited for.
wait_for() { # desc seconds cmd...
	local desc=$1 t=$2 end
	shift 2
	end=$((SECONDS + t))
	until "$@"; do
		if ((SECONDS >= end)); then
			log "timed out after ${t}s waiting for $desc"
			return 1
		fi
		sleep 0.25
	done
}

# Tails of the daemon logs; of the *.out files (daemon stdout/stderr) only the lines that are not
# copies of the log file's (errors before logging started, a failing mount in a node, ...).
dump_logs() { # lines [files...]
	local n=${1:-40} f lf extra
	shift || true
	local -a files=("$@")
	[ ${#files[@]} -gt 0 ] || files=("$cl_dir"/log/*)
	for f in "${files[@]}"; do
		[ -s "$f" ] || continue
		case $f in
		*.out)
			lf=${f%.out}.log
			extra=$(awk -v lf="$lf" 'BEGIN {
					while ((getline l < lf) > 0) { sub(/^\[[^]]*\] /, "", l); seen[l] = 1 }
				}
				{ l = $0; sub(/^(slurmctld|slurmd): /, "", l); if (!(l in seen)) print }' "$f" |
				tail -n "$n")
			[ -n "$extra" ] || continue
			echo "----- last $n lines of $f not in ${lf##*/} -----" >&2
			echo "$extra" >&2
			;;
		*)
			echo "----- last $n lines of $f -----" >&2
			tail -n "$n" "$f" >&2
			;;
		esac
	done
}

# --- up ----------------------------------------------------------------------------------------
write_config() { # N
	local n=$1 i host
	host=$(hostname -s)
	{
		echo "127.0.0.1 localhost"
		echo "$cl_ctld_addr ctl $host"
		for ((i = 1; i <= n; i++)); do
			echo "$(node_ip "$i") n$i"
		done
	} >"$cl_dir/etc/hosts"
	cat >"$cl_dir/etc/slurm.conf" <<EOF
# Generated by tests/cluster/cluster.sh for cluster $cl_id ($n nodes); rewritten by every 'up'.
ClusterName=splitckpt$cl_id
SlurmctldHost=ctl($cl_ctld_addr)
SlurmctldPort=$cl_port
SlurmdPort=6818
# slurmctld binds to the address its hostname (ctl) resolves to, i.e. the bridge address only:
# with auth/none it must not be reachable from outside the machine.
CommunicationParameters=NoCtldInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
StateSaveLocation=$cl_dir/state
SlurmdSpoolDir=$cl_dir/spool/%n
SlurmctldPidFile=$cl_dir/run/slurmctld.pid
SlurmdPidFile=$cl_dir/run/slurmd-%n.pid
SlurmctldLogFile=$cl_dir/log/slurmctld.log
SlurmdLogFile=$cl_dir/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
MpiDefault=none
ReturnToService=2
# an srun killed with SIGKILL (e.g. by 'timeout') releases its allocation after this many seconds
InactiveLimit=60
KillWait=5
MinJobAge=60
MailProg=/bin/true
TmpFS=/tmp
NodeName=DEFAULT CPUs=$cl_cpus State=UNKNOWN
EOF
	for ((i = 1; i <= n; i++)); do
		echo "NodeName=n$i NodeAddr=$(node_ip "$i") NodeHostname=n$i" >>"$cl_dir/etc/slurm.conf"
	done
	echo "PartitionName=debug Nodes=n[1-$n] Default=YES MaxTime=INFINITE State=UP" >>"$cl_dir/etc/slurm.conf"
}

setup_network() { # N
	local n=$1 i ns v
	ip link add "$cl_bridge" type bridge
	ip addr add "$cl_ctld_addr/24" dev "$cl_bridge"
	ip link set "$cl_bridge" up
	for ((i = 1; i <= n; i++)); do
		ns=$cl_ns_prefix$i
		v=$cl_veth_prefix$i
		ip netns add "$ns"
		ip link add "$v" type veth peer name eth0 netns "$ns"
		ip link set "$v" master "$cl_bridge" up
		ip -n "$ns" addr add "$(node_ip "$i")/24" dev eth0
		ip -n "$ns" link set lo up
		ip -n "$ns" link set eth0 up
		# no default route: a node reaches its subnet only (slurmctld, srun, other nodes)
	done
}

# Runs slurmctld in the root network namespace, but in its own UTS and mount namespaces: hostname
# 'ctl' resolving to the bridge address (NoCtldInAddrAny then binds there, not to 0.0.0.0).
ctld_main() { # DIR
	cl_dir=$1
	mount --make-rprivate /
	hostname ctl
	mount --bind "$cl_dir/etc/hosts" /etc/hosts
	cd /
	exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 SLURM_CONF="$cl_dir/etc/slurm.conf" slurmctld -D -c -i -f "$cl_dir/etc/slurm.conf"
}

# Runs inside node I's fresh namespaces (entered by 'up'): private mounts, hostname, then slurmd.
node_main() { # I DIR
	local i=$1 p rel priv
	cl_dir=$2
	priv=$cl_dir/nodes/n$i/tmp
	mount --make-rprivate /
	hostname "n$i"
	mount --bind "$cl_dir/etc/hosts" /etc/hosts
	mount -t tmpfs -o mode=1777,size=4g "shm-n$i" /dev/shm
	while read -r p; do
		rel=${p#/tmp/}
		if [ -d "$p" ]; then
			mkdir -p "$priv/$rel"
		else
			mkdir -p "$(dirname "$priv/$rel")"
			: >"$priv/$rel"
		fi
		mount --rbind "$p" "$priv/$rel"
	done <"$cl_dir/etc/shares"
	mount --rbind "$priv" /tmp
	cd /
	exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 SLURM_CONF="$cl_dir/etc/slurm.conf" slurmd -D -f "$cl_dir/etc/slurm.conf" -N "n$i"
}

# Healthy: registered at this dir, controller answers, exactly N idle nodes, no jobs, daemons alive,
# and the nodes see every path the caller needs.
healthy() { # N
	local n=$1 i
	[ -s "$cl_reg" ] && [ "$(cat "$cl_reg")" = "$cl_dir" ] || return 1
	[ -s "$cl_dir/etc/nodes" ] && [ "$(cat "$cl_dir/etc/nodes")" = "$n" ] || return 1
	daemon_pid "$cl_dir/run/slurmctld.spid" "$cl_dir/etc/slurm.conf" >/dev/null || return 1
	for ((i = 1; i <= n; i++)); do
		daemon_pid "$cl_dir/run/slurmd-n$i.spid" "$cl_dir/etc/slurm.conf" >/dev/null || return 1
	done
	all_idle "$n" || return 1
	[ -z "$(sl squeue -h -o %i 2>/dev/null)" ] || return 1
	shares_covered "$cl_dir"
}

anything_up() {
	[ -e "$cl_reg" ] && return 0
	[ -n "$(our_netns)" ] && return 0
	ip link show "$cl_bridge" >/dev/null 2>&1 && return 0
	[ -n "$(cluster_pids "$cl_dir")" ]
}

# Bridged traffic between nodes flows: from n1, a TCP connect to an unused port of every node must
# be refused at once (a host with br_netfilter and a FORWARD DROP policy, e.g. Docker's, drops it).
connectivity_ok() { # N
	local n=$1 i out
	for ((i = 2; i <= n; i++)); do
		out=$(nsenter --net="/run/netns/${cl_ns_prefix}1" -- timeout 3 bash -c \
			"exec 3<>/dev/tcp/$(node_ip "$i")/9" 2>&1) && continue
		case $out in
		*refused*) continue ;;
		esac
		log "n1 cannot reach n$i ($(node_ip "$i")): ${out:-timed out}"
		if [ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" = 1 ]; then
			log "hint: net.bridge.bridge-nf-call-iptables=1: the host's iptables FORWARD rules filter bridged traffic"
		fi
		return 1
	done
}

do_up() { # N
	local n=$1 i t0=$SECONDS
	if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1 || n > cl_maxn)); then
		die "up: N must be 1..$cl_maxn (got '$n')"
	fi
	if healthy "$n"; then
		log "cluster $cl_id is already up with $n nodes ($cl_dir)"
		return 0
	fi
	if anything_up; then
		log "cleaning up a previous (stale or different) cluster $cl_id first"
		do_down
	fi
	validate_dir "$cl_dir"
	if [ -e "$cl_dir" ] && ! [ -e "$cl_dir/$cl_marker" ] && [ -n "$(ls -A "$cl_dir")" ]; then
		die "state directory $cl_dir exists, is not empty and was not created by $cl_prog"
	fi
	mkdir -p "$cl_dir" "$cl_reg_dir"
	touch "$cl_dir/$cl_marker"
	echo "$cl_dir" >"$cl_reg"
	clean_state_dir "$cl_dir"
	rm -rf "$cl_dir/log"
	mkdir -p "$cl_dir"/{etc,state,spool,log,run,shared}
	for ((i = 1; i <= n; i++)); do
		mkdir -p "$cl_dir/nodes/n$i/tmp" "$cl_dir/spool/n$i"
		chmod 1777 "$cl_dir/nodes/n$i/tmp"
	done
	chmod 1777 "$cl_dir/shared"
	echo "$n" >"$cl_dir/etc/nodes"
	required_shares "$cl_dir" >"$cl_dir/etc/shares"
	write_config "$n"
	setup_network "$n"

	setsid unshare --uts --mount --propagation private -- /bin/bash "$cl_self" _ctld "$cl_dir" \
		</dev/null >>"$cl_dir/log/slurmctld.out" 2>&1 9>&- &
	echo $! >"$cl_dir/run/slurmctld.spid"
	if ! wait_for "slurmctld to answer 'scontrol ping' at $cl_ctld_addr:$cl_port" "$cl_up_timeout" ctld_up; then
		dump_logs 40 "$cl_dir/log/slurmctld.log" "$cl_dir/log/slurmctld.out"
		return 1
	fi
	for ((i = 1; i <= n; i++)); do
		setsid nsenter --net="/run/netns/$cl_ns_prefix$i" -- unshare --uts --mount --ipc --propagation private -- \
			/bin/bash "$cl_self" _node "$i" "$cl_dir" </dev/null >>"$cl_dir/log/slurmd-n$i.out" 2>&1 9>&- &
		echo $! >"$cl_dir/run/slurmd-n$i.spid"
	done
	if ! wait_for "$n nodes n1..n$n to register and become idle" "$cl_up_timeout" all_idle "$n"; then
		sl sinfo -N >&2 || true
		dump_logs 25
		return 1
	fi
	if ! connectivity_ok "$n"; then
		dump_logs 10
		return 1
	fi
	log "cluster $cl_id up: $n nodes in $((SECONDS - t0))s; state in $cl_dir"
}

# --- down --------------------------------------------------------------------------------------
clean_state_dir() { # dir
	local d=$1 m
	[ -e "$d/$cl_marker" ] || return 0
	# Never delete through a mount: node mounts live only in node namespaces; refuse if any here.
	m=$(awk -v d="$d/" 'index($5 "/", d) == 1 {print $5}' /proc/self/mountinfo)
	if [ -n "$m" ]; then
		log "warning: not deleting $d: mounts under it in this namespace: $m"
		return 1
	fi
	# No slurm.conf once down: a stale SLURM_CONF must not send traffic to 10.250.x via the
	# default route. The logs stay until the next 'up'.
	rm -rf --one-file-system "$d/nodes" "$d/spool" "$d/state" "$d/run" "$d/shared" "$d/etc/slurm.conf"
}

# Stops everything of cluster ID: the processes in its nodes' netns, slurmctld (by pid file, in
# the configured state dir and in the one the registry names), then netns, veths, bridge.
do_down() {
	local ns v d
	local -a pids dirs=("$cl_dir")
	if [ -s "$cl_reg" ] && [ "$(cat "$cl_reg")" != "$cl_dir" ]; then
		dirs+=("$(cat "$cl_reg")")
	fi
	for _ in 1 2; do # twice: a step may have been starting in a netns meanwhile
		mapfile -t pids < <(for d in "${dirs[@]}"; do cluster_pids "$d"; done | sort -un)
		if [ ${#pids[@]} -gt 0 ]; then
			kill_and_wait 10 "${pids[@]}" || true
		fi
	done
	for ns in $(our_netns); do
		ip netns del "$ns" 2>/dev/null || log "warning: could not delete netns $ns"
	done
	for v in $(ip -o link show 2>/dev/null | awk -F': ' -v p="$cl_veth_prefix" '{sub(/@.*/, "", $2)} index($2, p) == 1 {print $2}'); do
		ip link del "$v" 2>/dev/null || true
	done
	if ip link show "$cl_bridge" >/dev/null 2>&1; then
		ip link del "$cl_bridge" || log "warning: could not delete bridge $cl_bridge"
	fi
	for d in "${dirs[@]}"; do
		clean_state_dir "$d" || true
	done
	rm -f "$cl_reg"
	if [ -n "$(our_netns)" ] || ip link show "$cl_bridge" >/dev/null 2>&1; then
		log "warning: cluster $cl_id not completely removed (netns: $(our_netns | tr '\n' ' '))"
		return 1
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
