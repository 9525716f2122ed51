#!/bin/bash
# Restarts that must be refused lose nothing and leave nothing running: a 4-rank ckpt_mix job is
# kill-checkpointed (generation 1). (1) With rank 1's image truncated, `splitckpt restart`
# (the recorded launcher) fails at once naming the image (the other ranks, waiting in MPI_Init
# for it, give up), the directory keeps every file, and the coordinator it started exits. (2) Ranks restarted from different generations (two
# directories, as node-local ones can be) are refused by every rank naming both generations,
# and both coordinators exit. (2b) A restart under `mpiexec -n 3` is refused naming both rank
# counts. (3) The image put back, a plain restart (the recorded launcher, not the refused one)
# restarts the job, which ends like a native run.
source "$SC_SRCDIR/tests/mpi/ckpt-lib.sh"
export UCX_RCACHE_ENABLE=n # MPICH 4.0's Win_create natively (cov_misc.c's main)
build ckpt_mix
N=4 STEPS=200 PAUSE=20000
run_native ckpt_mix $N $STEPS $PAUSE >"$WORK/native.out" || fail "native run"
dir=$WORK/ckpt
ckpt_run "$dir" "$WORK/run1.out" $N 0 -- "$SC" launch --quiet --ckptdir "$dir" "$MPIEXEC" -n $N \
	"$BIN/ckpt_mix.sc" $STEPS $PAUSE

# coordinator_gone DIR: the coordinator of DIR no longer answers (within 15 s)
coordinator_gone() {
	local i
	for ((i = 0; i < 150; i++)); do
		"$SC" command --ckptdir "$1" --status >/dev/null 2>&1 || return 0
		sleep 0.1
	done
	fail "the coordinator of $1 still runs: $("$SC" command --ckptdir "$1" --status 2>&1)"
}

# (1) a truncated image
img=$dir/gen-000001/rank-00001.img
cp "$img" "$WORK/rank1.img"
truncate -s $(($(stat -c %s "$img") / 2)) "$img"
# the job's files: images and MANIFEST (splitckpt.job and the log belong to coordinators)
job_files() { (cd "$1" && find MANIFEST gen-* -type f -printf '%p %s\n' | sort); }
job_files "$dir" >"$WORK/files.before"
rc=0
timeout -k 5 120 "$SC" restart --quiet --ckptdir "$dir" >"$WORK/refused.out" 2>&1 || rc=$?
((rc != 0 && rc < 124)) || fail "a restart with a truncated image ended with status $rc (124, 137: it hung)"
grep -q "rank-00001.img" "$WORK/refused.out" ||
	fail "the refusal does not name the image: $(head -c 600 "$WORK/refused.out")"
job_files "$dir" >"$WORK/files.after"
diff "$WORK/files.before" "$WORK/files.after" >&2 || fail "the refused restart changed the directory"
coordinator_gone "$dir"
echo "PASS: truncated image refused (status $rc), nothing deleted, no coordinator left"
cp "$WORK/rank1.img" "$img"

# (2) generations that differ between ranks: dir2 holds generation 1 only, dir generation 2
cp -a "$dir" "$WORK/ckpt2"
rm -f "$WORK/ckpt2/splitckpt.job"
ckpt_run "$dir" "$WORK/run2.out" $N 0 -- "$MPIEXEC" -n $N "$SC" restart --quiet --ckptdir "$dir"
rc=0
timeout -k 5 120 "$MPIEXEC" -n 2 "$SC" restart --quiet --ckptdir "$dir" : \
	-n 2 "$SC" restart --quiet --ckptdir "$WORK/ckpt2" >"$WORK/mixed.out" 2>&1 || rc=$?
((rc != 0 && rc < 124)) || fail "a restart mixing generations ended with status $rc (124, 137: it hung)"
# said by a rank of either side (hydra may end the others before they print)
grep -Eq "restarted from generation (1 but rank [01] from generation 2|2 but rank [23] from generation 1)" \
	"$WORK/mixed.out" ||
	fail "the refusal does not name both generations: $(head -c 800 "$WORK/mixed.out")"
coordinator_gone "$dir"
coordinator_gone "$WORK/ckpt2"
echo "PASS: ranks from generations 1 and 2 refused (status $rc), no coordinator left"

# (2b) another rank count under a launcher the user names: refused naming both counts; the
# launcher the refusal was tried with does not replace the recorded one that works
rc=0
timeout -k 5 120 "$SC" restart --quiet --ckptdir "$dir" "$MPIEXEC" -n 3 >"$WORK/count.out" 2>&1 ||
	rc=$?
((rc != 0 && rc < 124)) || fail "a restart with 3 ranks ended with status $rc (124, 137: it hung)"
grep -q "taken with 4 ranks but this job has 3" "$WORK/count.out" ||
	fail "the refusal does not name both rank counts: $(head -c 600 "$WORK/count.out")"
coordinator_gone "$dir"
echo "PASS: a restart with 3 ranks refused (status $rc), no coordinator left"

# (3) the job still restarts (generation 2), with the recorded launcher, and ends like the
# native run
ckpt_run "$dir" "$WORK/run3.out" $N -1 -- "$SC" restart --quiet --ckptdir "$dir"
cat "$WORK/run1.out" "$WORK/run2.out" "$WORK/run3.out" | cmp -s - "$WORK/native.out" ||
	fail "the runs together differ from the native run"
echo "PASS: after the refusals generation 2 restarts and the job ends like the native run"
