#!/bin/bash
# cov_io.c (shared and ordered file pointers, collective and split-collective MPI-IO, file
# queries, wrappers/COVERAGE.md) natively and through the MPICH lower half, with 2 and 4 ranks.
. "$(dirname "$0")/crossing-lib.sh"
crossing_test cov_io 2 4
