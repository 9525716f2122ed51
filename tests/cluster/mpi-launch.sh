#!/bin/bash
# make check: both launch modes of MPI jobs across 3 emulated Slurm nodes (cluster.sh) —
# `srun --mpi=P -N 3 -n N splitckpt launch ./app` (a rank's launch starts the coordinator on its
# node) and `splitckpt launch srun --mpi=P -N 3 -n N ./app` (launch starts it on the host) — with
# mpi_ring.c built once by splitckpt-mpicc: MPICH (pmi2) and Open MPI (pmix, -n 4). Each job must
# pass on every rank, cover n1..n3 and have had ONE coordinator that all ranks reached from their
# nodes; all jobs run in one cluster. Skips (77) without MPICH or where no cluster can be
# created. MPICH runs -n 3 (SC_LAUNCH_CLUSTER_NTASKS): with two ranks on one node MPICH 4.0.2 +
# UCX hang in MPI_Finalize, natively too once blocking collectives are replaced by nonblocking
# ones as the crossing does (wrappers/README.md, "Tests and numbers").
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HANG=75 # a job whose ranks all passed but that hung in MPI_Finalize
LAUNCH_MULTINODE=1 # launch-lib.sh: keep MPI's network transports

# step IMPL MODE PROG: one job inside `cluster.sh run` (SLURM_CONF set; its checkpoint directory
# is under SC_CLUSTER_SHARED, which every node sees at the same path)
step() {
	local impl=$1 mode=$2 prog=$3 dir=$WORK/ckpt-$1-$2 rc=0 ok entered finalized hosts
	local out=$dir.out plugin=pmi2 NTASKS=${SC_LAUNCH_CLUSTER_NTASKS:-3}
	if [ "$impl" = openmpi ]; then
		plugin=pmix NTASKS=4
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
		[ "$entered" = "$NTASKS" ] && [ "$finalized" != "$NTASKS" ] && return $HANG
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
# which makes MPI_Init of concurrent single-node tests fail with "No such device"); a job whose
# ranks all passed but that hung in MPI_Finalize is retried once, loudly.
steps() {
	local prog=$1 impl mode rc
	shift
	for impl in "$@"; do
		for mode in inside outside; do
			rc=0
			step "$impl" "$mode" "$prog" || rc=$?
			if [ $rc = "$HANG" ]; then
				echo "WARNING: $impl $mode: every rank passed but the job hung in"
				echo "WARNING: MPI_Finalize (known MPICH+UCX issue); retrying ONCE"
				rc=0
				step "$impl" "$mode" "$prog" || rc=$?
			fi
			[ $rc = 0 ] || fail "$impl $mode: see the output above"
		done
	done
}

if [ "${1:-}" = --steps ]; then
	shift
	LAUNCH_WORK=$SC_CLUSTER_SHARED/launch.$$
	mkdir -p "$LAUNCH_WORK"
	SC_LAUNCH_TIMEOUT=${SC_LAUNCH_TIMEOUT:-60}
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
