/* Coverage of MPI sessions, in a program that never calls MPI_Init: a session made at the start
 * lives the whole run, with the communicator of its "mpi://WORLD" process set and one of the
 * even ranks (MPI_Comm_create_from_group, string tags), an error handler of the program's own
 * set on the session and called every round, predefined ones given to the communicators; every
 * round a second session and a communicator of its "mpi://SELF" set are made and finalized
 * again. The checkpoint tests restart the long-lived
 * session and communicators. MPI_Initialized and MPI_Finalized stay false (the world model never
 * began). Self-checking; the step marks and the total of checks go through the session's
 * communicator (mpi_check.h's helpers use MPI_COMM_WORLD). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_check.h"

static int rank, size;
static MPI_Session session;
static MPI_Comm world, evens;	/* evens: MPI_COMM_NULL on odd ranks */
static MPI_Errhandler on_error; /* the session's: counts its calls */
static int errors_seen;

static void count_error(MPI_Session *s, int *code, ...)
{
	if (*s == session && *code == MPI_ERR_OTHER)
		errors_seen++;
}

static int has_pset(MPI_Session s, const char *want)
{
	int n = 0, found = 0;
	OK(MPI_Session_get_num_psets(s, MPI_INFO_NULL, &n));
	for (int i = 0; i < n; i++) {
		char name[MPI_MAX_PSET_NAME_LEN];
		int len = sizeof name;
		OK(MPI_Session_get_nth_pset(s, MPI_INFO_NULL, i, &len, name));
		found |= strcmp(name, want) == 0;
	}
	return found;
}

static void setup(void)
{
	MPI_Info info;
	OK(MPI_Info_create(&info));
	OK(MPI_Info_set(info, "thread_level", "MPI_THREAD_SINGLE"));
	OK(MPI_Session_init(info, MPI_ERRORS_RETURN, &session));
	OK(MPI_Info_free(&info));
	CHECK(has_pset(session, "mpi://WORLD") && has_pset(session, "mpi://SELF"));
	MPI_Info pinfo;
	OK(MPI_Session_get_pset_info(session, "mpi://WORLD", &pinfo));
	char val[32] = "";
	int flag = 0;
	OK(MPI_Info_get(pinfo, "mpi_size", sizeof val - 1, val, &flag));
	OK(MPI_Info_free(&pinfo));
	MPI_Group wg;
	OK(MPI_Group_from_session_pset(session, "mpi://WORLD", &wg));
	OK(MPI_Comm_create_from_group(wg, "org.splitckpt.cov.world", MPI_INFO_NULL,
				      MPI_ERRORS_RETURN, &world));
	OK(MPI_Comm_rank(world, &rank));
	OK(MPI_Comm_size(world, &size));
	CHECK(flag && atoi(val) == size);
	int n = (size + 1) / 2, *ev = malloc(sizeof(int) * (size_t)n);
	CHECK(ev);
	for (int i = 0; i < n; i++)
		ev[i] = 2 * i;
	MPI_Group eg;
	OK(MPI_Group_incl(wg, n, ev, &eg));
	free(ev);
	evens = MPI_COMM_NULL;
	if (rank % 2 == 0)
		OK(MPI_Comm_create_from_group(eg, "org.splitckpt.cov.evens", MPI_INFO_NULL,
					      MPI_ERRORS_ARE_FATAL, &evens));
	OK(MPI_Group_free(&eg));
	OK(MPI_Group_free(&wg));
	OK(MPI_Session_create_errhandler(count_error, &on_error));
	OK(MPI_Session_set_errhandler(session, on_error));
}

static void round_of(int step)
{
	int init = 1, fin = 1;
	OK(MPI_Initialized(&init));
	OK(MPI_Finalized(&fin));
	CHECK(!init && !fin);
	/* the long-lived communicators */
	int sum = 0, v = step * 100 + rank;
	OK(MPI_Allreduce(&v, &sum, 1, MPI_INT, MPI_SUM, world));
	CHECK(sum == step * 100 * size + size * (size - 1) / 2);
	int right = (rank + 1) % size, left = (rank + size - 1) % size, got = -1;
	OK(MPI_Sendrecv(&v, 1, MPI_INT, right, step, &got, 1, MPI_INT, left, step, world,
			MPI_STATUS_IGNORE));
	CHECK(got == step * 100 + left);
	if (evens != MPI_COMM_NULL) {
		int esize = 0, erank = -1, max = -1;
		OK(MPI_Comm_size(evens, &esize));
		OK(MPI_Comm_rank(evens, &erank));
		CHECK(esize == (size + 1) / 2 && erank == rank / 2);
		OK(MPI_Allreduce(&v, &max, 1, MPI_INT, MPI_MAX, evens));
		CHECK(max == step * 100 + 2 * (esize - 1));
	}
	/* the communicators keep the error handler their creation gave them */
	MPI_Errhandler eh;
	OK(MPI_Comm_get_errhandler(world, &eh));
	CHECK(eh == MPI_ERRORS_RETURN);
	OK(MPI_Errhandler_free(&eh));
	OK(MPI_Session_get_errhandler(session, &eh));
	CHECK(eh == on_error);
	OK(MPI_Errhandler_free(&eh));
	OK(MPI_Session_call_errhandler(session, MPI_ERR_OTHER));
	CHECK(errors_seen == step);
	MPI_Info used;
	OK(MPI_Session_get_info(session, &used));
	OK(MPI_Info_free(&used));
	/* a session of the round, and a communicator of this process alone */
	MPI_Session s2;
	MPI_Group self;
	MPI_Comm c;
	OK(MPI_Session_init(MPI_INFO_NULL, MPI_ERRORS_RETURN, &s2));
	OK(MPI_Group_from_session_pset(s2, "mpi://SELF", &self));
	OK(MPI_Comm_create_from_group(self, "org.splitckpt.cov.self", MPI_INFO_NULL,
				      MPI_ERRORS_RETURN, &c));
	int one = 0;
	OK(MPI_Comm_size(c, &one));
	CHECK(one == 1);
	OK(MPI_Comm_free(&c));
	OK(MPI_Group_free(&self));
	OK(MPI_Session_finalize(&s2));
	CHECK(s2 == MPI_SESSION_NULL);
}

int main(int argc, char **argv)
{
	int steps = cov_steps(argc, argv);
	setup();
	for (int step = 1; step <= steps; step++) {
		round_of(step);
		/* cov_step_done's mark and pause, on the session's communicator */
		cov_round++;
		if (steps > 1 && rank == 0) {
			printf("step %d\n", step);
			fflush(stdout);
		}
		if (steps > 1)
			usleep(20000);
	}
	long total = 0;
	OK(MPI_Reduce(&cov_checks, &total, 1, MPI_LONG, MPI_SUM, 0, world));
	if (rank == 0)
		printf("cov_session: all %ld checks passed on %d ranks\n", total, size);
	if (evens != MPI_COMM_NULL)
		OK(MPI_Comm_free(&evens));
	OK(MPI_Comm_free(&world));
	OK(MPI_Errhandler_free(&on_error));
	OK(MPI_Session_finalize(&session));
	int fin = 1;
	OK(MPI_Finalized(&fin));
	CHECK(!fin);
	return 0;
}
