#!/bin/bash
# Interval checkpoints of the "threads" test program, configured through options
# (--ckptdir, --interval 1, --quiet) with --keep 2; then a restart of the newest interval
# generation. See scenarios.sh.
# shellcheck source=tests/e2e/scenarios.sh
. "$(dirname "${BASH_SOURCE[0]}")/scenarios.sh"
e2e_init interval-threads
scenario_interval threads options
e2e_pass
