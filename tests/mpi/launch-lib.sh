# Shared by the launch-*.sh tests (and tests/cluster/mpi-launch.sh): builds tests/mpi programs
# once with splitckpt-mpicc, runs MPI jobs under `timeout`, and checks from DIR/coordinator.log
# that a job had exactly one coordinator, which every rank joined and which then exited.
set -u
: "${SC_BUILDDIR:?run through make check}" "${SC_SRCDIR:?}" "${SC_TESTS_BUILDDIR:?}"
HYDRA=${MPIEXEC_HYDRA:-$(command -v mpiexec.hydra || true)}
ORTERUN=${MPIRUN_OPENMPI:-$(command -v mpirun.openmpi || true)}
SPLITCKPT=$SC_BUILDDIR/tools/splitckpt
# Open MPI refuses root without these; harmless otherwise.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export SPLITCKPT_MPICC_INCDIR=$SC_SRCDIR/include
export SPLITCKPT_MPICC_LIBDIR=$SC_BUILDDIR/wrappers/.libs
# The tests choose the MPI themselves: nothing inherited may pick a lower half.
unset SPLITCKPT_MPI SPLITCKPT_LOWER_HALF SPLITCKPT_CHECKPOINT_DIR SPLITCKPT_COORD_HOST \
	SPLITCKPT_COORD_PORT SPLITCKPT_SECRET
# Single-node jobs use shared memory only: make check runs the cluster tests at the same time,
# whose veths appear and vanish, and a network transport that enumerates interfaces during
# MPI_Init then fails ("init_worker ... No such device"). Multi-node steps set LAUNCH_MULTINODE.
if [ -z "${LAUNCH_MULTINODE:-}" ]; then
	export UCX_TLS=${UCX_TLS:-self,sm} OMPI_MCA_pml=${OMPI_MCA_pml:-ob1}
	export OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader}
fi
TIMEOUT=${SC_LAUNCH_TIMEOUT:-120}
BIN=$SC_TESTS_BUILDDIR/mpi/launch-bin
mkdir -p "$BIN"
WORK=${LAUNCH_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/sc-launch.XXXXXX")}
COORD_PIDS=

cleanup() {
	# Only the coordinators these tests started (their pids are in the logs they wrote).
	for pid in $COORD_PIDS; do
		if grep -qs coordinator "/proc/$pid/cmdline"; then kill "$pid" 2>/dev/null; fi
	done
	[ -n "${LAUNCH_KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

have_mpich() { [ -n "$HYDRA" ] && [ -x "$SC_BUILDDIR/lower-half/splitckpt-lh-mpich" ]; }
have_openmpi() { [ -n "$ORTERUN" ] && [ -x "$SC_BUILDDIR/lower-half/splitckpt-lh-openmpi" ]; }

# build_sc NAME OUT: $BIN/OUT from tests/mpi/NAME.c with splitckpt-mpicc (tests that may run in
# parallel never share an OUT)
build_sc() {
	"$SC_BUILDDIR/tools/splitckpt-mpicc" -std=gnu11 -Wall -Wextra -Werror -o "$BIN/$2" \
		"$SC_SRCDIR/tests/mpi/$1.c" -pthread || fail "splitckpt-mpicc build of $1"
}

# run_job LOG CMD...: runs CMD under timeout with its output in LOG (shown on failure); returns
# CMD's status
run_job() {
	local log=$1
	shift
	timeout -k 3 "$TIMEOUT" "$@" >"$log" 2>&1
	local rc=$?
	if [ $rc -ne 0 ]; then
		echo "--- $* (status $rc):"
		tail -n 30 "$log"
	fi
	return $rc
}

# one_coordinator DIR NRANKS: DIR/coordinator.log (not --quiet) shows one coordinator start, NRANKS distinct
# ranks connected, and that coordinator has exited (within 10 s) after the job.
one_coordinator() {
	local log=$1/coordinator.log n=$2
	[ -f "$log" ] || fail "no $log: no coordinator ran for $1"
	local starts pid ranks
	starts=$(grep -c 'listening on' "$log")
	[ "$starts" -eq 1 ] || fail "$starts coordinators started for $1 (see $log)"
	pid=$(sed -n 's/.*splitckpt coordinator\[\([0-9]*\)\]: listening on.*/\1/p' "$log")
	COORD_PIDS="$COORD_PIDS $pid"
	ranks=$(sed -n 's/.*: rank \([0-9]*\) of \([0-9]*\) connected.*/\1\/\2/p' "$log" | sort -u |
		wc -l)
	[ "$ranks" -eq "$n" ] || fail "$ranks distinct ranks joined the coordinator of $1, not $n"
	grep -q "rank .* of $n connected" "$log" || fail "ranks of $1 did not report $n ranks"
	for _ in $(seq 100); do
		[ -d "/proc/$pid" ] || break
		sleep 0.1
	done
	[ ! -d "/proc/$pid" ] || fail "the coordinator of $1 (pid $pid) is still running"
}
