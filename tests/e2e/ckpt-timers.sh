#!/bin/bash
# Checkpoint/restart of the "timers" test program, driven by POSIX timers: two --bcheckpoint,
# --kcheckpoint (exit 85), restart to completion, then restarts from older generations.
# shellcheck source=tests/e2e/scenarios.sh
. "$(dirname "${BASH_SOURCE[0]}")/scenarios.sh"
e2e_init ckpt-timers
scenario_kill_restart timers
scenario_older_generations timers
e2e_pass
