#!/bin/bash
# A 4-rank MPI job (built with `splitckpt-mpicc -O2 -o heat_mpi heat_mpi.c -lm`) saved every
# $INTERVAL seconds; all ranks are checkpointed together at a consistent cut. Resume it with
# restart.sh, on any nodes. MPICH runs under srun --mpi=pmi2, Open MPI under --mpi=pmix.
# Submit: sbatch mpi.sh
#SBATCH --job-name=heat-mpi
#SBATCH --ntasks=4
#SBATCH --time=04:00:00

module load splitckpt 2>/dev/null || true
CKPT=${CKPT:-$PWD/ckpt-$SLURM_JOB_NAME}

splitckpt launch --ckptdir "$CKPT" --interval "${INTERVAL:-600}" \
	srun --mpi=pmi2 -n "$SLURM_NTASKS" ./heat_mpi ${STEPS:-100000} ${N:-1024} ${MS_PER_STEP:-0}
