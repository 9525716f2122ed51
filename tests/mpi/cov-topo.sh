#!/bin/bash
# cov_topo.c (wrappers/COVERAGE.md) natively and through the MPICH lower half, with 2 and 4 ranks.
. "$(dirname "$0")/crossing-lib.sh"
crossing_test cov_topo 2 4
