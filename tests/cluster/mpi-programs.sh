#!/bin/bash
# make check: the self-checking MPI programs of tests/mpi (cov_*.c) across 3 emulated Slurm nodes
# (cluster.sh), all in ONE cluster: each is built natively with mpicc.mpich (the reference) and
# with splitckpt-mpicc; the native build runs as `srun --mpi=pmi2 -N 3 -n 4 ./prog`, the
# splitckpt one as `srun --mpi=pmi2 -N 3 -n 4 splitckpt launch ./prog` and as `salloc -N 3 -n 4
# mpiexec.hydra -n 4 splitckpt launch ./prog` (hydra on one node: tests/mpi/cov-*.sh). Skips (77)
# without MPICH, srun or a cluster.
#
# A program prints "NAME: all K checks passed on N ranks" from rank 0 after its last reduce (a
# failed check aborts the job), so after that line only MPI_Finalize remains. Through splitckpt
# the job must then end (status 0). The native reference may hang there (MPICH 4.0.2 + UCX, see
# README.md; splitckpt's MPICH lower half avoids it): that is a WARNING, not a failure. Either
# way a job still running SC_PROGRAMS_GRACE seconds (default 5) after the line is cancelled, so
# that a hang costs seconds, not the whole timeout (SC_PROGRAMS_TIMEOUT, default 120).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAUNCH_MULTINODE=1 # launch-lib.sh: keep MPI's network transports
PROGRAMS="cov_p2p cov_coll cov_comm cov_topo cov_types cov_misc"
NODES=3
NTASKS=4
GRACE=${SC_PROGRAMS_GRACE:-5}

# job KIND NAME NODES CMD...: runs CMD through srun, or for KIND hydra through mpiexec.hydra in
# an allocation (hydra starts its proxies with srun), output in $WORK/NAME.KIND.out (shown);
# returns 0 if it passed and ended, 75 if it passed but had to be cancelled in MPI_Finalize, 1
# otherwise
job() {
	local kind=$1 name=$2 nodes=$3 out=$WORK/$2.$1.out jobname=sc-prog-$$-$2-$1 rc=0 seen='' pid
	shift 3
	local t0=$SECONDS
	if [ "$kind" = hydra ]; then
		set -- salloc -J "$jobname" -N "$nodes" -n $NTASKS --immediate=30 "$HYDRA" -n $NTASKS "$@"
	else
		set -- srun -J "$jobname" --mpi=pmi2 -N "$nodes" -n $NTASKS --immediate=30 \
			--kill-on-bad-exit=1 --wait=30 "$@"
	fi
	echo "+ $*"
	timeout -k 3 "$TIMEOUT" "$@" >"$out" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if [ -z "$seen" ] && grep -q "^$name: all [0-9]* checks passed on $NTASKS ranks" "$out"; then
			seen=$SECONDS
		elif [ -n "$seen" ] && [ $((SECONDS - seen)) -ge "$GRACE" ]; then
			echo "$name $kind: still running ${GRACE}s after its checks passed: cancelling"
			scancel -n "$jobname"
			seen=cancelled
			break
		fi
		sleep 0.2
	done
	wait "$pid" || rc=$?
	sed 's/^/| /' "$out"
	echo "$name $kind: status $rc after $((SECONDS - t0))s"
	if [ "$seen" = cancelled ]; then
		return 75
	fi
	[ $rc = 0 ] && grep -q "^$name: all [0-9]* checks passed on $NTASKS ranks" "$out"
}

# steps: inside `cluster.sh run` (SLURM_CONF set; $WORK under SC_CLUSTER_SHARED, seen by every
# node at the same path, as are the programs' MPI-IO files through TMPDIR)
steps() {
	local name launcher what rc ref bad=0 warned=
	export TMPDIR=$WORK
	for name in $PROGRAMS; do
		rc=0
		job native "$name" $NODES "$BIN/cl_$name.native" || rc=$?
		case $rc in
		0) ref=passed ;;
		75)
			ref="passed, then hung in MPI_Finalize"
			warned="$warned $name"
			;;
		*)
			echo "FAIL: $name: the native reference failed (see above)"
			ref=failed bad=1
			;;
		esac
		for launcher in srun hydra; do
			rc=0
			job "$launcher" "$name" $NODES "$SPLITCKPT" launch --quiet \
				--ckptdir "$WORK/ckpt-$name-$launcher" "$BIN/cl_$name" || rc=$?
			what="$name through splitckpt under $launcher on $NODES nodes"
			case $rc in
			0) echo "PASS: $what (native reference under srun: $ref)" ;;
			75) echo "FAIL: $what passed its checks but hung in MPI_Finalize" ;;
			*) echo "FAIL: $what (see above)" ;;
			esac
			[ $rc = 0 ] || bad=1
		done
	done
	if [ -n "$warned" ]; then
		echo "WARNING: native MPICH hung in MPI_Finalize after passing its checks:$warned"
		echo "WARNING: (MPICH 4.0.2 + UCX, tests/cluster/README.md; not splitckpt's to fix)"
	fi
	[ $bad = 0 ] || fail "see the output above"
}

if [ "${1:-}" = --steps ]; then
	LAUNCH_WORK=$SC_CLUSTER_SHARED/programs.$$
	mkdir -p "$LAUNCH_WORK"
	SC_LAUNCH_TIMEOUT=${SC_PROGRAMS_TIMEOUT:-120}
	. "$HERE/../mpi/launch-lib.sh"
	steps
	exit $?
fi

. "$HERE/../mpi/launch-lib.sh"
NATIVE_CC=${MPICC_MPICH:-$(command -v mpicc.mpich || true)}
if ! have_mpich || [ -z "$NATIVE_CC" ] || ! command -v srun >/dev/null; then
	echo "SKIP: MPICH (mpiexec.hydra, mpicc.mpich, splitckpt-lh-mpich) or srun not available"
	exit 77
fi
"$HERE/cluster.sh" check || exit $? # prints why, exits 77
t0=$SECONDS
for name in ${PROGRAMS//:[0-9]/}; do
	build_sc "$name" "cl_$name"
	"$NATIVE_CC" -std=gnu11 -Wall -Wextra -Werror -o "$BIN/cl_$name.native" \
		"$SC_SRCDIR/tests/mpi/$name.c" -pthread || fail "native build of $name"
done
echo "built $(wc -w <<<"$PROGRAMS") programs twice in $((SECONDS - t0))s"
rc=0
"$HERE/cluster.sh" run 3 -- /bin/bash "$HERE/mpi-programs.sh" --steps || rc=$?
echo "mpi-programs: $((SECONDS - t0))s in all"
case $rc in
0) echo "PASS: ${PROGRAMS//:[0-9]/} on the cluster: native (srun), splitckpt (srun, hydra)" ;;
77) echo "SKIP: cluster.sh could not create a cluster here" && exit 77 ;;
*) fail "see the output above" ;;
esac
