#!/bin/bash
# make check: both launch modes of MPI jobs across 3 emulated Slurm nodes (cluster.sh) —
# `srun --mpi=P -N 3 -n 4 splitckpt launch ./app` (a rank's launch starts the coordinator on its
# node) and `splitckpt launch srun --mpi=P -N 3 -n 4 ./app` (launch starts it on the host) — with
# mpi_ring.c built once by splitckpt-mpicc: MPICH (pmi2) and Open MPI (pmix). Each job must pass
# on every rank, cover n1..n3, leave MPI_Finalize on every rank and have had ONE coordinator that
# all ranks reached from their nodes; all jobs run in one cluster. Skips (77) without MPICH or
# where no cluster can be created. mpi_ring runs with SC_RING_NO_SETTLE=1, without its own
# workaround for MPICH 4.0.2 + UCX's MPI_Finalize hang (two ranks on a node make it likely): the
# MPICH lower half's MPI_Finalize must avoid it (lower-half/mpi/lh_mpi.c). SC_LAUNCH_CLUSTER_NTASKS
# changes the number of ranks (default 4).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAUNCH_MULTINODE=1 # launch-lib.sh: keep MPI's network transports

# step IMPL MODE PROG: one job inside `cluster.sh run` (SLURM_CONF set; its checkpoint directory
# is under SC_CLUSTER_SHARED, which every node sees at the same path)
step() {
	local impl=$1 mode=$2 prog=$3 dir=$WORK/ckpt-$1-$2 rc=0 ok entered finalized hosts
	local out=$dir.out plugin=pmi2 NTASKS=${SC_LAUNCH_CLUSTER_NTASKS:-4}
	if [ "$impl" = openmpi ]; then
		plugin=pmix
	fi
	local srun=(srun --mpi=$plugin -N 3 -n "$NTASKS" --immediate=30 --kill-on-bad-exit=1 --wait=30)
	if [ "$mode" = inside ]; then
		set -- "${srun[@]}" "$SPLITCKPT" launch --ckptdir "$dir" "$prog"
	else
		set -- "$SPLITCKPT" launch --ckptdir "$dir" "${srun[@]}" "$prog"
	fi
	echo "+ timeout -k 3 $TIMEOUT $*"
	timeout -k 3 "$TIMEOUT" "$@" >"$out" 2>&1 || rc=$?
	sed 's/^/| /' "$out"
	ok=$(grep -cE "^mpi_ring: rank [0-9]+ of $NTASKS on n[0-9]+: .* ok\$" "$out")
	entered=$(grep -cE '^mpi_ring: rank [0-9]+ entering MPI_Finalize$' "$out")
	finalized=$(grep -cE '^mpi_ring: rank [0-9]+ finalized$' "$out")
	hosts=$(sed -nE "s/^mpi_ring: rank [0-9]+ of $NTASKS on (n[0-9]+): .*/\\1/p" "$out" |
		sort -u | tr '\n' ' ')
	echo "status $rc: $ok/$NTASKS ranks ok on hosts $hosts; $finalized left MPI_Finalize"
	[ "$ok" = "$NTASKS" ] && [ "$hosts" = "n1 n2 n3 " ] || return 1
	if [ $rc -ne 0 ]; then
		if [ "$entered" = "$NTASKS" ] && [ "$finalized" != "$NTASKS" ]; then
			echo "every rank passed, but $((NTASKS - finalized)) never returned from MPI_Finalize"
		fi
		return 1
	fi
	one_coordinator "$dir" "$NTASKS" # exits on failure
	if [ "$mode" = inside ]; then # started by a rank: on a node, advertised by its name
		grep -q "listening on n[1-3]:" "$dir/coordinator.log" ||
			fail "$impl inside: the coordinator did not run on a node"
	fi
	echo "PASS: $impl $mode: one coordinator ($(sed -n 's/.*listening on \([^ ]*\) .*/\1/p' \
		"$dir/coordinator.log")), $NTASKS ranks on n1 n2 n3"
}

# steps PROG IMPL...: every job in ONE cluster (each cluster up/down adds and removes veths,
# which makes MPI_Init of concurrent single-node tests fail with "No such device").
steps() {
	local prog=$1 impl mode
	shift
	for impl in "$@"; do
		for mode in inside outside; do
			step "$impl" "$mode" "$prog" || fail "$impl $mode: see the output above"
		done
	done
}

if [ "${1:-}" = --steps ]; then
	shift
	LAUNCH_WORK=$SC_CLUSTER_SHARED/launch.$$
	mkdir -p "$LAUNCH_WORK"
	SC_LAUNCH_TIMEOUT=${SC_LAUNCH_TIMEOUT:-60}
	export SC_RING_NO_SETTLE=1 # srun passes the environment on to the ranks
	. "$HERE/../mpi/launch-lib.sh"
	steps "$@"
	exit $?
fi

. "$HERE/../mpi/launch-lib.sh"
if ! have_mpich || ! command -v srun >/dev/null; then
	echo "SKIP: MPICH (mpiexec.hydra, splitckpt-lh-mpich) or srun not available"
	exit 77
fi
"$HERE/cluster.sh" check || exit $? # prints why, exits 77
build_sc ../cluster/mpi_ring cl_ring
impls=mpich
if have_openmpi; then impls="mpich openmpi"; fi
rc=0
"$HERE/cluster.sh" run 3 -- /bin/bash "$HERE/mpi-launch.sh" --steps "$BIN/cl_ring" $impls || rc=$?
case $rc in
0) echo "PASS: both launch modes across 3 nodes with: $impls" ;;
77) echo "SKIP: cluster.sh could not create a cluster here" && exit 77 ;;
*) fail "see the output above" ;;
esac
