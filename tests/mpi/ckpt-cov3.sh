#!/bin/bash
# The last part of ckpt-cov.sh's programs: error classes, codes and strings the program adds.
CKPT_COV_SET="cov_errors" exec bash "$(dirname "$0")/ckpt-cov.sh"
