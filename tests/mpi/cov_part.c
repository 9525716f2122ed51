/* Coverage of partitioned communication (MPI_Psend_init, MPI_Precv_init, MPI_Pready,
 * MPI_Pready_range, MPI_Pready_list, MPI_Parrived): every round each rank sends 8 partitions to
 * its right neighbour and receives 8 from its left one, marking them ready one by one, as a
 * range and as a list, and polls their arrival. The requests are made and freed every round, so
 * checkpoints between rounds are taken; with --hold a pair of partitioned requests lives the
 * whole run and every checkpoint must be refused, the job going on (ckpt-part.sh); with
 * --hold-last only the last rank holds one (a pair with itself, never started): the refusal of
 * one rank must not leave the others waiting.
 * Self-checking. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_check.h"

#define PARTS 8
#define PER 4 /* ints per partition */

static int rank, size;

static int val(int step, int r, int i)
{
	return step * 100000 + r * 1000 + i;
}

/* One round over the requests s (send) and r (receive), made by the caller. */
static void exchange(int step, MPI_Request s, MPI_Request r, int *out, int *in)
{
	int left = (rank + size - 1) % size;
	for (int i = 0; i < PARTS * PER; i++) {
		out[i] = val(step, rank, i);
		in[i] = -1;
	}
	OK(MPI_Start(&r));
	OK(MPI_Start(&s));
	/* partitions 0-1 one by one, 2-4 as a range, 5-7 as a list */
	OK(MPI_Pready(0, s));
	OK(MPI_Pready(1, s));
	OK(MPI_Pready_range(2, 4, s));
	int rest[] = {7, 5, 6}; /* not const: MPICH 4.0.2's prototype lacks it */
	OK(MPI_Pready_list(3, rest, s));
	/* poll each partition's arrival before the whole receive completes */
	for (int p = 0; p < PARTS; p++) {
		int arrived = 0;
		while (!arrived)
			OK(MPI_Parrived(r, p, &arrived));
		CHECK(in[p * PER] == val(step, left, p * PER));
	}
	OK(MPI_Wait(&s, MPI_STATUS_IGNORE));
	OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
	for (int i = 0; i < PARTS * PER; i++)
		CHECK(in[i] == val(step, left, i));
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	int steps = cov_steps(argc, argv), hold = 0, hold_last = 0;
	for (int i = 1; i < argc; i++) {
		hold |= strcmp(argv[i], "--hold") == 0;
		hold_last |= strcmp(argv[i], "--hold-last") == 0 && rank == size - 1;
	}
	int right = (rank + 1) % size, left = (rank + size - 1) % size;
	int *out = malloc(sizeof(int) * PARTS * PER), *in = malloc(sizeof(int) * PARTS * PER);
	CHECK(out && in);
	MPI_Request held_s = MPI_REQUEST_NULL, held_r = MPI_REQUEST_NULL;
	if (hold) {
		OK(MPI_Psend_init(out, PARTS, PER, MPI_INT, right, 7, MPI_COMM_WORLD, MPI_INFO_NULL,
				  &held_s));
		OK(MPI_Precv_init(in, PARTS, PER, MPI_INT, left, 7, MPI_COMM_WORLD, MPI_INFO_NULL,
				  &held_r));
	}
	MPI_Request self_s = MPI_REQUEST_NULL, self_r = MPI_REQUEST_NULL;
	if (hold_last) {
		OK(MPI_Psend_init(out, PARTS, PER, MPI_INT, 0, 9, MPI_COMM_SELF, MPI_INFO_NULL,
				  &self_s));
		OK(MPI_Precv_init(in, PARTS, PER, MPI_INT, 0, 9, MPI_COMM_SELF, MPI_INFO_NULL,
				  &self_r));
	}
	for (int step = 1; step <= steps; step++) {
		MPI_Request s = held_s, r = held_r;
		if (!hold) {
			OK(MPI_Psend_init(out, PARTS, PER, MPI_INT, right, step, MPI_COMM_WORLD,
					  MPI_INFO_NULL, &s));
			OK(MPI_Precv_init(in, PARTS, PER, MPI_INT, left, step, MPI_COMM_WORLD,
					  MPI_INFO_NULL, &r));
		}
		exchange(step, s, r, out, in);
		if (!hold) {
			OK(MPI_Request_free(&s));
			OK(MPI_Request_free(&r));
		}
		cov_step_done(step, steps);
	}
	if (hold) {
		OK(MPI_Request_free(&held_s));
		OK(MPI_Request_free(&held_r));
	}
	if (hold_last) {
		OK(MPI_Request_free(&self_s));
		OK(MPI_Request_free(&self_r));
	}
	free(out);
	free(in);
	cov_finish("cov_part");
	MPI_Finalize();
	return 0;
}
