#!/bin/bash
# The nodes n1..nN of the emulated cluster (sourced by cluster.sh): which paths under the host's
# /tmp they must see, starting each slurmd in its node's network, UTS, mount and IPC namespaces,
# and the node's setup inside them (hostname, /etc/hosts, private /dev/shm and /tmp).
# shellcheck disable=SC2154 # the cl_* settings and cl_dir are set by cluster.sh

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

# Starts slurmd of nodes n1..nN in the background, each entering its netns plus fresh UTS, mount
# and IPC namespaces and running node_main through this script; their PIDs go to run/.
start_nodes() { # N
	local n=$1 i
	for ((i = 1; i <= n; i++)); do
		setsid nsenter --net="/run/netns/$cl_ns_prefix$i" -- unshare --uts --mount --ipc --propagation private -- \
			/bin/bash "$cl_self" _node "$i" "$cl_dir" </dev/null >>"$cl_dir/log/slurmd-n$i.out" 2>&1 9>&- &
		echo $! >"$cl_dir/run/slurmd-n$i.spid"
	done
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
