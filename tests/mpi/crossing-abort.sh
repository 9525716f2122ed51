#!/bin/bash
# MPI_Abort through the crossing ends the whole job with a failure status, as it does natively,
# even though the other rank waits in a receive that never completes.
. "$(dirname "$0")/crossing-lib.sh"
build crossing_abort
run_native crossing_abort 2 && fail "native MPI_Abort job exited 0"
run_sc crossing_abort 2
rc=$?
[ $rc -ne 0 ] || fail "MPI_Abort through splitckpt exited 0"
[ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "MPI_Abort through splitckpt hung"
echo "PASS: MPI_Abort ends the job (status $rc)"
