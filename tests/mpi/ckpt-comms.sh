#!/bin/bash
# Checkpoint/restart of communicators that ranks hold differently at the cut (tests/mpi/
# ckpt_comms.c): splits with MPI_COMM_NULL on some ranks, frees at different moments, freed
# parents of live children, equal groups and tags, intercommunicators, topologies. 4 ranks under
# mpiexec.hydra, both launch forms; all output together equals an uninterrupted native run.
source "$SC_SRCDIR/tests/mpi/ckpt-lib.sh"
build ckpt_comms
ckpt_cycle outside ckpt_comms 4 --steps 80
ckpt_cycle inside ckpt_comms 5 --steps 40
