#!/bin/bash
# ckpt-stress.sh under Open MPI (mpirun.openmpi, the Open MPI lower half): 30 checkpoints at
# random moments of ckpt_mix, then restarts from three of them.
SC_CKPT_MPI=openmpi exec bash "$(dirname "$0")/ckpt-stress.sh"
