# Tests of this area (fragment included by tests/Makefile.am; paths relative to tests/).
# End-to-end checkpoint/restart tests: test programs (plain dynamically linked executables, no
# sanitizers: they run inside split processes) and bash scripts driving the real `splitckpt`.
# lib.sh holds the mechanics, scenarios.sh the checks each program script runs.
SC_E2E_PROG_CFLAGS = -std=gnu11 $(SC_CFLAGS)

check_PROGRAMS += e2e/progs/state e2e/progs/threads e2e/progs/omp e2e/progs/timers \
	e2e/progs/holder e2e/progs/pending
e2e_progs_holder_SOURCES = e2e/progs/holder.c
e2e_progs_pending_SOURCES = e2e/progs/pending.c
e2e_progs_pending_CFLAGS = $(SC_E2E_PROG_CFLAGS)
e2e_progs_timers_SOURCES = e2e/progs/timers.c
e2e_progs_state_SOURCES = e2e/progs/state.c
e2e_progs_state_CFLAGS = $(SC_E2E_PROG_CFLAGS)
e2e_progs_threads_SOURCES = e2e/progs/threads.c
e2e_progs_threads_CFLAGS = $(SC_E2E_PROG_CFLAGS) -pthread
e2e_progs_threads_LDFLAGS = -pthread
e2e_progs_omp_SOURCES = e2e/progs/omp.c
e2e_progs_omp_CFLAGS = $(SC_E2E_PROG_CFLAGS) -fopenmp
e2e_progs_omp_LDFLAGS = -fopenmp

SC_E2E_TESTS = \
	e2e/native.sh \
	e2e/ckpt-state.sh e2e/ckpt-threads.sh e2e/ckpt-omp.sh e2e/ckpt-python.sh \
	e2e/ckpt-python-path.sh e2e/ckpt-torch.sh e2e/ckpt-numpy.sh e2e/ckpt-timers.sh \
	e2e/ckpt-timers-mpilh.sh e2e/ckpt-pending.sh e2e/refuse.sh e2e/disk-full.sh \
	e2e/interval-state.sh e2e/interval-threads.sh e2e/interval-omp.sh e2e/interval-python.sh \
	e2e/errors.sh
TESTS += $(SC_E2E_TESTS)
EXTRA_DIST += $(SC_E2E_TESTS) e2e/lib.sh e2e/scenarios.sh e2e/progs/script.py \
	e2e/progs/train_torch.py e2e/progs/train_numpy.py \
	e2e/progs/progargs.h
