# Shared by the ckpt-*.sh tests: checkpoint/restart of MPI jobs built by crossing-lib.sh, under
# mpiexec.hydra with the real coordinator. A test proves the restarted job resumed after its
# checkpoint (its first output line is a later step than the launch's first) and that the
# output of all its runs together is exactly the output of an uninterrupted native run.
source "$SC_SRCDIR/tests/mpi/crossing-lib.sh"
SC=$SC_BUILDDIR/tools/splitckpt
CKPT_TIMEOUT=${SC_CKPT_TIMEOUT:-300}
# ckpt_mix.c's MPI-IO file goes there (every rank of these one-node jobs sees it)
export SC_CKPT_MIX_DIR=$WORK
# A failed test leaves no job behind: its launcher (under timeout) is stopped on exit.
JOB_PIDS=()
trap 'for p in "${JOB_PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT

# ckpt_select_mpi: with SC_CKPT_MPI=openmpi (CKPT_MPI says which), the jobs run under Open MPI's
# mpirun and lower half instead of MPICH's (skip, 77, without them), and run_native becomes an
# uninterrupted run there: Open MPI 4.1 cannot run every test program natively (MPI 4.0
# functions, an error class it misnames), and MPICH needs minutes for the rounds Open MPI runs in
# seconds. ckpt-openmpi.sh compares the two MPIs' outputs.
ckpt_select_mpi() {
	CKPT_MPI=${SC_CKPT_MPI:-mpich}
	[ "$CKPT_MPI" = openmpi ] || return 0
	local orterun=${MPIRUN_OPENMPI:-$(command -v mpirun.openmpi || true)}
	if [ -z "$orterun" ] || [ ! -x "$SC_BUILDDIR/lower-half/splitckpt-lh-openmpi" ]; then
		echo "SKIP: mpirun.openmpi or splitckpt-lh-openmpi not available"
		exit 77
	fi
	# root, more ranks than cores, one node: shared memory only
	export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
	export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader
	MPIEXEC=$orterun
	run_native() { run_sc "$@"; }
	REFERENCE_RUN="uninterrupted run under Open MPI"
}

# ckpt_steps MPICH OPENMPI: the rounds a test runs under the MPI ckpt_select_mpi chose (Open MPI
# over shared memory runs them several times faster)
ckpt_steps() {
	[ "${CKPT_MPI:-mpich}" = openmpi ] && echo "$2" || echo "$1"
}

# A random pause of 0.1 to 0.6 s: checkpoints land at different moments of the program.
random_pause() {
	sleep "0.$((RANDOM % 5 + 1))"
}

# checkpoint DIR KIND: one --bcheckpoint or --kcheckpoint of the job in DIR, which must commit
# (a drain without progress fails after 120 s naming what it waits for: the command waits longer)
checkpoint() {
	local rc=0
	timeout -k 5 150 "$SC" command --ckptdir "$1" "--$2" >"$WORK/cmd.out" 2>&1 || rc=$?
	if ((rc != 0)); then
		echo "---- $1/coordinator.log (end), the job's status and errors:" >&2
		tail -n 15 "$1/coordinator.log" >&2
		timeout 10 "$SC" command --ckptdir "$1" --status >&2
		tail -n 5 "$WORK"/*.out.err >&2
		fail "$2 of $1 (status $rc): $(cat "$WORK/cmd.out")"
	fi
}

# first_step FILE: the step number of FILE's first "step N" line (-1 if none)
first_step() {
	awk '/^step /{print $2; found=1; exit} END{if (!found) print -1}' "$1"
}

# wait_started DIR OUT NRANKS PID: every rank connected and the program printed its first line
# (MPI is initialized: a checkpoint before that is refused); the job (PID) must not end first
wait_started() {
	local i
	for ((i = 0; i < 1200; i++)); do
		grep -q "^step " "$2" 2>/dev/null &&
			"$SC" command --ckptdir "$1" --status 2>/dev/null | grep -q "ranks:.* $3 of $3" &&
			return 0
		kill -0 "$4" 2>/dev/null || break
		sleep 0.1
	done
	echo "---- $2 (end), $2.err (end), status of the job:" >&2
	tail -n 5 "$2" "$2.err" >&2
	"$SC" command --ckptdir "$1" --status >&2
	kill -0 "$4" 2>/dev/null || fail "the job in $1 ended before it started"
	fail "the job in $1 did not start within 120 s"
}

# ckpt_run DIR OUT NRANKS NCKPT -- COMMAND...: runs COMMAND (a launch or a restart of the job
# in DIR) in the background, takes NCKPT blocking checkpoints at random moments and one
# kill-checkpoint, and checks the job ended with status 85. NCKPT < 0: no checkpoint, the job
# must finish with status 0.
ckpt_run() {
	local dir=$1 out=$2 n=$3 nckpt=$4
	shift 5
	timeout -k 5 "$CKPT_TIMEOUT" "$@" >"$out" 2>"$out.err" &
	local pid=$!
	JOB_PIDS+=("$pid")
	if ((nckpt >= 0)); then
		wait_started "$dir" "$out" "$n" "$pid"
		local i
		for ((i = 0; i < nckpt; i++)); do
			random_pause
			checkpoint "$dir" bcheckpoint
		done
		random_pause
		checkpoint "$dir" kcheckpoint
	fi
	local rc=0
	wait "$pid" || rc=$?
	local want=$((nckpt >= 0 ? 85 : 0))
	# After a committed kill-checkpoint every rank exits with 85, but MPICH's mpiexec kills the
	# ranks still exiting when the first one's status reaches it, and may then report that
	# signal (1, 9) instead: the checkpoint is committed either way (the command said so).
	if ((nckpt >= 0 && rc != 85 && rc != 0)); then
		echo "note: mpiexec reported status $rc after the kill-checkpoint (hydra's cleanup)"
		rc=85
		# and printed its banner about the killed ranks on stdout, after their output
		sed -i -e '/^=*$/d' -e '/^=   /d' -e '/^YOUR APPLICATION TERMINATED/d' \
			-e '/^This typically refers to a problem/d' -e '/^Please see the FAQ page/d' "$out"
	fi
	if ((rc != want)); then
		echo "---- $out (end) and $out.err:" >&2
		tail -n 12 "$out" >&2
		cat "$out.err" >&2
		echo "---- $dir/coordinator.log:" >&2
		tail -n 15 "$dir/coordinator.log" >&2
		fail "$* ended with status $rc, expected $want"
	fi
}

# ckpt_cycle MODE NAME NRANKS ARGS...: native run; then launch with checkpoints and a
# kill-checkpoint, a restart that checkpoints and is killed again, and a last restart that
# finishes. MODE inside: `mpiexec -n N splitckpt launch`, then a plain `splitckpt restart
# --ckptdir DIR` (the launcher rank 0 recorded), then `mpiexec -n N splitckpt restart`; MODE
# outside: `splitckpt launch mpiexec -n N`, then plain restarts (the recorded launcher) and
# `splitckpt restart --ckptdir DIR mpiexec -n N`. The three outputs together must equal the
# native one, and each restart must resume after its checkpoint.
ckpt_cycle() {
	local mode=$1 name=$2 n=$3
	shift 3
	local dir=$WORK/ckpt-$name-$n-$mode
	run_native "$name" "$n" "$@" >"$WORK/native.out" || fail "$name native with $n ranks"
	rm -rf "$dir"
	local opts=(--quiet --ckptdir "$dir")
	if [ "$mode" = inside ]; then
		ckpt_run "$dir" "$WORK/run1.out" "$n" 2 -- "$MPIEXEC" -n "$n" "$SC" launch "${opts[@]}" \
			"$BIN/$name.sc" "$@"
		ckpt_run "$dir" "$WORK/run2.out" "$n" 1 -- "$SC" restart "${opts[@]}"
		ckpt_run "$dir" "$WORK/run3.out" "$n" -1 -- "$MPIEXEC" -n "$n" "$SC" restart "${opts[@]}"
	else
		ckpt_run "$dir" "$WORK/run1.out" "$n" 2 -- "$SC" launch "${opts[@]}" "$MPIEXEC" -n "$n" \
			"$BIN/$name.sc" "$@"
		ckpt_run "$dir" "$WORK/run2.out" "$n" 1 -- "$SC" restart "${opts[@]}"
		ckpt_run "$dir" "$WORK/run3.out" "$n" -1 -- "$SC" restart "${opts[@]}" "$MPIEXEC" -n "$n"
	fi
	three_runs_match "$name with $n ranks"
	# a restarted MPI holds nothing the application had freed (MPICH reports leaks at finalize)
	! grep -H "leaked" "$WORK"/run[123].out.err >&2 ||
		fail "$name with $n ranks: MPI reports leaked objects at the end"
	echo "PASS: $name with $n ranks ($mode): launch + 3 checkpoints, 2 restarts (resumed at steps $RESUMED) = ${REFERENCE_RUN:-native run}"
}

# three_runs_match LABEL: $WORK/run1.out, run2.out, run3.out (a launch and two restarts) each
# begin at a later step than the one before, and together are exactly $WORK/native.out; the
# restarts' first steps in RESUMED
three_runs_match() {
	local s1 s2 s3
	s1=$(first_step "$WORK/run1.out")
	s2=$(first_step "$WORK/run2.out")
	s3=$(first_step "$WORK/run3.out")
	((s2 > s1 && s3 > s2)) ||
		fail "$1: the restarts did not resume after their checkpoints (first steps $s1, $s2, $s3)"
	cat "$WORK/run1.out" "$WORK/run2.out" "$WORK/run3.out" >"$WORK/all.out"
	if ! cmp -s "$WORK/all.out" "$WORK/native.out"; then
		diff "$WORK/native.out" "$WORK/all.out" | head -20 >&2
		fail "$1: the checkpointed and restarted runs differ from the native one"
	fi
	RESUMED="$s2, $s3"
}
