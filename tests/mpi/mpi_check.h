/* The self-check of the MPI test programs: CHECK(c) aborts the whole job with status 2 and a
 * message naming the rank, file, line and condition, and counts the places where checks held;
 * OK(call) checks an MPI call succeeded. The coverage programs repeat their sections for `--steps
 * N` rounds (cov_steps, cov_step_done) so the checkpoint tests can cut them anywhere, and end with
 * the job's total of checks (cov_finish): the same number as a native run. */
#ifndef SC_MPI_CHECK_H
#define SC_MPI_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long cov_checks; /* check sites that held, per round (see CHECK) */
static int cov_round = 1;

/* A check counts once per round at each place it is written: how often a polling loop repeats
 * its checks depends on timing, which places ran in a round does not, so a checkpointed run
 * and a native one count the same. */
#define CHECK(c)                                                                                   \
	do {                                                                                       \
		static int site_round_;                                                            \
		if (!(c)) {                                                                        \
			fprintf(stderr, "rank %d: %s:%d: check failed: %s\n", rank, __FILE__,      \
				__LINE__, #c);                                                     \
			MPI_Abort(MPI_COMM_WORLD, 2);                                              \
		}                                                                                  \
		if (site_round_ != cov_round) {                                                    \
			site_round_ = cov_round;                                                   \
			cov_checks++;                                                              \
		}                                                                                  \
	} while (0)
#define OK(call) CHECK((call) == MPI_SUCCESS)

/* The number of rounds asked by `--steps N` (1 without it). */
static inline int cov_steps(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--steps") == 0)
			return atoi(argv[i + 1]) > 0 ? atoi(argv[i + 1]) : 1;
	return 1;
}

/* After round `step` of `steps`: rank 0 says so ("step N", the checkpoint tests' progress mark)
 * when there are several, and every rank pauses a little so checkpoints land in all sections.
 * No barrier: ranks drift apart between collectives, as in real programs. */
static inline void cov_step_done(int step, int steps)
{
	cov_round++;
	if (steps <= 1)
		return;
	int me;
	MPI_Comm_rank(MPI_COMM_WORLD, &me);
	if (me == 0) {
		printf("step %d\n", step);
		fflush(stdout);
	}
	usleep(20000);
}

/* The end: rank 0 prints the job's total of checks that held. */
static inline void cov_finish(const char *name)
{
	long total = 0;
	int me, n;
	MPI_Comm_rank(MPI_COMM_WORLD, &me);
	MPI_Comm_size(MPI_COMM_WORLD, &n);
	MPI_Reduce(&cov_checks, &total, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
	if (me == 0)
		printf("%s: all %ld checks passed on %d ranks\n", name, total, n);
}

#endif
