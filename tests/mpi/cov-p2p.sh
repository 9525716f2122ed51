#!/bin/bash
# cov_p2p.c (wrappers/COVERAGE.md) natively and through the MPICH lower half, with 2 and 4 ranks.
. "$(dirname "$0")/crossing-lib.sh"
crossing_test cov_p2p 2 4
