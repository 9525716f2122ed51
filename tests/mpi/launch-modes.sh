#!/bin/bash
# The ways to start an MPI job under splitckpt, each with exactly ONE coordinator that all ranks
# join: `LAUNCHER -n 4 splitckpt launch ./app` (each rank's launch finds or starts it) and
# `splitckpt launch LAUNCHER -n 4 ./app` (launch starts it and inserts itself before the app),
# with MPICH's mpiexec.hydra and Open MPI's mpirun; the exit status is the launcher's, launcher
# options splitckpt cannot parse are refused with a clear message, and `splitckpt restart` of an
# MPI generation says what to do and that it is not supported yet. Skips (77) without MPI.
. "$(dirname "$0")/launch-lib.sh"
have_mpich || have_openmpi || {
	echo "SKIP: neither MPICH nor Open MPI (with their lower halves) available"
	exit 77
}
build_sc crossing_p2p lm_p2p
build_sc crossing_abort lm_abort
build_sc launch_missing lm_hold

# expect_ok NAME NRANKS: the job's output says all ranks ran, and it had one coordinator
expect_ok() {
	grep -q "crossing_p2p: ok ($2 ranks" "$WORK/$1" || fail "$1: the job did not report $2 ranks"
	one_coordinator "$WORK/ckpt-$1" "$2"
	echo "PASS: $1"
}

if have_mpich; then
	# Inside the launcher; the default checkpoint directory (./splitckpt-ckpt) is shared.
	mkdir -p "$WORK/cwd" && cd "$WORK/cwd" || fail "cd"
	run_job "$WORK/hydra-inside" "$HYDRA" -n 4 "$SPLITCKPT" launch "$BIN/lm_p2p" ||
		fail "mpiexec.hydra -n 4 splitckpt launch ./app"
	mv "$WORK/cwd/splitckpt-ckpt" "$WORK/ckpt-hydra-inside"
	expect_ok hydra-inside 4
	cd "$WORK" || fail "cd"
	run_job "$WORK/hydra-outside" "$SPLITCKPT" launch --ckptdir "$WORK/ckpt-hydra-outside" \
		"$HYDRA" -n 4 "$BIN/lm_p2p" || fail "splitckpt launch mpiexec.hydra -n 4 ./app"
	expect_ok hydra-outside 4
	# Options with values, -genv with two.
	run_job "$WORK/hydra-opts" "$SPLITCKPT" launch --ckptdir "$WORK/ckpt-hydra-opts" "$HYDRA" \
		-genv SC_LAUNCH_PROBE 42 -np 2 -l "$BIN/lm_p2p" ||
		fail "splitckpt launch mpiexec.hydra -genv K V -np 2 -l ./app"
	expect_ok hydra-opts 2
	run_job "$WORK/hydra-abort" "$SPLITCKPT" launch --ckptdir "$WORK/ckpt-hydra-abort" "$HYDRA" \
		-n 2 "$BIN/lm_abort"
	rc=$?
	[ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 137 ] ||
		fail "an aborted job under splitckpt launch mpiexec.hydra gave status $rc"
	echo "PASS: splitckpt launch mpiexec.hydra passes the launcher's failure status ($rc)"
	# `splitckpt command --status` of a running MPI job lists every rank.
	D=$WORK/ckpt-status
	timeout -k 3 "$TIMEOUT" "$SPLITCKPT" launch --ckptdir "$D" "$HYDRA" -n 4 "$BIN/lm_hold" \
		present "$WORK/go" >"$WORK/status-job" 2>&1 &
	job=$!
	for _ in $(seq 200); do
		"$SPLITCKPT" command --ckptdir "$D" --status >"$WORK/status" 2>&1 &&
			grep -q 'ranks: *4 of 4 connected' "$WORK/status" && break
		sleep 0.1
	done
	touch "$WORK/go"
	wait $job || fail "the job held for --status: $(cat "$WORK/status-job")"
	grep -q 'ranks: *4 of 4 connected' "$WORK/status" || fail "--status: $(cat "$WORK/status")"
	[ "$(grep -cE '^rank [0-3] +pid [0-9]+ on ' "$WORK/status")" = 4 ] ||
		fail "--status does not list 4 ranks: $(cat "$WORK/status")"
	one_coordinator "$D" 4
	echo "PASS: splitckpt command --status shows the 4 ranks of a running MPI job"
fi

if have_openmpi; then
	mkdir -p "$WORK/cwd2" && cd "$WORK/cwd2" || fail "cd"
	# No SPLITCKPT_MPI: the ranks' environment selects the Open MPI lower half.
	run_job "$WORK/ompi-inside" "$ORTERUN" --oversubscribe -n 4 "$SPLITCKPT" launch \
		"$BIN/lm_p2p" || fail "mpirun.openmpi -n 4 splitckpt launch ./app"
	mv "$WORK/cwd2/splitckpt-ckpt" "$WORK/ckpt-ompi-inside"
	expect_ok ompi-inside 4
	cd "$WORK" || fail "cd"
	run_job "$WORK/ompi-outside" "$SPLITCKPT" launch --ckptdir "$WORK/ckpt-ompi-outside" \
		"$ORTERUN" --oversubscribe -np 4 -x SC_LAUNCH_PROBE=1 --mca btl self,vader \
		"$BIN/lm_p2p" || fail "splitckpt launch mpirun.openmpi --oversubscribe -np 4 ./app"
	expect_ok ompi-outside 4
fi

# A launcher option splitckpt does not know may take a value: refuse rather than guess.
L=${HYDRA:-$ORTERUN}
"$SPLITCKPT" launch --ckptdir "$WORK/ckpt-bad" "$L" --no-such-option 3 "$BIN/lm_p2p" \
	>"$WORK/bad" 2>&1
rc=$?
[ $rc -eq 64 ] || fail "an unknown launcher option gave status $rc, not 64"
grep -q "cannot tell where the options of .* end: '--no-such-option'" "$WORK/bad" &&
	grep -q "splitckpt launch ./app" "$WORK/bad" || fail "unclear message: $(cat "$WORK/bad")"
[ ! -e "$WORK/ckpt-bad/coordinator.log" ] || fail "a refused command line started a coordinator"
echo "PASS: an unknown launcher option is refused with a suggestion"
"$SPLITCKPT" launch --ckptdir "$WORK/ckpt-nf" mpiexec.no-such-launcher -n 2 "$BIN/lm_p2p" \
	>"$WORK/nf" 2>&1
rc=$?
[ $rc -eq 127 ] && grep -q "mpiexec.no-such-launcher: command not found" "$WORK/nf" ||
	fail "a missing launcher gave status $rc: $(cat "$WORK/nf")"
[ ! -e "$WORK/ckpt-nf/coordinator.log" ] || fail "a missing launcher started a coordinator"
echo "PASS: a missing launcher fails with 127 before any coordinator starts"

# `splitckpt restart` of an MPI generation without a launcher (and none recorded) says what to do;
# under a launcher a missing rank image is named, another rank count refused naming both (a
# MANIFEST as the coordinator writes it, for a 4-rank job).
mkdir -p "$WORK/ckpt-mpi-gen/gen-000007"
printf '# splitckpt MANIFEST 1\n# gen nranks created_ns bytes program\n7 4 1 4096 ./app\n' \
	>"$WORK/ckpt-mpi-gen/MANIFEST"
"$SPLITCKPT" restart --ckptdir "$WORK/ckpt-mpi-gen" >"$WORK/restart" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "restart of a 4-rank generation gave status $rc: $(cat "$WORK/restart")"
grep -q "generation 7 has 4 ranks: restart it under the MPI launcher: mpiexec -n 4 splitckpt restart --ckptdir $WORK/ckpt-mpi-gen" \
	"$WORK/restart" || fail "unclear message: $(cat "$WORK/restart")"
PMI_RANK=0 PMI_SIZE=4 "$SPLITCKPT" restart --ckptdir "$WORK/ckpt-mpi-gen" >"$WORK/restart2" 2>&1 &&
	fail "a rank's restart of a 4-rank generation without images succeeded"
grep -q "$WORK/ckpt-mpi-gen/gen-000007/rank-00000.img" "$WORK/restart2" ||
	fail "the missing image is not named: $(cat "$WORK/restart2")"
PMI_RANK=0 PMI_SIZE=2 "$SPLITCKPT" restart --ckptdir "$WORK/ckpt-mpi-gen" >"$WORK/restart3" 2>&1 &&
	fail "a 2-rank restart of a 4-rank generation succeeded"
grep -q "generation 7 was taken with 4 ranks but this job has 2" "$WORK/restart3" ||
	fail "another rank count is not refused clearly: $(cat "$WORK/restart3")"
echo "PASS: restart of an MPI generation without launcher, image or the right rank count says why"
