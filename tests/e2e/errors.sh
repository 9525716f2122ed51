#!/bin/bash
# Failure cases of the CLI: unknown options and unusable --on-signal signals (exit 64 naming the
# option), launch --resume of another program's directory, restart from a missing
# or empty directory, `command` without a job, a wrong secret, and restarts from a corrupted,
# truncated or foreign image. Each must fail cleanly (message, no crash) and lose nothing: the
# previous generation still verifies, and the repaired directory finally restarts correctly.
# shellcheck disable=SC2317 # corrupt_* are called as "corrupt_$kind"
# shellcheck source=tests/e2e/scenarios.sh
. "$(dirname "${BASH_SOURCE[0]}")/scenarios.sh"
e2e_init errors

# expect_failure NAME MENTION CMD...: CMD exits non-zero without a crash and prints a message
# (containing MENTION, case-insensitively, unless MENTION is empty).
expect_failure() {
	local name=$1 mention=$2
	shift 2
	run_capture "$name" "$@"
	((RC != 0)) || fail "'$*' succeeded, expected it to fail"
	((RC < 128)) || fail "'$*' crashed (status $RC: signal $((RC - 128)))"
	[[ -s $ERR ]] || fail "'$*' failed (status $RC) without a message on stderr"
	[[ -z $mention ]] || grep -qiF -- "$mention" "$ERR" ||
		fail "'$*' failed (status $RC), but its message does not mention '$mention':" \
			"$(cat "$ERR")"
	log "$name: status $RC: $(head -n 1 "$ERR")"
}

# expect_usage NAME OPTION CMD...: CMD exits 64 (EX_USAGE) with a message naming OPTION.
expect_usage() {
	local name=$1 opt=$2
	shift 2
	expect_failure "$name" "$opt" "$@"
	((RC == 64)) || fail "'$*' exited with status $RC for an unknown option, expected 64"
}

# Processes of this test still alive other than coordinators (a failed restart must not leave
# a half-restored rank behind).
assert_no_stray_ranks() {
	local deadline=$((SECONDS + 5)) p stray argv
	while :; do
		stray=""
		for p in $(tagged_pids); do
			mapfile -d '' -t argv <"/proc/$p/cmdline" 2>/dev/null || continue
			[[ ${argv[1]:-} == coordinator ]] && continue
			stray+=" $p(${argv[*]:0:4})"
		done
		[[ -z $stray ]] && return 0
		((SECONDS < deadline)) || fail "processes left running after $1:$stray"
		sleep 0.1
	done
}

# Flips 16 bytes in the middle of the image's page data: between the 4 KiB header and the
# region table, whose offset is the header's regions_off (u64 at byte 64, see image.h).
corrupt_flip() {
	local img=$1 size end off bytes b esc=""
	size=$(stat -c %s "$img")
	end=$(od -An -t u8 -j 64 -N 8 "$img" | tr -d ' ')
	if ! [[ $end =~ ^[0-9]+$ ]] || ((end <= 4096 + 64 || end > size)); then
		end=$size
	fi
	off=$((4096 + (end - 4096) / 2))
	bytes=$(od -An -t u1 -j "$off" -N 16 "$img")
	for b in $bytes; do
		esc+=$(printf '\\%03o' $((255 - b)))
	done
	# shellcheck disable=SC2059
	printf "$esc" | dd of="$img" bs=1 seek="$off" conv=notrunc status=none
	log "flipped 16 bytes at offset $off of $img (page data ends at $end)"
}
corrupt_truncate() {
	truncate -s $(($(stat -c %s "$1") / 2)) "$1"
}
corrupt_foreign() {
	cp "$E2E_PROGDIR/state" "$1"
}

# ---- without a job ------------------------------------------------------------------------
for sub in launch restart command coordinator inspect; do
	case $sub in
	launch) args=(launch --no-such-option "$E2E_PROGDIR/threads" 1 1) ;;
	inspect) args=(inspect --no-such-option "$T") ;;
	*) args=("$sub" --no-such-option) ;;
	esac
	expect_usage "usage-$sub" --no-such-option "$SC" "${args[@]}"
done

for sig in KILL SEGV FROB 0 99 RTMAX-3; do
	expect_usage "on-signal-$sig" --on-signal "$SC" launch --on-signal "$sig" \
		"$E2E_PROGDIR/threads" 1 1
done
expect_failure restart-missing-dir "$T/no-such-dir" "$SC" restart --ckptdir "$T/no-such-dir"
mkdir "$T/empty"
expect_failure restart-empty-dir "$T/empty" "$SC" restart --ckptdir "$T/empty"
[[ -z $(ls -A "$T/empty") ]] || fail "a failed restart left files in $T/empty: $(ls -A "$T/empty")"
expect_failure status-no-job "" "$SC" command --ckptdir "$T/empty" --status
port=$("$E2E_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])') # free now: nothing listens there
# (with a secret, so that the connection itself is what fails)
expect_failure status-no-coordinator "$port" env SPLITCKPT_SECRET="$(printf '0%.0s' {1..64})" \
	"$SC" command --coord-host 127.0.0.1 --coord-port "$port" --status
expect_failure inspect-missing "$T/no-such-dir" "$SC" inspect "$T/no-such-dir"

# launch exits with the program's own status (state rejects STEPS=0 with status 2); its
# --ckptdir is made with its missing parents, like `mkdir -p`.
register_ckptdir "$T/ckpt-status/nested/dir"
expect_failure launch-exit-status STEPS \
	"$SC" launch --interval 0 --ckptdir "$T/ckpt-status/nested/dir" "$E2E_PROGDIR/state" 0 1 x.out
((RC == 2)) || fail "launch of a program that exits with status 2 exited with status $RC"
[[ -d $T/ckpt-status/nested/dir ]] || fail "launch did not create --ckptdir with its parents"

# ---- a job: wrong secret, then three checkpoints -------------------------------------------
steps=$E2E_STEPS
run_reference state "$steps"
CK=$T/ckpt
register_ckptdir "$CK"
mkdir -p "$T/run"
sc_launch launch "$T/run" --interval 0 --keep 10 --ckptdir "$CK" -- state "$steps"
wait_step launch $((steps / 6))
job=$CK/splitckpt.job
[[ -f $job ]] || fail "$job does not exist while the job runs"
[[ $(stat -c %a "$job") == 600 ]] || fail "$job has mode $(stat -c %a "$job"), expected 600"
sc_cmd_ok "$CK" --status
sc_cmd_ok "$CK" --status --json
json_field "$OUT" >/dev/null

cp -p "$job" "$T/job.orig"
secret=$(grep -oE '[0-9a-fA-F]{64}' "$job" | head -n 1) ||
	fail "no 64-hex-digit secret found in $job"
wrong=$(tr '0-9a-fA-F' '1-9a-f0B-FA' <<<"$secret") # every digit changed
sed -i "s/$secret/$wrong/" "$job"
expect_failure status-wrong-secret secret "$SC" command --ckptdir "$CK" --status
cp "$T/job.orig" "$job"
sc_cmd_ok "$CK" --status
is_running launch || fail "the job ended after a command with a wrong secret"

checkpoint launch "$CK" --bcheckpoint
older=$CKPT_GEN older_lo=$CKPT_LO older_hi=$CKPT_HI
wait_step launch $((CKPT_HI + 2))
checkpoint launch "$CK" --kcheckpoint
newest=$CKPT_GEN
wait_exit launch 85
kill_step=$(last_step "$T/launch.out")

# ---- launch --resume of another program's directory: refused, naming both, nothing touched --
cp "$CK/MANIFEST" "$T/manifest.orig"
expect_failure resume-other-program "holds a checkpoint of" \
	"$SC" launch --resume --ckptdir "$CK" "$E2E_PROGDIR/threads" 1 1
((RC == 1)) || fail "launch --resume of another program's checkpoint exited with status $RC"
cmp -s "$CK/MANIFEST" "$T/manifest.orig" || fail "launch --resume refused but changed MANIFEST"

# ---- damaged newest image: restart must fail naming it, the older generation must verify ----
img=$(rank_image "$CK" "$newest")
img_rel=${img#"$CK"/}
for kind in flip truncate foreign; do
	cp "$img" "$T/image.orig"
	touch "$T/before-$kind"
	"corrupt_$kind" "$img"
	expect_failure "restart-$kind" "$img_rel" \
		"$SC" restart --ckptdir "$CK" --generation "$newest" --interval 0
	cores=$(find "$T" -name 'core*' -newer "$T/before-$kind" -type f)
	[[ -z $cores ]] || fail "restart from a $kind image dumped core: $cores"
	assert_no_stray_ranks "restart from a $kind image"
	sc_inspect_corrupt "$img"
	sc_inspect_ok "$(gen_dir "$CK" "$older")"
	cp "$T/image.orig" "$img"
	sc_inspect_ok "$img"
done

# ---- a plain restart skips a damaged newest generation and says so -------------------------
cp "$img" "$T/image.orig"
corrupt_foreign "$img"
bg_start fallback "$T" "$SC" restart --ckptdir "$CK" --interval 0
wait_exit fallback 0
grep -q "falling back to generation $older" "$T/fallback.err" ||
	fail "restart with a damaged newest generation did not fall back to $older: $(cat "$T/fallback.err")"
assert_resumed fallback "$older_lo" "$older_hi"
cp "$T/image.orig" "$img"

# ---- nothing was lost: the repaired directory restarts and completes the reference ----------
bg_start restart "$T" "$SC" restart --ckptdir "$CK" --interval 0
wait_exit restart 0
((kill_step > 0)) || fail "internal: no step before the kill-checkpoint"
assert_resumed restart "$kill_step" "$kill_step"
assert_outfile state "$T/run"
e2e_pass
