/* Communicators that ranks hold differently at a checkpoint, for ckpt-comms.sh: splits that give
 * some ranks MPI_COMM_NULL, a duplicate each rank frees at its own moment (ranks drift, so a cut
 * finds it freed on some and live on others), a parent freed at once while a child lives on
 * some ranks only, two MPI_Comm_create_group and two MPI_Intercomm_create on the same groups
 * and tag, an MPI_Intercomm_merge, an MPI_Cart_sub whose parent is gone and a weighted
 * distributed graph, a duplicate made with hints and an info kept across steps, and with
 * --many M, M duplicates used in turn (200 make more clocks than one
 * coordinator message holds). Every step uses each live communicator and checks ranks, sizes,
 * topology and results; rank 0 prints a digest per step.
 * Usage: ckpt_comms --steps N [--many M] (4 ranks or more). */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rank;
#include "mpi_check.h"

#define DEPTH 3 /* steps a split lives */

static uint64_t digest = 1469598103934665603ull;

static void fold(long v)
{
	digest = (digest ^ (uint64_t)v) * 1099511628211ull;
}

static int split_color(int r, int step)
{
	return (r + step) % 3 == 0 ? MPI_UNDEFINED : r % 2;
}

/* An Allreduce of the world ranks over comm, checked against the members' sum. */
static void check_sum(MPI_Comm comm, long want)
{
	long mine = rank, sum = 0;
	OK(MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, comm));
	CHECK(sum == want);
	fold(sum);
}

/* The split of `step`: members are ordered by descending world rank (key -rank). */
static void check_split(MPI_Comm c, int step, int size)
{
	long want = 0;
	int n = 0, above = 0;
	for (int r = 0; r < size; r++)
		if (split_color(r, step) == split_color(rank, step)) {
			want += r;
			n++;
			above += r > rank;
		}
	int crank, csize;
	OK(MPI_Comm_rank(c, &crank));
	OK(MPI_Comm_size(c, &csize));
	CHECK(csize == n && crank == above);
	check_sum(c, want);
}

/* An intercommunicator between the even and the odd world ranks: sums the remote group. */
static void check_inter(MPI_Comm inter, int size)
{
	long want = 0, mine = rank, sum = 0;
	for (int r = 0; r < size; r++)
		want += r % 2 != rank % 2 ? r : 0;
	int flag = 0, rsize;
	OK(MPI_Comm_test_inter(inter, &flag));
	OK(MPI_Comm_remote_size(inter, &rsize));
	CHECK(flag && rsize == (rank % 2 ? (size + 1) / 2 : size / 2));
	OK(MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, inter));
	CHECK(sum == want);
	fold(sum);
}

/* The duplicate keeps its creation's hint; the kept info has exactly "fixed" and the last
 * step, which then moves on. */
static void check_hints(MPI_Comm hinted, MPI_Info kept, int step)
{
	MPI_Info used;
	char value[32];
	int flag = 0, nkeys = -1;
	OK(MPI_Comm_get_info(hinted, &used));
	OK(MPI_Info_get(used, "mpi_assert_no_any_tag", 31, value, &flag));
	CHECK(flag && strcmp(value, "true") == 0);
	OK(MPI_Info_free(&used));
	OK(MPI_Info_get_nkeys(kept, &nkeys));
	CHECK(nkeys == 2);
	OK(MPI_Info_get(kept, "fixed", 31, value, &flag));
	CHECK(flag && strcmp(value, "alpha") == 0);
	OK(MPI_Info_get(kept, "step", 31, value, &flag));
	CHECK(flag && atoi(value) == step - 1);
	snprintf(value, sizeof value, "%d", step);
	OK(MPI_Info_set(kept, "step", value));
}

int main(int argc, char **argv)
{
	int size, steps = cov_steps(argc, argv), nmany = 0;
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--many") == 0)
			nmany = atoi(argv[i + 1]);
	OK(MPI_Init(&argc, &argv));
	OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
	OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
	CHECK(size >= 4);
	long all = (long)size * (size - 1) / 2;
	const int left = (rank + size - 1) % size, right = (rank + 1) % size;

	/* for the whole run: two communicators of the first two ranks with the same group, two
	 * intercommunicators between the same halves with the same tag, their merge */
	MPI_Group world_group, pair_group;
	MPI_Comm pair[2] = {MPI_COMM_NULL, MPI_COMM_NULL}, half, inter[2], merged;
	OK(MPI_Comm_group(MPI_COMM_WORLD, &world_group));
	OK(MPI_Group_incl(world_group, 2, (int[]){0, 1}, &pair_group));
	for (int i = 0; i < 2 && rank < 2; i++)
		OK(MPI_Comm_create_group(MPI_COMM_WORLD, pair_group, 7, &pair[i]));
	OK(MPI_Group_free(&pair_group));
	OK(MPI_Group_free(&world_group));
	OK(MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half));
	for (int i = 0; i < 2; i++)
		OK(MPI_Intercomm_create(half, 0, MPI_COMM_WORLD, rank % 2 ? 0 : 1, 11, &inter[i]));
	OK(MPI_Intercomm_merge(inter[1], rank % 2, &merged));

	/* a Cartesian sub-grid whose parent is freed at once; a weighted ring as a graph */
	int dims[2] = {0, 0}, periods[2] = {1, 0}, coords[2];
	OK(MPI_Dims_create(size, 2, dims));
	MPI_Comm cart, row, ring;
	OK(MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &cart));
	OK(MPI_Cart_coords(cart, rank, 2, coords));
	OK(MPI_Cart_sub(cart, (int[]){0, 1}, &row));
	OK(MPI_Comm_free(&cart));
	OK(MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 1, (int[]){left}, (int[]){left + 1}, 1,
					  (int[]){right}, (int[]){rank + 1}, MPI_INFO_NULL, 0,
					  &ring));

	/* hints: a duplicate made with an info the application frees at once, and an info it
	 * keeps, reads and changes every step (its keys must survive a restart) */
	MPI_Info hints, kept;
	MPI_Comm hinted;
	OK(MPI_Info_create(&hints));
	OK(MPI_Info_set(hints, "mpi_assert_no_any_tag", "true"));
	OK(MPI_Comm_dup_with_info(MPI_COMM_WORLD, hints, &hinted));
	OK(MPI_Info_free(&hints));
	OK(MPI_Info_create(&kept));
	OK(MPI_Info_set(kept, "fixed", "alpha"));
	OK(MPI_Info_set(kept, "gone", "soon"));
	OK(MPI_Info_set(kept, "step", "-1"));
	OK(MPI_Info_delete(kept, "gone"));

	MPI_Comm *many = calloc((size_t)(nmany > 0 ? nmany : 1), sizeof *many);
	CHECK(many != NULL);
	for (int i = 0; i < nmany; i++)
		OK(MPI_Comm_dup(MPI_COMM_WORLD, &many[i]));

	MPI_Comm split[DEPTH] = {MPI_COMM_NULL, MPI_COMM_NULL, MPI_COMM_NULL};
	MPI_Comm dup = MPI_COMM_NULL, child = MPI_COMM_NULL;
	for (int step = 0; step < steps; step++) {
		/* the duplicate of the previous step, freed after a pause that differs by rank */
		usleep(1000 * (unsigned)(rank * 3 + step % 4));
		if (dup != MPI_COMM_NULL)
			OK(MPI_Comm_free(&dup));
		OK(MPI_Comm_dup(MPI_COMM_WORLD, &dup));
		check_sum(dup, all);

		/* a split that gives every third rank MPI_COMM_NULL, freed DEPTH steps later */
		MPI_Comm *s = &split[step % DEPTH];
		if (*s != MPI_COMM_NULL)
			OK(MPI_Comm_free(s));
		OK(MPI_Comm_split(MPI_COMM_WORLD, split_color(rank, step), -rank, s));
		CHECK((*s == MPI_COMM_NULL) == (split_color(rank, step) == MPI_UNDEFINED));
		for (int k = 0; k < DEPTH && k <= step; k++)
			if (split[(step - k) % DEPTH] != MPI_COMM_NULL)
				check_split(split[(step - k) % DEPTH], step - k, size);

		/* a child of a parent freed at once, on ranks 0 and 1 only, used and freed a step
		 * later: at a cut those two keep the freed parent, the others have nothing */
		if (child != MPI_COMM_NULL) {
			check_sum(child, 1);
			OK(MPI_Comm_free(&child));
		}
		MPI_Comm parent;
		OK(MPI_Comm_dup(MPI_COMM_WORLD, &parent));
		OK(MPI_Comm_split(parent, rank < 2 ? 0 : MPI_UNDEFINED, rank, &child));
		OK(MPI_Comm_free(&parent));

		for (int i = 0; i < 2 && rank < 2; i++) {
			int x = rank + 10 * i + step, y = 0;
			OK(MPI_Allreduce(&x, &y, 1, MPI_INT, MPI_MAX, pair[i]));
			CHECK(y == 1 + 10 * i + step);
			fold(y);
		}
		for (int i = 0; i < 2; i++)
			check_inter(inter[i], size);
		int mrank;
		OK(MPI_Comm_rank(merged, &mrank));
		CHECK(mrank == (rank % 2 ? size / 2 + (size % 2) + rank / 2 : rank / 2));
		check_sum(merged, all);

		/* the row keeps its topology: one dimension of dims[1], periodic as its parent's */
		int ndims = 0, rdims[1], rperiods[1], rcoords[1];
		OK(MPI_Cartdim_get(row, &ndims));
		CHECK(ndims == 1);
		OK(MPI_Cart_get(row, 1, rdims, rperiods, rcoords));
		CHECK(rdims[0] == dims[1] && rperiods[0] == 0 && rcoords[0] == coords[1]);
		long rowsum = 0;
		for (int r = 0; r < size; r++)
			rowsum += r / dims[1] == rank / dims[1] ? r : 0;
		check_sum(row, rowsum);

		/* the ring: its neighbours and weights, and a neighbour exchange */
		int src, srcw, dst, dstw, indeg, outdeg, weighted, got = -1,
								   mine = rank * 100 + step;
		OK(MPI_Dist_graph_neighbors_count(ring, &indeg, &outdeg, &weighted));
		CHECK(indeg == 1 && outdeg == 1 && weighted);
		OK(MPI_Dist_graph_neighbors(ring, 1, &src, &srcw, 1, &dst, &dstw));
		CHECK(src == left && srcw == left + 1 && dst == right && dstw == rank + 1);
		OK(MPI_Neighbor_allgather(&mine, 1, MPI_INT, &got, 1, MPI_INT, ring));
		CHECK(got == left * 100 + step);
		fold(got);

		check_hints(hinted, kept, step);
		check_sum(hinted, all);

		for (int i = 0; i < 3 && nmany > 0; i++)
			check_sum(many[(step * 3 + i) % nmany], all);

		long d = (long)(digest >> 1), dmax = 0;
		OK(MPI_Reduce(&d, &dmax, 1, MPI_LONG, MPI_MAX, 0, MPI_COMM_WORLD));
		if (rank == 0) {
			printf("step %d digest %016lx\n", step, (unsigned long)dmax);
			fflush(stdout);
		}
		cov_step_done(step, 1); /* counts the round; no pause: ranks drift as they are */
		usleep(5000);
	}
	OK(MPI_Info_free(&kept));
	OK(MPI_Comm_free(&hinted));
	for (int i = 0; i < nmany; i++)
		OK(MPI_Comm_free(&many[i]));
	free(many);
	cov_finish("ckpt_comms");
	MPI_Finalize();
	return 0;
}
