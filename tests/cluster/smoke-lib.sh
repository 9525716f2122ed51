#!/bin/bash
# Shared part of tests/cluster/smoke-*.sh: skips (77) when the test program was not built or no
# cluster can be created here, runs mpi_ring once through 'srun' in a fresh emulated cluster under a
# time limit and checks its output (every rank correct, enough distinct hosts n1..nN). A hang in
# MPI_Finalize after every rank passed is retried once, loudly; anything else fails at once.

SMOKE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SMOKE_CLUSTER=$SMOKE_DIR/cluster.sh
SMOKE_TIMEOUT=${SC_SMOKE_TIMEOUT:-60}
SMOKE_HANG=75 # exit status of a step whose ranks all passed but that hung in MPI_Finalize

# smoke_main IMPL MPI-PLUGIN NODES NTASKS: the whole test (called by smoke-IMPL.sh).
smoke_main() {
	local impl=$1 plugin=$2 nodes=$3 ntasks=$4 builddir prog out attempt rc t0
	builddir=${SC_TESTS_BUILDDIR:-$PWD}
	prog=$builddir/cluster/mpi_ring_$impl
	if ! [ -x "$prog" ]; then
		echo "SKIP: $prog was not built (configure found no $impl, or check programs not built: use make check)"
		exit 77
	fi
	"$SMOKE_CLUSTER" check || exit $? # prints why, exits 77
	mkdir -p "$builddir/cluster"
	for attempt in 1 2; do
		out=$builddir/cluster/smoke-$impl.out.$attempt
		t0=$SECONDS
		rc=0
		"$SMOKE_CLUSTER" run "$nodes" -- /bin/bash "$SMOKE_DIR/smoke-lib.sh" --step \
			"$plugin" "$nodes" "$ntasks" "$prog" "$out" || rc=$?
		echo "smoke-$impl: attempt $attempt: exit status $rc after $((SECONDS - t0))s (cluster up, srun, down)"
		case $rc in
		0)
			echo "PASS: srun --mpi=$plugin -N $nodes -n $ntasks ran the $impl program across $nodes nodes"
			exit 0
			;;
		"$SMOKE_HANG")
			if [ "$attempt" = 1 ]; then
				echo "WARNING: every rank passed its checks but the step hung in MPI_Finalize (known"
				echo "WARNING: MPICH+UCX issue across emulated nodes); retrying ONCE in a fresh cluster"
				continue
			fi
			echo "FAIL: the step hung in MPI_Finalize twice in a row"
			exit 1
			;;
		77)
			echo "SKIP: cluster.sh could not create a cluster here"
			exit 77
			;;
		*)
			echo "FAIL: srun --mpi=$plugin -N $nodes -n $ntasks of $prog (see output above)"
			exit 1
			;;
		esac
	done
}

# smoke_step PLUGIN NODES NTASKS PROG OUT: runs inside 'cluster.sh run' (SLURM_CONF is set).
smoke_step() {
	local plugin=$1 nodes=$2 ntasks=$3 prog=$4 out=$5 rc=0 t0=$SECONDS i bad=0
	local hosts ok_lines entered finalized summary
	export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
	echo "+ timeout -k 3 $SMOKE_TIMEOUT srun --mpi=$plugin -N $nodes -n $ntasks --immediate=30 --kill-on-bad-exit=1 --wait=30 $prog"
	timeout -k 3 "$SMOKE_TIMEOUT" srun --mpi="$plugin" -N "$nodes" -n "$ntasks" --immediate=30 --kill-on-bad-exit=1 \
		--wait=30 "$prog" >"$out" 2>&1 || rc=$?
	echo "srun exit status $rc after $((SECONDS - t0))s; its output:"
	sed 's/^/| /' "$out"

	ok_lines=$(grep -cE "^mpi_ring: rank [0-9]+ of $ntasks on n[0-9]+: .* ok\$" "$out" || true)
	hosts=$(sed -nE "s/^mpi_ring: rank [0-9]+ of $ntasks on (n[0-9]+): .*/\\1/p" "$out" | sort -u | tr '\n' ' ' | sed 's/ $//')
	entered=$(grep -cE '^mpi_ring: rank [0-9]+ entering MPI_Finalize$' "$out" || true)
	finalized=$(grep -cE '^mpi_ring: rank [0-9]+ finalized$' "$out" || true)
	summary=$(grep -E '^mpi_ring: summary:' "$out" || true)
	echo "check: $ok_lines/$ntasks ranks ok, hosts: $hosts, $entered entered and $finalized left MPI_Finalize"

	if [ "$ok_lines" != "$ntasks" ]; then
		echo "check FAILED: $ok_lines of $ntasks ranks reported correct results"
		bad=1
	fi
	for ((i = 1; i <= nodes; i++)); do
		case " $hosts " in
		*" n$i "*) ;;
		*)
			echo "check FAILED: no rank ran on node n$i"
			bad=1
			;;
		esac
	done
	case $summary in
	*" size $ntasks hosts $nodes "*PASS) ;;
	*)
		echo "check FAILED: rank 0's summary is not 'size $ntasks hosts $nodes ... PASS': '$summary'"
		bad=1
		;;
	esac
	if [ $rc -eq 0 ] && [ $bad -eq 0 ] && [ "$finalized" = "$ntasks" ]; then
		return 0
	fi
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "srun did not finish within ${SMOKE_TIMEOUT}s (killed)"
	fi
	echo "--- cluster state and daemon logs ---"
	sinfo -N || true
	squeue || true
	"$SMOKE_CLUSTER" logs 30 || true
	if [ $rc -ne 0 ] && [ $bad -eq 0 ] && [ "$entered" = "$ntasks" ] && [ "$finalized" != "$ntasks" ]; then
		echo "diagnosis: all ranks passed, but $((ntasks - finalized)) rank(s) never returned from MPI_Finalize"
		return $SMOKE_HANG
	fi
	return 1
}

if [ "${1:-}" = --step ]; then
	set -uo pipefail
	shift
	smoke_step "$@"
	exit $?
fi
