#!/bin/bash
# Processes of the emulated cluster (sourced by cluster.sh): a daemon's PID from its pid file (never
# a recycled PID), every PID that belongs to a cluster (its nodes' netns, slurmctld, starting
# slurmds), and stopping PIDs with SIGTERM, then SIGKILL.
# shellcheck disable=SC2154 # the cl_* settings and cl_dir are set by cluster.sh

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
