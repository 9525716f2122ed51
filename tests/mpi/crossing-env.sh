#!/bin/bash
# crossing_env.c natively and through the MPICH lower half, with 2 and 4 ranks.
. "$(dirname "$0")/crossing-lib.sh"
crossing_test crossing_env 2 4
