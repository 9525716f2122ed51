# Tests of this area (fragment included by tests/Makefile.am; paths relative to tests/).
# Emulated Slurm cluster (cluster/cluster.sh, the front end, and the cluster-*.sh files it
# sources): smoke tests that srun an MPI program across namespaced nodes, one per MPI
# implementation, both splitckpt launch modes (mpi-launch.sh), the tests/mpi programs natively
# and through splitckpt (mpi-programs.sh), a job checkpointed on 3 nodes restarted on 1 and on 2
# (ckpt-nodes.sh; ckpt-nodes-openmpi.sh under Open MPI), and the job scripts of examples/slurm
# submitted with sbatch: time limits, requeue, resume, restart jobs (slurm-jobs.sh); they skip
# (77) where no cluster can be created.
EXTRA_DIST += cluster/cluster.sh cluster/cluster-state.sh cluster/cluster-proc.sh \
	cluster/cluster-net.sh cluster/cluster-slurm.sh cluster/cluster-node.sh \
	cluster/cluster-lifecycle.sh cluster/smoke-lib.sh cluster/smoke-mpich.sh \
	cluster/smoke-openmpi.sh cluster/mpi_ring.c cluster/README.md cluster/mpi-launch.sh \
	cluster/mpi-programs.sh cluster/ckpt-nodes.sh cluster/ckpt-nodes-openmpi.sh \
	cluster/slurm-jobs.sh
TESTS += cluster/smoke-mpich.sh cluster/smoke-openmpi.sh cluster/mpi-launch.sh \
	cluster/mpi-programs.sh cluster/ckpt-nodes.sh cluster/ckpt-nodes-openmpi.sh \
	cluster/slurm-jobs.sh
CLEANFILES += cluster/smoke-*.out.*

if HAVE_MPICH
check_PROGRAMS += cluster/mpi_ring_mpich
cluster_mpi_ring_mpich_SOURCES = cluster/mpi_ring.c
cluster_mpi_ring_mpich_CFLAGS = $(SC_CFLAGS) $(MPICH_CFLAGS)
cluster_mpi_ring_mpich_LDADD = $(MPICH_LIBS)
endif

if HAVE_OPENMPI
check_PROGRAMS += cluster/mpi_ring_openmpi
cluster_mpi_ring_openmpi_SOURCES = cluster/mpi_ring.c
cluster_mpi_ring_openmpi_CFLAGS = $(SC_CFLAGS) $(OPENMPI_CFLAGS)
cluster_mpi_ring_openmpi_LDADD = $(OPENMPI_LIBS)
endif
