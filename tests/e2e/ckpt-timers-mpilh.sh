#!/bin/bash
# Checkpoint/restart of the "timers" program on the MPICH lower half (SPLITCKPT_LOWER_HALF=mpich):
# there the program's signal handlers sit behind the lower half's trampoline (lower-half/trap.c),
# so its timer handler must round-trip through the checkpoint's capture and the restart, and the
# lower half's own threads must leave its timers' signals alone. Skips (77) without that lower half.
# shellcheck source=tests/e2e/scenarios.sh
. "$(dirname "${BASH_SOURCE[0]}")/scenarios.sh"
if [ ! -x "${SC_BUILDDIR:?}/lower-half/splitckpt-lh-mpich" ]; then
	echo "SKIP: the MPICH lower half is not built"
	exit 77
fi
export SPLITCKPT_LOWER_HALF=mpich
e2e_init ckpt-timers-mpilh
scenario_kill_restart timers
e2e_pass
