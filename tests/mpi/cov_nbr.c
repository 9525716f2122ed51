/* Coverage of neighbourhood alltoallw (blocking, nonblocking, _c) and of the persistent
 * neighbourhood collectives (and their _c forms) on a line (a non-periodic 1-D Cartesian
 * communicator: the ends have MPI_PROC_NULL neighbours, whose receive slots stay untouched),
 * and of the _c forms of the persistent collectives on MPI_COMM_WORLD. Every persistent request
 * is made once and started each round with new data (a derived type freed after the inits
 * stays with them); the checkpoint tests restart them.
 * Self-checking. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_check.h"

#define NONE (-7) /* a receive slot of an MPI_PROC_NULL neighbour: never written */

static int rank, size, left, right;
static MPI_Comm line;
static MPI_Datatype one_int; /* a derived type for the w forms */

/* What rank `from` sends to rank `to` in round `step` (kind tells the calls apart). */
static int val(int step, int from, int to, int kind)
{
	return step * 10000 + from * 100 + to * 3 + kind;
}

/* ---- persistent neighbourhood collectives on the line ----------------------------------- */
enum { P_AG, P_AGV, P_A2A, P_A2AV, P_A2AW, P_AG_C, P_A2AW_C, NP };
static MPI_Request preq[NP];
static int p_send[NP][2], p_recv[NP][2];
static int line_ones[2] = {1, 1}, line_displs[2] = {1, 0}; /* allgatherv: swapped places */
static MPI_Aint line_bytes[2] = {0, sizeof(int)};
static MPI_Count line_ones_c[2] = {1, 1};
static MPI_Datatype line_types[2];

static void persistent_setup(void)
{
	MPI_Info info;
	OK(MPI_Info_create(&info));
	OK(MPI_Info_set(info, "cov_nbr", "yes"));
	/* a derived type the w requests keep: freed right after their inits */
	MPI_Datatype kept;
	OK(MPI_Type_dup(one_int, &kept));
	line_types[0] = one_int;
	line_types[1] = kept;
	OK(MPI_Neighbor_allgather_init(p_send[P_AG], 1, MPI_INT, p_recv[P_AG], 1, MPI_INT, line,
				       info, &preq[P_AG]));
	OK(MPI_Neighbor_allgatherv_init(p_send[P_AGV], 1, MPI_INT, p_recv[P_AGV], line_ones,
					line_displs, MPI_INT, line, MPI_INFO_NULL, &preq[P_AGV]));
	OK(MPI_Neighbor_alltoall_init(p_send[P_A2A], 1, MPI_INT, p_recv[P_A2A], 1, MPI_INT, line,
				      MPI_INFO_NULL, &preq[P_A2A]));
	OK(MPI_Neighbor_alltoallv_init(p_send[P_A2AV], line_ones, line_displs, MPI_INT,
				       p_recv[P_A2AV], line_ones, line_displs, MPI_INT, line,
				       MPI_INFO_NULL, &preq[P_A2AV]));
	OK(MPI_Neighbor_alltoallw_init(p_send[P_A2AW], line_ones, line_bytes, line_types,
				       p_recv[P_A2AW], line_ones, line_bytes, line_types, line,
				       MPI_INFO_NULL, &preq[P_A2AW]));
	OK(MPI_Neighbor_allgather_init_c(p_send[P_AG_C], 1, MPI_INT, p_recv[P_AG_C], 1, MPI_INT,
					 line, MPI_INFO_NULL, &preq[P_AG_C]));
	OK(MPI_Neighbor_alltoallw_init_c(p_send[P_A2AW_C], line_ones_c, line_bytes, line_types,
					 p_recv[P_A2AW_C], line_ones_c, line_bytes, line_types,
					 line, MPI_INFO_NULL, &preq[P_A2AW_C]));
	OK(MPI_Info_free(&info));
	OK(MPI_Type_free(&kept));
}

/* Rank `from` sends its slot i (the value for slot i: val(step, from, i, kind)). Receiving:
 * where each neighbour's value lands and which of its slots it is, per kind. */
static const struct {
	int at[2];   /* the receive slot of the left (0) and right (1) neighbour's value */
	int from[2]; /* the left and right neighbour's send slot that arrives */
} expect[NP] = {
    [P_AG] = {{0, 1}, {0, 0}},	 /* both get slot 0 */
    [P_AGV] = {{1, 0}, {0, 0}},	 /* displacements {1, 0}: the places swap */
    [P_A2A] = {{0, 1}, {1, 0}},	 /* the left one's slot for its right, and back */
    [P_A2AV] = {{1, 0}, {0, 1}}, /* send and receive displacements {1, 0} */
    [P_A2AW] = {{0, 1}, {1, 0}}, [P_AG_C] = {{0, 1}, {0, 0}}, [P_A2AW_C] = {{0, 1}, {1, 0}},
};

static void persistent_round(int step)
{
	for (int k = 0; k < NP; k++)
		for (int i = 0; i < 2; i++) {
			p_send[k][i] = val(step, rank, i, k);
			p_recv[k][i] = NONE;
		}
	MPI_Status st[NP];
	OK(MPI_Startall(NP, preq));
	OK(MPI_Waitall(NP, preq, st));
	const int nb[2] = {left, right};
	for (int k = 0; k < NP; k++)
		for (int j = 0; j < 2; j++) {
			int got = p_recv[k][expect[k].at[j]];
			CHECK(nb[j] == MPI_PROC_NULL
				  ? got == NONE
				  : got == val(step, nb[j], expect[k].from[j], k));
		}
}

/* ---- neighbourhood alltoallw, blocking and nonblocking, int and _c, on the line (MPICH 4.0.2
 * delivers nothing or stale data on a distributed graph whose in- and out-degrees differ,
 * natively too) ---------------------------------------------------------------------------- */
static void alltoallw_round(int step)
{
	int counts[2] = {1, 1};
	MPI_Count counts_c[2] = {1, 1};
	MPI_Aint displs[2] = {0, sizeof(int)};
	MPI_Datatype types[2] = {one_int, MPI_INT};
	for (int form = 0; form < 4; form++) {
		int got[2] = {NONE, NONE}, sent[2];
		MPI_Request r = MPI_REQUEST_NULL;
		for (int i = 0; i < 2; i++)
			sent[i] = val(step, rank, i, 12 + form);
		if (form == 0)
			OK(MPI_Neighbor_alltoallw(sent, counts, displs, types, got, counts, displs,
						  types, line));
		else if (form == 1)
			OK(MPI_Neighbor_alltoallw_c(sent, counts_c, displs, types, got, counts_c,
						    displs, types, line));
		else if (form == 2)
			OK(MPI_Ineighbor_alltoallw(sent, counts, displs, types, got, counts, displs,
						   types, line, &r));
		else
			OK(MPI_Ineighbor_alltoallw_c(sent, counts_c, displs, types, got, counts_c,
						     displs, types, line, &r));
		OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
		/* the left neighbour's value for its right, the right one's for its left */
		CHECK(left == MPI_PROC_NULL ? got[0] == NONE
					    : got[0] == val(step, left, 1, 12 + form));
		CHECK(right == MPI_PROC_NULL ? got[1] == NONE
					     : got[1] == val(step, right, 0, 12 + form));
	}
}

/* ---- persistent collectives with large counts on MPI_COMM_WORLD -------------------------- */
enum {
	C_BCAST,
	C_REDUCE,
	C_ALLREDUCE,
	C_SCAN,
	C_EXSCAN,
	C_ALLGATHERV,
	C_ALLTOALL,
	C_ALLTOALLV,
	C_ALLTOALLW,
	C_RS,
	C_RSB,
	C_GATHERV,
	C_SCATTERV,
	NC
};
static MPI_Request creq[NC];
static int c_bcast, c_in, c_red, c_all, c_scan, c_exscan, c_rs, c_rsb, c_scv;
static int *c_agv, *c_a2a_in, *c_a2a, *c_a2av, *c_a2aw, *c_rs_in, *c_gatv;
static MPI_Count *c_ones;
static MPI_Aint *c_displs, *c_bytes;
static MPI_Datatype *c_types;

static int *ints(int n)
{
	int *p = calloc((size_t)n, sizeof(int));
	CHECK(p);
	return p;
}

static void large_setup(void)
{
	const int n = size;
	MPI_Comm w = MPI_COMM_WORLD;
	c_agv = ints(n), c_a2a_in = ints(n), c_a2a = ints(n), c_a2av = ints(n), c_a2aw = ints(n);
	c_rs_in = ints(n), c_gatv = ints(n);
	c_ones = malloc(sizeof *c_ones * (size_t)n);
	c_displs = malloc(sizeof *c_displs * (size_t)n);
	c_bytes = malloc(sizeof *c_bytes * (size_t)n);
	c_types = malloc(sizeof *c_types * (size_t)n);
	CHECK(c_ones && c_displs && c_bytes && c_types);
	for (int i = 0; i < n; i++) {
		c_ones[i] = 1;
		c_displs[i] = n - 1 - i; /* reversed */
		c_bytes[i] = (MPI_Aint)sizeof(int) * i;
		c_types[i] = one_int;
	}
	OK(MPI_Bcast_init_c(&c_bcast, 1, MPI_INT, n - 1, w, MPI_INFO_NULL, &creq[C_BCAST]));
	OK(MPI_Reduce_init_c(&c_in, &c_red, 1, MPI_INT, MPI_SUM, 0, w, MPI_INFO_NULL,
			     &creq[C_REDUCE]));
	OK(MPI_Allreduce_init_c(&c_in, &c_all, 1, MPI_INT, MPI_MAX, w, MPI_INFO_NULL,
				&creq[C_ALLREDUCE]));
	OK(MPI_Scan_init_c(&c_in, &c_scan, 1, MPI_INT, MPI_SUM, w, MPI_INFO_NULL, &creq[C_SCAN]));
	OK(MPI_Exscan_init_c(&c_in, &c_exscan, 1, MPI_INT, MPI_SUM, w, MPI_INFO_NULL,
			     &creq[C_EXSCAN]));
	OK(MPI_Allgatherv_init_c(&c_in, 1, MPI_INT, c_agv, c_ones, c_displs, MPI_INT, w,
				 MPI_INFO_NULL, &creq[C_ALLGATHERV]));
	OK(MPI_Alltoall_init_c(c_a2a_in, 1, MPI_INT, c_a2a, 1, MPI_INT, w, MPI_INFO_NULL,
			       &creq[C_ALLTOALL]));
	OK(MPI_Alltoallv_init_c(c_a2a_in, c_ones, c_displs, MPI_INT, c_a2av, c_ones, c_displs,
				MPI_INT, w, MPI_INFO_NULL, &creq[C_ALLTOALLV]));
	OK(MPI_Alltoallw_init_c(c_a2a_in, c_ones, c_bytes, c_types, c_a2aw, c_ones, c_bytes,
				c_types, w, MPI_INFO_NULL, &creq[C_ALLTOALLW]));
	OK(MPI_Reduce_scatter_init_c(c_rs_in, &c_rs, c_ones, MPI_INT, MPI_SUM, w, MPI_INFO_NULL,
				     &creq[C_RS]));
	OK(MPI_Reduce_scatter_block_init_c(c_rs_in, &c_rsb, 1, MPI_INT, MPI_SUM, w, MPI_INFO_NULL,
					   &creq[C_RSB]));
	/* the root's arrays only (rank 1 gathers, rank 0 scatters) */
	OK(MPI_Gatherv_init_c(&c_in, 1, MPI_INT, c_gatv, rank == 1 ? c_ones : NULL,
			      rank == 1 ? c_displs : NULL, MPI_INT, 1, w, MPI_INFO_NULL,
			      &creq[C_GATHERV]));
	OK(MPI_Scatterv_init_c(c_a2a_in, rank == 0 ? c_ones : NULL, rank == 0 ? c_displs : NULL,
			       MPI_INT, &c_scv, 1, MPI_INT, 0, w, MPI_INFO_NULL,
			       &creq[C_SCATTERV]));
}

static void large_round(int step)
{
	const int n = size;
	c_in = val(step, rank, 0, 20);
	c_bcast = rank == n - 1 ? val(step, rank, 1, 20) : NONE;
	for (int i = 0; i < n; i++) {
		c_a2a_in[i] = val(step, rank, i, 21);
		c_rs_in[i] = val(step, rank, i, 22);
	}
	OK(MPI_Startall(NC, creq));
	MPI_Status st[NC];
	OK(MPI_Waitall(NC, creq, st));
	long sum = 0, before = 0;
	int max = 0, rs = 0;
	for (int r = 0; r < n; r++) {
		int v = val(step, r, 0, 20);
		sum += v;
		before += r < rank ? v : 0;
		max = v > max ? v : max;
		rs += val(step, r, rank, 22);
	}
	CHECK(c_bcast == val(step, n - 1, 1, 20));
	CHECK(rank != 0 || c_red == (int)sum);
	CHECK(c_all == max && c_scan == (int)(before + c_in));
	CHECK(rank == 0 || c_exscan == (int)before);
	CHECK(c_rs == rs && c_rsb == rs);
	for (int r = 0; r < n; r++) {
		CHECK(c_agv[n - 1 - r] == val(step, r, 0, 20));
		CHECK(c_a2a[r] == val(step, r, rank, 21));
		CHECK(c_a2aw[r] == val(step, r, rank, 21));
		/* reversed displacements on both sides: peer r's value for slot n-1-rank */
		CHECK(c_a2av[n - 1 - r] == val(step, r, n - 1 - rank, 21));
		CHECK(rank != 1 || c_gatv[n - 1 - r] == val(step, r, 0, 20));
	}
	CHECK(c_scv == val(step, 0, n - 1 - rank, 21));
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	CHECK(size >= 2);
	int steps = cov_steps(argc, argv);
	int dims[1] = {size}, periods[1] = {0};
	OK(MPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, 0, &line));
	OK(MPI_Cart_shift(line, 0, 1, &left, &right));
	OK(MPI_Type_contiguous(1, MPI_INT, &one_int));
	OK(MPI_Type_commit(&one_int));
	persistent_setup();
	large_setup();
	for (int step = 1; step <= steps; step++) {
		persistent_round(step);
		alltoallw_round(step);
		large_round(step);
		cov_step_done(step, steps);
	}
	for (int k = 0; k < NP; k++)
		OK(MPI_Request_free(&preq[k]));
	for (int k = 0; k < NC; k++)
		OK(MPI_Request_free(&creq[k]));
	OK(MPI_Type_free(&one_int));
	OK(MPI_Comm_free(&line));
	cov_finish("cov_nbr");
	MPI_Finalize();
	return 0;
}
