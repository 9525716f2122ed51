#!/bin/bash
# cov_shwin.c (shared-memory windows, wrappers/COVERAGE.md) natively and through the MPICH lower
# half, with 2 and 4 ranks.
. "$(dirname "$0")/crossing-lib.sh"
crossing_test cov_shwin 2 4
