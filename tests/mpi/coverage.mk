# Coverage of the MPI crossing (wrappers/COVERAGE.md). Fragment included by tests/Makefile.am;
# paths relative to tests/. Each cov-*.sh builds tests/mpi/cov_*.c natively (mpicc.mpich) and with
# splitckpt-mpicc and runs both with 2 and 4 ranks (crossing-lib.sh; skip without MPICH); the
# programs check every value they get. cov-doc.sh keeps COVERAGE.md in step with mpi.list.
SC_COVERAGE_TESTS = mpi/cov-doc.sh mpi/cov-p2p.sh mpi/cov-coll.sh mpi/cov-comm.sh \
	mpi/cov-topo.sh mpi/cov-types.sh mpi/cov-misc.sh mpi/cov-legacy.sh mpi/cov-large.sh \
	mpi/cov-pcoll.sh mpi/cov-dynwin.sh mpi/cov-io.sh mpi/cov-shwin.sh \
	mpi/cov-pscw.sh mpi/cov-nbr.sh mpi/cov-interop.sh \
	mpi/cov-session.sh mpi/cov-part.sh mpi/cov-errors.sh mpi/cov-dynproc.sh
# ckpt-cov.sh, ckpt-cov2.sh, ckpt-cov3.sh: the same programs checkpointed at random moments,
# killed, restarted (ckpt-lib.sh); ckpt-cov-openmpi.sh: those Open MPI 4.1 can run, under it;
# ckpt-part.sh: checkpoints refused while partitioned requests live.
SC_COVERAGE_TESTS += mpi/ckpt-cov.sh mpi/ckpt-cov2.sh mpi/ckpt-cov3.sh mpi/ckpt-cov-openmpi.sh \
	mpi/ckpt-part.sh
TESTS += $(SC_COVERAGE_TESTS)
EXTRA_DIST += mpi/coverage.mk $(SC_COVERAGE_TESTS) mpi/cov_p2p.c mpi/cov_coll.c mpi/cov_comm.c \
	mpi/cov_topo.c mpi/cov_types.c mpi/cov_misc.c mpi/cov_legacy.c \
	mpi/cov_large.c mpi/cov_pcoll.c mpi/cov_dynwin.c mpi/cov_io.c mpi/cov_shwin.c \
	mpi/cov_pscw.c mpi/cov_nbr.c mpi/cov_interop.c \
	mpi/cov_session.c mpi/cov_part.c mpi/cov_errors.c mpi/cov_dynproc.c
