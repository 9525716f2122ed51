# shellcheck shell=bash
# Mechanics of the end-to-end tests (sourced): a temporary directory per test (removed on
# success, kept and reported on failure), starting programs natively or under the real
# `splitckpt` in the background, bounded waits, `splitckpt command` calls, output comparisons,
# failure reports with diffs and log tails, and cleanup of every process a test started.
#
# Knobs (environment):
#   SC_E2E_STEPS           steps of a checkpoint/restart run                (default 60)
#   SC_E2E_INTERVAL_STEPS  steps of an --interval run (needs >= ~3 s)       (default 80)
#   SC_E2E_DELAY_MS        pause per step in every test program, ms         (default 50)
#   SC_E2E_WAIT            bound of every single wait, s                    (default 60)
#   SC_E2E_KEEP=1          keep the test directory even when the test passes
#   SC_E2E_TMPDIR          where test directories go          (default $TMPDIR or /tmp)
#   SC_E2E_PYTHON          python3 interpreter to run script.py (default /usr/bin/python3)

set -euo pipefail

: "${SC_BUILDDIR:?is not set: run the e2e tests with make check, or export SC_BUILDDIR=<build dir>}"
E2E_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SC_TESTS_BUILDDIR=${SC_TESTS_BUILDDIR:-$SC_BUILDDIR/tests}
SC=$SC_BUILDDIR/tools/splitckpt
E2E_PROGDIR=$SC_TESTS_BUILDDIR/e2e/progs

E2E_STEPS=${SC_E2E_STEPS:-60}
E2E_INTERVAL_STEPS=${SC_E2E_INTERVAL_STEPS:-80}
E2E_DELAY_MS=${SC_E2E_DELAY_MS:-50}
E2E_WAIT=${SC_E2E_WAIT:-60}
E2E_KEEP=${SC_E2E_KEEP:-0}
E2E_TMP=${SC_E2E_TMPDIR:-${TMPDIR:-/tmp}}

e2e_knob_check() {
	local name=$1 value=$2 min=$3
	if ! [[ $value =~ ^[0-9]+$ ]] || ((value < min)); then
		echo "e2e: $name=$value must be a number >= $min" >&2
		exit 99
	fi
}
e2e_knob_check SC_E2E_STEPS "$E2E_STEPS" 12
e2e_knob_check SC_E2E_INTERVAL_STEPS "$E2E_INTERVAL_STEPS" 4
e2e_knob_check SC_E2E_DELAY_MS "$E2E_DELAY_MS" 1
e2e_knob_check SC_E2E_WAIT "$E2E_WAIT" 1

# The interpreter; ckpt-python-path.sh runs `python3` from PATH, which may be a #! shim.
if [[ -n ${SC_E2E_PYTHON:-} ]]; then
	E2E_PYTHON=$SC_E2E_PYTHON
elif [[ -x /usr/bin/python3 ]]; then
	E2E_PYTHON=/usr/bin/python3
else
	E2E_PYTHON=$(python3 -c 'import sys; print(sys.executable)')
fi

# Options must come from the command lines the tests write, not from the caller's environment.
unset SPLITCKPT_CHECKPOINT_DIR SPLITCKPT_CHECKPOINT_INTERVAL SPLITCKPT_COORD_HOST \
	SPLITCKPT_COORD_PORT SPLITCKPT_SECRET
export OMP_NUM_THREADS=4

declare -gA E2E_PID=()  # name -> pid of a background process this test started
declare -gA E2E_RC=()   # name -> its exit status once waited for
declare -ga E2E_CKPTDIRS=()
E2E_SEQ=0
E2E_LOGS_SHOWN=0
E2E_T0=$SECONDS
T=
E2E_NAME=

log() {
	echo "e2e[$E2E_NAME +$((SECONDS - E2E_T0))s]: $*"
}

# ---- test directory, failure reports, cleanup -------------------------------------------

# e2e_init NAME: creates the test directory $T, cds into it and installs the cleanup trap.
e2e_init() {
	E2E_NAME=$1
	mkdir -p "$E2E_TMP"
	T=$(mktemp -d "$E2E_TMP/sc-e2e-$E2E_NAME.XXXXXX")
	# Every process started from here on inherits this tag; cleanup finds them by it.
	export SC_E2E_TAG=$T
	trap e2e_on_exit EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	trap 'exit 129' HUP
	cd "$T"
	[[ -x $SC ]] || fail "$SC not found or not executable (build the tree first)"
	log "test directory $T"
}

e2e_pass() {
	log "PASS"
	exit 0
}

# Prints the tail of every log of the test: outputs and errors of all processes and commands,
# each checkpoint directory's coordinator.log and its listing.
dump_logs() {
	((E2E_LOGS_SHOWN == 0)) || return 0
	E2E_LOGS_SHOWN=1
	[[ -n $T && -d $T ]] || return 0
	local f d
	echo "---- logs of $T (last 25 lines each) ----"
	while IFS= read -r f; do
		case ${f#"$T"/} in
		ref.out | ref/* | *.expected-prefix | *.combined | *+*)
			# references and concatenations: the diffs above show what matters
			echo "==> ${f#"$T"/} ($(wc -l <"$f") lines, not shown) <=="
			;;
		*)
			echo "==> ${f#"$T"/} ($(wc -l <"$f") lines) <=="
			tail -n 25 "$f"
			;;
		esac
	done < <(find "$T" -maxdepth 2 -type f \( -name '*.out' -o -name '*.err' -o -name '*.log' \
		-o -name '*.cmd' \) | sort)
	for d in "${E2E_CKPTDIRS[@]}"; do
		[[ -d $d ]] || continue
		echo "==> listing of ${d#"$T"/} <=="
		# shellcheck disable=SC2012
		ls -lR "$d" 2>&1 | head -n 40
	done
	echo "---- end of logs ----"
}

# fail MESSAGE...: reports a failed assertion with all logs and ends the test.
fail() {
	echo "FAIL [$E2E_NAME]: $*" >&2
	# In a command substitution only the message: the test's own exit shows the logs.
	[[ $BASHPID != "$$" ]] || dump_logs >&2
	exit 1
}

# Sends signal $1 to every process that carries this test's tag in its environment (all that
# the test started, including daemons that left the process group). Prints their pids.
tagged_pids() {
	local p kv
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[[ $p == "$$" || $p == "$BASHPID" ]] && continue
		[[ -r /proc/$p/environ ]] || continue
		while IFS= read -r -d '' kv; do
			if [[ $kv == "SC_E2E_TAG=$T" ]]; then
				echo "$p"
				break
			fi
		done 2>/dev/null <"/proc/$p/environ" || true
	done
}

# The coordinator's pid as recorded in DIR/splitckpt.job (best effort: any "pid" key).
jobfile_pid() {
	local f=$1/splitckpt.job
	[[ -r $f ]] || return 0
	sed -nE 's/.*(^|[^A-Za-z_])pid"?[[:space:]]*[:=][[:space:]]*([0-9]+).*/\2/p' "$f" | head -n 1
}

e2e_cleanup_processes() {
	local d name pid left
	for d in "${E2E_CKPTDIRS[@]}"; do
		[[ -f $d/splitckpt.job ]] || continue
		timeout -k 2 10 "$SC" command --ckptdir "$d" --quit >/dev/null 2>&1 || true
		pid=$(jobfile_pid "$d")
		if [[ -n $pid ]] && grep -qs splitckpt "/proc/$pid/cmdline"; then
			kill -TERM "$pid" 2>/dev/null || true
		fi
	done
	for name in "${!E2E_PID[@]}"; do
		kill -TERM "${E2E_PID[$name]}" 2>/dev/null || true
	done
	for _ in $(seq 30); do
		left=$(tagged_pids)
		[[ -z $left ]] && break
		# shellcheck disable=SC2086
		kill -TERM $left 2>/dev/null || true
		sleep 0.1
	done
	left=$(tagged_pids)
	if [[ -n $left ]]; then
		echo "e2e: killing processes that ignored SIGTERM: $left" >&2
		# shellcheck disable=SC2086
		kill -KILL $left 2>/dev/null || true
	fi
	for name in "${!E2E_PID[@]}"; do
		wait "${E2E_PID[$name]}" 2>/dev/null || true
	done
}

e2e_on_exit() {
	local rc=$?
	set +e
	trap - EXIT
	[[ -n $T ]] || exit "$rc"
	cd /
	e2e_cleanup_processes
	if ((rc != 0)); then
		dump_logs >&2
		echo "e2e[$E2E_NAME]: FAILED (status $rc); test directory kept: $T" >&2
	elif [[ $E2E_KEEP == 1 ]]; then
		echo "e2e[$E2E_NAME]: test directory kept: $T"
	else
		rm -rf "$T"
	fi
	exit "$rc"
}

# require_python_module MODULE PACKAGES: skip the test (77) when $E2E_PYTHON cannot import MODULE.
require_python_module() {
	if ! "$E2E_PYTHON" -c "import $1" 2>/dev/null; then
		echo "SKIP: $E2E_PYTHON cannot import $1 (apt-get install $2)"
		exit 77
	fi
}

# ---- the test programs ------------------------------------------------------------------

# shellcheck disable=SC2034 # used by the scripts that source this file
E2E_ALL_PROGS=(state threads omp python timers)

# prog_cmd PROG STEPS: sets the array E2E_CMD to the command line running PROG for STEPS steps.
# state writes state.out in its working directory (compared as well, see prog_outfile).
prog_cmd() {
	local prog=$1 steps=$2
	case $prog in
	state) E2E_CMD=("$E2E_PROGDIR/state" "$steps" "$E2E_DELAY_MS" state.out) ;;
	threads) E2E_CMD=("$E2E_PROGDIR/threads" "$steps" "$E2E_DELAY_MS") ;;
	omp) E2E_CMD=("$E2E_PROGDIR/omp" "$steps" "$E2E_DELAY_MS") ;;
	python) E2E_CMD=("$E2E_PYTHON" "$E2E_SRCDIR/progs/script.py" "$steps" "$E2E_DELAY_MS") ;;
	timers) E2E_CMD=("$E2E_PROGDIR/timers" "$steps" "$E2E_DELAY_MS") ;;
	torch) E2E_CMD=("$E2E_PYTHON" "$E2E_SRCDIR/progs/train_torch.py" "$steps" "$E2E_DELAY_MS") ;;
	numpy) E2E_CMD=("$E2E_PYTHON" "$E2E_SRCDIR/progs/train_numpy.py" "$steps" "$E2E_DELAY_MS") ;;
	*) fail "internal: unknown test program '$prog'" ;;
	esac
	[[ -x ${E2E_CMD[0]} ]] || fail "test program ${E2E_CMD[0]} not found (make check builds it)"
}

# The file PROG writes besides stdout (relative to its working directory), or nothing.
prog_outfile() {
	[[ $1 == state ]] && echo state.out
	return 0
}

# check_shape FILE STEPS: FILE is a complete run: "step 1 <hex>".."step STEPS <hex>", then
# "checksum <hex>", nothing else.
check_shape() {
	local file=$1 steps=$2 bad
	bad=$(awk -v n="$steps" '
		NR <= n { if ($0 !~ /^step [0-9]+ [0-9a-f]+$/ || $2 != NR || length($3) != 16) {
			print NR": "$0; exit } next }
		NR == n + 1 { if ($0 !~ /^checksum [0-9a-f]+$/ || length($2) != 16) {
			print NR": "$0; exit } next }
		{ print NR": "$0; exit }
		END { if (NR != n + 1) print "has " NR " lines, expected " n + 1 }' "$file")
	[[ -z $bad ]] || fail "$file is not a complete run of $steps steps: $bad"
}

# run_native NAME DIR PROG STEPS: runs PROG without splitckpt in $T/DIR (created), stdout to
# $T/NAME.out, stderr to $T/NAME.err; asserts exit 0 and a complete output.
run_native() {
	local name=$1 dir=$2 prog=$3 steps=$4 rc=0
	prog_cmd "$prog" "$steps"
	mkdir -p "$T/$dir"
	echo "(cd $dir && ${E2E_CMD[*]})" >"$T/$name.cmd"
	(cd "$T/$dir" && exec timeout -k 5 "$E2E_WAIT" "${E2E_CMD[@]}") \
		>"$T/$name.out" 2>"$T/$name.err" </dev/null || rc=$?
	((rc == 0)) || fail "native run of $prog ($name) exited with status $rc"
	check_shape "$T/$name.out" "$steps"
}

# run_reference PROG STEPS: the uninterrupted native run every checkpointed run must equal:
# $T/ref.out, and for state $T/ref/state.out.
run_reference() {
	run_native ref ref "$1" "$2"
	REF=$T/ref.out
}

# ---- background processes ---------------------------------------------------------------

# bg_start NAME DIR CMD...: starts CMD in the background in directory DIR, stdin from
# /dev/null, stdout to $T/NAME.out, stderr to $T/NAME.err.
bg_start() {
	local name=$1 dir=$2
	shift 2
	[[ -z ${E2E_PID[$name]:-} ]] || fail "internal: process name '$name' used twice"
	echo "(cd $dir && $*)" >"$T/$name.cmd"
	: >"$T/$name.out"
	(cd "$dir" && exec "$@") >"$T/$name.out" 2>"$T/$name.err" </dev/null &
	E2E_PID[$name]=$!
}

# sc_launch NAME DIR LAUNCH-OPTIONS... -- PROG STEPS: `splitckpt launch` of a test program.
sc_launch() {
	local name=$1 dir=$2
	shift 2
	local opts=()
	while (($# > 0)) && [[ $1 != -- ]]; do
		opts+=("$1")
		shift
	done
	(($# == 3)) || fail "internal: sc_launch NAME DIR OPTS... -- PROG STEPS"
	prog_cmd "$2" "$3"
	bg_start "$name" "$dir" "$SC" launch "${opts[@]}" "${E2E_CMD[@]}"
}

# is_running NAME: the process has not exited (a zombie counts as exited).
is_running() {
	local pid=${E2E_PID[$1]} st
	[[ -z ${E2E_RC[$1]:-} ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	read -r st 2>/dev/null <"/proc/$pid/stat" || return 1
	st=${st##*) }
	[[ ${st%% *} != Z ]]
}

# last_step FILE / first_step FILE: number of the last / first "step N" line (0 if none).
last_step() {
	awk '$1 == "step" { n = $2 } END { print n + 0 }' "$1" 2>/dev/null || echo 0
}
first_step() {
	awk '$1 == "step" { print $2 + 0; found = 1; exit } END { if (!found) print 0 }' "$1"
}

# wait_step NAME S: waits (bounded) until NAME's output shows step S or later.
wait_step() {
	local name=$1 want=$2 deadline=$((SECONDS + E2E_WAIT)) got running
	while :; do
		running=1
		is_running "$name" || running=0
		got=$(last_step "$T/$name.out") # read after the check: final if it has exited
		((got >= want)) && return 0
		if ((running == 0)); then
			local rc=0
			wait "${E2E_PID[$name]}" || rc=$?
			E2E_RC[$name]=$rc
			fail "$name exited with status $rc after step $got, before reaching step $want"
		fi
		((SECONDS < deadline)) ||
			fail "$name did not reach step $want within $E2E_WAIT s (last step printed: $got)"
		sleep 0.02
	done
}

# wait_exit NAME STATUS: waits (bounded) for NAME to exit and asserts its exit status.
wait_exit() {
	local name=$1 want=$2 deadline=$((SECONDS + E2E_WAIT)) rc=0 pid=${E2E_PID[$1]}
	if [[ -z ${E2E_RC[$name]:-} ]]; then
		while is_running "$name"; do
			if ((SECONDS >= deadline)); then
				kill -TERM "$pid" 2>/dev/null || true
				sleep 1
				kill -KILL "$pid" 2>/dev/null || true
				fail "$name (pid $pid) still running after $E2E_WAIT s; killed it" \
					"(last step printed: $(last_step "$T/$name.out"))"
			fi
			sleep 0.05
		done
		wait "$pid" || rc=$?
		E2E_RC[$name]=$rc
	fi
	rc=${E2E_RC[$name]}
	if ((rc != want)); then
		local why=""
		((rc > 128)) && why=" (killed by signal $((rc - 128)))"
		fail "$name exited with status $rc$why, expected $want"
	fi
}

# ---- splitckpt commands ------------------------------------------------------------------

# run_capture NAME CMD...: runs CMD in the foreground (bounded), stdout/stderr to
# $T/NAME.out/.err; sets RC. A timeout is a failure.
run_capture() {
	local name=$1
	shift
	echo "$*" >"$T/$name.cmd"
	RC=0
	timeout -k 5 "$E2E_WAIT" "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null || RC=$?
	((RC != 124 && RC != 137)) || fail "'$*' did not finish within $E2E_WAIT s"
	OUT=$T/$name.out
	ERR=$T/$name.err
}

# run_seq WHAT CMD...: run_capture under a fresh name (cmd03-bcheckpoint, ...).
run_seq() {
	local what=$1
	shift
	E2E_SEQ=$((E2E_SEQ + 1))
	run_capture "$(printf 'cmd%02d-%s' "$E2E_SEQ" "$what")" "$@"
}

# sc_cmd_ok DIR ACTION...: `splitckpt command --ckptdir DIR ACTION...` must exit 0.
sc_cmd_ok() {
	local dir=$1
	shift
	run_seq "${1#--}" "$SC" command --ckptdir "$dir" "$@"
	((RC == 0)) || fail "'splitckpt command --ckptdir $dir $*' exited with status $RC:" \
		"$(cat "$ERR")"
}

# sc_inspect_ok PATH / sc_inspect_corrupt PATH: `splitckpt inspect` exits 0 / exits 1.
sc_inspect_ok() {
	run_seq inspect "$SC" inspect "$1"
	((RC == 0)) || fail "'splitckpt inspect $1' exited with status $RC, expected 0 (valid):" \
		"$(cat "$ERR")"
}
sc_inspect_corrupt() {
	run_seq inspect "$SC" inspect "$1"
	((RC == 1)) || fail "'splitckpt inspect $1' exited with status $RC, expected 1 (corrupt)"
}

register_ckptdir() {
	E2E_CKPTDIRS+=("$1")
}

# gen_list DIR: the generation numbers of DIR/gen-NNNNNN directories, ascending, one a line.
gen_list() {
	local d
	for d in "$1"/gen-[0-9][0-9][0-9][0-9][0-9][0-9]; do
		if [[ -d $d ]]; then
			echo $((10#${d##*/gen-}))
		fi
	done | sort -n
}
gen_dir() {
	printf '%s/gen-%06d' "$1" "$2"
}
rank_image() {
	printf '%s/gen-%06d/rank-%05d.img' "$1" "$2" "${3:-0}"
}

# manifest_gens DIR: the generations DIR/MANIFEST lists as committed (lines "GEN NRANKS ...").
manifest_gens() {
	[[ -f $1/MANIFEST ]] || fail "$1/MANIFEST does not exist"
	awk '$1 ~ /^[0-9]+$/ { print $1 + 0 }' "$1/MANIFEST"
}

# json_field FILE KEY...: validates that FILE holds exactly one JSON object and prints the
# value of the first KEY present (nothing if none is).
json_field() {
	local file=$1
	shift
	if ! "$E2E_PYTHON" - "$file" "$@" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
obj = json.loads(text)
if not isinstance(obj, dict) or obj.get("ok", True) is not True:
    sys.exit("not a successful JSON object")
for key in sys.argv[2:]:
    if key in obj:
        print(obj[key])
        break
PY
	then
		fail "$file is not one successful JSON object: $(head -c 600 "$file")"
	fi
}

# json_generations FILE: the generation numbers a `command --list --json` object lists: the
# elements of its "generations" list (else of its first list), numbers or objects with a
# "gen"/"generation" key. An object with "ok": false is a failure.
json_generations() {
	if ! "$E2E_PYTHON" - "$1" <<'PY'
import json, sys
obj = json.load(open(sys.argv[1]))
if not isinstance(obj, dict) or obj.get("ok", True) is not True:
    sys.exit("not a successful JSON object")
lists = [obj["generations"]] if isinstance(obj.get("generations"), list) else \
    [v for v in obj.values() if isinstance(v, list)]
if not lists:
    sys.exit("no list of generations in the object")
for item in lists[0]:
    if isinstance(item, dict):
        item = item.get("gen", item.get("generation"))
    if not isinstance(item, int) or isinstance(item, bool):
        sys.exit("list element is not a generation: %r" % (item,))
    print(item)
PY
	then
		fail "cannot read the generations from --list --json: $(head -c 600 "$1")"
	fi
}

# checkpoint NAME DIR ACTION: runs `command --ckptdir DIR ACTION --json` (--bcheckpoint or
# --kcheckpoint) while NAME runs. Sets CKPT_GEN (the one new gen-* directory; the JSON reply's
# generation must agree if it has one) and CKPT_LO..CKPT_HI, the range of steps NAME had
# printed before and after the call: the checkpoint was taken after one of these steps.
checkpoint() {
	local name=$1 dir=$2 action=$3 before after new jgen
	before=$(gen_list "$dir" | tr '\n' ' ')
	CKPT_LO=$(last_step "$T/$name.out")
	sc_cmd_ok "$dir" "$action" --json
	CKPT_HI=$(last_step "$T/$name.out")
	after=$(gen_list "$dir" | tr '\n' ' ')
	new=$(comm -13 <(tr ' ' '\n' <<<"$before" | sort) <(tr ' ' '\n' <<<"$after" | sort) |
		sed '/^$/d' | sort -n | tr '\n' ' ')
	[[ $new =~ ^[0-9]+\ $ ]] || fail "$action returned, but the new generation directories in" \
		"$dir are '$new' (before: '$before', after: '$after'); expected exactly one"
	CKPT_GEN=${new% }
	jgen=$(json_field "$OUT" gen generation)
	[[ -z $jgen || $jgen == "$CKPT_GEN" ]] ||
		fail "$action --json reports generation $jgen, but the new directory is gen $CKPT_GEN"
	[[ -d $(gen_dir "$dir" "$CKPT_GEN") ]] || fail "internal: gen $CKPT_GEN vanished"
	log "$action: generation $CKPT_GEN, taken after a step in [$CKPT_LO, $CKPT_HI] of $name"
}

# count_ckpt_lines FILE: lines of checkpoint reports ("... GB/s") in a stderr file.
count_ckpt_lines() {
	grep -c 'GB/s' "$1" || true
}

# ---- comparisons -------------------------------------------------------------------------

# assert_same EXPECTED GOT WHAT: the files are identical, else fail with a diff.
assert_same() {
	local want=$1 got=$2 what=$3
	cmp -s "$want" "$got" && return 0
	echo "FAIL [$E2E_NAME]: $what differs; diff -u expected(${want#"$T"/}) got(${got#"$T"/}):" >&2
	diff -u "$want" "$got" | head -n 60 >&2 || true
	fail "$what: $got differs from $want"
}

# ref_prefix REF S: the lines of REF before "step S".
ref_prefix() {
	awk -v s="$2" '$1 == "step" && $2 >= s { exit } { print }' "$1"
}

# assert_resumed NAME LO HI: NAME is a restarted run. Its first line must be a step after the
# checkpoint (LO <= first step - 1 <= HI; not step 1), and the reference's lines before that
# step followed by NAME's output must be exactly the reference.
assert_resumed() {
	local name=$1 lo=$2 hi=$3 first
	first=$(first_step "$T/$name.out")
	((first != 0)) || fail "$name printed no step line"
	((first != 1)) || fail "$name starts at step 1: the program was started again from the" \
		"beginning instead of resuming the checkpoint taken after step $lo..$hi"
	((lo <= first - 1 && first - 1 <= hi)) || fail "$name resumed after step $((first - 1)), but" \
		"the checkpoint was taken after a step in [$lo, $hi]"
	ref_prefix "$REF" "$first" >"$T/$name.expected-prefix"
	cat "$T/$name.expected-prefix" "$T/$name.out" >"$T/$name.combined"
	assert_same "$REF" "$T/$name.combined" "reference lines before step $first + output of $name"
	log "$name resumed after step $((first - 1)) (checkpoint window [$lo, $hi]); output matches"
}
