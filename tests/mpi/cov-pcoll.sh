#!/bin/bash
# cov_pcoll.c (MPI 4.0's persistent collectives, wrappers/COVERAGE.md) natively and through the
# MPICH lower half, with 2 and 4 ranks.
. "$(dirname "$0")/crossing-lib.sh"
crossing_test cov_pcoll 2 4
