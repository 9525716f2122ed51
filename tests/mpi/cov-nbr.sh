#!/bin/bash
# cov_nbr.c (neighbourhood alltoallw, persistent neighbourhood collectives, persistent collectives
# with large counts; wrappers/COVERAGE.md) natively and through the MPICH lower half, with 2 and 4
# ranks.
. "$(dirname "$0")/crossing-lib.sh"
crossing_test cov_nbr 2 4
