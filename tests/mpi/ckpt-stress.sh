#!/bin/bash
# Stress: 30 checkpoints at random moments of a 4-rank communication-heavy job (ckpt_mix: ring
# receives posted ahead, MPI_ANY_SOURCE, Alltoallv, 2 MiB messages, an Iallreduce in flight),
# which then runs to its end with the output of an uninterrupted native run; then restarts from
# three of those generations (the fifth, a random later one, the last), each of which must
# resume after its checkpoint and print exactly the rest of the native output.
# SC_CKPT_MPI=openmpi: the same under Open MPI (ckpt-stress-openmpi.sh, ckpt_select_mpi).
source "$SC_SRCDIR/tests/mpi/ckpt-lib.sh"
ckpt_select_mpi
# MPICH 4.0's Win_create needs UCX's registration cache off natively (cov_misc.c's main)
export UCX_RCACHE_ENABLE=n
build ckpt_mix
# 400 steps (4000 under Open MPI, ten times faster): the launch outlasts the 30 checkpoints,
# and the whole test (3 restarts that run to the end) stays well inside run-test's 600 s under
# CI load
N=4 STEPS=$(ckpt_steps 400 4000) PAUSE=0 NCKPT=30
dir=$WORK/ckpt-stress
# 4 busy ranks on 2 cores: the native run alone takes most of a minute, more under load
TIMEOUT=$CKPT_TIMEOUT run_native ckpt_mix $N $STEPS $PAUSE >"$WORK/native.out" || fail "native run"
timeout -k 5 "$CKPT_TIMEOUT" "$MPIEXEC" -n $N "$SC" launch --quiet --keep 40 --ckptdir "$dir" \
	"$BIN/ckpt_mix.sc" $STEPS $PAUSE >"$WORK/run.out" 2>"$WORK/run.err" &
pid=$!
JOB_PIDS+=("$pid")
wait_started "$dir" "$WORK/run.out" $N "$pid"
for ((i = 1; i <= NCKPT; i++)); do
	sleep "0.$((RANDOM % 3))$((RANDOM % 10))"
	checkpoint "$dir" bcheckpoint
done
rc=0
wait $pid || rc=$?
((rc == 0)) || fail "the checkpointed job ended with status $rc: $(tail -5 "$WORK/run.err")"
cmp -s "$WORK/run.out" "$WORK/native.out" || fail "30 checkpoints changed the job's output"
last=$(grep -vc "^#" "$dir/MANIFEST")
((last == NCKPT)) || fail "$last of $NCKPT checkpoints committed"
echo "PASS ($CKPT_MPI): $NCKPT checkpoints during the run, output unchanged"
for g in 5 $((RANDOM % (NCKPT - 7) + 6)) $NCKPT; do
	out=$WORK/restart-$g.out
	timeout -k 5 "$CKPT_TIMEOUT" "$MPIEXEC" -n $N "$SC" restart --quiet --generation $g \
		--ckptdir "$dir" >"$out" 2>"$out.err" || fail "restart of generation $g: $(tail -5 "$out.err")"
	s=$(first_step "$out")
	((s > 0)) || fail "generation $g: the restart did not resume after its checkpoint (first step $s)"
	tail -n +$((s + 1)) "$WORK/native.out" | cmp -s - "$out" ||
		fail "generation $g: the restarted output differs from the native one from step $s on"
	echo "PASS: restart of generation $g resumed at step $s and ended like the native run"
done
