#!/bin/bash
# Checkpoint/restart of a PyTorch training job (progs/train_torch.py, Debian's python3-torch):
# two --bcheckpoint, --kcheckpoint (exit 85), restart to completion, then restarts from older
# generations; every loss and the final parameters bit for bit those of an uninterrupted run.
# Its first checkpoint used to fail ("writing page data ...: Bad address": the PROT_NONE gaps
# of libtorch's libraries reach past their files' ends). Skips (77) without python3-torch.
# shellcheck source=tests/e2e/scenarios.sh
. "$(dirname "${BASH_SOURCE[0]}")/scenarios.sh"
require_python_module torch "python3-torch"
e2e_init ckpt-torch
scenario_kill_restart torch
scenario_older_generations torch
e2e_pass
