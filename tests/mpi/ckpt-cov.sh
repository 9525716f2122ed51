#!/bin/bash
# The coverage programs of tests/mpi (cov_*.c, wrappers/COVERAGE.md) as checkpoint tests: each run
# for many rounds (--steps), it is checkpointed at random moments (objects of every kind alive,
# messages and nonblocking collectives in flight), kill-checkpointed, restarted, checkpointed and
# killed again and restarted to its end; its own checks hold, the job's total of checks and all
# its output together equal an uninterrupted native run. 4 ranks under mpiexec.hydra; the
# programs listed in SC_CKPT_COV run (by default the first eight; ckpt-cov2.sh and
# ckpt-cov3.sh run the others: one test would outlast run-test's limit), the launch forms
# (inside/outside) taking turns. SC_CKPT_MPI=openmpi runs them under Open MPI's mpirun and
# lower half instead (ckpt-cov-openmpi.sh; ckpt_select_mpi).
source "$SC_SRCDIR/tests/mpi/ckpt-lib.sh"
ckpt_select_mpi
# MPICH 4.0's Win_create needs UCX's registration cache off natively (cov_misc.c's main)
export UCX_RCACHE_ENABLE=n
# Rounds per program: about 12 s of a native run on 2 cores, time for three checkpoints in a
# launch and two in a restart before the end.
declare -A steps=([cov_p2p]=90 [cov_coll]=35 [cov_comm]=40 [cov_topo]=60 [cov_types]=300
	[cov_misc]=12 [cov_legacy]=200 [cov_large]=26 [cov_pcoll]=300 [cov_dynwin]=24 [cov_io]=50
	[cov_shwin]=50 [cov_pscw]=220 [cov_nbr]=180 [cov_interop]=110 [cov_session]=300
	[cov_errors]=200)
# Open MPI (ob1 over shared memory) runs these rounds 2 to 6 times faster than MPICH over UCX
[ "$CKPT_MPI" = openmpi ] &&
	steps+=([cov_coll]=400 [cov_errors]=450 [cov_dynwin]=450 [cov_shwin]=450 [cov_pscw]=450)
mode=outside
for name in ${SC_CKPT_COV:-${CKPT_COV_SET:-cov_p2p cov_coll cov_comm cov_topo cov_types cov_misc cov_legacy cov_large}}; do
	build "$name"
	ckpt_cycle "$mode" "$name" 4 --steps "${SC_CKPT_COV_STEPS:-${steps[$name]}}"
	mode=$([ "$mode" = outside ] && echo inside || echo outside)
done
