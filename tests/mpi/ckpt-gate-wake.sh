#!/bin/bash
# A rank held at a collective's quiesce gate that is checkpointed still waiting there (it wakes
# late, SPLITCKPT_TEST_GATE_WAKE_US): after the restart its thread leaves that wait and must
# take the new lower half's TLS before its collective runs (it ran on the old process's TLS
# block: a crash in the lower half, at once under Open MPI, at a second restart under MPICH).
# cov_coll (4 ranks, collectives of every kind) under mpiexec.hydra (SC_CKPT_MPI=openmpi:
# Open MPI's mpirun, ckpt-gate-wake-openmpi.sh): launch + 3 checkpoints, 2 restarts, the output
# equal to an uninterrupted run.
source "$SC_SRCDIR/tests/mpi/ckpt-lib.sh"
ckpt_select_mpi
export SPLITCKPT_TEST_GATE_WAKE_US=300000
build cov_coll
ckpt_cycle outside cov_coll 4 --steps "$(ckpt_steps 35 400)"
