# shellcheck shell=bash
# The checkpoint/restart scenarios every test program goes through, one parameterised function
# each (sourced by ckpt-*.sh and interval-*.sh): kill-checkpoint and restart, restart from older
# generations, and interval checkpoints with --keep. All drive the real `splitckpt`.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

max() {
	if (($1 > $2)); then echo "$1"; else echo "$2"; fi
}

# assert_outfile PROG RUNDIR: state's own output file equals the reference run's.
assert_outfile() {
	local f
	f=$(prog_outfile "$1")
	[[ -z $f ]] || assert_same "$T/ref/$f" "$2/$f" "$1's output file $f"
}

# scenario_kill_restart PROG
# Launches PROG with manual checkpoints only, takes two --bcheckpoint at different steps and a
# --kcheckpoint (the launched process must exit 85), verifies the generations, then restarts
# the newest one (taking one more --bcheckpoint in the restarted run). Proof of resumption: the
# restarted output must begin exactly at the step after the last one printed before the kill
# (not at step 1), and launch output + restart output must equal the uninterrupted reference
# run line for line (for state, its output file must equal the reference's too).
# Leaves CK, KILL_STEP and the generations GEN1/GEN2/GEN3/GEN4 with windows GEN*_LO/_HI (steps
# printed before/after the checkpoint call) for scenario_older_generations.
scenario_kill_restart() {
	local prog=$1 steps=$E2E_STEPS
	run_reference "$prog" "$steps"
	CK=$T/ckpt
	register_ckptdir "$CK"
	mkdir -p "$T/run"

	log "launch $prog ($steps steps, ${E2E_DELAY_MS} ms each) with manual checkpoints"
	# --keep: the older generations must survive for scenario_older_generations.
	sc_launch launch "$T/run" --interval 0 --keep 100 --verbose --ckptdir "$CK" -- "$prog" \
		"$steps"
	wait_step launch $((steps / 6))
	checkpoint launch "$CK" --bcheckpoint
	GEN1=$CKPT_GEN GEN1_LO=$CKPT_LO GEN1_HI=$CKPT_HI
	wait_step launch "$(max $((steps / 3)) $((GEN1_HI + 2)))"
	checkpoint launch "$CK" --bcheckpoint
	GEN2=$CKPT_GEN GEN2_LO=$CKPT_LO GEN2_HI=$CKPT_HI
	((GEN2 > GEN1)) || fail "second checkpoint has generation $GEN2, not above the first ($GEN1)"
	((GEN2_LO > GEN1_HI)) || fail "internal: both checkpoints may have been at the same step"
	wait_step launch "$(max $((steps / 2)) $((GEN2_HI + 2)))"
	checkpoint launch "$CK" --kcheckpoint
	GEN3=$CKPT_GEN GEN3_LO=$CKPT_LO GEN3_HI=$CKPT_HI
	((GEN3 > GEN2)) || fail "kill-checkpoint has generation $GEN3, not above $GEN2"
	wait_exit launch 85

	KILL_STEP=$(last_step "$T/launch.out")
	! grep -q '^checksum' "$T/launch.out" || fail "$prog ran to its end before the" \
		"kill-checkpoint ended it; raise SC_E2E_STEPS or SC_E2E_DELAY_MS"
	((GEN3_LO <= KILL_STEP && KILL_STEP <= GEN3_HI)) || fail "the launched program printed up" \
		"to step $KILL_STEP, outside [$GEN3_LO, $GEN3_HI] seen around --kcheckpoint: it went" \
		"on running after the checkpoint"
	local n
	n=$(count_ckpt_lines "$T/launch.err")
	((n >= 2)) || fail "launch without --quiet printed $n checkpoint lines ('... GB/s') to" \
		"stderr for 3 checkpoints"
	for n in "$GEN1" "$GEN2" "$GEN3"; do
		sc_inspect_ok "$(gen_dir "$CK" "$n")"
		grep -q "rank 0 on .*: generation $n committed (quiesce .* ms, .*write .* ms.*): its image $(rank_image "$CK" "$n"), [0-9]* bytes" "$T/launch.err" ||
			fail "launch --verbose did not report generation $n's phases and image"
	done
	grep -q "^splitckpt launch: coordinator .* (pid [0-9]*, started now) for $CK\$" "$T/launch.err" ||
		fail "launch --verbose did not name the coordinator it started"
	sc_inspect_ok "$(rank_image "$CK" "$GEN3")"
	sc_inspect_ok "$CK"
	# file(1) names an image with the magic entry installed with the package
	if command -v file >/dev/null; then
		local what
		what=$(file -b -m "$SC_SRCDIR/doc/splitckpt.magic" "$(rank_image "$CK" "$GEN3")")
		[[ $what == "splitckpt checkpoint image, version 1, generation $GEN3, rank 0 of 1,"* ]] ||
			fail "file(1) with doc/splitckpt.magic says: $what"
	fi
	local committed
	committed=$(manifest_gens "$CK")
	for n in "$GEN1" "$GEN2" "$GEN3"; do
		grep -qx "$n" <<<"$committed" ||
			fail "$CK/MANIFEST does not list committed generation $n"
	done

	log "restart from the newest generation ($GEN3; killed after step $KILL_STEP)"
	# From $T, not from the run directory: the program's cwd must come from the image.
	bg_start restart "$T" "$SC" restart --ckptdir "$CK" --interval 0 --keep 100
	wait_step restart $((KILL_STEP + 1))
	checkpoint restart "$CK" --bcheckpoint
	GEN4=$CKPT_GEN GEN4_LO=$CKPT_LO GEN4_HI=$CKPT_HI
	((GEN4 > GEN3)) || fail "checkpoint after restart has generation $GEN4, not above $GEN3"
	wait_exit restart 0
	local first
	first=$(first_step "$T/restart.out")
	((first == KILL_STEP + 1)) || fail "the restarted run begins at step $first; the" \
		"kill-checkpoint was taken after step $KILL_STEP, so it must begin at step" \
		"$((KILL_STEP + 1))"
	cat "$T/launch.out" "$T/restart.out" >"$T/launch+restart.out"
	assert_same "$REF" "$T/launch+restart.out" "launch output + restart output"
	assert_outfile "$prog" "$T/run"
	log "restart resumed at step $first; launch + restart output equals the reference"
}

# restart_generation NAME GEN LO HI PROG: `restart --generation GEN` runs to the end; it must
# resume after a step in [LO, HI] (see assert_resumed) and complete the reference exactly.
restart_generation() {
	local name=$1 gen=$2 lo=$3 hi=$4 prog=$5
	log "restart --generation $gen (taken after a step in [$lo, $hi])"
	bg_start "$name" "$T" "$SC" restart --ckptdir "$CK" --generation "$gen" --interval 0 \
		--keep 100
	wait_exit "$name" 0
	assert_resumed "$name" "$lo" "$hi"
	assert_outfile "$prog" "$T/run"
}

# scenario_older_generations PROG (after scenario_kill_restart): restarts the checkpoint taken
# by the restarted run (a restart of a restart), then the first generation, which must resume
# after its own step - before the kill-checkpoint's - even though newer generations exist and
# the output file (state) has grown beyond its size at that checkpoint.
scenario_older_generations() {
	local prog=$1
	restart_generation restart-gen4 "$GEN4" "$GEN4_LO" "$GEN4_HI" "$prog"
	restart_generation restart-gen1 "$GEN1" "$GEN1_LO" "$GEN1_HI" "$prog"
	local first
	first=$(first_step "$T/restart-gen1.out")
	((first - 1 < KILL_STEP)) || fail "restart --generation $GEN1 resumed after step" \
		"$((first - 1)), not before the kill-checkpoint's step $KILL_STEP"
}

# scenario_interval PROG MODE: launch with a 1 s interval and --keep 2 for a run of a few
# seconds. MODE "options" passes --ckptdir/--interval/--quiet; MODE "env" passes
# SPLITCKPT_CHECKPOINT_DIR/SPLITCKPT_CHECKPOINT_INTERVAL instead (checkpoint lines expected).
# Asserts >= 2 generations were created, --list --json lists them, at most 2 gen-* directories
# remain, the output equals the reference, and the newest interval generation restarts
# mid-run (resumes after step > 0) and completes the reference.
scenario_interval() {
	local prog=$1 mode=$2 steps=$E2E_INTERVAL_STEPS
	run_reference "$prog" "$steps"
	CK=$T/ckpt
	register_ckptdir "$CK"
	mkdir -p "$T/run"
	log "launch $prog ($steps steps) with --interval 1 --keep 2 ($mode)"
	case $mode in
	options) sc_launch launch "$T/run" --interval 1 --keep 2 --quiet --ckptdir "$CK" -- \
		"$prog" "$steps" ;;
	env)
		prog_cmd "$prog" "$steps"
		bg_start launch "$T/run" env SPLITCKPT_CHECKPOINT_DIR="$CK" \
			SPLITCKPT_CHECKPOINT_INTERVAL=1 "$SC" launch --keep 2 "${E2E_CMD[@]}"
		;;
	*) fail "internal: mode $mode" ;;
	esac

	# Watch the directory while the job runs: every generation that ever appears is counted.
	local -A seen=()
	local g listed=0 deadline=$((SECONDS + E2E_WAIT)) lastgen
	while is_running launch; do
		((SECONDS < deadline)) || break
		for g in $(gen_list "$CK"); do
			seen[$g]=1
		done
		if ((listed == 0 && ${#seen[@]} >= 2)); then
			run_seq list "$SC" command --ckptdir "$CK" --list --json
			if ((RC == 0)); then
				lastgen=$(json_generations "$OUT" | tail -n 1)
				[[ -n $lastgen ]] || fail "--list --json lists no generation: $(cat "$OUT")"
				((lastgen <= $(gen_list "$CK" | tail -n 1))) || fail "--list --json lists" \
					"generation $lastgen, newer than every gen-* directory in $CK"
				listed=1
			elif is_running launch; then
				fail "command --list --json exited with status $RC: $(cat "$ERR")"
			fi
		fi
		sleep 0.1
	done
	wait_exit launch 0
	for g in $(gen_list "$CK"); do
		seen[$g]=1
	done
	assert_same "$REF" "$T/launch.out" "output of the run with interval checkpoints"
	assert_outfile "$prog" "$T/run"
	((${#seen[@]} >= 2)) || fail "a run of $steps x ${E2E_DELAY_MS} ms with a 1 s interval" \
		"created ${#seen[@]} generation(s): ${!seen[*]}"
	((listed == 1)) || fail "never got a --list --json reply while the job ran"
	local left
	left=$(gen_list "$CK" | wc -l)
	((left >= 1 && left <= 2)) || fail "--keep 2 left $left gen-* directories:" \
		"$(gen_list "$CK" | tr '\n' ' ')"
	[[ $(manifest_gens "$CK" | tail -n 1) == "$(gen_list "$CK" | tail -n 1)" ]] ||
		fail "the newest generation in $CK/MANIFEST is not the newest gen-* directory"
	sc_inspect_ok "$CK"
	local n
	n=$(count_ckpt_lines "$T/launch.err")
	if [[ $mode == options ]]; then
		((n == 0)) || fail "launch --quiet printed $n checkpoint lines to stderr"
	else
		((n >= 2)) || fail "launch printed $n checkpoint lines ('... GB/s') to stderr for" \
			"${#seen[@]} checkpoints"
	fi
	log "${#seen[@]} generations created ($(tr ' ' '\n' <<<"${!seen[*]}" | sort -n | paste -sd ' '))," \
		"$left kept"

	lastgen=$(gen_list "$CK" | tail -n 1)
	log "restart the newest interval generation ($lastgen) after the run completed"
	bg_start restart "$T" "$SC" restart --ckptdir "$CK" --interval 0
	wait_exit restart 0
	if [[ $(first_step "$T/restart.out") == 0 ]]; then
		# Checkpointed after the last step: only the checksum line is left to print.
		tail -n 1 "$REF" >"$T/ref-tail.out"
		assert_same "$T/ref-tail.out" "$T/restart.out" "output of the restart after the last step"
	else
		assert_resumed restart 1 "$steps"
	fi
	assert_outfile "$prog" "$T/run"
}
