# MPI launch modes and the Open MPI lower half (fragment included by tests/Makefile.am; paths
# relative to tests/). launch-openmpi.sh runs the crossing programs on splitckpt-lh-openmpi;
# launch-modes.sh starts jobs as `LAUNCHER splitckpt launch ./app` and `splitckpt launch
# LAUNCHER ./app` with MPICH and Open MPI and checks that each had one coordinator.
SC_LAUNCH_TESTS = mpi/launch-openmpi.sh mpi/launch-modes.sh
TESTS += $(SC_LAUNCH_TESTS)
EXTRA_DIST += mpi/launch.mk mpi/launch-lib.sh $(SC_LAUNCH_TESTS) mpi/launch_missing.c
