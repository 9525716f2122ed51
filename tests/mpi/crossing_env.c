/* The environment functions through the MPI crossing, and MPI from a second thread: that thread
 * gets a lower-half TLS block of its own ("borrowed TLS") and runs a user op callback on it.
 * argv[1] names the thread level asked of MPI_Init_thread (single, funneled, serialized,
 * multiple; default multiple) or "init" for MPI_Init. Self-checking; prints the level provided
 * so that crossing-env.sh can compare it with the native run's. */
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "mpi_check.h"

static int rank, size;
/* Set in both application threads: a user op must run on the TLS of an application thread
 * (with splitckpt a blocking collective is a nonblocking one plus test loops, so the reduction
 * may run in whichever thread drives MPI's progress), never on the lower half's. */
static __thread int tls_marker;

static void sum_marked(void *in, void *inout, int *len, MPI_Datatype *type)
{
	(void)type;
	for (int i = 0; i < *len; i++)
		((int *)inout)[i] += ((int *)in)[i] + (tls_marker == 77 ? 0 : 1000000);
}

static MPI_Comm tcomm;

static void *worker(void *arg)
{
	(void)arg;
	tls_marker = 77;
	int peer = rank ^ 1, v = rank, got = -1;
	for (int i = 0; i < 100; i++) {
		if (rank % 2 == 0) {
			MPI_Send(&v, 1, MPI_INT, peer, i, tcomm);
			MPI_Recv(&got, 1, MPI_INT, peer, i, tcomm, MPI_STATUS_IGNORE);
		} else {
			MPI_Recv(&got, 1, MPI_INT, peer, i, tcomm, MPI_STATUS_IGNORE);
			MPI_Send(&v, 1, MPI_INT, peer, i, tcomm);
		}
		CHECK(got == peer);
	}
	MPI_Op op;
	MPI_Op_create(sum_marked, 1, &op);
	int one = 1, n = 0;
	MPI_Allreduce(&one, &n, 1, MPI_INT, op, tcomm);
	CHECK(n == size);
	MPI_Op_free(&op);
	return NULL;
}

static const struct {
	const char *name;
	int level;
} levels[] = {{"single", MPI_THREAD_SINGLE},
	      {"funneled", MPI_THREAD_FUNNELED},
	      {"serialized", MPI_THREAD_SERIALIZED},
	      {"multiple", MPI_THREAD_MULTIPLE}};
enum { NLEVELS = sizeof(levels) / sizeof(levels[0]) };

static const char *level_name(int level)
{
	for (int i = 0; i < NLEVELS; i++)
		if (levels[i].level == level)
			return levels[i].name;
	return "invalid";
}

int main(int argc, char **argv)
{
	const char *want = argc > 1 ? argv[1] : "multiple";
	int flag = 1, provided = -1, required = -1;
	for (int i = 0; i < NLEVELS; i++)
		if (strcmp(want, levels[i].name) == 0)
			required = levels[i].level;
	MPI_Initialized(&flag);
	CHECK(!flag);
	tls_marker = 77;
	if (strcmp(want, "init") == 0) {
		MPI_Init(&argc, &argv);
		MPI_Query_thread(&provided);
	} else {
		CHECK(required >= 0); /* an unknown level name */
		MPI_Init_thread(&argc, &argv, required, &provided);
	}
	MPI_Initialized(&flag);
	CHECK(flag);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	CHECK(strcmp(level_name(provided), "invalid") != 0);
	int queried = -1;
	MPI_Query_thread(&queried);
	CHECK(queried == provided);
	MPI_Is_thread_main(&flag);
	CHECK(flag);

	/* Open MPI counts from MPI_Init: its first MPI_Wtime may be exactly 0. */
	double t0 = MPI_Wtime(), t1 = MPI_Wtime();
	CHECK(t0 >= 0 && t1 >= t0);
	char name[MPI_MAX_PROCESSOR_NAME];
	int len = -1;
	MPI_Get_processor_name(name, &len);
	CHECK(len > 0 && len < MPI_MAX_PROCESSOR_NAME && (int)strlen(name) == len);

	/* classes keep their meaning across the crossing (MPICH numbers them differently) */
	char msg[MPI_MAX_ERROR_STRING];
	int cls = -1;
	MPI_Error_string(MPI_ERR_TRUNCATE, msg, &len);
	CHECK(len > 0 && (int)strlen(msg) == len);
	MPI_Error_class(MPI_ERR_TRUNCATE, &cls);
	CHECK(cls == MPI_ERR_TRUNCATE);
	MPI_Error_class(MPI_ERR_ROOT, &cls);
	CHECK(cls == MPI_ERR_ROOT);
	MPI_Error_class(MPI_SUCCESS, &cls);
	CHECK(cls == MPI_SUCCESS);

	if (provided == MPI_THREAD_MULTIPLE && size % 2 == 0) {
		MPI_Comm_dup(MPI_COMM_WORLD, &tcomm);
		pthread_t t;
		CHECK(pthread_create(&t, NULL, worker, NULL) == 0);
		/* the main thread keeps using MPI meanwhile, on another communicator */
		for (int i = 0; i < 50; i++) {
			int a = 1, b = 0;
			MPI_Allreduce(&a, &b, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
			CHECK(b == size);
		}
		pthread_join(t, NULL);
		MPI_Comm_free(&tcomm);
	}

	MPI_Finalized(&flag);
	CHECK(!flag);
	MPI_Finalize();
	MPI_Finalized(&flag);
	if (!flag)
		return 3;
	if (rank == 0)
		printf("crossing_env: ok (%d ranks, asked %s, provided %s)\n", size, want,
		       level_name(provided));
	return 0;
}
