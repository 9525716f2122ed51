/* Coverage of MPI 4.0's persistent collectives: one request of each kind is made at the start
 * (on MPI_COMM_WORLD and on a split communicator, some with a derived datatype freed right
 * after the init) and started every round with new data, some together with MPI_Startall and
 * left in flight across other work; every result is checked. The checkpoint tests restart the
 * requests, so a round after a restart starts the requests made before it. Self-checking.
 * Not here: MPI_Gather_init, MPI_Allgather_init (MPICH 4.0.2 gathers stale or garbage data
 * when started again) and MPI_Scatter_init (fails on its second start), natively too. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_check.h"

static int rank, size;

enum {
	BARRIER,
	BCAST,
	REDUCE,
	ALLREDUCE,
	SCAN,
	EXSCAN,
	GATHERV,
	SCATTERV,
	ALLGATHERV,
	ALLTOALL,
	ALLTOALLV,
	ALLTOALLW,
	RSB,
	RS,
	HALF_ALLREDUCE,
	NREQ
};

static MPI_Request req[NREQ];
static MPI_Comm half; /* ranks split by parity */
static int half_rank, half_size;

/* Buffers the requests were made with: each round writes new inputs into them. */
static int bval, red_in, red_out, ar_in[2], ar_out[2], scan_out, exscan_out, half_in, half_out;
static int *gat_in, *gatv_out, *scv_in, scv_out[2];
static int *agv_out, *a2a_in, *a2a_out, *a2av_out, *a2aw_out, *rs_in, rsb_out, rs_out;
static int *counts2, *displs2, *wdispls2, *ones;
static MPI_Datatype *types, pair;

static int *ints(int n)
{
	int *p = calloc((size_t)n, sizeof(int));
	CHECK(p != NULL);
	return p;
}

static void setup(void)
{
	const int n = size;
	gat_in = ints(2), gatv_out = ints(2 * n);
	scv_in = ints(2 * n), agv_out = ints(2 * n), a2a_in = ints(2 * n);
	a2a_out = ints(2 * n), a2av_out = ints(2 * n), a2aw_out = ints(2 * n), rs_in = ints(n);
	counts2 = ints(n), displs2 = ints(n), wdispls2 = ints(n), ones = ints(n);
	types = malloc(sizeof *types * (size_t)n);
	for (int i = 0; i < n; i++) {
		counts2[i] = 2;
		displs2[i] = 2 * i;
		wdispls2[i] = 2 * i * (int)sizeof(int);
		ones[i] = 1;
	}
	/* a derived type each MPI_Alltoallw_init peer uses, freed at once: the requests keep it */
	OK(MPI_Type_contiguous(2, MPI_INT, &pair));
	OK(MPI_Type_commit(&pair));
	for (int i = 0; i < n; i++)
		types[i] = pair;
	OK(MPI_Type_contiguous(1, pair, &types[0])); /* a second one for peer 0 */
	OK(MPI_Type_commit(&types[0]));
	MPI_Info info;
	OK(MPI_Info_create(&info));
	OK(MPI_Info_set(info, "cov_pcoll", "yes"));
	MPI_Comm w = MPI_COMM_WORLD;
	OK(MPI_Barrier_init(w, info, &req[BARRIER]));
	OK(MPI_Bcast_init(&bval, 1, MPI_INT, size - 1, w, info, &req[BCAST]));
	OK(MPI_Reduce_init(&red_in, &red_out, 1, MPI_INT, MPI_SUM, 0, w, MPI_INFO_NULL,
			   &req[REDUCE]));
	OK(MPI_Allreduce_init(ar_in, ar_out, 2, MPI_INT, MPI_MAX, w, MPI_INFO_NULL,
			      &req[ALLREDUCE]));
	OK(MPI_Scan_init(&red_in, &scan_out, 1, MPI_INT, MPI_SUM, w, MPI_INFO_NULL, &req[SCAN]));
	OK(MPI_Exscan_init(&red_in, &exscan_out, 1, MPI_INT, MPI_SUM, w, MPI_INFO_NULL,
			   &req[EXSCAN]));
	/* the root's counts only: other ranks pass NULL, as programs do */
	OK(MPI_Gatherv_init(gat_in, 2, MPI_INT, gatv_out, rank == 1 ? counts2 : NULL,
			    rank == 1 ? displs2 : NULL, MPI_INT, 1, w, MPI_INFO_NULL,
			    &req[GATHERV]));
	OK(MPI_Scatterv_init(scv_in, rank == 0 ? counts2 : NULL, rank == 0 ? displs2 : NULL,
			     MPI_INT, scv_out, 2, MPI_INT, 0, w, MPI_INFO_NULL, &req[SCATTERV]));
	OK(MPI_Allgatherv_init(gat_in, 2, MPI_INT, agv_out, counts2, displs2, MPI_INT, w,
			       MPI_INFO_NULL, &req[ALLGATHERV]));
	OK(MPI_Alltoall_init(a2a_in, 2, MPI_INT, a2a_out, 2, MPI_INT, w, MPI_INFO_NULL,
			     &req[ALLTOALL]));
	OK(MPI_Alltoallv_init(a2a_in, counts2, displs2, MPI_INT, a2av_out, counts2, displs2,
			      MPI_INT, w, MPI_INFO_NULL, &req[ALLTOALLV]));
	OK(MPI_Alltoallw_init(a2a_in, ones, wdispls2, types, a2aw_out, ones, wdispls2, types, w,
			      MPI_INFO_NULL, &req[ALLTOALLW]));
	OK(MPI_Reduce_scatter_block_init(rs_in, &rsb_out, 1, MPI_INT, MPI_SUM, w, MPI_INFO_NULL,
					 &req[RSB]));
	OK(MPI_Reduce_scatter_init(rs_in, &rs_out, ones, MPI_INT, MPI_SUM, w, MPI_INFO_NULL,
				   &req[RS]));
	OK(MPI_Comm_split(w, rank % 2, rank, &half));
	OK(MPI_Comm_rank(half, &half_rank));
	OK(MPI_Comm_size(half, &half_size));
	OK(MPI_Allreduce_init(&half_in, &half_out, 1, MPI_INT, MPI_SUM, half, MPI_INFO_NULL,
			      &req[HALF_ALLREDUCE]));
	/* the requests keep what they need (MPI, and splitckpt's records for a restart); the
	 * count and displacement arrays must stay as they are while the requests live */
	OK(MPI_Info_free(&info));
	OK(MPI_Type_free(&types[0]));
	OK(MPI_Type_free(&pair));
}

/* Inputs of round `step`: rank r's value i is step*1000 + r*10 + i. */
static int val(int step, int r, int i)
{
	return step * 1000 + r * 10 + i;
}

static void inputs(int step)
{
	bval = rank == size - 1 ? step : -1;
	red_in = val(step, rank, 0);
	ar_in[0] = val(step, rank, 0), ar_in[1] = -val(step, rank, 1);
	gat_in[0] = val(step, rank, 0), gat_in[1] = val(step, rank, 1);
	for (int j = 0; j < size; j++)
		for (int k = 0; k < 2; k++) {
			scv_in[2 * j + k] = val(step, j, k);
			a2a_in[2 * j + k] = val(step, rank, 2 * j + k); /* to rank j */
		}
	for (int j = 0; j < size; j++)
		rs_in[j] = val(step, rank, j);
	half_in = val(step, rank, 0);
}

static void check(int step)
{
	long sum = 0; /* of val(step, r, 0) over all ranks r */
	for (int r = 0; r < size; r++)
		sum += val(step, r, 0);
	CHECK(bval == step);
	CHECK(rank != 0 || red_out == sum);
	CHECK(ar_out[0] == val(step, size - 1, 0) && ar_out[1] == -val(step, 0, 1));
	long before = 0;
	for (int r = 0; r < rank; r++)
		before += val(step, r, 0);
	CHECK(scan_out == before + val(step, rank, 0));
	CHECK(rank == 0 || exscan_out == before);
	for (int r = 0; r < size; r++) {
		CHECK(rank != 1 || gatv_out[2 * r + 1] == val(step, r, 1));
		CHECK(agv_out[2 * r] == val(step, r, 0) && agv_out[2 * r + 1] == val(step, r, 1));
		/* from rank r: its values for me, 2*rank and 2*rank+1 */
		CHECK(a2a_out[2 * r] == val(step, r, 2 * rank));
		CHECK(a2av_out[2 * r + 1] == val(step, r, 2 * rank + 1));
		CHECK(a2aw_out[2 * r] == val(step, r, 2 * rank) &&
		      a2aw_out[2 * r + 1] == val(step, r, 2 * rank + 1));
	}
	CHECK(scv_out[0] == val(step, rank, 0) && scv_out[1] == val(step, rank, 1));
	long col = 0; /* column `rank` of everyone's rs_in */
	for (int r = 0; r < size; r++)
		col += val(step, r, rank);
	CHECK(rsb_out == col && rs_out == col);
	long hsum = 0;
	for (int r = rank % 2; r < size; r += 2)
		hsum += val(step, r, 0);
	CHECK(half_out == hsum);
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	int steps = cov_steps(argc, argv);
	setup();
	for (int step = 1; step <= steps; step++) {
		inputs(step);
		/* one by one, each waited */
		for (int k = BARRIER; k <= SCAN; k++) {
			OK(MPI_Start(&req[k]));
			OK(MPI_Wait(&req[k], MPI_STATUS_IGNORE));
			CHECK(req[k] != MPI_REQUEST_NULL); /* persistent: inactive, not freed */
		}
		/* the rest together, in flight across point-to-point work and a barrier */
		OK(MPI_Startall(NREQ - EXSCAN, &req[EXSCAN]));
		int token = rank, got = -1;
		OK(MPI_Sendrecv(&token, 1, MPI_INT, (rank + 1) % size, 7, &got, 1, MPI_INT,
				(rank + size - 1) % size, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
		CHECK(got == (rank + size - 1) % size);
		int done = 0;
		MPI_Status sts[NREQ];
		/* (not MPI_Testall: MPICH 4.0's fails with MPI_ERR_PENDING over unfinished
		 * persistent collectives) */
		OK(MPI_Test(&req[ALLTOALLW], &done, MPI_STATUS_IGNORE));
		OK(MPI_Waitall(NREQ - EXSCAN, &req[EXSCAN], sts));
		check(step);
		cov_step_done(step, steps);
	}
	for (int k = 0; k < NREQ; k++) {
		OK(MPI_Request_free(&req[k]));
		CHECK(req[k] == MPI_REQUEST_NULL);
	}
	OK(MPI_Comm_free(&half));
	cov_finish("cov_pcoll");
	MPI_Finalize();
	return 0;
}
