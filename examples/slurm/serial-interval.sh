#!/bin/bash
# A serial job that saves itself every $INTERVAL seconds (default 10 minutes). If the job dies
# (a node fails, the time limit hits), submit restart.sh with the same CKPT: it resumes from the
# newest checkpoint. Submit: sbatch serial-interval.sh
#SBATCH --job-name=heat
#SBATCH --ntasks=1
#SBATCH --time=04:00:00

module load splitckpt 2>/dev/null || true
CKPT=${CKPT:-$PWD/ckpt-$SLURM_JOB_NAME} # --ckptdir creates it (and its parents)

splitckpt launch --ckptdir "$CKPT" --interval "${INTERVAL:-600}" \
	./heat_serial ${STEPS:-100000} ${CELLS:-2000000} ${MS_PER_STEP:-100}
