#!/bin/bash
# Resumes a job saved by serial-interval.sh, checkpoint-loop.sh, mpi.sh or python.sh from its
# newest checkpoint, and goes on checkpointing into the same directory. An MPI job restarts
# with the launcher it was started with, unless you name one (the same number of ranks, any
# nodes): `splitckpt restart --ckptdir "$CKPT" srun --mpi=pmi2 -n 4`.
# Submit: sbatch --export=ALL,CKPT=$PWD/ckpt-heat restart.sh
#SBATCH --job-name=restart
#SBATCH --time=04:00:00

module load splitckpt 2>/dev/null || true
: "${CKPT:?set CKPT to the checkpoint directory of the job to resume}"

splitckpt command --ckptdir "$CKPT" --list >&2 # what there is to resume from
splitckpt restart --ckptdir "$CKPT" --interval "${INTERVAL:-600}"
