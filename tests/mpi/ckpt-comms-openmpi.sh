#!/bin/bash
# ckpt-comms.sh under Open MPI (mpirun.openmpi, the Open MPI lower half; ckpt_select_mpi).
SC_CKPT_MPI=openmpi exec bash "$(dirname "$0")/ckpt-comms.sh"
