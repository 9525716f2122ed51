#!/bin/bash
# A program built with splitckpt-mpicc but started without `splitckpt launch` has no lower half:
# its first MPI call must say so and fail, not crash. Also checks the compiler wrapper's
# -show/-compile-info/-link-info.
. "$(dirname "$0")/crossing-lib.sh"
build crossing_abort unlaunched
out=$("$BIN/unlaunched.sc" 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "unlaunched program exited $rc, expected 1: $out"
echo "$out" | grep -q 'splitckpt launch' || fail "no hint to use splitckpt launch: $out"
mpicc=$SC_BUILDDIR/tools/splitckpt-mpicc
"$mpicc" -show -o x x.c | grep -q -- "-lsplitckpt_mpi" || fail "-show lacks -lsplitckpt_mpi"
"$mpicc" -show -c x.c | grep -q -- "-lsplitckpt_mpi" && fail "-show -c links"
"$mpicc" -compile-info | grep -q -- "-I$SPLITCKPT_MPICC_INCDIR" || fail "-compile-info"
"$mpicc" -link-info | grep -q -- "-Wl,-rpath,$SPLITCKPT_MPICC_LIBDIR" || fail "-link-info"
SPLITCKPT_CC="echo mycc" "$mpicc" -c "a b.c" | grep -q "^mycc -I.* -c a b.c$" || fail "SPLITCKPT_CC"
echo "PASS: unlaunched MPI program fails with a hint; compiler wrapper options"
