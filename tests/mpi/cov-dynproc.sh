#!/bin/bash
# cov_dynproc.c (name publishing and ports; wrappers/COVERAGE.md) natively and through the MPICH
# lower half, with 2 and 4 ranks.
. "$(dirname "$0")/crossing-lib.sh"
crossing_test cov_dynproc 2 4
