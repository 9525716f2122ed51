#!/bin/bash
# cov_session.c (MPI sessions, a program without MPI_Init; wrappers/COVERAGE.md) natively and
# through the MPICH lower half, with 2 and 4 ranks.
. "$(dirname "$0")/crossing-lib.sh"
crossing_test cov_session 2 4
