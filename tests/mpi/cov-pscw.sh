#!/bin/bash
# cov_pscw.c (PSCW synchronization, wrappers/COVERAGE.md) natively and through the MPICH lower
# half, with 2 and 4 ranks.
. "$(dirname "$0")/crossing-lib.sh"
crossing_test cov_pscw 2 4
