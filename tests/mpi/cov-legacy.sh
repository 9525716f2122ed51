#!/bin/bash
# cov_legacy.c (MPI-1 names, _x queries, wrappers/COVERAGE.md) natively and through the MPICH
# lower half, with 2 and 4 ranks.
. "$(dirname "$0")/crossing-lib.sh"
crossing_test cov_legacy 2 4
