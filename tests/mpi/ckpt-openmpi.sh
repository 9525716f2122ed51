#!/bin/bash
# Checkpoint/restart under the Open MPI lower half, and restart under the other MPI: the same
# splitckpt-mpicc binary of tests/mpi/ckpt_mix.c (4 ranks; ring receives posted ahead, an
# Iallreduce and a 2 MiB message in flight, a window, an MPI-IO file, attributes).
# (1) Open MPI: `splitckpt launch mpirun.openmpi` with checkpoints and a kill-checkpoint, a plain
#     restart (the recorded launcher) checkpointed and killed again, then `mpirun.openmpi -n 4
#     splitckpt restart` to the end.
# (2) Across MPIs: launched under MPICH's mpiexec.hydra and kill-checkpointed, restarted under
#     Open MPI (`splitckpt restart --ckptdir DIR --mpi openmpi mpirun.openmpi ...`; --mpi
#     openmpi under mpiexec.hydra is refused), kill-checkpointed there, restarted under MPICH
#     again to the end.
# (3) A generation with persistent collectives (Open MPI 4.1 has none): its restart under Open
#     MPI is refused naming the function, and it restarts under MPICH afterwards.
# (4) An intercommunicator of MPI_Comm_join: checkpoints refused while it lives, not after.
# (5) Two ranks, `mpirun -n 2 splitckpt launch --interval 1`: interval checkpoints, a
#     kill-checkpoint, a restart.
# Each time the runs together print exactly what an uninterrupted native run prints, and each
# restart resumes after its checkpoint; `splitckpt inspect` says under which MPI each generation
# was taken. Skips (77) without Open MPI or MPICH.
source "$SC_SRCDIR/tests/mpi/ckpt-lib.sh"
ORTERUN=${MPIRUN_OPENMPI:-$(command -v mpirun.openmpi || true)}
if [ -z "$ORTERUN" ] || [ ! -x "$SC_BUILDDIR/lower-half/splitckpt-lh-openmpi" ]; then
	echo "SKIP: mpirun.openmpi or splitckpt-lh-openmpi not available"
	exit 77
fi
# Open MPI refuses root without these; one node: shared memory only
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1
export OMPI_MCA_btl=self,vader
export UCX_RCACHE_ENABLE=n # MPICH 4.0's Win_create natively (cov_misc.c's main)
ORTE=("$ORTERUN" --oversubscribe -n 4)
N=4 STEPS=300 PAUSE=20000
build ckpt_mix
run_native ckpt_mix $N $STEPS $PAUSE >"$WORK/native.out" || fail "ckpt_mix native"

# taken_under DIR MPI: every rank's image of DIR's newest generation says it was taken under MPI
# (splitckpt inspect), and on which host
taken_under() {
	"$SC" inspect --no-verify "$1" >"$WORK/inspect.out" 2>&1 || fail "inspect $1: $(cat "$WORK/inspect.out")"
	local n
	n=$(grep -c "^  mpi  *$2" "$WORK/inspect.out")
	((n == N)) && (($(grep -c "^  host " "$WORK/inspect.out") == N)) ||
		fail "inspect $1: $n of $N images taken under $2: $(grep -m2 "mpi\|host" "$WORK/inspect.out")"
}

dir=$WORK/ckpt-openmpi
opts=(--quiet --ckptdir "$dir")
ckpt_run "$dir" "$WORK/run1.out" $N 2 -- "$SC" launch "${opts[@]}" "${ORTE[@]}" \
	"$BIN/ckpt_mix.sc" $STEPS $PAUSE
taken_under "$dir" "Open MPI"
# the recorded launcher: mpirun.openmpi (the Open MPI lower half follows it)
ckpt_run "$dir" "$WORK/run2.out" $N 1 -- "$SC" restart "${opts[@]}"
ckpt_run "$dir" "$WORK/run3.out" $N -1 -- "${ORTE[@]}" "$SC" restart "${opts[@]}"
three_runs_match "ckpt_mix under Open MPI"
echo "PASS: ckpt_mix, 4 ranks under Open MPI: launch + 3 checkpoints, 2 restarts (resumed at steps $RESUMED) = native run"

dir=$WORK/ckpt-cross
opts=(--quiet --ckptdir "$dir")
ckpt_run "$dir" "$WORK/run1.out" $N 1 -- "$SC" launch "${opts[@]}" "$MPIEXEC" -n $N \
	"$BIN/ckpt_mix.sc" $STEPS $PAUSE
taken_under "$dir" MPICH
# naming the MPI: it must be the launcher's, refused before anything starts otherwise
rc=0
"$SC" restart "${opts[@]}" --mpi openmpi "$MPIEXEC" -n $N >"$WORK/refused.out" 2>&1 || rc=$?
((rc == 64)) && grep -q "starts mpich ranks, but the MPI asked for is openmpi" "$WORK/refused.out" ||
	fail "--mpi openmpi under mpiexec.hydra: status $rc, $(cat "$WORK/refused.out")"
ckpt_run "$dir" "$WORK/run2.out" $N 1 -- "$SC" restart "${opts[@]}" --mpi openmpi "${ORTE[@]}"
taken_under "$dir" "Open MPI"
ckpt_run "$dir" "$WORK/run3.out" $N -1 -- "$SC" restart "${opts[@]}" "$MPIEXEC" -n $N
three_runs_match "ckpt_mix across MPIs"
echo "PASS: ckpt_mix, 4 ranks: MPICH -> restarted under Open MPI -> under MPICH (resumed at steps $RESUMED) = native run"

# (3) An object Open MPI 4.1 cannot make (a persistent collective of cov_pcoll): the restart
#     under Open MPI is refused by every rank naming the function, before any rank runs on, and
#     loses nothing: the generation then restarts under MPICH and ends like a native run.
build cov_pcoll
run_native cov_pcoll $N --steps 200 >"$WORK/native.out" || fail "cov_pcoll native"
dir=$WORK/ckpt-pcoll
opts=(--quiet --ckptdir "$dir")
ckpt_run "$dir" "$WORK/run1.out" $N 0 -- "$SC" launch "${opts[@]}" "$MPIEXEC" -n $N \
	"$BIN/cov_pcoll.sc" --steps 200
rc=0
timeout -k 5 120 "$SC" restart "${opts[@]}" --mpi openmpi "${ORTE[@]}" >"$WORK/run2.out" \
	2>"$WORK/run2.out.err" || rc=$?
((rc != 0 && rc < 124)) || fail "the restart under Open MPI ended with status $rc"
grep -q "the Open MPI .* lower half does not implement MPI_[A-Za-z]*_init" "$WORK/run2.out.err" ||
	fail "the refusal does not name the function: $(head -5 "$WORK/run2.out.err")"
! grep -q "^step " "$WORK/run2.out" || fail "a rank ran on after the refused restart"
ckpt_run "$dir" "$WORK/run3.out" $N -1 -- "$SC" restart "${opts[@]}" "$MPIEXEC" -n $N
cat "$WORK/run1.out" "$WORK/run3.out" >"$WORK/all.out"
cmp -s "$WORK/all.out" "$WORK/native.out" ||
	fail "cov_pcoll: the runs differ from the native one: $(diff "$WORK/native.out" "$WORK/all.out" | head -5)"
echo "PASS: cov_pcoll: restart under Open MPI refused naming the function, then restarted under MPICH = native run"

# (4) An intercommunicator to processes outside the job (ckpt_join.c: MPI_Comm_join, which
#     MPICH 4.0.2 cannot make): a checkpoint while it lives is refused naming MPI_Comm_join and
#     the job goes on; once the program disconnected it, a kill-checkpoint commits and the
#     restart ends like a native Open MPI run.
"$SC_BUILDDIR/tools/splitckpt-mpicc" -std=gnu11 -Wall -Wextra -Werror -o "$BIN/ckpt_join.sc" \
	"$SC_SRCDIR/tests/mpi/ckpt_join.c" || fail "splitckpt-mpicc build of ckpt_join"
mpicc.openmpi -std=gnu11 -Wall -Wextra -Werror -o "$BIN/ckpt_join.ompi" \
	"$SC_SRCDIR/tests/mpi/ckpt_join.c" || fail "mpicc.openmpi build of ckpt_join"
timeout -k 5 "$TIMEOUT" "${ORTE[@]}" "$BIN/ckpt_join.ompi" 600 20000 >"$WORK/native.out" 2>&1 ||
	fail "ckpt_join native under Open MPI: $(tail -3 "$WORK/native.out")"
dir=$WORK/ckpt-join
opts=(--quiet --ckptdir "$dir")
timeout -k 5 "$CKPT_TIMEOUT" "$SC" launch "${opts[@]}" "${ORTE[@]}" "$BIN/ckpt_join.sc" 600 20000 \
	>"$WORK/run1.out" 2>"$WORK/run1.out.err" &
pid=$!
JOB_PIDS+=("$pid")
wait_started "$dir" "$WORK/run1.out" $N "$pid"
rc=0
timeout -k 5 150 "$SC" command --ckptdir "$dir" --bcheckpoint >"$WORK/cmd.out" 2>&1 || rc=$?
((rc != 0 && rc < 124)) && grep -q "made by MPI_Comm_join connects processes outside the job" \
	"$WORK/cmd.out" || fail "a checkpoint with a joined intercommunicator: status $rc, $(cat "$WORK/cmd.out")"
sed 's/^/| /' "$WORK/cmd.out"
! grep -q "^disconnected" "$WORK/run1.out" || fail "the job disconnected before the refused checkpoint"
for ((i = 0; i < 1200; i++)); do
	grep -q "^disconnected" "$WORK/run1.out" && break
	kill -0 "$pid" 2>/dev/null || fail "the job ended after the refused checkpoint"
	sleep 0.1
done
checkpoint "$dir" kcheckpoint
rc=0
wait "$pid" || rc=$?
((rc == 85)) || fail "the kill-checkpointed job ended with status $rc"
ckpt_run "$dir" "$WORK/run2.out" $N -1 -- "$SC" restart "${opts[@]}"
s2=$(first_step "$WORK/run2.out")
((s2 > 300)) || fail "ckpt_join: the restart did not resume after the disconnection (step $s2)"
cat "$WORK/run1.out" "$WORK/run2.out" >"$WORK/all.out"
cmp -s "$WORK/all.out" "$WORK/native.out" ||
	fail "ckpt_join: the runs differ from the native one: $(diff "$WORK/native.out" "$WORK/all.out" | head -5)"
echo "PASS: ckpt_join: refused while joined, committed after MPI_Comm_disconnect, restarted at step $s2 = native run (Open MPI)"

# (5) Two ranks and interval checkpoints: ckpt_mix launched as `mpirun -n 2 splitckpt launch
#     --interval 1`; after the interval has committed two generations, a kill-checkpoint; the
#     plain restart ends like a native 2-rank run.
run_native ckpt_mix 2 $STEPS $PAUSE >"$WORK/native.out" || fail "ckpt_mix native, 2 ranks"
dir=$WORK/ckpt-interval
opts=(--quiet --ckptdir "$dir")
timeout -k 5 "$CKPT_TIMEOUT" "$ORTERUN" --oversubscribe -n 2 "$SC" launch "${opts[@]}" --interval 1 \
	"$BIN/ckpt_mix.sc" $STEPS $PAUSE >"$WORK/run1.out" 2>"$WORK/run1.out.err" &
pid=$!
JOB_PIDS+=("$pid")
wait_started "$dir" "$WORK/run1.out" 2 "$pid"
for ((i = 0; i < 600; i++)); do
	(($(grep -c " interval " "$dir/MANIFEST" 2>/dev/null) >= 2)) && break
	kill -0 "$pid" 2>/dev/null || fail "the job ended before two interval checkpoints"
	sleep 0.1
done
(($(grep -c " interval " "$dir/MANIFEST") >= 2)) || fail "no two interval checkpoints in 60 s"
checkpoint "$dir" kcheckpoint
rc=0
wait "$pid" || rc=$?
((rc == 85)) || fail "the kill-checkpointed 2-rank job ended with status $rc"
ckpt_run "$dir" "$WORK/run2.out" 2 -1 -- "$SC" restart "${opts[@]}"
s2=$(first_step "$WORK/run2.out")
((s2 > $(first_step "$WORK/run1.out"))) || fail "interval: the restart did not resume after its checkpoint"
cat "$WORK/run1.out" "$WORK/run2.out" >"$WORK/all.out"
cmp -s "$WORK/all.out" "$WORK/native.out" ||
	fail "interval: the runs differ from the native one: $(diff "$WORK/native.out" "$WORK/all.out" | head -5)"
echo "PASS: ckpt_mix, 2 ranks under Open MPI: interval checkpoints, a kill-checkpoint, restarted at step $s2 = native run"
