#!/bin/bash
# A Python training job (train.py; any script, with the packages it imports) saved every
# $INTERVAL seconds: the interpreter and everything it loaded are checkpointed, nothing in the
# script changes. Resume it with restart.sh. Submit: sbatch python.sh
#SBATCH --job-name=train
#SBATCH --ntasks=1
#SBATCH --time=04:00:00

module load splitckpt 2>/dev/null || true
CKPT=${CKPT:-$PWD/ckpt-$SLURM_JOB_NAME}

splitckpt launch --ckptdir "$CKPT" --interval "${INTERVAL:-600}" \
	python3 train.py ${EPOCHS:-1000} ${SAMPLES:-200000} ${PAUSE:-0}
