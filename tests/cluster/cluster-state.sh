#!/bin/bash
# State directory of the emulated cluster (sourced by cluster.sh): where it is (SC_CLUSTER_DIR, the
# registry in /run, the default), which paths may be one, the layout 'up' creates in it (etc/ log/
# run/ state/ spool/ nodes/nI/tmp shared/) and its cleanup, which never deletes through a mount.
# shellcheck disable=SC2154 # the cl_* settings and cl_dir are set by cluster.sh

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

# Creates (or re-creates) the state directory of an N-node cluster and registers it in /run.
make_state_dir() { # N
	local n=$1 i
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
}

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
