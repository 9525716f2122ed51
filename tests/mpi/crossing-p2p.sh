#!/bin/bash
# crossing_p2p.c natively and through the MPICH lower half, with 2 and 4 ranks.
. "$(dirname "$0")/crossing-lib.sh"
crossing_test crossing_p2p 2 4
