#!/bin/bash
# time-limit.sh for a 4-rank MPI job: checkpointed on SIGUSR1 before the time limit, requeued,
# resumed on the nodes the next allocation gets (fewer or others, the same number of ranks).
# Submit: sbatch time-limit-mpi.sh
#SBATCH --job-name=heat-mpi-long
#SBATCH --ntasks=4
#SBATCH --time=02:00:00
#SBATCH --signal=B:USR1@300
#SBATCH --requeue
#SBATCH --open-mode=append

module load splitckpt 2>/dev/null || true
CKPT=${CKPT:-$PWD/ckpt-$SLURM_JOB_NAME}

exec splitckpt launch --resume --on-signal USR1 --requeue --ckptdir "$CKPT" \
	--interval "${INTERVAL:-1800}" \
	srun --mpi=pmi2 -n "$SLURM_NTASKS" ./heat_mpi ${STEPS:-100000} ${N:-1024} ${MS_PER_STEP:-0}
