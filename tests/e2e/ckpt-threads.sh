#!/bin/bash
# Checkpoint/restart of the "threads" test program: two --bcheckpoint, --kcheckpoint (exit 85),
# restart to completion, then restarts from older generations; see scenarios.sh.
# shellcheck source=tests/e2e/scenarios.sh
. "$(dirname "${BASH_SOURCE[0]}")/scenarios.sh"
e2e_init ckpt-threads
scenario_kill_restart threads
scenario_older_generations threads
e2e_pass
