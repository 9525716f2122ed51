#!/bin/bash
# cov_large.c (the large-count _c functions, wrappers/COVERAGE.md) natively and through the MPICH
# lower half, with 2 and 4 ranks.
. "$(dirname "$0")/crossing-lib.sh"
crossing_test cov_large 2 4
