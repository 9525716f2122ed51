#!/bin/bash
# ckpt-gate-wake.sh under Open MPI (mpirun.openmpi, the Open MPI lower half).
SC_CKPT_MPI=openmpi exec bash "$(dirname "$0")/ckpt-gate-wake.sh"
