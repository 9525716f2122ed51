# Shared by the crossing-*.sh tests: builds a tests/mpi program twice, natively with MPICH's
# mpicc and with splitckpt-mpicc (from the build tree), and runs both under mpiexec.hydra; the
# splitckpt build runs as `mpiexec.hydra -n N splitckpt launch ./prog`. Exit 77 (skip) when
# MPICH or its lower half is not built.
set -u
: "${SC_BUILDDIR:?run through make check}" "${SC_SRCDIR:?}" "${SC_TESTS_BUILDDIR:?}"
MPIEXEC=${MPIEXEC_HYDRA:-$(command -v mpiexec.hydra || true)}
NATIVE_CC=${MPICC_MPICH:-$(command -v mpicc.mpich || true)}
if [ -z "$MPIEXEC" ] || [ -z "$NATIVE_CC" ] || [ ! -x "$SC_BUILDDIR/lower-half/splitckpt-lh-mpich" ]; then
	echo "SKIP: MPICH (mpiexec.hydra, mpicc.mpich) or its lower half not available"
	exit 77
fi
BIN=$SC_TESTS_BUILDDIR/mpi/crossing-bin
mkdir -p "$BIN"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sc-crossing.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export SPLITCKPT_MPICC_INCDIR=$SC_SRCDIR/include
export SPLITCKPT_MPICC_LIBDIR=$SC_BUILDDIR/wrappers/.libs
TIMEOUT=${SC_CROSSING_TIMEOUT:-120}
# These jobs run on one node: shared memory only. UCX's network transports probe interfaces at
# MPI_Init and fail ("No such device") when the cluster tests add or remove veths meanwhile.
export UCX_TLS=${UCX_TLS:-self,sm}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# build NAME [OUT]: $BIN/OUT.native and $BIN/OUT.sc from tests/mpi/NAME.c (OUT defaults to
# NAME; tests that may run in parallel never share an OUT)
build() {
	local src=$SC_SRCDIR/tests/mpi/$1.c out=${2:-$1}
	"$NATIVE_CC" -std=gnu11 -Wall -Wextra -Werror -o "$BIN/$out.native" "$src" -pthread ||
		fail "native build of $1"
	"$SC_BUILDDIR/tools/splitckpt-mpicc" -std=gnu11 -Wall -Wextra -Werror -o "$BIN/$out.sc" \
		"$src" -pthread || fail "splitckpt-mpicc build of $1"
	readelf -d "$BIN/$out.sc" | grep -q 'NEEDED.*libsplitckpt_mpi.so' ||
		fail "$out.sc does not link libsplitckpt_mpi.so"
}

# run_native NAME NRANKS [ARG...] / run_sc NAME NRANKS [ARG...]: exit status of the job
# (output shown); the ARGs go to the program
run_native() {
	timeout -k 5 "$TIMEOUT" "$MPIEXEC" -n "$2" "$BIN/$1.native" "${@:3}"
}
run_sc() {
	timeout -k 5 "$TIMEOUT" "$MPIEXEC" -n "$2" "$SC_BUILDDIR/tools/splitckpt" launch --quiet \
		--ckptdir "$WORK/ckpt-$1-$2" "$BIN/$1.sc" "${@:3}"
}

# crossing_test NAME NRANKS...: both builds must pass with every rank count
crossing_test() {
	local name=$1
	shift
	build "$name"
	for n in "$@"; do
		run_native "$name" "$n" || fail "$name native with $n ranks (status $?)"
		run_sc "$name" "$n" || fail "$name through splitckpt with $n ranks (status $?)"
		echo "PASS: $name with $n ranks, native and through splitckpt"
	done
}
