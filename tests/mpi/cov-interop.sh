#!/bin/bash
# cov_interop.c (handles and statuses as Fortran integers; wrappers/COVERAGE.md) natively and
# through the MPICH lower half, with 2 and 4 ranks.
. "$(dirname "$0")/crossing-lib.sh"
export UCX_RCACHE_ENABLE=n # as for MPICH 4.0's windows natively (ckpt-cov.sh)
crossing_test cov_interop 2 4
