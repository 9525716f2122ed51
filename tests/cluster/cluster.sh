#!/bin/bash
# Emulated N-node Slurm cluster for splitckpt's tests: slurmctld in the root namespaces, one slurmd
# per node nI in its own network/UTS/mount/IPC namespaces (private /tmp and /dev/shm) on a private
# bridge (10.250.ID.0/24). Owns the cluster's whole lifecycle: check, up, down, status, env, run,
# exec, logs. See tests/cluster/README.md for usage and the traps this script works around.

set -euo pipefail

SELF=$(realpath -e -- "${BASH_SOURCE[0]}")
PROG=cluster.sh

# --- configuration ---------------------------------------------------------------------------
ID=${SC_CLUSTER_ID:-0}
if ! [[ $ID =~ ^[0-9]+$ ]] || ((ID > 99)); then
	echo "$PROG: SC_CLUSTER_ID must be an integer 0..99 (got '$ID')" >&2
	exit 2
fi
DEFAULT_DIR=${TMPDIR:-/tmp}/splitckpt-cluster-$ID
CPUS=${SC_CLUSTER_CPUS:-4}
CTLD_PORT=${SC_CLUSTER_PORT:-$((26817 + ID))}
LOCK_TIMEOUT=${SC_CLUSTER_LOCK_TIMEOUT:-300}
UP_TIMEOUT=${SC_CLUSTER_UP_TIMEOUT:-60}
MAXN=64

NET=10.250.$ID
CTLD_ADDR=$NET.1
BRIDGE=sck${ID}br
NS_PREFIX=sck${ID}-n
VETH_PREFIX=sck${ID}-v
REG_DIR=/run/splitckpt-cluster
REG=$REG_DIR/$ID.dir
LOCK_DIR=/run/lock
[ -d "$LOCK_DIR" ] || LOCK_DIR=/run
LOCK=$LOCK_DIR/splitckpt-cluster-$ID.lock
MARKER=.splitckpt-cluster
HAVE_LOCK=0

node_ip() { echo "$NET.$((10 + $1))"; }

log() { echo "$PROG: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

usage() {
	cat <<EOF
usage: $PROG COMMAND [ARGS]
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
	elif [ -s "$REG" ]; then
		cat "$REG"
	else
		echo "$DEFAULT_DIR"
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
	[ "$HAVE_LOCK" = 1 ] && return 0
	# Called from inside 'run' (its command inherits this): the lock is already ours.
	[ "${SC_CLUSTER_LOCK_HELD:-}" = "$ID" ] && return 0
	exec 9>>"$LOCK"
	if ! flock -n 9; then
		log "waiting up to ${LOCK_TIMEOUT}s for cluster $ID's lock $LOCK, held by: $(cat "$LOCK.owner" 2>/dev/null || echo unknown)"
		if ! flock -w "$LOCK_TIMEOUT" 9; then
			die "timed out after ${LOCK_TIMEOUT}s waiting for $LOCK (held by: $(cat "$LOCK.owner" 2>/dev/null || echo unknown))"
		fi
	fi
	echo "pid $$ since $(date '+%F %T'): $PROG $*" >"$LOCK.owner"
	HAVE_LOCK=1
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
	local -a cand=("$d" "$PWD" "$(dirname "$(dirname "$(dirname "$SELF")")")")
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

our_netns() { ip netns list 2>/dev/null | awk -v p="$NS_PREFIX" 'index($1, p) == 1 && substr($1, length(p) + 1) ~ /^[0-9]+$/ {print $1}'; }

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

alive_any() {
	local p
	for p in "$@"; do
		kill -0 "$p" 2>/dev/null && return 0
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
	SLURM_CONF=$D/etc/slurm.conf timeout -k 2 10 "$@" 9>&-
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

# Tails of the daemon logs; of the *.out files (daemon stdout/stderr) only what is not a copy of
# the log file (errors before logging started, e.g. a failing mount in a node).
dump_logs() { # lines [files...]
	local n=${1:-40} f
	shift || true
	local -a files=("$@")
	[ ${#files[@]} -gt 0 ] || files=("$D"/log/*)
	for f in "${files[@]}"; do
		[ -s "$f" ] || continue
		case $f in
		*.out)
			grep -qvE '^(slurmd|slurmctld): ' "$f" || continue
			echo "----- last $n lines of $f (without the log copy) -----" >&2
			grep -vE '^(slurmd|slurmctld): ' "$f" | tail -n "$n" >&2
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
		echo "$CTLD_ADDR ctl $host"
		for ((i = 1; i <= n; i++)); do
			echo "$(node_ip "$i") n$i"
		done
	} >"$D/etc/hosts"
	cat >"$D/etc/slurm.conf" <<EOF
# Generated by tests/cluster/cluster.sh for cluster $ID ($n nodes); rewritten by every 'up'.
ClusterName=splitckpt$ID
SlurmctldHost=ctl($CTLD_ADDR)
SlurmctldPort=$CTLD_PORT
SlurmdPort=6818
# slurmctld binds to the address its hostname (ctl) resolves to, i.e. the bridge address only:
# with auth/none it must not be reachable from outside the machine.
CommunicationParameters=NoCtldInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool/%n
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd-%n.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd-%n.log
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
NodeName=DEFAULT CPUs=$CPUS State=UNKNOWN
EOF
	for ((i = 1; i <= n; i++)); do
		echo "NodeName=n$i NodeAddr=$(node_ip "$i") NodeHostname=n$i" >>"$D/etc/slurm.conf"
	done
	echo "PartitionName=debug Nodes=n[1-$n] Default=YES MaxTime=INFINITE State=UP" >>"$D/etc/slurm.conf"
}

setup_network() { # N
	local n=$1 i ns v
	ip link add "$BRIDGE" type bridge
	ip addr add "$CTLD_ADDR/24" dev "$BRIDGE"
	ip link set "$BRIDGE" up
	for ((i = 1; i <= n; i++)); do
		ns=$NS_PREFIX$i
		v=$VETH_PREFIX$i
		ip netns add "$ns"
		ip link add "$v" type veth peer name eth0 netns "$ns"
		ip link set "$v" master "$BRIDGE" up
		ip -n "$ns" addr add "$(node_ip "$i")/24" dev eth0
		ip -n "$ns" link set lo up
		ip -n "$ns" link set eth0 up
		ip -n "$ns" route add default via "$CTLD_ADDR"
	done
}

# Runs slurmctld in the root network namespace, but in its own UTS and mount namespaces: hostname
# 'ctl' resolving to the bridge address (NoCtldInAddrAny then binds there, not to 0.0.0.0).
ctld_main() { # DIR
	D=$1
	mount --make-rprivate /
	hostname ctl
	mount --bind "$D/etc/hosts" /etc/hosts
	cd /
	exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 SLURM_CONF="$D/etc/slurm.conf" slurmctld -D -c -i -f "$D/etc/slurm.conf"
}

# Runs inside node I's fresh namespaces (entered by 'up'): private mounts, hostname, then slurmd.
node_main() { # I DIR
	local i=$1 p rel priv
	D=$2
	priv=$D/nodes/n$i/tmp
	mount --make-rprivate /
	hostname "n$i"
	mount --bind "$D/etc/hosts" /etc/hosts
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
	done <"$D/etc/shares"
	mount --rbind "$priv" /tmp
	cd /
	exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 SLURM_CONF="$D/etc/slurm.conf" slurmd -D -f "$D/etc/slurm.conf" -N "n$i"
}

# Healthy: registered at this dir, controller answers, exactly N idle nodes, no jobs, daemons alive,
# and the nodes see every path the caller needs.
healthy() { # N
	local n=$1 i
	[ -s "$REG" ] && [ "$(cat "$REG")" = "$D" ] || return 1
	[ -s "$D/etc/nodes" ] && [ "$(cat "$D/etc/nodes")" = "$n" ] || return 1
	daemon_pid "$D/run/slurmctld.spid" "$D/etc/slurm.conf" >/dev/null || return 1
	for ((i = 1; i <= n; i++)); do
		daemon_pid "$D/run/slurmd-n$i.spid" "$D/etc/slurm.conf" >/dev/null || return 1
	done
	all_idle "$n" || return 1
	[ -z "$(sl squeue -h -o %i 2>/dev/null)" ] || return 1
	shares_covered "$D"
}

anything_up() {
	[ -e "$REG" ] && return 0
	[ -n "$(our_netns)" ] && return 0
	ip link show "$BRIDGE" >/dev/null 2>&1 && return 0
	[ -n "$(cluster_pids "$D")" ]
}

# Bridged traffic between nodes flows: from n1, a TCP connect to an unused port of every node must
# be refused at once (a host with br_netfilter and a FORWARD DROP policy, e.g. Docker's, drops it).
connectivity_ok() { # N
	local n=$1 i out
	for ((i = 2; i <= n; i++)); do
		out=$(nsenter --net="/run/netns/${NS_PREFIX}1" -- timeout 3 bash -c \
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
	if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1 || n > MAXN)); then
		die "up: N must be 1..$MAXN (got '$n')"
	fi
	if healthy "$n"; then
		log "cluster $ID is already up with $n nodes ($D)"
		return 0
	fi
	if anything_up; then
		log "cleaning up a previous (stale or different) cluster $ID first"
		do_down
	fi
	validate_dir "$D"
	if [ -e "$D" ] && ! [ -e "$D/$MARKER" ] && [ -n "$(ls -A "$D")" ]; then
		die "state directory $D exists, is not empty and was not created by $PROG"
	fi
	mkdir -p "$D" "$REG_DIR"
	touch "$D/$MARKER"
	echo "$D" >"$REG"
	clean_state_dir
	rm -rf "$D/log"
	mkdir -p "$D"/{etc,state,spool,log,run,shared}
	for ((i = 1; i <= n; i++)); do
		mkdir -p "$D/nodes/n$i/tmp" "$D/spool/n$i"
		chmod 1777 "$D/nodes/n$i/tmp"
	done
	chmod 1777 "$D/shared"
	echo "$n" >"$D/etc/nodes"
	required_shares "$D" >"$D/etc/shares"
	write_config "$n"
	setup_network "$n"

	setsid unshare --uts --mount --propagation private -- /bin/bash "$SELF" _ctld "$D" \
		</dev/null >>"$D/log/slurmctld.out" 2>&1 9>&- &
	echo $! >"$D/run/slurmctld.spid"
	if ! wait_for "slurmctld to answer 'scontrol ping' at $CTLD_ADDR:$CTLD_PORT" "$UP_TIMEOUT" ctld_up; then
		dump_logs 40 "$D/log/slurmctld.log" "$D/log/slurmctld.out"
		return 1
	fi
	for ((i = 1; i <= n; i++)); do
		setsid nsenter --net="/run/netns/$NS_PREFIX$i" -- unshare --uts --mount --ipc --propagation private -- \
			/bin/bash "$SELF" _node "$i" "$D" </dev/null >>"$D/log/slurmd-n$i.out" 2>&1 9>&- &
		echo $! >"$D/run/slurmd-n$i.spid"
	done
	if ! wait_for "$n nodes n1..n$n to register and become idle (idle now: $(nodes_idle_count))" \
		"$UP_TIMEOUT" all_idle "$n"; then
		sl sinfo -N >&2 || true
		dump_logs 25
		return 1
	fi
	if ! connectivity_ok "$n"; then
		dump_logs 10
		return 1
	fi
	log "cluster $ID up: $n nodes in $((SECONDS - t0))s; state in $D"
}

# --- down --------------------------------------------------------------------------------------
clean_state_dir() {
	local m
	[ -e "$D/$MARKER" ] || return 0
	# Never delete through a mount: node mounts live only in node namespaces; refuse if any here.
	m=$(awk -v d="$D/" 'index($5 "/", d) == 1 {print $5}' /proc/self/mountinfo)
	if [ -n "$m" ]; then
		log "warning: not deleting $D: mounts under it in this namespace: $m"
		return 1
	fi
	# No slurm.conf once down: a stale SLURM_CONF must not send traffic to 10.250.x via the
	# default route.
	rm -rf --one-file-system "$D/nodes" "$D/spool" "$D/state" "$D/run" "$D/shared" "$D/etc/slurm.conf"
}

do_down() {
	local ns i v
	local -a pids
	mapfile -t pids < <(cluster_pids "$D" | sort -un)
	if [ ${#pids[@]} -gt 0 ]; then
		kill_and_wait 10 "${pids[@]}" || true
	fi
	# Processes may have appeared in a netns meanwhile (a step starting): one more round.
	mapfile -t pids < <(cluster_pids "$D" | sort -un)
	if [ ${#pids[@]} -gt 0 ]; then
		kill_and_wait 5 "${pids[@]}" || true
	fi
	for ns in $(our_netns); do
		ip netns del "$ns" 2>/dev/null || log "warning: could not delete netns $ns"
	done
	for v in $(ip -o link show 2>/dev/null | awk -F': ' -v p="$VETH_PREFIX" '{sub(/@.*/, "", $2)} index($2, p) == 1 {print $2}'); do
		ip link del "$v" 2>/dev/null || true
	done
	if ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link del "$BRIDGE" || log "warning: could not delete bridge $BRIDGE"
	fi
	clean_state_dir || true
	rm -f "$REG"
	if [ -n "$(our_netns)" ] || ip link show "$BRIDGE" >/dev/null 2>&1; then
		log "warning: cluster $ID not completely removed (netns: $(our_netns | tr '\n' ' '))"
		return 1
	fi
	return 0
}

# --- status / env / exec / run -----------------------------------------------------------------
cmd_status() {
	local n i pid
	if ! anything_up; then
		echo "cluster $ID: down"
		return 3
	fi
	n=$(cat "$D/etc/nodes" 2>/dev/null || echo 0)
	echo "cluster $ID: state dir $D, $n nodes, bridge $BRIDGE $CTLD_ADDR/24, slurmctld port $CTLD_PORT"
	echo "  slurmctld pid: $(daemon_pid "$D/run/slurmctld.spid" "$D/etc/slurm.conf" || echo none)"
	for ((i = 1; i <= n; i++)); do
		pid=$(daemon_pid "$D/run/slurmd-n$i.spid" "$D/etc/slurm.conf" || echo none)
		echo "  n$i: $(node_ip "$i") netns $NS_PREFIX$i slurmd pid $pid"
	done
	echo "  shared into the nodes' /tmp: $(tr '\n' ' ' <"$D/etc/shares" 2>/dev/null)"
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
	[ -s "$D/etc/slurm.conf" ] || die "cluster $ID is not up (no $D/etc/slurm.conf)"
	echo "export SLURM_CONF=$D/etc/slurm.conf"
}

cmd_exec() { # I -- CMD...
	local i=${1:-} pid
	[[ $i =~ ^[0-9]+$ ]] || die "exec: node number expected (exec I -- CMD...)"
	shift
	[ "${1:-}" = -- ] && shift
	[ $# -gt 0 ] || set -- bash
	pid=$(daemon_pid "$D/run/slurmd-n$i.spid" "$D/etc/slurm.conf") || die "node n$i is not up (no slurmd) in cluster $ID"
	# shellcheck disable=SC2016 # expanded by the inner bash
	exec nsenter --target "$pid" --net --uts --mount --ipc -- env SLURM_CONF="$D/etc/slurm.conf" \
		/bin/bash -c 'cd "$1" 2>/dev/null || cd /; shift; exec "$@"' _ "$PWD" "$@" 9>&-
}

CMD_PID=
STAGE=
on_signal() { # signal-number
	trap '' INT TERM HUP
	log "received signal $1, stopping and tearing the cluster down"
	if [ -n "$CMD_PID" ]; then
		kill -TERM "$CMD_PID" 2>/dev/null || true
	fi
	exit $((128 + $1))
}

# EXIT trap of 'up' and 'run': tears the cluster down (always for run, on failure for up).
cleanup() {
	local rc=$?
	trap - EXIT
	trap '' INT TERM HUP
	if [ "$STAGE" = up ] && [ $rc -ne 0 ]; then
		log "error: could not bring up cluster $ID (logs kept in $D/log); cleaning up"
		[ $rc -eq 77 ] && rc=1 # a failed 'up' is a failure, never a skip
	fi
	if [ -n "$CMD_PID" ] && kill -0 "$CMD_PID" 2>/dev/null; then
		kill -TERM "$CMD_PID" 2>/dev/null || true
	fi
	if [ "$cmd" = run ] && [ "$STAGE" != up ] && [ "${SC_CLUSTER_KEEP:-0}" = 1 ]; then
		log "SC_CLUSTER_KEEP=1: leaving cluster $ID up; stop it with: $SELF down"
	elif [ "$cmd" = run ] || [ "$STAGE" = up ]; then
		if ! do_down && [ $rc -eq 0 ]; then
			rc=1
		fi
	fi
	if [ -n "$CMD_PID" ]; then
		kill -KILL "$CMD_PID" 2>/dev/null || true
	fi
	exit "$rc"
}

cmd_up() { # N
	[ $# -eq 1 ] || die "usage: $PROG up N"
	cmd_check
	lock up "$@"
	trap cleanup EXIT
	trap 'on_signal 2' INT
	trap 'on_signal 15' TERM
	trap 'on_signal 1' HUP
	STAGE=up
	do_up "$1" # errexit is active here: any failing step exits through cleanup
	STAGE=ready
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
	STAGE=up
	do_up "$n"
	STAGE=run
	export SLURM_CONF=$D/etc/slurm.conf SC_CLUSTER_DIR=$D SC_CLUSTER_NODES=$n \
		SC_CLUSTER_SHARED=$D/shared SC_CLUSTER_LOCK_HELD=$ID
	# In the background so that a signal is handled at once; stdin kept (bash would use /dev/null).
	exec 8<&0 2>/dev/null || exec 8</dev/null
	"$@" <&8 8<&- 9>&- &
	CMD_PID=$!
	exec 8<&-
	rc=0
	wait "$CMD_PID" || rc=$?
	CMD_PID=
	STAGE=ready
	exit "$rc"
}

# --- main --------------------------------------------------------------------------------------
[ $# -gt 0 ] || {
	usage >&2
	exit 2
}
cmd=$1
shift
case $cmd in
_node) node_main "$@" ;;
_ctld) ctld_main "$@" ;;
esac
D=$(state_dir)

case $cmd in
check) cmd_check ;;
up) cmd_up "$@" ;;
down)
	if [ "${1:-}" != -f ]; then
		lock down
	fi
	if do_down; then
		log "cluster $ID down"
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
