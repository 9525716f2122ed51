#!/bin/bash
# Partitioned communication cannot be checkpointed (its partitions' progress lives in MPI only):
# a 4-rank cov_part job that holds partitioned requests its whole run gets every checkpoint
# refused with a message naming the function that made them, keeps running and ends exactly like
# a native run; both when every rank holds a pair (--hold) and when only the last rank does
# (--hold-last: the other ranks must not be left waiting in the drain for it). Without either
# (requests made and freed every round) it runs through splitckpt too (cov-part.sh).
source "$SC_SRCDIR/tests/mpi/ckpt-lib.sh"
build cov_part
N=4
for mode in --hold --hold-last; do
	echo "+ cov_part $mode"
	run_native cov_part $N --steps 150 $mode >"$WORK/native.out" || fail "cov_part native"
	dir=$WORK/ckpt$mode
	timeout -k 5 "$CKPT_TIMEOUT" "$SC" launch --quiet --ckptdir "$dir" "$MPIEXEC" -n $N \
		"$BIN/cov_part.sc" --steps 150 $mode >"$WORK/run.out" 2>"$WORK/run.out.err" &
	pid=$!
	JOB_PIDS+=("$pid")
	wait_started "$dir" "$WORK/run.out" $N "$pid"
	for kind in bcheckpoint kcheckpoint; do
		random_pause
		rc=0
		timeout -k 5 60 "$SC" command --ckptdir "$dir" "--$kind" >"$WORK/cmd.out" 2>&1 || rc=$?
		((rc != 0 && rc < 124)) || fail "a $kind with partitioned requests ended with status $rc"
		grep -Eq "MPI_P(send|recv)_init.*partitioned communication cannot be checkpointed" \
			"$WORK/cmd.out" || fail "the refusal does not name the function: $(cat "$WORK/cmd.out")"
		sed 's/^/| /' "$WORK/cmd.out"
		kill -0 "$pid" 2>/dev/null || fail "the job ended after a refused $kind"
	done
	rc=0
	wait "$pid" || rc=$?
	((rc == 0)) || fail "the job ended with status $rc after the refused checkpoints"
	cmp -s "$WORK/run.out" "$WORK/native.out" ||
		fail "the job's output differs from a native run: $(diff "$WORK/native.out" "$WORK/run.out" | head -5)"
	[ ! -d "$dir/gen-000001" ] || fail "a refused checkpoint left a generation"
done
echo "PASS: checkpoints refused while partitioned requests live (on every rank, on one), the jobs ended like native runs"
