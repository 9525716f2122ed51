#!/bin/bash
# Checkpoint/restart of the "state" test program: two --bcheckpoint, --kcheckpoint (exit 85),
# restart to completion, then restarts from older generations; see scenarios.sh.
# shellcheck source=tests/e2e/scenarios.sh
. "$(dirname "${BASH_SOURCE[0]}")/scenarios.sh"
e2e_init ckpt-state
scenario_kill_restart state
scenario_older_generations state
e2e_pass
