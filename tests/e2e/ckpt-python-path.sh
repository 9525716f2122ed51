#!/bin/bash
# Checkpoint/restart of script.py run as `python3` found in PATH, as users type it. On machines
# with pyenv that is a bash shim which forks subshells and execs env, then the real python:
# the relaunch of exec'ed programs must keep the final python under checkpoint control.
SC_E2E_PYTHON=$(command -v python3) || { echo "no python3 in PATH"; exit 77; }
export SC_E2E_PYTHON
# shellcheck source=tests/e2e/scenarios.sh
. "$(dirname "${BASH_SOURCE[0]}")/scenarios.sh"
e2e_init ckpt-python-path
scenario_kill_restart python
e2e_pass
