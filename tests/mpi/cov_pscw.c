/* Coverage of general active target synchronization (MPI_Win_post/start/complete/wait/test).
 * Every round: a ring (each rank exposes its window to its left neighbour and puts into its
 * right one, then waits), a gather into rank 0 (which exposes to all and polls MPI_Win_test)
 * and a scatter read by rank 0 (access to all, MPI_Get; the others expose with
 * MPI_MODE_NOPUT), with a barrier between the ring and the gather (see main). The epochs last
 * a while (a pause inside each), so checkpoints land in them: a cut must let them end first.
 * The window begins with a fence that opens no epoch. Self-checking. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mpi_check.h"

static int rank, size;
static MPI_Win win;
static long *mem; /* [0]: put by the left neighbour, [1..size]: put by each rank into rank 0 */
static MPI_Group world, left_g, right_g, zero_g, others_g;

static long value(int step, int r)
{
	return (long)step * 1000003 + r * 101 + 5;
}

static void setup(void)
{
	OK(MPI_Alloc_mem((MPI_Aint)sizeof(long) * (size + 1), MPI_INFO_NULL, &mem));
	for (int i = 0; i <= size; i++)
		mem[i] = -1;
	OK(MPI_Win_create(mem, (MPI_Aint)sizeof(long) * (size + 1), sizeof(long), MPI_INFO_NULL,
			  MPI_COMM_WORLD, &win));
	OK(MPI_Win_fence(0, win)); /* opens no epoch: PSCW may follow */
	OK(MPI_Comm_group(MPI_COMM_WORLD, &world));
	int left = (rank + size - 1) % size, right = (rank + 1) % size, zero = 0;
	OK(MPI_Group_incl(world, 1, &left, &left_g));
	OK(MPI_Group_incl(world, 1, &right, &right_g));
	OK(MPI_Group_incl(world, 1, &zero, &zero_g));
	OK(MPI_Group_excl(world, 1, &zero, &others_g));
}

static void ring(int step)
{
	int left = (rank + size - 1) % size;
	OK(MPI_Win_post(left_g, 0, win));
	OK(MPI_Win_start(right_g, 0, win));
	long v = value(step, rank);
	usleep(1000);
	OK(MPI_Put(&v, 1, MPI_LONG, (rank + 1) % size, 0, 1, MPI_LONG, win));
	OK(MPI_Win_complete(win));
	OK(MPI_Win_wait(win));
	CHECK(mem[0] == value(step, left));
}

static void gather_to_zero(int step)
{
	if (rank == 0) {
		OK(MPI_Win_post(others_g, 0, win));
		int flag = 0, polls = 0;
		while (!flag) {
			OK(MPI_Win_test(win, &flag));
			if (!flag)
				usleep(200);
			polls++;
		}
		CHECK(polls >= 1);
		for (int r = 1; r < size; r++)
			CHECK(mem[1 + r] == value(step, r) + 1);
	} else {
		OK(MPI_Win_start(zero_g, 0, win));
		long v = value(step, rank) + 1;
		OK(MPI_Put(&v, 1, MPI_LONG, 0, 1 + rank, 1, MPI_LONG, win));
		usleep(1000);
		OK(MPI_Win_complete(win));
	}
}

static void read_by_zero(int step)
{
	if (rank == 0) {
		long got[64];
		OK(MPI_Win_start(others_g, 0, win));
		for (int r = 1; r < size && r < 64; r++)
			OK(MPI_Get(&got[r], 1, MPI_LONG, r, 0, 1, MPI_LONG, win));
		OK(MPI_Win_complete(win));
		for (int r = 1; r < size && r < 64; r++)
			CHECK(got[r] == value(step, r - 1)); /* rank r's left neighbour put it */
	} else {
		OK(MPI_Win_post(zero_g, MPI_MODE_NOPUT, win));
		usleep(500);
		OK(MPI_Win_wait(win));
	}
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	CHECK(size >= 2 && size <= 64);
	int steps = cov_steps(argc, argv);
	setup();
	long sum = 0;
	for (int step = 1; step <= steps; step++) {
		ring(step);
		/* MPICH 4.0 (ch4) counts the posts that reach a rank per window, not per target,
		 * and MPI_Win_start waits for that count to equal its group's size: rank 0's
		 * gather post arriving before rank 1's or 2's ring start has seen its neighbour's
		 * post makes the count overshoot and MPI_Win_start hang, natively too (a late
		 * rank, e.g. one that made progress in MPI_Iprobe between its post and start). */
		OK(MPI_Barrier(MPI_COMM_WORLD));
		gather_to_zero(step);
		read_by_zero(step);
		sum += mem[0];
		cov_step_done(step, steps);
	}
	long total = 0;
	OK(MPI_Allreduce(&sum, &total, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD));
	long want = 0;
	for (int step = 1; step <= steps; step++)
		for (int r = 0; r < size; r++)
			want += value(step, r);
	CHECK(total == want);
	MPI_Group groups[] = {world, left_g, right_g, zero_g, others_g};
	for (int i = 0; i < 5; i++)
		OK(MPI_Group_free(&groups[i]));
	OK(MPI_Win_free(&win));
	OK(MPI_Free_mem(mem));
	cov_finish("cov_pscw");
	MPI_Finalize();
	return 0;
}
