#!/bin/bash
# make check: the job scripts of examples/slurm, submitted with sbatch to an emulated Slurm
# cluster (cluster.sh, real slurmctld/slurmd), each ending with exactly the output of an
# uninterrupted run:
#  - time-limit.sh (serial) and time-limit-mpi.sh (4 ranks) with `--time=1 --signal=B:USR1@40`:
#    the work needs about three allocations; each ends with a checkpoint, requeues itself and
#    resumes; the MPI job's second allocation is moved to another node (and node count);
#  - serial-interval.sh, mpi.sh: checkpointed every second, run to their end;
#  - checkpoint-loop.sh and python.sh, cancelled after a checkpoint (a node failure), then
#    resumed by restart.sh in a new job;
#  - time-limit.sh cancelled while the checkpoint its signal asked for is being written: the
#    resubmitted script resumes from the generation before.
# Skips (77) without MPICH or where no cluster can be created.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAUNCH_MULTINODE=1 # launch-lib.sh: keep MPI's network transports

# --- inside the cluster ------------------------------------------------------------------

# state JOB: its JobState (empty once Slurm forgot it)
state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
restarts() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p'; }

# submit NAME SCRIPT SBATCH-OPTIONS... (env: the script's settings; CKPT defaults to
# $W/NAME/ckpt): the job's id in $W/NAME.id
submit() {
	local name=$1 script=$2
	shift 2
	mkdir -p "$W/$name"
	cp "$W/bin/"* "$W/$name/"
	local id ckpt=${CKPT:-$W/$name/ckpt}
	id=$(CKPT=$ckpt sbatch --parsable --chdir="$W/$name" -o "$W/$name/out" -e "$W/$name/err" \
		--job-name="$name" "$@" "$SC_SRCDIR/examples/slurm/$script") ||
		fail "sbatch $script"
	echo "$id" >"$W/$name.id"
	echo "+ $name: job $id: sbatch $* $script"
}

id_of() { cat "$W/$1.id"; }

# job_pids JOB: the job's processes (the nodes share the machine's pid namespace)
job_pids() {
	grep -lsxzF "SLURM_JOB_ID=$1" /proc/[0-9]*/environ | cut -d/ -f3
}

# wait_end NAME SECONDS: until the job has ended; its final state on stdout
wait_end() {
	local id s i
	id=$(id_of "$1")
	for ((i = 0; i < $2 * 2; i++)); do
		s=$(state "$id")
		case $s in
		COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | "")
			echo "$s"
			return 0
			;;
		esac
		sleep 0.5
	done
	scontrol show job "$id"
	fail "$1 (job $id) did not end within $2 s"
}

# wait_gen NAME GEN: until the job's checkpoint directory has committed generation GEN
wait_gen() {
	local i
	for ((i = 0; i < 240; i++)); do
		awk -v g="$2" '$1 == g {f = 1} END {exit !f}' "$W/$1/ckpt/MANIFEST" 2>/dev/null &&
			return 0
		sleep 0.25
	done
	cat "$W/$1/err"
	fail "$1: generation $2 never committed"
}

show() {
	echo "--- $1/err"
	cat "$W/$1/err"
	echo "--- $1/ckpt/coordinator.log (tail)"
	tail -n 15 "$W/$1/ckpt/coordinator.log"
}

# wait_gen_after NAME PATTERN: until the job's output has a line matching PATTERN and a
# generation begun after that line has been committed (the last one committed then may be in
# progress still, the one after it is not): a restart of it must resume past that line. The
# first generations of an interpreter's job may predate its first output line (a pyenv shim
# exec'ing the interpreter, its start-up).
wait_gen_after() {
	local i last
	for ((i = 0; i < 480; i++)); do
		grep -q -- "$2" "$W/$1/out" 2>/dev/null && break
		sleep 0.25
	done
	((i < 480)) || { show "$1"; fail "$1: no line matching '$2' in its output"; }
	last=$(awk '!/^#/ {g = $1} END {print g + 0}' "$W/$1/ckpt/MANIFEST" 2>/dev/null)
	wait_gen "$1" $((${last:-0} + 2))
}

# same NAME REF: the job's output equals the uninterrupted run's
same() {
	cmp -s "$W/$1/out" "$W/ref/$2" && return 0
	show "$1"
	diff "$W/ref/$2" "$W/$1/out" | head
	fail "$1: output differs from an uninterrupted run"
}

# resumed_tail NAME REF: the job's output is REF from some line past its first on (a restart
# resumed after the checkpoint, not from the start)
resumed_tail() {
	local first n
	first=$(head -n 1 "$W/$1/out")
	n=$(grep -nxF -- "$first" "$W/ref/$2" | head -n 1 | cut -d: -f1)
	((${n:-0} > 1)) || { show "$1"; fail "$1 did not resume after its checkpoint: '$first'"; }
	tail -n "+$n" "$W/ref/$2" | cmp -s - "$W/$1/out" ||
		{ show "$1"; fail "$1: output from line $n on differs from an uninterrupted run"; }
	echo "$1: resumed at line $n of $(wc -l <"$W/ref/$2")"
}

# hosts NAME: per allocation (coordinator start), the sorted hosts its ranks ran on
hosts() {
	awk '/listening on/ {if (h != "") print h; h = ""; delete seen}
	     /rank [0-9]+ of [0-9]+ connected/ {
		sub(/.* on /, ""); sub(/\).*/, "");
		if (!seen[$0]++) h = h (h == "" ? "" : ",") $0 }
	     END {if (h != "") print h}' "$W/$1/ckpt/coordinator.log"
}

# move_second_allocation NAME: once the job is requeued the first time, its next allocation
# must be on n3 alone (other nodes, fewer of them, the same number of ranks)
move_second_allocation() {
	local id i
	id=$(id_of "$1")
	for ((i = 0; i < 1200; i++)); do
		if [ "$(restarts "$id")" = 1 ] && [ "$(state "$id")" = PENDING ]; then
			scontrol update JobId="$id" ReqNodeList= ExcNodeList=n1,n2 NumNodes=1
			return
		fi
		sleep 0.25
	done
	return 1
}

inside() {
	W=$SC_CLUSTER_SHARED/slurm-jobs.$$
	mkdir -p "$W"
	mv "$BIN_DIR" "$W/bin"
	mv "$REF_DIR" "$W/ref"
	export PATH=$SC_BUILDDIR/tools:$PATH
	# time limits: 50 s of work in allocations of 60 s (the signal comes 20-50 s into one)
	STEPS=500 CELLS=100000 MS_PER_STEP=100 INTERVAL=0 submit tl-serial time-limit.sh \
		--time=1 --signal=B:USR1@40 -w n1
	(
		unset UCX_TLS
		STEPS=1000 N=128 MS_PER_STEP=50 INTERVAL=0 submit tl-mpi time-limit-mpi.sh \
			--time=1 --signal=B:USR1@40 -N 2 -n 4 -w n1,n2
	)
	move_second_allocation tl-mpi &
	local mover=$!
	# interval checkpoints, run to the end
	STEPS=60 CELLS=100000 MS_PER_STEP=50 INTERVAL=1 submit interval serial-interval.sh \
		--time=5 -w n3
	(
		unset UCX_TLS
		STEPS=300 N=128 MS_PER_STEP=10 INTERVAL=1 submit mpi mpi.sh --time=5 -N 2 -n 4 \
			-w n2,n3
	)
	# "node failures": cancelled after a checkpoint, resumed by restart.sh
	STEPS=400 CELLS=100000 MS_PER_STEP=50 EVERY=1 submit loop checkpoint-loop.sh \
		--time=5 -w n3
	EPOCHS=300 SAMPLES=2000 PAUSE=0.05 INTERVAL=1 submit train python.sh --time=5 -w n3
	# a checkpoint cut short: 320 MiB to write when the job is cancelled
	STEPS=200 CELLS=20000000 MS_PER_STEP=0 INTERVAL=0 submit cut time-limit.sh --time=5 \
		--signal=B:USR1@10 -w n3

	wait_gen_after loop "^step 3 "
	scancel "$(id_of loop)"
	wait_gen_after train "^epoch 3 "
	scancel "$(id_of train)"
	# the cut job: a committed generation, then the signal, and while the checkpoint it asked
	# for is being written, the job is killed (as at the end of Slurm's KillWait)
	local i
	for ((i = 0; i < 240; i++)); do
		grep -q "^step 3 " "$W/cut/out" 2>/dev/null && break
		sleep 0.25
	done
	# from the job's node: node names resolve only inside the cluster
	"$HERE/cluster.sh" exec 3 -- splitckpt command --ckptdir "$W/cut/ckpt" --bcheckpoint ||
		fail "cut: first checkpoint"
	local before
	before=$(awk 'END {print $1}' "$W/cut/ckpt/MANIFEST")
	scancel --batch --signal=USR1 "$(id_of cut)"
	for ((i = 0; i < 1000; i++)); do
		[ -d "$W/cut/ckpt/gen-$(printf %06d $((before + 1))).tmp" ] && break
		sleep 0.01
	done
	kill -KILL $(job_pids "$(id_of cut)") 2>/dev/null
	local j end
	for j in loop train cut; do
		end=$(wait_end $j 60)
		[ "$end" != COMPLETED ] || { show $j; fail "$j: completed, not stopped"; }
	done
	local after
	after=$(awk 'END {print $1}' "$W/cut/ckpt/MANIFEST")
	[ "$after" = "$before" ] ||
		{ show cut; fail "cut: the checkpoint was not cut short (generation $after committed)"; }
	mv "$W/loop/out" "$W/loop/out.1"
	mv "$W/train/out" "$W/train/out.1"
	mv "$W/cut/out" "$W/cut/out.1"
	CKPT=$W/loop/ckpt INTERVAL=0 submit loop restart.sh --time=5 -w n2
	CKPT=$W/train/ckpt INTERVAL=0 submit train restart.sh --time=5 -w n2
	STEPS=200 CELLS=20000000 MS_PER_STEP=0 INTERVAL=0 submit cut time-limit.sh --time=5 \
		--signal=B:USR1@10 -w n2

	for j in interval mpi loop train cut; do
		end=$(wait_end $j 180)
		[ "$end" = COMPLETED ] || { show $j; fail "$j: ${end:-gone}, not completed"; }
	done
	same interval heat_serial.60
	same mpi heat_mpi.300
	grep -qv "^#" "$W/interval/ckpt/MANIFEST" && grep -qv "^#" "$W/mpi/ckpt/MANIFEST" ||
		fail "interval/mpi: no interval checkpoint committed"
	resumed_tail loop heat_serial.400
	resumed_tail train train.300
	resumed_tail cut heat_serial.big
	grep -q "restarted from generation $before\$" "$W/cut/ckpt/coordinator.log" ||
		{ show cut; fail "cut: did not resume generation $before"; }
	echo "PASS: cancelled in its checkpoint, resumed generation $before"

	wait "$mover" || fail "tl-mpi was not requeued, or its second allocation not moved"
	for j in tl-serial tl-mpi; do
		end=$(wait_end $j 420)
		[ "$end" = COMPLETED ] || { show $j; fail "$j: ${end:-gone}, not completed"; }
	done
	same tl-serial heat_serial.500
	same tl-mpi heat_mpi.1000
	local n_serial n_mpi
	n_serial=$(grep -c "listening on" "$W/tl-serial/ckpt/coordinator.log")
	n_mpi=$(grep -c "listening on" "$W/tl-mpi/ckpt/coordinator.log")
	((n_serial >= 2 && n_mpi >= 2)) || fail "allocations: serial $n_serial, MPI $n_mpi"
	# the job's story from its checkpoint directory, after its end
	splitckpt command --ckptdir "$W/tl-serial/ckpt" --list | tee "$W/list" | sed 's/^/| /'
	grep -q "SIGUSR1 (ended the job)" "$W/list" ||
		fail "--list does not say that SIGUSR1 ended the job"
	splitckpt command --ckptdir "$W/tl-serial/ckpt" --status >"$W/status" 2>&1
	grep -q "^last committed: .* in [0-9.]* s, SIGUSR1 (ended the job)" "$W/status" ||
		{ cat "$W/status"; fail "--status of the ended job does not say how it ended"; }
	echo "tl-mpi ran on: $(hosts tl-mpi | tr '\n' ' ')"
	[ "$(hosts tl-mpi | sed -n 2p)" = n3 ] || fail "tl-mpi's second allocation was not on n3"
	echo "PASS: time limits: serial in $n_serial allocations, MPI in $n_mpi allocations"
}

if [ "${1:-}" = --inside ]; then
	LAUNCH_WORK=$SC_CLUSTER_SHARED/slurm-jobs-work.$$
	mkdir -p "$LAUNCH_WORK"
	. "$HERE/../mpi/launch-lib.sh"
	BIN_DIR=$2 REF_DIR=$3
	inside
	exit $?
fi

. "$HERE/../mpi/launch-lib.sh"
if ! have_mpich || ! command -v srun >/dev/null || ! command -v mpicc.mpich >/dev/null; then
	echo "SKIP: MPICH (mpiexec.hydra, mpicc.mpich, splitckpt-lh-mpich) or srun not available"
	exit 77
fi
"$HERE/cluster.sh" check || exit $? # prints why, exits 77
# the programs the scripts run, and what they print uninterrupted
B=$WORK/bin R=$WORK/ref
mkdir -p "$B" "$R"
cp "$SC_SRCDIR/examples/train.py" "$B/"
cc -O2 -o "$B/heat_serial" "$SC_SRCDIR/examples/heat_serial.c" || fail "build heat_serial"
"$SC_BUILDDIR/tools/splitckpt-mpicc" -O2 -o "$B/heat_mpi" "$SC_SRCDIR/examples/heat_mpi.c" -lm ||
	fail "splitckpt-mpicc build of heat_mpi"
mpicc.mpich -O2 -w -o "$WORK/heat_mpi.native" "$SC_SRCDIR/examples/heat_mpi.c" -lm ||
	fail "native build of heat_mpi"
for s in 60 400 500; do "$B/heat_serial" $s 100000 0 >"$R/heat_serial.$s"; done
"$B/heat_serial" 200 20000000 0 >"$R/heat_serial.big"
python3 "$B/train.py" 300 2000 0 >"$R/train.300"
for s in 300:128 1000:128; do
	UCX_TLS=self,sm "$HYDRA" -n 4 "$WORK/heat_mpi.native" "${s%:*}" "${s#*:}" \
		>"$R/heat_mpi.${s%:*}" || fail "native heat_mpi"
done
rc=0
"$HERE/cluster.sh" run 3 -- /bin/bash "$HERE/slurm-jobs.sh" --inside "$B" "$R" || rc=$?
case $rc in
0) echo "PASS: the examples/slurm job scripts" ;;
77) echo "SKIP: cluster.sh could not create a cluster here" && exit 77 ;;
*) fail "see the output above" ;;
esac
