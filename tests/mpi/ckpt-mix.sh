#!/bin/bash
# Checkpoint/restart of a communication-heavy MPI job (tests/mpi/ckpt_mix.c) under mpiexec.hydra,
# 2 and 4 ranks: checkpoints at random moments (ring receives posted ahead, an Iallreduce and a
# 2 MiB message in flight), kill-checkpoints, restarts that checkpoint again; the output of all
# runs together equals an uninterrupted native run. Both launch forms, and all restart forms:
# under mpiexec, around it, and without naming it (the recorded launcher).
source "$SC_SRCDIR/tests/mpi/ckpt-lib.sh"
# MPICH 4.0's Win_create needs UCX's registration cache off natively (cov_misc.c's main)
export UCX_RCACHE_ENABLE=n
build ckpt_mix
ckpt_cycle outside ckpt_mix 2 300 20000
ckpt_cycle inside ckpt_mix 4 300 20000
