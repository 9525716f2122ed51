#!/bin/bash
# Lifecycle of the emulated cluster (sourced by cluster.sh): whether it is healthy or anything of it
# is left, bringing it up in order (state dir, config, network, slurmctld, nodes, checks) and
# tearing everything of it down, also after a partial or killed 'up'.
# shellcheck disable=SC2154 # the cl_* settings and cl_dir are set by cluster.sh

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

do_up() { # N
	local n=$1 t0=$SECONDS
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
	make_state_dir "$n"
	write_hosts "$n"
	write_slurm_conf "$n"
	setup_network "$n"

	start_ctld
	if ! wait_for "slurmctld to answer 'scontrol ping' at $cl_ctld_addr:$cl_port" "$cl_up_timeout" ctld_up; then
		dump_logs 40 "$cl_dir/log/slurmctld.log" "$cl_dir/log/slurmctld.out"
		return 1
	fi
	start_nodes "$n"
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

# Stops everything of cluster ID: the processes in its nodes' netns, slurmctld (by pid file, in
# the configured state dir and in the one the registry names), then netns, veths, bridge.
do_down() {
	local d
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
	teardown_network
	for d in "${dirs[@]}"; do
		clean_state_dir "$d" || true
	done
	rm -f "$cl_reg"
	if [ -n "$(our_netns)" ] || ip link show "$cl_bridge" >/dev/null 2>&1; then
		log "warning: cluster $cl_id not completely removed (netns: $(our_netns | tr '\n' ' '))"
		return 1
	fi
}
