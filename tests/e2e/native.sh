#!/bin/bash
# Checks that need no checkpoint engine: every test program is deterministic (two runs with
# different per-step delays print the same lines and files) and rejects bad arguments, and the
# test library's own mechanics work (bounded waits fail with a message, a failing test keeps
# its directory and kills what it started, output comparisons catch a restart from scratch).
# shellcheck disable=SC2016 # the child tests' scripts are expanded by the child shell
# shellcheck source=tests/e2e/scenarios.sh
. "$(dirname "${BASH_SOURCE[0]}")/scenarios.sh"
e2e_init native

steps=15
for prog in "${E2E_ALL_PROGS[@]}"; do
	run_native "$prog-a" "a-$prog" "$prog" "$steps"
	delay=$E2E_DELAY_MS
	E2E_DELAY_MS=1
	run_native "$prog-b" "b-$prog" "$prog" "$steps"
	E2E_DELAY_MS=$delay
	assert_same "$T/$prog-a.out" "$T/$prog-b.out" "$prog: output of two native runs"
	f=$(prog_outfile "$prog")
	[[ -z $f ]] || assert_same "$T/a-$prog/$f" "$T/b-$prog/$f" "$prog: $f of two native runs"
	[[ ! -s $T/$prog-a.err ]] || fail "$prog wrote to stderr: $(cat "$T/$prog-a.err")"
	for bad in 0 x 100001; do
		prog_cmd "$prog" "$bad"
		run_capture "$prog-bad-$bad" "${E2E_CMD[@]}"
		if ((RC != 2)) || ! grep -q STEPS "$ERR"; then
			fail "$prog with STEPS=$bad: status $RC, expected 2 and a message naming STEPS"
		fi
	done
	log "$prog: deterministic over $steps steps, rejects bad arguments"
done

# ---- the library itself, exercised with native runs in child tests -------------------------

# child NAME EXPECTED-STATUS SCRIPT: runs SCRIPT as a test of its own (lib.sh sourced,
# e2e_init NAME done) with its directory under $T/children; output in $T/child-NAME.log.
child() {
	local name=$1 want=$2 script=$3 rc=0
	mkdir -p "$T/children"
	SC_E2E_TMPDIR=$T/children SC_E2E_WAIT=2 SC_E2E_DELAY_MS=5 timeout -k 5 60 bash -c "
		. '$E2E_SRCDIR/scenarios.sh'
		e2e_init $name
		echo \"child dir \$T\"
		$script" >"$T/child-$name.log" 2>&1 || rc=$?
	((rc == want)) || fail "child test $name exited with status $rc, expected $want"
	CHILD_DIR=$(sed -n 's/^child dir //p' "$T/child-$name.log")
}

# A passing child removes its directory.
child pass 0 'run_native r r threads 5; e2e_pass'
[[ ! -e $CHILD_DIR ]] || fail "a passing test left its directory $CHILD_DIR"

# wait_step is bounded: a slow program that never reaches the step fails the test with a
# message; the directory is kept, the logs are shown and the program is killed.
child timeout 1 '
	prog_cmd state 1000
	bg_start slow "$T" "${E2E_CMD[@]}"
	echo "slow pid ${E2E_PID[slow]}"
	wait_step slow 100000'
grep -q 'did not reach step 100000 within 2 s' "$T/child-timeout.log" ||
	fail "bounded wait_step gave no clear message"
grep -q '==> slow.out' "$T/child-timeout.log" || fail "a failing test did not show its logs"
grep -q "test directory kept: $CHILD_DIR" "$T/child-timeout.log" ||
	fail "a failing test did not report its kept directory"
[[ -d $CHILD_DIR ]] || fail "a failing test removed its directory"
pid=$(sed -n 's/^slow pid //p' "$T/child-timeout.log")
sleep 0.2
! kill -0 "$pid" 2>/dev/null || fail "the failing test did not kill its background process $pid"

# A program that exits before the awaited step, or with an unexpected status, is reported.
child early-exit 1 '
	bg_start quick "$T" "$E2E_PROGDIR/threads" 3 1
	wait_step quick 10'
grep -q 'quick exited with status 0 after step 3, before reaching step 10' \
	"$T/child-early-exit.log" || fail "wait_step did not report the early exit"
child bad-status 1 '
	bg_start quick "$T" "$E2E_PROGDIR/threads" 3 1
	wait_exit quick 85'
grep -q 'quick exited with status 0, expected 85' "$T/child-bad-status.log" ||
	fail "wait_exit did not report the unexpected status"

# assert_resumed accepts a run that continues the reference after the checkpoint's step and
# rejects one that starts over or differs (these outputs are cut from native runs: they only
# test the comparison, they prove nothing about checkpoints).
child resumed-ok 0 '
	run_reference omp 12
	awk "\$1 != \"step\" || \$2 >= 6" "$REF" >"$T/tail.out"
	cp "$T/tail.out" "$T/part.out"
	assert_resumed part 4 6
	e2e_pass'
child resumed-scratch 1 '
	run_reference omp 12
	cp "$REF" "$T/part.out"
	assert_resumed part 4 6'
grep -q 'starts at step 1' "$T/child-resumed-scratch.log" ||
	fail "assert_resumed did not catch a run started from scratch"
child resumed-window 1 '
	run_reference omp 12
	awk "\$1 != \"step\" || \$2 >= 9" "$REF" >"$T/part.out"
	assert_resumed part 4 6'
grep -q 'resumed after step 8, but the checkpoint was taken after a step in \[4, 6\]' \
	"$T/child-resumed-window.log" || fail "assert_resumed did not check the window"
child resumed-diff 1 '
	run_reference omp 12
	awk "\$1 != \"step\" || \$2 >= 6" "$REF" | sed "s/^step 8 ./step 8 X/" >"$T/part.out"
	assert_resumed part 4 6'
grep -q '^+step 8 X' "$T/child-resumed-diff.log" || fail "assert_resumed showed no diff"

# The parsers of the checkpoint directory layout and of JSON replies (hand-made inputs).
mkdir -p "$T/layout/gen-000001" "$T/layout/gen-000010" "$T/layout/gen-000011.tmp" \
	"$T/layout/gen-12"
printf 'splitckpt-manifest 1\n# gen nranks created_ns bytes program\n1 1 5 9 a b\n10 1 6 9 c\n' \
	>"$T/layout/MANIFEST"
[[ $(gen_list "$T/layout" | tr '\n' ' ') == "1 10 " ]] ||
	fail "gen_list: '$(gen_list "$T/layout" | tr '\n' ' ')'"
[[ $(manifest_gens "$T/layout" | tr '\n' ' ') == "1 10 " ]] || fail "manifest_gens"
[[ $(rank_image "$T/layout" 10) == "$T/layout/gen-000010/rank-00000.img" ]] || fail "rank_image"
echo '{"ok":true,"ckptdir":"/x","generations":[{"gen":3,"bytes":1},{"gen":4}]}' >"$T/l1.json"
echo '{"committed": [5, 7]}' >"$T/l2.json"
[[ $(json_generations "$T/l1.json" | tr '\n' ' ') == "3 4 " ]] || fail "json_generations 1"
[[ $(json_generations "$T/l2.json" | tr '\n' ' ') == "5 7 " ]] || fail "json_generations 2"
echo '{"ok":true,"gen":12,"nranks":1,"path":"/x/gen-000012","killed":false}' >"$T/c.json"
[[ $(json_field "$T/c.json" gen generation) == 12 ]] || fail "json_field"
e2e_pass
