#!/bin/bash
# A Slurm batch script that survives its time limit: it checkpoints and stops 5 minutes before
# the limit (--signal), requeues itself, and the requeued run resumes from the checkpoint.
# Also checkpoints every 30 minutes against node failures. Submit with `sbatch slurm-job.sh`.
#SBATCH --job-name=ckpt-demo
#SBATCH --time=02:00:00
#SBATCH --signal=B:USR1@300
#SBATCH --requeue
#SBATCH --open-mode=append

module load splitckpt 2>/dev/null || true
CKPT=${CKPT:-$PWD/ckpt-$SLURM_JOB_NAME}
APP=(./heat_serial 100000 2000000 100) # your program and its arguments

# Bash runs the trap only between commands: the job runs in the background and we wait.
trap 'splitckpt command --ckptdir "$CKPT" --kcheckpoint' USR1
if [ -f "$CKPT/MANIFEST" ]; then
	splitckpt restart --ckptdir "$CKPT" --interval 1800 &
else
	splitckpt launch --ckptdir "$CKPT" --interval 1800 "${APP[@]}" &
fi
pid=$!
while true; do
	wait "$pid"
	rc=$?
	kill -0 "$pid" 2>/dev/null || break # wait returned for the signal, not the job's end
done

if [ "$rc" -eq 85 ]; then # ended by the kill-checkpoint: continue in a new allocation
	scontrol requeue "$SLURM_JOB_ID"
fi
exit "$rc"
