#!/bin/bash
# crossing_signals.c natively and through the MPICH lower half, with 2 and 4 ranks: signal
# handlers that interrupt MPI calls run on the application's TLS (lower-half/trap.c), and
# lower-half-only threads never take the application's signals (lower-half/mpi/lh_mpi.c);
# then the splitckpt build on the Open MPI lower half when it is built.
. "$(dirname "$0")/crossing-lib.sh"
crossing_test crossing_signals 2 4

# The same splitckpt binary on the Open MPI lower half (its PMIx and event threads), when built.
ORTERUN=${MPIRUN_OPENMPI:-$(command -v mpirun.openmpi || true)}
if [ -z "$ORTERUN" ] || [ ! -x "$SC_BUILDDIR/lower-half/splitckpt-lh-openmpi" ]; then
	echo "Open MPI lower half not built: MPICH only"
	exit 0
fi
for n in 2 4; do
	# as in launch-lib.sh: root allowed, shared memory only, nothing inherited picks the MPI
	env -u SPLITCKPT_LOWER_HALF SPLITCKPT_MPI=openmpi OMPI_ALLOW_RUN_AS_ROOT=1 \
		OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader \
		timeout -k 5 "$TIMEOUT" "$ORTERUN" --oversubscribe -n "$n" \
		"$SC_BUILDDIR/tools/splitckpt" launch --quiet --ckptdir "$WORK/ckpt-ompi-$n" \
		"$BIN/crossing_signals.sc" >"$WORK/ompi-$n" 2>&1
	rc=$?
	cat "$WORK/ompi-$n"
	[ $rc -eq 0 ] || fail "crossing_signals on the Open MPI lower half with $n ranks (status $rc)"
	grep -q "crossing_signals: ok ($n ranks" "$WORK/ompi-$n" ||
		fail "crossing_signals on Open MPI with $n ranks did not report $n ranks"
	echo "PASS: crossing_signals on the Open MPI lower half with $n ranks"
done
