#!/bin/bash
# Checkpoint/restart of communicators that ranks hold differently at the cut (tests/mpi/
# ckpt_comms.c): splits with MPI_COMM_NULL on some ranks, frees at different moments, freed
# parents of live children, equal groups and tags, intercommunicators, topologies; with 4 ranks
# also 220 more duplicates, whose clocks take several coordinator messages. Under mpiexec.hydra
# (SC_CKPT_MPI=openmpi: Open MPI's mpirun, ckpt-comms-openmpi.sh), both launch forms; all
# output together equals an uninterrupted native run.
source "$SC_SRCDIR/tests/mpi/ckpt-lib.sh"
ckpt_select_mpi
build ckpt_comms
ckpt_cycle outside ckpt_comms 4 --steps "$(ckpt_steps 60 180)" --many 220
ckpt_cycle inside ckpt_comms 5 --steps "$(ckpt_steps 40 120)"
