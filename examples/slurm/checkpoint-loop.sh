#!/bin/bash
# A job that checkpoints from the script itself: the program runs in the background and the
# script takes a checkpoint every $EVERY seconds (say, between phases you choose) with
# `splitckpt command`, until the program ends. Submit: sbatch checkpoint-loop.sh
#SBATCH --job-name=heat-loop
#SBATCH --ntasks=1
#SBATCH --time=04:00:00

module load splitckpt 2>/dev/null || true
CKPT=${CKPT:-$PWD/ckpt-$SLURM_JOB_NAME}

splitckpt launch --ckptdir "$CKPT" \
	./heat_serial ${STEPS:-100000} ${CELLS:-2000000} ${MS_PER_STEP:-100} &
job=$!
while sleep "${EVERY:-1800}" && kill -0 "$job" 2>/dev/null; do
	# --bcheckpoint waits until the checkpoint is committed; a failure is reported, the job
	# goes on
	splitckpt command --ckptdir "$CKPT" --bcheckpoint || echo "checkpoint failed" >&2
done
wait "$job"
