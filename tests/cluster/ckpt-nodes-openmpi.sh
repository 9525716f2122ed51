#!/bin/bash
# make check: ckpt-nodes.sh under Open MPI (`srun --mpi=pmix`): a 4-rank job checkpointed on 3
# nodes restarts on 1 node and on 2 nodes with the output of a native run. Fewer steps than under
# MPICH: across nodes Open MPI's one-sided traffic (osc/pt2pt over TCP) makes each slower.
export CKPT_NODES_MPI=openmpi SC_CKPT_NODES_STEPS=${SC_CKPT_NODES_STEPS:-120}
exec bash "$(dirname "$0")/ckpt-nodes.sh" "$@"
