#!/bin/bash
# Interval checkpoints of the "omp" test program, configured through the environment
# (SPLITCKPT_CHECKPOINT_DIR, SPLITCKPT_CHECKPOINT_INTERVAL=1) with --keep 2; then a restart of
# the newest interval generation. See scenarios.sh.
# shellcheck source=tests/e2e/scenarios.sh
. "$(dirname "${BASH_SOURCE[0]}")/scenarios.sh"
e2e_init interval-omp
scenario_interval omp env
e2e_pass
