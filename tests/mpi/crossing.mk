# The MPI crossing (wrappers/README.md). Fragment included by tests/Makefile.am; paths relative
# to tests/. test_vhandle unit-tests the upper half's virtual handles. The crossing-*.sh tests
# build tests/mpi/crossing_*.c twice, natively with mpicc.mpich and with splitckpt-mpicc, and
# run both with mpiexec.hydra (2 and 4 ranks), the latter as `splitckpt launch` jobs on the
# MPICH lower half; they skip (77) when MPICH is not built.
check_PROGRAMS += mpi/test_vhandle
mpi_test_vhandle_SOURCES = mpi/test_vhandle.c
mpi_test_vhandle_CPPFLAGS = -I$(top_srcdir)/upper-half -I$(top_builddir)/wrappers \
	-I$(top_srcdir)/lower-half/mpi
mpi_test_vhandle_CFLAGS = $(SC_UNITCFLAGS)
mpi_test_vhandle_LDADD = ../wrappers/libsplitckpt_mpi.la $(SC_UNITLIBS)
mpi_test_vhandle_LDFLAGS = $(SC_UNITLINKFLAGS)

SC_CROSSING_TESTS = mpi/crossing-unlaunched.sh mpi/crossing-p2p.sh mpi/crossing-coll.sh \
	mpi/crossing-env.sh mpi/crossing-abort.sh mpi/crossing-unmaps.sh mpi/crossing-signals.sh
# Checkpoint/restart of MPI jobs (upper-half/mpi/): ckpt-lib.sh runs launch, checkpoints,
# kill-checkpoints and restarts under mpiexec.hydra and compares with a native run;
# ckpt-openmpi.sh under Open MPI's mpirun, and restarts under the other MPI; the *-openmpi.sh
# wrappers run another test under Open MPI (ckpt_select_mpi).
SC_CKPT_MPI_TESTS = mpi/ckpt-mix.sh mpi/ckpt-comms.sh mpi/ckpt-stress.sh mpi/ckpt-failure.sh \
	mpi/ckpt-refused.sh mpi/ckpt-ssend.sh mpi/ckpt-openmpi.sh mpi/ckpt-stress-openmpi.sh \
	mpi/ckpt-ssend-openmpi.sh mpi/ckpt-gate-wake.sh mpi/ckpt-gate-wake-openmpi.sh \
	mpi/ckpt-comms-openmpi.sh
TESTS += mpi/test_vhandle $(SC_CROSSING_TESTS) $(SC_CKPT_MPI_TESTS)
EXTRA_DIST += mpi/ckpt-lib.sh $(SC_CKPT_MPI_TESTS) mpi/ckpt_mix.c \
	mpi/ckpt_comms.c mpi/ckpt_ssend.c mpi/ckpt_join.c
EXTRA_DIST += mpi/crossing.mk mpi/crossing-lib.sh mpi/mpi_check.h $(SC_CROSSING_TESTS) mpi/crossing_p2p.c \
	mpi/crossing_coll.c mpi/crossing_env.c mpi/crossing_abort.c mpi/crossing_unmaps.c mpi/crossing_signals.c
