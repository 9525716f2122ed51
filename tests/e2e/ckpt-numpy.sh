#!/bin/bash
# Checkpoint/restart of a NumPy job whose matrix products run in OpenBLAS's threads
# (progs/train_numpy.py, Debian's python3-numpy and libopenblas0-pthread): two --bcheckpoint,
# --kcheckpoint (exit 85), restart to completion, restarts from older generations; every loss
# and the final weights bit for bit those of an uninterrupted run. Skips (77) without NumPy.
# shellcheck source=tests/e2e/scenarios.sh
. "$(dirname "${BASH_SOURCE[0]}")/scenarios.sh"
require_python_module numpy "python3-numpy libopenblas0-pthread"
e2e_init ckpt-numpy
scenario_kill_restart numpy
scenario_older_generations numpy
e2e_pass
