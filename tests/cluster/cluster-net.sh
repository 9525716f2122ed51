#!/bin/bash
# Network of the emulated cluster (sourced by cluster.sh): the address plan (bridge 10.250.ID.1/24,
# node nI at 10.250.ID.(10+I) in netns sckID-nI) and the hosts file naming it, the probe of 'check',
# creating and deleting the bridge, veths and netns, and the node-to-node check of 'up'.
# shellcheck disable=SC2154 # the cl_* settings and cl_dir are set by cluster.sh

node_ip() { echo "$cl_net.$((10 + $1))"; }

our_netns() { ip netns list 2>/dev/null | awk -v p="$cl_ns_prefix" 'index($1, p) == 1 && substr($1, length(p) + 1) ~ /^[0-9]+$/ {print $1}'; }

# Prints why no bridge, veth pair or netns can be created here (empty output: they can).
net_why_not() {
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

# The hosts file that slurmctld and every node bind-mount on /etc/hosts: ctl is the bridge address.
write_hosts() { # N
	local n=$1 i host
	host=$(hostname -s)
	{
		echo "127.0.0.1 localhost"
		echo "$cl_ctld_addr ctl $host"
		for ((i = 1; i <= n; i++)); do
			echo "$(node_ip "$i") n$i"
		done
	} >"$cl_dir/etc/hosts"
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

# Deletes the nodes' netns, every veth of this cluster and its bridge.
teardown_network() {
	local ns v
	for ns in $(our_netns); do
		ip netns del "$ns" 2>/dev/null || log "warning: could not delete netns $ns"
	done
	for v in $(ip -o link show 2>/dev/null | awk -F': ' -v p="$cl_veth_prefix" '{sub(/@.*/, "", $2)} index($2, p) == 1 {print $2}'); do
		ip link del "$v" 2>/dev/null || true
	done
	if ip link show "$cl_bridge" >/dev/null 2>&1; then
		ip link del "$cl_bridge" || log "warning: could not delete bridge $cl_bridge"
	fi
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
