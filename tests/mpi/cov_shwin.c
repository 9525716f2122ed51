/* Coverage of shared-memory windows (MPI_Win_allocate_shared, MPI_Win_shared_query and their _c
 * forms) with a producer/consumer pattern: one window lives the whole run in a lock_all epoch;
 * every round each rank produces into its own segment with plain stores, stores straight into
 * its right neighbour's segment through the address MPI_Win_shared_query gave, and puts into
 * it with MPI_Put, then (MPI_Win_sync, a barrier, MPI_Win_sync) consumes what the others wrote
 * with plain loads; a counter in rank 0's segment is fetched-and-added. A restart must share the
 * memory again: a store of one process must reach the others' loads. A second window, made
 * and freed every round, asks for non-contiguous segments and gives the last rank none.
 * Self-checking. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mpi_check.h"

#define SLOTS                                                                                      \
	8 /* longs per segment: 0-1 produced, 2 put by the left neighbour, 3 counter, 4            \
	   * stored by the left neighbour */

static int rank, size;
static MPI_Comm node;
static MPI_Win win;
static long *mine;

static long value(int step, int r)
{
	return (long)step * 1000003 + r * 101;
}

/* The segment of rank r, as MPI_Win_shared_query says (checking its size and unit). */
static long *segment_of(MPI_Win w, int r, MPI_Aint want_size, int want_unit)
{
	MPI_Aint sz = -1;
	int du = -1;
	long *p = NULL;
	OK(MPI_Win_shared_query(w, r, &sz, &du, &p));
	CHECK(sz == want_size && du == want_unit);
	return p;
}

static long *segment(MPI_Win w, int r, MPI_Aint want_size)
{
	return segment_of(w, r, want_size, sizeof(long));
}

static void setup(void)
{
	OK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
	int n = 0;
	OK(MPI_Comm_size(node, &n));
	CHECK(n == size); /* the tests run on one node */
	OK(MPI_Win_allocate_shared(SLOTS * sizeof(long), sizeof(long), MPI_INFO_NULL, node, &mine,
				   &win));
	for (int i = 0; i < SLOTS; i++)
		mine[i] = -1;
	mine[3] = 0;
	OK(MPI_Win_lock_all(MPI_MODE_NOCHECK, win));
	OK(MPI_Win_sync(win));
	OK(MPI_Barrier(node));
	OK(MPI_Win_sync(win));
}

static void round_of(int step)
{
	int right = (rank + 1) % size, left = (rank + size - 1) % size;
	/* produce: own segment, the right neighbour's by a store and by MPI_Put */
	mine[0] = value(step, rank);
	mine[1] = step;
	long *theirs = segment(win, right, SLOTS * sizeof(long));
	theirs[4] = value(step, rank) + 11;
	long put = value(step, rank) + 7, one = 1, ticket = -1;
	OK(MPI_Put(&put, 1, MPI_LONG, right, 2, 1, MPI_LONG, win));
	OK(MPI_Fetch_and_op(&one, &ticket, MPI_LONG, 0, 3, MPI_SUM, win));
	OK(MPI_Win_flush_all(win));
	CHECK(ticket >= 0 && ticket < (long)step * size);
	OK(MPI_Win_sync(win));
	OK(MPI_Barrier(node));
	OK(MPI_Win_sync(win));
	/* consume: every segment with plain loads */
	for (int r = 0; r < size; r++) {
		const long *p = segment(win, r, SLOTS * sizeof(long));
		CHECK(p[0] == value(step, r) && p[1] == step);
	}
	CHECK(mine[2] == value(step, left) + 7 && mine[4] == value(step, left) + 11);
	/* contiguous by default: each segment right after the previous one */
	CHECK(segment(win, right, SLOTS * sizeof(long)) ==
	      (right ? mine + SLOTS : mine - (long)rank * SLOTS));
	long *first = NULL;
	MPI_Aint sz = -1, du = -1;
	OK(MPI_Win_shared_query_c(win, MPI_PROC_NULL, &sz, &du, &first));
	CHECK(first == mine - (long)rank * SLOTS && sz == SLOTS * sizeof(long) &&
	      du == sizeof(long));
	int *flavor = NULL, flag = 0;
	OK(MPI_Win_get_attr(win, MPI_WIN_CREATE_FLAVOR, &flavor, &flag));
	CHECK(flag && *flavor == MPI_WIN_FLAVOR_SHARED);
	OK(MPI_Win_sync(win));
	OK(MPI_Barrier(node)); /* nobody produces the next round before all consumed */

	/* a window of a round: non-contiguous, the last rank without memory (_c form) */
	MPI_Info info;
	MPI_Win w2;
	int *seg2 = NULL;
	MPI_Aint n2 = rank == size - 1 ? 0 : 3 * sizeof(int);
	OK(MPI_Info_create(&info));
	OK(MPI_Info_set(info, "alloc_shared_noncontig", "true"));
	OK(MPI_Win_allocate_shared_c(n2, sizeof(int), info, node, &seg2, &w2));
	OK(MPI_Info_free(&info));
	OK(MPI_Win_fence(0, w2));
	if (n2)
		seg2[0] = (int)value(step, rank);
	OK(MPI_Win_fence(0, w2));
	for (int r = 0; r < size - 1; r++) {
		const int *p = (const int *)segment_of(w2, r, 3 * sizeof(int), sizeof(int));
		CHECK(p && p[0] == (int)value(step, r));
	}
	MPI_Aint zero = -1;
	int unit = -1;
	void *none = NULL;
	OK(MPI_Win_shared_query(w2, size - 1, &zero, &unit, &none));
	CHECK(zero == 0 && unit == (int)sizeof(int));
	OK(MPI_Win_free(&w2));
	CHECK(w2 == MPI_WIN_NULL);
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	CHECK(size >= 2);
	int steps = cov_steps(argc, argv);
	setup();
	for (int step = 1; step <= steps; step++) {
		round_of(step);
		cov_step_done(step, steps);
	}
	OK(MPI_Win_unlock_all(win));
	OK(MPI_Barrier(node));
	if (rank == 0)
		CHECK(mine[3] == (long)steps * size);
	/* a window is not shared memory unless MPI_Win_allocate_shared made it */
	MPI_Win plain;
	long *buf = NULL;
	OK(MPI_Win_allocate(sizeof(long), sizeof(long), MPI_INFO_NULL, node, &buf, &plain));
	MPI_Aint sz = 0;
	int du = 0;
	void *p = NULL;
	OK(MPI_Win_set_errhandler(plain, MPI_ERRORS_RETURN));
	CHECK(MPI_Win_shared_query(plain, 0, &sz, &du, &p) != MPI_SUCCESS);
	OK(MPI_Win_free(&plain));
	OK(MPI_Win_free(&win));
	OK(MPI_Comm_free(&node));
	cov_finish("cov_shwin");
	MPI_Finalize();
	return 0;
}
