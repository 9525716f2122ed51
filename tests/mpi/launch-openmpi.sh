#!/bin/bash
# The Open MPI lower half: the programs of the crossing tests, built ONCE with splitckpt-mpicc,
# run under mpirun.openmpi as `splitckpt launch` jobs (2 and 4 ranks), selected by SPLITCKPT_MPI,
# by SPLITCKPT_LOWER_HALF and by default (the rank's environment names Open MPI); a function
# Open MPI 4.1 lacks is reported, not a crash; the same binaries run on the MPICH lower half
# under mpiexec.hydra. Skips (77) without Open MPI.
. "$(dirname "$0")/launch-lib.sh"
have_openmpi || {
	echo "SKIP: mpirun.openmpi or splitckpt-lh-openmpi not available"
	exit 77
}
for p in p2p coll env abort; do
	build_sc crossing_$p lo_$p
done
build_sc launch_missing lo_missing

# ompi_run LOG NRANKS PROG [ENV...]: an Open MPI job through splitckpt, own checkpoint dir
ompi_run() {
	local log=$1 n=$2 prog=$3
	shift 3
	run_job "$WORK/$log" env "$@" "$ORTERUN" --oversubscribe -n "$n" "$SPLITCKPT" launch \
		--quiet --ckptdir "$WORK/ckpt-$log" "$BIN/$prog"
}

for p in p2p coll env; do
	for n in 2 4; do
		ompi_run "$p-$n" "$n" lo_$p SPLITCKPT_MPI=openmpi ||
			fail "crossing_$p on Open MPI with $n ranks"
		# the rank count proves the ranks formed one Open MPI job (not singletons)
		grep -q "crossing_$p: ok ($n ranks" "$WORK/$p-$n" ||
			fail "crossing_$p on Open MPI with $n ranks did not report $n ranks"
		echo "PASS: crossing_$p on the Open MPI lower half with $n ranks"
	done
done

ompi_run lh-2 2 lo_p2p SPLITCKPT_LOWER_HALF=openmpi || fail "SPLITCKPT_LOWER_HALF=openmpi"
ompi_run auto-2 2 lo_p2p || fail "the Open MPI lower half is not the default under mpirun.openmpi"
grep -q "crossing_p2p: ok (2 ranks" "$WORK/auto-2" || fail "default selection under mpirun"
echo "PASS: SPLITCKPT_LOWER_HALF=openmpi and the default under mpirun.openmpi"

ompi_run abort-2 2 lo_abort SPLITCKPT_MPI=openmpi
rc=$?
[ $rc -ne 0 ] || fail "MPI_Abort on Open MPI exited 0"
[ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "MPI_Abort on Open MPI hung"
echo "PASS: MPI_Abort ends an Open MPI job (status $rc)"

# MPI_Irecv_c (MPI 4.0) is missing in Open MPI 4.1: reported, not a crash.
run_job "$WORK/missing" env SPLITCKPT_MPI=openmpi "$ORTERUN" --oversubscribe -n 2 "$SPLITCKPT" \
	launch --quiet --ckptdir "$WORK/ckpt-missing" "$BIN/lo_missing" missing ||
	fail "a function Open MPI lacks"
grep -q "launch_missing: ok" "$WORK/missing" &&
	grep -q "MPI_Irecv_c is not implemented by the Open MPI 4.1" "$WORK/missing" ||
	fail "MPI_Irecv_c on Open MPI 4.1 was not reported as not implemented"
echo "PASS: a function Open MPI 4.1 lacks is reported as not implemented"

if have_mpich; then
	run_job "$WORK/mpich-4" "$HYDRA" -n 4 "$SPLITCKPT" launch --quiet \
		--ckptdir "$WORK/ckpt-mpich" "$BIN/lo_p2p" || fail "the same binary on MPICH"
	grep -q "crossing_p2p: ok (4 ranks" "$WORK/mpich-4" || fail "MPICH run: rank count"
	run_job "$WORK/mpich-missing" "$HYDRA" -n 2 "$SPLITCKPT" launch --quiet \
		--ckptdir "$WORK/ckpt-mpich-missing" "$BIN/lo_missing" present ||
		fail "MPI_Irecv_c and MPI_Isend_c on MPICH"
	echo "PASS: the same crossing_p2p and launch_missing binaries on the MPICH lower half"
fi
