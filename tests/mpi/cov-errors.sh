#!/bin/bash
# cov_errors.c (error classes, codes and strings a program adds; wrappers/COVERAGE.md) natively
# and through the MPICH lower half, with 2 and 4 ranks.
. "$(dirname "$0")/crossing-lib.sh"
crossing_test cov_errors 2 4
