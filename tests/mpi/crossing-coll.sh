#!/bin/bash
# crossing_coll.c natively and through the MPICH lower half, with 2 and 4 ranks.
. "$(dirname "$0")/crossing-lib.sh"
crossing_test crossing_coll 2 4
