#!/bin/bash
# cov_part.c (partitioned communication; wrappers/COVERAGE.md) natively and through the MPICH
# lower half, with 2 and 4 ranks.
. "$(dirname "$0")/crossing-lib.sh"
crossing_test cov_part 2 4
