#!/bin/bash
# Upper-half memory releases reach UCX's registration caches (lower-half/mpi/lh_unmaps.c):
# crossing_unmaps.c through the MPICH lower half with 2 ranks, with the lower half's debugging
# UCX event handler on (SPLITCKPT_DEBUG_UNMAPS=1). Then once more with the program marking its
# releases as flushed itself (`noflush`, an upper half without the flush): the checks must fail
# there, or they prove nothing. Then on the Open MPI lower half with pml ucx, where libucm comes
# with the plugin at MPI_Init (when Open MPI and its lower half are built). Only through
# splitckpt: natively libucm's hooks see everything.
. "$(dirname "$0")/crossing-lib.sh"
src=$SC_SRCDIR/tests/mpi/crossing_unmaps.c
"$SC_BUILDDIR/tools/splitckpt-mpicc" -std=gnu11 -Wall -Wextra -Werror -I"$SC_SRCDIR/lower-half" \
	-o "$BIN/crossing_unmaps.sc" "$src" -pthread || fail "splitckpt-mpicc build of crossing_unmaps"
export SPLITCKPT_DEBUG_UNMAPS=1
out=$(run_sc crossing_unmaps 2 2>&1) || fail "crossing_unmaps through splitckpt (status $?): $out"
echo "$out"
[ "$(grep -c 'releases reported to UCX' <<<"$out")" = 2 ] || fail "missing rank summaries"
echo "PASS: every upper-half release reached UCX before the next MPI call"
out=$(run_sc crossing_unmaps 2 noflush 2>&1) && fail "noflush run passed: the check cannot fail"
grep -q 'not reported to UCX' <<<"$out" || fail "noflush run failed for another reason: $out"
grep 'not reported to UCX' <<<"$out" | head -3
echo "PASS: without the flush the same checks fail"
ORTERUN=${MPIRUN_OPENMPI:-$(command -v mpirun.openmpi || true)}
if [ -z "$ORTERUN" ] || [ ! -x "$SC_BUILDDIR/lower-half/splitckpt-lh-openmpi" ]; then
	echo "SKIP: Open MPI or its lower half not available: MPICH only"
	exit 0
fi
# pml ucx even without an InfiniBand device (Open MPI 4.1 otherwise leaves it to ob1)
out=$(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ucx \
	OMPI_MCA_pml_ucx_devices=any OMPI_MCA_pml_ucx_tls=any SPLITCKPT_MPI=openmpi \
	timeout -k 5 "$TIMEOUT" "$ORTERUN" --oversubscribe -n 2 "$SC_BUILDDIR/tools/splitckpt" \
	launch --quiet --ckptdir "$WORK/ckpt-openmpi" "$BIN/crossing_unmaps.sc" 2>&1) ||
	fail "crossing_unmaps on the Open MPI lower half with pml ucx (status $?): $out"
echo "$out"
[ "$(grep -c 'releases reported to UCX' <<<"$out")" = 2 ] || fail "missing Open MPI rank summaries"
echo "PASS: the same on the Open MPI lower half with pml ucx"
