#!/bin/bash
# A rank killed while a checkpoint runs loses nothing: a 4-rank ckpt_mix job commits generation
# 1, then one rank is killed (SIGKILL) at a random moment of the next checkpoint; that
# checkpoint must fail naming the rank (or have committed before the kill), the job ends, and a
# restart resumes from the newest committed generation with exactly the rest of the native
# output. Repeated four times, so the kill lands in different phases.
source "$SC_SRCDIR/tests/mpi/ckpt-lib.sh"
# MPICH 4.0's Win_create needs UCX's registration cache off natively (cov_misc.c's main)
export UCX_RCACHE_ENABLE=n
build ckpt_mix
N=4 STEPS=300 PAUSE=20000
run_native ckpt_mix $N $STEPS $PAUSE >"$WORK/native.out" || fail "native run"
for round in 1 2 3 4; do
	dir=$WORK/ckpt-failure-$round
	timeout -k 5 "$CKPT_TIMEOUT" "$MPIEXEC" -n $N "$SC" launch --ckptdir "$dir" \
		"$BIN/ckpt_mix.sc" $STEPS $PAUSE >"$WORK/run.out" 2>"$WORK/run.err" &
	pid=$!
	JOB_PIDS+=("$pid")
	wait_started "$dir" "$WORK/run.out" $N "$pid"
	random_pause
	checkpoint "$dir" bcheckpoint
	victim=$("$SC" command --ckptdir "$dir" --status | awk '/^rank 2 /{print $4}')
	[ -n "$victim" ] || fail "no pid for rank 2"
	"$SC" command --ckptdir "$dir" --bcheckpoint >"$WORK/ckpt2.out" 2>&1 &
	cpid=$!
	sleep "0.0$((RANDOM % 3))$((RANDOM % 10))"
	kill -9 "$victim"
	crc=0
	wait $cpid || crc=$?
	wait $pid || true
	if ((crc != 0)); then
		# killed during a phase: a rank that left (the killed one, or one mpiexec ended after
		# it), its host and the phase are named; killed before the checkpoint began: the
		# missing rank is
		grep -qE "rank [0-9]+ \(pid [0-9]+ on [^)]*\) (disconnected during phase|failed in phase)|only 3 of 4 ranks are connected|no ranks connected" \
			"$WORK/ckpt2.out" ||
			fail "the failed checkpoint does not say why: $(cat "$WORK/ckpt2.out")"
		ls -d "$dir"/gen-000002* >/dev/null 2>&1 &&
			fail "the failed generation 2 left $(ls -d "$dir"/gen-000002*)"
		want=1
	else
		want=2
	fi
	got=$(awk '!/^#/ {g = $1} END {print g}' "$dir/MANIFEST")
	((got == want)) || fail "round $round: newest committed generation is $got, expected $want"
	out=$WORK/restart-$round.out
	if ! timeout -k 5 120 "$MPIEXEC" -n $N "$SC" restart --ckptdir "$dir" >"$out" 2>"$out.err"; then
		tail -n 5 "$out"
		cat "$out.err"
		tail -n 20 "$dir/coordinator.log"
		fail "restart after the failure"
	fi
	s=$(first_step "$out")
	tail -n +$((s + 1)) "$WORK/native.out" | cmp -s - "$out" ||
		fail "round $round: the restart from generation $want differs from the native run"
	echo "PASS: rank 2 killed during checkpoint 2 ($( ((crc)) && echo "it failed: $(head -c 120 "$WORK/ckpt2.out")" || echo "it had committed")); restart from generation $want resumed at step $s = native"
done
