#!/bin/bash
# Synchronous sends across checkpoints (tests/mpi/ckpt_ssend.c): an MPI_Issend, an MPI_Ssend_init
# and a blocking MPI_Ssend of 200 KiB whose messages a checkpoint drains before the receiver
# matched them must not complete before it does, and NBX (whose termination relies on that)
# loses no message. Under mpiexec.hydra (SC_CKPT_MPI=openmpi: Open MPI's mpirun,
# ckpt-ssend-openmpi.sh), both launch forms; all output together equals an uninterrupted native
# run.
source "$SC_SRCDIR/tests/mpi/ckpt-lib.sh"
ckpt_select_mpi
build ckpt_ssend
ckpt_cycle outside ckpt_ssend 4 --steps "$(ckpt_steps 200 400)"
ckpt_cycle inside ckpt_ssend 5 --steps "$(ckpt_steps 200 400)"
