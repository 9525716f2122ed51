#!/bin/bash
# ckpt-cov.sh under Open MPI (mpirun.openmpi, the Open MPI lower half), with the coverage
# programs that use only what Open MPI 4.1 has (the others call MPI 4.0 functions it lacks, or
# check answers only MPICH gives): checkpointed at random moments, kill-checkpointed and
# restarted, their output together equal to an uninterrupted run's (the same as a native
# MPICH run's).
SC_CKPT_MPI=openmpi CKPT_COV_SET="cov_coll cov_errors cov_dynwin cov_shwin cov_pscw" \
	exec bash "$(dirname "$0")/ckpt-cov.sh"
