#!/bin/bash
# A job longer than its time limit: $WARN seconds before the limit Slurm sends SIGUSR1, the job
# is checkpointed and ends (status 85), splitckpt requeues it, and the requeued run resumes from
# the checkpoint, on whatever nodes it gets, until the work is done. The same script serves the
# first run and every requeued one (--resume). Also saved every $INTERVAL seconds against node
# failures. Submit: sbatch time-limit.sh
#
# The warning must cover a checkpoint of a node's memory: 0.6-0.8x the time to write it to the
# checkpoint directory's disk (measured: 4 GiB in 13 s on a disk writing 300 MB/s; the TOOK
# column of `splitckpt command --list` shows yours), plus Slurm's slack (its signal may come up
# to a minute off). A requeued job starts again after the site's AuthInfo cred_expire (120 s
# by default).
#SBATCH --job-name=heat-long
#SBATCH --ntasks=1
#SBATCH --time=02:00:00
#SBATCH --signal=B:USR1@300
#SBATCH --requeue
#SBATCH --open-mode=append

module load splitckpt 2>/dev/null || true
CKPT=${CKPT:-$PWD/ckpt-$SLURM_JOB_NAME}

# exec: the batch shell becomes splitckpt, the process that B:USR1 reaches
exec splitckpt launch --resume --on-signal USR1 --requeue --ckptdir "$CKPT" \
	--interval "${INTERVAL:-1800}" \
	./heat_serial ${STEPS:-100000} ${CELLS:-2000000} ${MS_PER_STEP:-100}
