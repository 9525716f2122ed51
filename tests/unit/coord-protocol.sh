#!/bin/bash
# Integration test of the coordinator over real TCP (loopback): `splitckpt coordinator` with
# fake ranks (unit/fake_rank) and `splitckpt command`. Covers commit + MANIFEST, blocking and
# kill checkpoints, --keep garbage collection, aborts (failed ACK, rank lost), wrong secrets,
# JSON output, intervals, lifetime (--exit-on-last, --start-timeout, QUIT), CLI error paths and
# sc_coord_ensure's start/reuse/race handling (unit/coord_ensure_client).
set -u

SC=${SC_BUILDDIR:?}/tools/splitckpt
FAKE=${SC_TESTS_BUILDDIR:?}/unit/fake_rank
ENSURE=$SC_TESTS_BUILDDIR/unit/coord_ensure_client
T=$(mktemp -d /tmp/sc-coord-test.XXXXXX)
unset SPLITCKPT_COORD_HOST SPLITCKPT_COORD_PORT SPLITCKPT_SECRET SPLITCKPT_CHECKPOINT_INTERVAL
unset SPLITCKPT_CHECKPOINT_DIR
failures=0
bg_pids=()

cleanup() {
	for p in "${bg_pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	for d in "$T"/*/; do
		[ -f "$d/splitckpt.job" ] && "$SC" command --ckptdir "$d" --quit --timeout 5 \
			>/dev/null 2>&1
	done
	rm -rf "$T"
}
trap cleanup EXIT

pass() { echo "PASS: $*"; }
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
# check DESCRIPTION COMMAND...: passes when the command succeeds
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
# wait_for SECONDS COMMAND...: polls every 0.1 s until the command succeeds
wait_for() {
	local limit=$(($1 * 10))
	shift
	for ((i = 0; i < limit; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
json_ok() { python3 -c 'import json,sys; json.load(sys.stdin)'; }
# jget FIELD: prints a top-level field of the JSON object on stdin
jget() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
status_field() { "$SC" command --ckptdir "$1" --status --json | jget "$2"; }
ranks_connected_is() { [ "$(status_field "$1" ranks_connected 2>/dev/null)" = "$2" ]; }
manifest_gens() { grep -v '^#' "$1/MANIFEST" | cut -d' ' -f1 | tr '\n' ' '; }
no_tmp_dirs() { ! compgen -G "$1/gen-*.tmp" >/dev/null; }
start_coord() { # DIR [options]: a daemonized coordinator on loopback
	local d=$1
	shift
	"$SC" coordinator --daemon --host 127.0.0.1 --ckptdir "$d" "$@"
}
start_rank() { # DIR RANK NRANKS LOG [fake_rank options]
	local d=$1 r=$2 n=$3 log=$4
	shift 4
	"$FAKE" --ckptdir "$d" --rank "$r" --nranks "$n" "$@" >"$log" 2>&1 &
	bg_pids+=($!)
	last_pid=$!
}
# status_of PID: waits for a background process (in this shell) and sets $st to its status
status_of() {
	wait "$1"
	st=$?
}
state_is() { [ "$(status_field "$1" state 2>/dev/null)" = "$2" ]; }

# --- a two-rank job --------------------------------------------------------------------
D=$T/job1
check "coordinator starts as a daemon and writes the state file" start_coord "$D" --keep 2
check "state file has mode 0600" [ "$(stat -c %a "$D/splitckpt.job")" = 600 ]
start_rank "$D" 0 2 "$T/r0.log" --program /opt/app --fail write "disk full" \
	--fail-when "$T/fail-now"
r0=$last_pid
start_rank "$D" 1 2 "$T/r1.log" --bytes 3000
r1=$last_pid
check "both ranks connect" wait_for 10 ranks_connected_is "$D" 2

out=$("$SC" command --ckptdir "$D" --checkpoint)
check "--checkpoint answers at once with generation 1 ($out)" \
	[ "$out" = "checkpoint of generation 1 started" ]
check "generation 1 is committed and listed in MANIFEST" \
	wait_for 10 grep -qs '^1 2 ' "$D/MANIFEST"
check "both images of generation 1 exist" \
	[ -f "$D/gen-000001/rank-00000.img" -a -f "$D/gen-000001/rank-00001.img" ]
check "MANIFEST records bytes, duration, how and program" \
	grep -q '^1 2 [0-9]* 4000 [1-9][0-9]* command /opt/app$' "$D/MANIFEST"

out=$("$SC" command --ckptdir "$D" --bcheckpoint)
rc=$?
check "--bcheckpoint exits 0 after the commit ($out)" \
	[ $rc -eq 0 -a -n "$(echo "$out" | grep 'generation 2 committed')" ]
"$SC" command --ckptdir "$D" --bcheckpoint >/dev/null
check "--keep 2 keeps generations 2 and 3 only" [ "$(manifest_gens "$D")" = "2 3 " ]
check "--keep 2 removed gen-000001" [ ! -e "$D/gen-000001" ]

touch "$T/fail-now"
out=$("$SC" command --ckptdir "$D" --bcheckpoint 2>&1)
rc=$?
check "a failed ACK makes --bcheckpoint fail with the rank's reason ($out)" \
	[ $rc -ne 0 -a -n "$(echo "$out" | grep 'rank 0 .*disk full')" ]
check "the aborted checkpoint leaves no gen-*.tmp" no_tmp_dirs "$D"
check "generation 3 is still the latest" [ "$(manifest_gens "$D")" = "2 3 " ]
check "ranks were told of the abort" wait_for 5 grep -q 'aborted: .*disk full' "$T/r1.log"
check "--status reports the failure" \
	sh -c "'$SC' command --ckptdir '$D' --status | grep -q 'last failure:.*disk full'"
rm -f "$T/fail-now"
out=$("$SC" command --ckptdir "$D" --bcheckpoint --json)
check "the job goes on: the next checkpoint commits ($out)" \
	[ "$(echo "$out" | jget ok)" = True ]
check "generation numbers are not reused after an abort" [ "$(manifest_gens "$D")" = "3 5 " ]

out=$("$SC" command --ckptdir "$D" --status --json)
check "--status --json is one JSON object" json_ok <<<"$out"
check "--status --json counts 2 of 2 ranks" \
	[ "$(jget ranks_connected <<<"$out")/$(jget ranks_expected <<<"$out")" = 2/2 ]
check "--status --json shows the last generation" [ "$(jget last_gen <<<"$out")" = 5 ]
out=$("$SC" command --ckptdir "$D" --list --json)
check "--list --json is one JSON object" json_ok <<<"$out"
check "--list --json lists generations 3 and 5" [ "$(python3 -c '
import json, sys
print(",".join(str(g["gen"]) for g in json.load(sys.stdin)["generations"]))' <<<"$out")" = 3,5 ]
check "--list prints a table" sh -c "'$SC' command --ckptdir '$D' --list | grep -q '^5 '"

# wrong secrets are refused, on both sides
read -r port < <(sed -n 's/^port=//p' "$D/splitckpt.job")
bad=$(printf 'f%.0s' {1..64})
out=$("$FAKE" --host 127.0.0.1 --port "$port" --secret "$bad" --rank 0 --nranks 2 2>&1)
rc=$?
check "a rank with a wrong secret is refused ($out)" \
	[ $rc -eq 2 -a -n "$(echo "$out" | grep 'wrong secret')" ]
out=$(SPLITCKPT_SECRET=$bad "$SC" command --ckptdir "$D" --status 2>&1)
rc=$?
check "a command with a wrong secret fails ($out)" \
	[ $rc -eq 1 -a -n "$(echo "$out" | grep 'wrong secret')" ]
out=$("$FAKE" --ckptdir "$D" --rank 1 --nranks 2 2>&1)
check "a second rank 1 is refused ($out)" [ -n "$(echo "$out" | grep 'already connected')" ]
out=$("$FAKE" --ckptdir "$D" --rank 0 --nranks 3 2>&1)
check "a rank disagreeing on nranks is refused" [ -n "$(echo "$out" | grep 'has 2 ranks')" ]
check "the job still has 2 ranks" ranks_connected_is "$D" 2

# interval checkpoints, set by command
"$SC" command --ckptdir "$D" --interval 1 >/dev/null
check "--interval 1 makes checkpoints by itself" \
	wait_for 10 sh -c "grep -qs '^6 ' '$D/MANIFEST'"
check "--interval 0 stops them" \
	sh -c "'$SC' command --ckptdir '$D' --interval 0 | grep -q 'off'"
wait_for 10 state_is "$D" idle # an interval checkpoint may still be finishing
"$SC" command --ckptdir "$D" --status --json | jget interval | grep -qx 0 &&
	pass "--status shows interval 0" || fail "--status shows interval 0"

out=$("$SC" command --ckptdir "$D" --kcheckpoint)
rc=$?
check "--kcheckpoint exits 0 after the commit ($out)" [ $rc -eq 0 ]
status_of "$r0"
check "rank 0 exits with 85 after --kcheckpoint" [ $st = 85 ]
status_of "$r1"
check "rank 1 exits with 85 after --kcheckpoint" [ $st = 85 ]
check "no ranks remain" wait_for 5 ranks_connected_is "$D" 0
out=$("$SC" command --ckptdir "$D" --checkpoint 2>&1)
check "--checkpoint without ranks fails: $out" \
	[ -n "$(echo "$out" | grep 'no ranks connected')" ]

# a rank dying mid-checkpoint aborts it; --kill ends the ranks
start_rank "$D" 0 2 "$T/r0b.log" --restarted 7
r0=$last_pid
start_rank "$D" 1 2 "$T/r1b.log" --die write
r1=$last_pid
check "a new job attaches to the coordinator" wait_for 10 ranks_connected_is "$D" 2
check "RESTARTED is recorded in --status" \
	sh -c "'$SC' command --ckptdir '$D' --status | grep -q 'restarted from generation 7'"
last=$(status_field "$D" last_gen)
out=$("$SC" command --ckptdir "$D" --bcheckpoint 2>&1)
rc=$?
check "a rank lost in the write phase aborts the checkpoint ($out)" \
	[ $rc -eq 1 -a -n "$(echo "$out" | grep 'rank 1 .*disconnected')" ]
check "...leaving no gen-*.tmp" no_tmp_dirs "$D"
check "...and the previous generation as the latest" [ "$(status_field "$D" last_gen)" = "$last" ]
check "--kill ends the remaining rank" \
	sh -c "'$SC' command --ckptdir '$D' --kill >/dev/null"
status_of "$r0"
check "the killed rank exits with 85" [ $st = 85 ]
status_of "$r1"
check "the rank told to die in the write phase did" [ $st = 3 ]

# QUIT ends the coordinator and removes its state file
last=$(status_field "$D" last_gen)
out=$("$SC" command --ckptdir "$D" --quit)
check "--quit answers ($out)" [ -n "$(echo "$out" | grep 'coordinator exiting')" ]
check "the state file is removed on exit" wait_for 5 test ! -e "$D/splitckpt.job"
out=$("$SC" command --ckptdir "$D" --list)
check "--list still works from MANIFEST once the job has ended" \
	[ -n "$(echo "$out" | grep "^$last ")" ]

# --- CLI error paths ----------------------------------------------------------------------
out=$("$SC" command --ckptdir "$T/nojob" --status 2>&1)
rc=$?
check "missing state file: non-zero with a clear message ($out)" \
	[ $rc -eq 1 -a "$out" = "splitckpt command: no job found in $T/nojob: $T/nojob/splitckpt.job does not exist" ]
out=$("$SC" command --ckptdir "$T/nojob" --status --json 2>/dev/null)
check "missing state file with --json: one JSON object with ok=false" \
	[ "$(jget ok <<<"$out")" = False ]

D2=$T/dead
start_coord "$D2" >/dev/null
read -r dead_pid < <(sed -n 's/^pid=//p' "$D2/splitckpt.job")
read -r dead_port < <(sed -n 's/^port=//p' "$D2/splitckpt.job")
kill -9 "$dead_pid"
wait_for 5 sh -c "! kill -0 $dead_pid 2>/dev/null"
out=$("$SC" command --ckptdir "$D2" --status 2>&1)
rc=$?
check "unreachable coordinator: non-zero with a clear message ($out)" \
	[ $rc -eq 1 -a "$out" = "splitckpt command: coordinator at 127.0.0.1:$dead_port is not reachable: connection refused (job ended?)" ]
check "a stale state file does not stop a new coordinator" start_coord "$D2" --quiet
"$SC" command --ckptdir "$D2" --quit >/dev/null

out=$("$SC" command --ckptdir "$D" --frobnicate 2>&1)
check "command: unknown option exits 64 ($out)" [ $? -eq 64 ]
"$SC" command --ckptdir "$D" >/dev/null 2>&1
check "command: no action exits 64" [ $? -eq 64 ]
"$SC" command --status --list >/dev/null 2>&1
check "command: two actions exit 64" [ $? -eq 64 ]
"$SC" command --interval >/dev/null 2>&1
check "command: --interval without a value exits 64" [ $? -eq 64 ]
"$SC" coordinator --bogus >/dev/null 2>&1
check "coordinator: unknown option exits 64" [ $? -eq 64 ]
"$SC" coordinator --keep x >/dev/null 2>&1
check "coordinator: bad --keep exits 64" [ $? -eq 64 ]
"$SC" coordinator --help | grep -q -- --exit-on-last
check "coordinator --help documents --exit-on-last" [ $? -eq 0 ]
"$SC" command --help | grep -q -- --kcheckpoint
check "command --help documents --kcheckpoint" [ $? -eq 0 ]

# --- lifetime -----------------------------------------------------------------------------
D3=$T/lifetime
start_coord "$D3" --exit-on-last --start-timeout 1
read -r cpid < <(sed -n 's/^pid=//p' "$D3/splitckpt.job")
check "--start-timeout: exits when no rank comes" wait_for 10 sh -c "! kill -0 $cpid 2>/dev/null"
check "...and removes its state file" [ ! -e "$D3/splitckpt.job" ]
start_coord "$D3" --exit-on-last
read -r cpid < <(sed -n 's/^pid=//p' "$D3/splitckpt.job")
start_rank "$D3" 0 1 "$T/r3.log"
r=$last_pid
check "a one-rank job connects" wait_for 10 ranks_connected_is "$D3" 1
kill "$r"
check "--exit-on-last: exits after the last rank has gone" \
	wait_for 10 sh -c "! kill -0 $cpid 2>/dev/null"
check "...and removes its state file" [ ! -e "$D3/splitckpt.job" ]
# A restarting rank's watch (lower half, before MPI_Init) stands for its rank: the coordinator
# waits for the rank while it lives (beyond the 3 s grace), goes on when the rank arrives, and
# exits when the rank's process died before connecting (hydra ending a refused restart).
start_coord "$D3" --exit-on-last
read -r cpid < <(sed -n 's/^pid=//p' "$D3/splitckpt.job")
start_rank "$D3" 0 2 "$T/w0.log" --watch
w0=$last_pid
start_rank "$D3" 1 2 "$T/w1.log" --watch
w1=$last_pid
sleep 4
check "--exit-on-last: a restart watch keeps the coordinator" kill -0 "$cpid"
start_rank "$D3" 0 2 "$T/r3w.log"
r=$last_pid
check "...its rank connects" wait_for 10 ranks_connected_is "$D3" 1
kill "$w0" "$r"
sleep 4
check "...a live watch keeps it after its only rank left" kill -0 "$cpid"
kill "$w1"
check "--exit-on-last: exits when the last watch's process ends" \
	wait_for 10 sh -c "! kill -0 $cpid 2>/dev/null"
check "coordinator.log has timestamps" grep -q '^20[0-9-]*T[0-9:.]* splitckpt coordinator' \
	"$D3/coordinator.log"
start_coord "$D3" --interval 1
start_rank "$D3" 0 1 "$T/r3b.log"
check "--interval as an option checkpoints by itself" \
	wait_for 10 sh -c "grep -qs 'committed' '$T/r3b.log'"
"$SC" command --ckptdir "$D3" --quit >/dev/null
out=$(SPLITCKPT_CHECKPOINT_DIR=$D3 "$SC" command --list)
check "SPLITCKPT_CHECKPOINT_DIR stands for --ckptdir" [ -n "$(echo "$out" | grep '^[0-9]')" ]

# --- sc_coord_ensure: start once, reuse, survive a race ----------------------------------
D4=$T/ensure
for i in 1 2 3 4; do
	"$ENSURE" --ckptdir "$D4" --interval 9 >"$T/ensure$i.out" 2>&1 &
	bg_pids+=($!)
	ep[$i]=$!
done
for i in 1 2 3 4; do wait "${ep[$i]}" || fail "coord_ensure_client $i: $(cat "$T/ensure$i.out")"; done
check "racing launchers start exactly one coordinator" \
	[ "$(cat "$T"/ensure?.out | grep -c started=1)" = 1 ]
check "...and all use it" [ "$(cut -d' ' -f3- "$T"/ensure?.out | sort -u | wc -l)" = 1 ]
check "the lock file is gone" [ ! -e "$D4/splitckpt.job.lock" ]
out=$("$ENSURE" --ckptdir "$D4" --interval 4)
check "an existing coordinator is reused ($out)" [ "${out%% *}" = started=0 ]
check "...and its interval updated" [ "$(status_field "$D4" interval)" = 4 ]
read -r p4 < <(sed -n 's/^port=//p' "$D4/splitckpt.job")
out=$("$ENSURE" --ckptdir "$T/elsewhere" --coord-host 127.0.0.1 --coord-port "$p4" 2>&1)
check "--coord-host without a secret is refused clearly ($out)" \
	[ -n "$(echo "$out" | grep 'no secret')" ]
s4=$(sed -n 's/^secret=//p' "$D4/splitckpt.job")
out=$(SPLITCKPT_SECRET=$s4 "$ENSURE" --ckptdir "$T/elsewhere" --coord-host 127.0.0.1 \
	--coord-port "$p4")
check "--coord-host with SPLITCKPT_SECRET uses that coordinator ($out)" \
	[ "$out" = "started=0 host=127.0.0.1 port=$p4 pid=0" ]
"$SC" command --ckptdir "$D4" --quit >/dev/null

echo "coord-protocol: $failures failure(s)"
if [ $failures -ne 0 ]; then
	for f in "$T"/*/coordinator.log; do
		echo "--- $f"
		cat "$f"
	done
	exit 1
fi
exit 0
