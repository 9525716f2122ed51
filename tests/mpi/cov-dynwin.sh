#!/bin/bash
# cov_dynwin.c (dynamic windows: a distributed linked list, wrappers/COVERAGE.md) natively and
# through the MPICH lower half, with 2 and 4 ranks.
. "$(dirname "$0")/crossing-lib.sh"
export UCX_RCACHE_ENABLE=n # as for MPICH 4.0's windows natively (ckpt-cov.sh)
crossing_test cov_dynwin 2 4
