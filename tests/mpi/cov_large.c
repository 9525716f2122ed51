/* Coverage of the large-count (_c) functions through the crossing: point-to-point in every send
 * mode with persistent and matched forms, blocking and nonblocking collectives, neighborhood
 * collectives, user operations (MPI_Op_create_c), datatype constructors and queries, packing,
 * one-sided and MPI-IO. Counts are small (the MPI_Count parameters are what crosses); every
 * result is checked. A persistent receive, two windows (MPI_Win_create_c, MPI_Win_allocate_c), an
 * operation and derived types made with _c functions live for the whole run, so the checkpoint
 * tests restart them. Needs an even number of ranks. Self-checking. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_check.h"

static int rank, size, peer;
/* statuses of the Waitalls (MPI_STATUSES_IGNORE trips GCC 12's -Wstringop-overflow on MPICH) */
static MPI_Status sts[8];

/* Made once, used every round. */
static MPI_Request persistent_recv;
static int persistent_buf[4];
static MPI_Datatype strided; /* every other int of 8 (vector_c) */
static MPI_Win win, awin;
static int win_mem[8];
static long *awin_mem; /* MPI_Win_allocate_c's: 2 longs */
/* awin's predefined attributes, asked once: the pointers stay valid across restarts */
static MPI_Aint *awin_size;
static int *awin_unit, *awin_flavor, *awin_model;

/* A large-count reduction function: the sum of longs, its length an MPI_Count. */
static void sum_longs_c(void *in, void *inout, MPI_Count *len, MPI_Datatype *type)
{
	CHECK(*type == MPI_LONG);
	for (MPI_Count i = 0; i < *len; i++)
		((long *)inout)[i] += ((const long *)in)[i];
}
static MPI_Op sum_c; /* made once (a restart makes it again), used every round */

static void setup(void)
{
	OK(MPI_Op_create_c(sum_longs_c, 1, &sum_c));
	OK(MPI_Recv_init_c(persistent_buf, 4, MPI_INT, peer, 40, MPI_COMM_WORLD, &persistent_recv));
	OK(MPI_Type_vector_c(4, 1, 2, MPI_INT, &strided));
	OK(MPI_Type_commit(&strided));
	OK(MPI_Win_create_c(win_mem, sizeof win_mem, sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD,
			    &win));
	OK(MPI_Win_allocate_c(2 * sizeof(long), sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD,
			      &awin_mem, &awin));
	awin_mem[0] = awin_mem[1] = 0;
	int flag[4] = {0, 0, 0, 0};
	OK(MPI_Win_get_attr(awin, MPI_WIN_SIZE, &awin_size, &flag[0]));
	OK(MPI_Win_get_attr(awin, MPI_WIN_DISP_UNIT, &awin_unit, &flag[1]));
	OK(MPI_Win_get_attr(awin, MPI_WIN_CREATE_FLAVOR, &awin_flavor, &flag[2]));
	OK(MPI_Win_get_attr(awin, MPI_WIN_MODEL, &awin_model, &flag[3]));
	CHECK(flag[0] && flag[1] && flag[2] && flag[3]);
	OK(MPI_Barrier(MPI_COMM_WORLD));
}

static void p2p(int step)
{
	int out[8], in[8];
	for (int i = 0; i < 8; i++)
		out[i] = rank * 1000 + step * 10 + i;
	const int from = peer * 1000 + step * 10;
	MPI_Status st;
	MPI_Count n = -1;
	/* the persistent receive of setup(), started again every round, and its sender */
	MPI_Request sreq;
	OK(MPI_Start(&persistent_recv));
	OK(MPI_Send_init_c(out, 4, MPI_INT, peer, 40, MPI_COMM_WORLD, &sreq));
	OK(MPI_Start(&sreq));
	OK(MPI_Wait(&sreq, MPI_STATUS_IGNORE));
	OK(MPI_Wait(&persistent_recv, &st));
	OK(MPI_Get_count_c(&st, MPI_INT, &n));
	CHECK(n == 4 && persistent_buf[3] == from + 3 && st.MPI_SOURCE == peer);
	OK(MPI_Request_free(&sreq));
	/* synchronous, buffered and ready sends, blocking and not */
	if (rank % 2 == 0) {
		OK(MPI_Ssend_c(out, 2, MPI_INT, peer, 41, MPI_COMM_WORLD));
		OK(MPI_Recv_c(in, 2, MPI_INT, peer, 41, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
	} else {
		OK(MPI_Recv_c(in, 2, MPI_INT, peer, 41, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
		OK(MPI_Ssend_c(out, 2, MPI_INT, peer, 41, MPI_COMM_WORLD));
	}
	CHECK(in[1] == from + 1);
	MPI_Count bsize = 0;
	OK(MPI_Pack_size_c(8, MPI_INT, MPI_COMM_WORLD, &bsize));
	bsize = 2 * (bsize + MPI_BSEND_OVERHEAD);
	char *bbuf = malloc((size_t)bsize);
	OK(MPI_Buffer_attach_c(bbuf, bsize));
	MPI_Request r[2];
	OK(MPI_Irecv_c(in, 3, MPI_INT, peer, 42, MPI_COMM_WORLD, &r[0]));
	OK(MPI_Bsend_c(out, 3, MPI_INT, peer, 42, MPI_COMM_WORLD));
	OK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
	CHECK(in[2] == from + 2);
	OK(MPI_Irecv_c(in, 3, MPI_INT, peer, 43, MPI_COMM_WORLD, &r[0]));
	OK(MPI_Ibsend_c(out + 1, 3, MPI_INT, peer, 43, MPI_COMM_WORLD, &r[1]));
	OK(MPI_Waitall(2, r, sts));
	CHECK(in[0] == from + 1);
	void *detached = NULL;
	MPI_Count dsize = 0;
	OK(MPI_Buffer_detach_c(&detached, &dsize));
	CHECK(detached == bbuf && dsize == bsize);
	free(bbuf);
	/* a ready send needs the receive posted first: the barrier orders them */
	OK(MPI_Irecv_c(in, 2, MPI_INT, peer, 44, MPI_COMM_WORLD, &r[0]));
	OK(MPI_Barrier(MPI_COMM_WORLD));
	OK(MPI_Rsend_c(out + 5, 2, MPI_INT, peer, 44, MPI_COMM_WORLD));
	OK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
	CHECK(in[0] == from + 5 && in[1] == from + 6);
	OK(MPI_Irecv_c(in, 2, MPI_INT, peer, 45, MPI_COMM_WORLD, &r[0]));
	OK(MPI_Barrier(MPI_COMM_WORLD));
	OK(MPI_Irsend_c(out + 2, 2, MPI_INT, peer, 45, MPI_COMM_WORLD, &r[1]));
	OK(MPI_Waitall(2, r, sts));
	CHECK(in[1] == from + 3);
	OK(MPI_Irecv_c(in, 1, MPI_INT, peer, 46, MPI_COMM_WORLD, &r[0]));
	OK(MPI_Issend_c(out + 7, 1, MPI_INT, peer, 46, MPI_COMM_WORLD, &r[1]));
	OK(MPI_Waitall(2, r, sts));
	CHECK(in[0] == from + 7);
	/* the other persistent sends */
	MPI_Request p[3], q[3];
	OK(MPI_Ssend_init_c(out, 1, MPI_INT, peer, 47, MPI_COMM_WORLD, &p[0]));
	OK(MPI_Bsend_init_c(out + 1, 1, MPI_INT, peer, 48, MPI_COMM_WORLD, &p[1]));
	OK(MPI_Rsend_init_c(out + 2, 1, MPI_INT, peer, 49, MPI_COMM_WORLD, &p[2]));
	int got[3] = {0};
	for (int k = 0; k < 3; k++)
		OK(MPI_Irecv_c(&got[k], 1, MPI_INT, peer, 47 + k, MPI_COMM_WORLD, &q[k]));
	bsize = 64 + MPI_BSEND_OVERHEAD;
	bbuf = malloc((size_t)bsize);
	OK(MPI_Buffer_attach_c(bbuf, bsize));
	OK(MPI_Barrier(MPI_COMM_WORLD)); /* the ready send's receive is posted */
	OK(MPI_Startall(3, p));
	OK(MPI_Waitall(3, p, sts));
	OK(MPI_Waitall(3, q, sts));
	CHECK(got[0] == from && got[1] == from + 1 && got[2] == from + 2);
	for (int k = 0; k < 3; k++)
		OK(MPI_Request_free(&p[k]));
	OK(MPI_Buffer_detach_c(&detached, &dsize));
	free(bbuf);
	/* matched receives */
	MPI_Message m;
	OK(MPI_Isend_c(out, 3, MPI_INT, peer, 50, MPI_COMM_WORLD, &r[1]));
	OK(MPI_Mprobe(peer, 50, MPI_COMM_WORLD, &m, &st));
	OK(MPI_Mrecv_c(in, 3, MPI_INT, &m, &st));
	CHECK(in[2] == from + 2 && m == MPI_MESSAGE_NULL);
	OK(MPI_Wait(&r[1], MPI_STATUS_IGNORE));
	OK(MPI_Isend_c(out + 4, 2, MPI_INT, peer, 51, MPI_COMM_WORLD, &r[1]));
	OK(MPI_Mprobe(peer, 51, MPI_COMM_WORLD, &m, &st));
	OK(MPI_Imrecv_c(in, 2, MPI_INT, &m, &r[0]));
	OK(MPI_Waitall(2, r, sts));
	CHECK(in[0] == from + 4 && in[1] == from + 5);
	/* send-receive, blocking and not, with a separate buffer and in place */
	OK(MPI_Sendrecv_c(out, 2, MPI_INT, peer, 52, in, 2, MPI_INT, peer, 52, MPI_COMM_WORLD,
			  &st));
	OK(MPI_Get_count_c(&st, MPI_INT, &n));
	CHECK(in[1] == from + 1 && n == 2 && st.MPI_SOURCE == peer && st.MPI_TAG == 52);
	int mine[2] = {out[3], out[4]};
	OK(MPI_Sendrecv_replace_c(mine, 2, MPI_INT, peer, 53, peer, 53, MPI_COMM_WORLD, &st));
	CHECK(mine[0] == from + 3 && mine[1] == from + 4);
	OK(MPI_Isendrecv_c(out + 5, 1, MPI_INT, peer, 54, in, 1, MPI_INT, peer, 54, MPI_COMM_WORLD,
			   &r[0]));
	mine[0] = out[6];
	OK(MPI_Isendrecv_replace_c(mine, 1, MPI_INT, peer, 55, peer, 55, MPI_COMM_WORLD, &r[1]));
	OK(MPI_Waitall(2, r, sts));
	CHECK(in[0] == from + 5 && mine[0] == from + 6);
}

static void collectives(int step)
{
	const int base = step * 100;
	int *counts_buf = malloc(sizeof(int) * (size_t)size * 4);
	int *all = malloc(sizeof(int) * (size_t)size * 4);
	MPI_Count *counts = malloc(sizeof(MPI_Count) * (size_t)size);
	MPI_Aint *displs = malloc(sizeof(MPI_Aint) * (size_t)size);
	MPI_Datatype *types = malloc(sizeof(MPI_Datatype) * (size_t)size);
	MPI_Aint *wdispls = malloc(sizeof(MPI_Aint) * (size_t)size);
	for (int i = 0; i < size; i++) {
		counts[i] = 2;
		displs[i] = 2 * i;
		types[i] = MPI_INT;
		wdispls[i] = 2 * i * (MPI_Aint)sizeof(int);
	}
	int mine[4] = {base + rank, base + rank + 1, 0, 0};
	for (int i = 0; i < 2 * size; i++)
		counts_buf[i] = base + i;
	memset(all, 0, sizeof(int) * (size_t)size * 2);
	OK(MPI_Allgather_c(mine, 2, MPI_INT, all, 2, MPI_INT, MPI_COMM_WORLD));
	CHECK(all[2 * (size - 1)] == base + size - 1 && all[2 * size - 1] == base + size);
	memset(all, 0, sizeof(int) * (size_t)size * 2);
	OK(MPI_Allgatherv_c(mine, 2, MPI_INT, all, counts, displs, MPI_INT, MPI_COMM_WORLD));
	CHECK(all[2 * peer] == base + peer);
	OK(MPI_Gather_c(mine, 2, MPI_INT, all, 2, MPI_INT, 0, MPI_COMM_WORLD));
	CHECK(rank != 0 || all[3] == base + 2);
	OK(MPI_Gatherv_c(mine, 2, MPI_INT, all, counts, displs, MPI_INT, size - 1, MPI_COMM_WORLD));
	CHECK(rank != size - 1 || all[2] == base + 1);
	int two[2] = {0, 0};
	OK(MPI_Scatter_c(counts_buf, 2, MPI_INT, two, 2, MPI_INT, 0, MPI_COMM_WORLD));
	CHECK(two[0] == base + 2 * rank && two[1] == base + 2 * rank + 1);
	OK(MPI_Scatterv_c(counts_buf, counts, displs, MPI_INT, two, 2, MPI_INT, 1, MPI_COMM_WORLD));
	CHECK(two[1] == base + 2 * rank + 1);
	/* all-to-all: element 2j+k of rank r is r*100+j*10+k; rank r receives from j its
	 * elements 2r, 2r+1 */
	int *send = malloc(sizeof(int) * (size_t)size * 2);
	for (int j = 0; j < size; j++)
		for (int k = 0; k < 2; k++)
			send[2 * j + k] = rank * 100 + j * 10 + k + step;
	OK(MPI_Alltoall_c(send, 2, MPI_INT, all, 2, MPI_INT, MPI_COMM_WORLD));
	CHECK(all[2 * peer + 1] == peer * 100 + rank * 10 + 1 + step);
	memset(all, 0, sizeof(int) * (size_t)size * 2);
	OK(MPI_Alltoallv_c(send, counts, displs, MPI_INT, all, counts, displs, MPI_INT,
			   MPI_COMM_WORLD));
	CHECK(all[2 * peer] == peer * 100 + rank * 10 + step);
	memset(all, 0, sizeof(int) * (size_t)size * 2);
	OK(MPI_Alltoallw_c(send, counts, wdispls, types, all, counts, wdispls, types,
			   MPI_COMM_WORLD));
	CHECK(all[2 * peer + 1] == peer * 100 + rank * 10 + 1 + step);
	/* reductions */
	int v = rank + step, s = 0;
	OK(MPI_Scan_c(&v, &s, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
	CHECK(s == rank * (rank + 1) / 2 + (rank + 1) * step);
	s = -7;
	OK(MPI_Exscan_c(&v, &s, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
	CHECK(rank == 0 || s == (rank - 1) * rank / 2 + rank * step);
	int *ones = malloc(sizeof(int) * (size_t)size);
	for (int i = 0; i < size; i++)
		ones[i] = i + step;
	int rs = 0;
	OK(MPI_Reduce_scatter_block_c(ones, &rs, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
	CHECK(rs == size * (rank + step));
	MPI_Count *one_each = malloc(sizeof(MPI_Count) * (size_t)size);
	for (int i = 0; i < size; i++)
		one_each[i] = 1;
	rs = 0;
	OK(MPI_Reduce_scatter_c(ones, &rs, one_each, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
	CHECK(rs == size * (rank + step));
	int acc[2] = {1, 2}, inout[2] = {10, 20};
	OK(MPI_Reduce_local_c(acc, inout, 2, MPI_INT, MPI_PROD));
	CHECK(inout[0] == 10 && inout[1] == 40);
	/* nonblocking forms, several in flight at once */
	MPI_Request r[8];
	int ag[64], sc2[2], iscan = 0, iex = -1, irs = 0, irsb = 0;
	OK(MPI_Iallgather_c(mine, 2, MPI_INT, ag, 2, MPI_INT, MPI_COMM_WORLD, &r[0]));
	OK(MPI_Iscatter_c(counts_buf, 2, MPI_INT, sc2, 2, MPI_INT, 0, MPI_COMM_WORLD, &r[1]));
	OK(MPI_Iscan_c(&v, &iscan, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &r[2]));
	OK(MPI_Iexscan_c(&v, &iex, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &r[3]));
	OK(MPI_Ireduce_scatter_c(ones, &irs, one_each, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &r[4]));
	OK(MPI_Ireduce_scatter_block_c(ones, &irsb, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &r[5]));
	int *a2a = malloc(sizeof(int) * (size_t)size * 2);
	OK(MPI_Ialltoall_c(send, 2, MPI_INT, a2a, 2, MPI_INT, MPI_COMM_WORLD, &r[6]));
	OK(MPI_Igather_c(mine, 2, MPI_INT, all, 2, MPI_INT, 0, MPI_COMM_WORLD, &r[7]));
	OK(MPI_Waitall(8, r, sts));
	CHECK(ag[2 * peer] == base + peer && sc2[0] == base + 2 * rank);
	CHECK(iscan == rank * (rank + 1) / 2 + (rank + 1) * step);
	CHECK(irs == size * (rank + step) && irsb == irs);
	CHECK(rank == 0 || iex == (rank - 1) * rank / 2 + rank * step);
	CHECK(a2a[2 * peer] == peer * 100 + rank * 10 + step);
	int *agv = malloc(sizeof(int) * (size_t)size * 2),
	    *a2av = malloc(sizeof(int) * (size_t)size * 2);
	int *a2aw = malloc(sizeof(int) * (size_t)size * 2), scv[2] = {0, 0};
	OK(MPI_Iallgatherv_c(mine, 2, MPI_INT, agv, counts, displs, MPI_INT, MPI_COMM_WORLD,
			     &r[0]));
	OK(MPI_Igatherv_c(mine, 2, MPI_INT, all, counts, displs, MPI_INT, 0, MPI_COMM_WORLD,
			  &r[1]));
	OK(MPI_Iscatterv_c(counts_buf, counts, displs, MPI_INT, scv, 2, MPI_INT, 0, MPI_COMM_WORLD,
			   &r[2]));
	OK(MPI_Ialltoallv_c(send, counts, displs, MPI_INT, a2av, counts, displs, MPI_INT,
			    MPI_COMM_WORLD, &r[3]));
	OK(MPI_Ialltoallw_c(send, counts, wdispls, types, a2aw, counts, wdispls, types,
			    MPI_COMM_WORLD, &r[4]));
	OK(MPI_Waitall(5, r, sts));
	CHECK(agv[2 * peer + 1] == base + peer + 1 && scv[1] == base + 2 * rank + 1);
	CHECK(a2av[2 * peer] == a2aw[2 * peer] && a2av[2 * peer + 1] == a2a[2 * peer + 1]);
	CHECK(rank != 0 || all[2 * (size - 1)] == base + size - 1);
	free(agv);
	free(a2av);
	free(a2aw);
	free(a2a);
	free(one_each);
	free(ones);
	free(send);
	free(wdispls);
	free(types);
	free(displs);
	free(counts);
	free(all);
	free(counts_buf);
}

/* The two values an all-to-all on the ring brings: from the left its pair[1], from the right
 * its pair[0]. On 2 ranks both neighbours are the peer, and which of its two messages lands in
 * which slot is MPICH's choice: only the pair is checked. */
static int ring_pair(const int *got, int left, int right, int step)
{
	if (left == right)
		return got[0] + got[1] == 2 * (left * 10 + step) + 1;
	return got[0] == left * 10 + step + 1 && got[1] == right * 10 + step;
}

/* Neighborhood collectives on a ring (periodic 1-D Cartesian): the left and right neighbours. */
static void neighbors(int step)
{
	MPI_Comm ring;
	int dims[1] = {size}, periods[1] = {1};
	OK(MPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, 0, &ring));
	const int left = (rank + size - 1) % size, right = (rank + 1) % size;
	int me = rank * 10 + step, got[2] = {-1, -1}, pair[2] = {me, me + 1}, got2[4];
	OK(MPI_Neighbor_allgather_c(&me, 1, MPI_INT, got, 1, MPI_INT, ring));
	CHECK(got[0] == left * 10 + step && got[1] == right * 10 + step);
	MPI_Count c2[2] = {1, 1};
	MPI_Aint d2[2] = {0, 1};
	OK(MPI_Neighbor_allgatherv_c(&me, 1, MPI_INT, got, c2, d2, MPI_INT, ring));
	CHECK(got[1] == right * 10 + step);
	OK(MPI_Neighbor_alltoall_c(pair, 1, MPI_INT, got, 1, MPI_INT, ring));
	CHECK(ring_pair(got, left, right, step));
	OK(MPI_Neighbor_alltoallv_c(pair, c2, d2, MPI_INT, got, c2, d2, MPI_INT, ring));
	CHECK(ring_pair(got, left, right, step));
	MPI_Request r[4];
	OK(MPI_Ineighbor_allgather_c(&me, 1, MPI_INT, got2, 1, MPI_INT, ring, &r[0]));
	int g1[2], g2[2], g3[2];
	OK(MPI_Ineighbor_allgatherv_c(&me, 1, MPI_INT, g1, c2, d2, MPI_INT, ring, &r[1]));
	OK(MPI_Ineighbor_alltoall_c(pair, 1, MPI_INT, g2, 1, MPI_INT, ring, &r[2]));
	OK(MPI_Ineighbor_alltoallv_c(pair, c2, d2, MPI_INT, g3, c2, d2, MPI_INT, ring, &r[3]));
	OK(MPI_Waitall(4, r, sts));
	CHECK(got2[0] == left * 10 + step && g1[1] == right * 10 + step);
	CHECK(ring_pair(g2, left, right, step) && ring_pair(g3, left, right, step));
	OK(MPI_Comm_free(&ring));
}

static void datatypes(int step)
{
	int src[32], got[16];
	for (int i = 0; i < 32; i++)
		src[i] = step * 1000 + i;
	/* the long-lived strided type: 0, 2, 4, 6 */
	OK(MPI_Sendrecv(src, 1, strided, peer, 60, got, 4, MPI_INT, peer, 60, MPI_COMM_WORLD,
			MPI_STATUS_IGNORE));
	CHECK(got[0] == src[0] && got[3] == src[6]);
	MPI_Datatype t[8];
	MPI_Count bl[3] = {1, 2, 1}, dsp[3] = {7, 2, 11};
	MPI_Count hd[3] = {3 * sizeof(int), 0, 9 * sizeof(int)};
	OK(MPI_Type_indexed_c(3, bl, dsp, MPI_INT, &t[0]));
	OK(MPI_Type_create_hindexed_c(3, bl, hd, MPI_INT, &t[1]));
	OK(MPI_Type_create_hvector_c(2, 1, 5 * sizeof(int), MPI_INT, &t[2]));
	OK(MPI_Type_create_indexed_block_c(3, 2, dsp, MPI_INT, &t[3]));
	OK(MPI_Type_create_hindexed_block_c(2, 2, hd, MPI_INT, &t[4]));
	MPI_Datatype mt[2] = {MPI_INT, strided};
	MPI_Count sbl[2] = {1, 1}, sd[2] = {sizeof(int), 8 * sizeof(int)};
	OK(MPI_Type_create_struct_c(2, sbl, sd, mt, &t[5]));
	MPI_Count sizes[2] = {4, 4}, sub[2] = {2, 2}, st[2] = {1, 2};
	OK(MPI_Type_create_subarray_c(2, sizes, sub, st, MPI_ORDER_C, MPI_INT, &t[6]));
	OK(MPI_Type_create_resized_c(MPI_INT, 0, 3 * sizeof(int), &t[7]));
	static const int expect[8][6] = {{7, 2, 3, 11},	       {3, 0, 1, 9}, {0, 5},
					 {7, 8, 2, 3, 11, 12}, {3, 4, 0, 1}, {1, 8, 10, 12, 14},
					 {6, 7, 10, 11},       {0}};
	static const int n[8] = {4, 4, 2, 6, 4, 5, 4, 1};
	for (int k = 0; k < 8; k++) {
		OK(MPI_Type_commit(&t[k]));
		OK(MPI_Sendrecv(src, 1, t[k], peer, 61, got, n[k], MPI_INT, peer, 61,
				MPI_COMM_WORLD, MPI_STATUS_IGNORE));
		for (int i = 0; i < n[k]; i++)
			CHECK(got[i] == src[expect[k][i]]);
	}
	MPI_Count lb = -1, ext = -1, tlb = -1, text = -1, sz = -1;
	OK(MPI_Type_get_extent_c(t[7], &lb, &ext));
	OK(MPI_Type_get_true_extent_c(t[0], &tlb, &text));
	OK(MPI_Type_size_c(t[3], &sz));
	CHECK(lb == 0 && ext == 3 * (MPI_Count)sizeof(int));
	CHECK(tlb == 2 * (MPI_Count)sizeof(int) && text == 10 * (MPI_Count)sizeof(int));
	CHECK(sz == 6 * (MPI_Count)sizeof(int));
	/* envelope and contents of a large-count constructor: its counts are large counts */
	MPI_Count ni = -1, na = -1, nl = -1, nd = -1;
	int comb = -1, ints[4];
	MPI_Aint addrs[4];
	MPI_Count larges[8];
	MPI_Datatype dts[2];
	OK(MPI_Type_get_envelope_c(t[0], &ni, &na, &nl, &nd, &comb));
	CHECK(comb == MPI_COMBINER_INDEXED && nl == 7 && nd == 1 && ni == 0 && na == 0);
	OK(MPI_Type_get_contents_c(t[0], 4, 4, 8, 2, ints, addrs, larges, dts));
	CHECK(larges[0] == 3 && larges[2] == 2 && larges[4] == 7 && dts[0] == MPI_INT);
	for (int k = 0; k < 8; k++)
		OK(MPI_Type_free(&t[k]));
	/* packing with large-count positions */
	MPI_Count psz = 0, pos = 0, upos = 0;
	OK(MPI_Pack_size_c(1, strided, MPI_COMM_WORLD, &psz));
	char *buf = malloc((size_t)psz);
	OK(MPI_Pack_c(src, 1, strided, buf, psz, &pos, MPI_COMM_WORLD));
	CHECK(pos == 4 * (MPI_Count)sizeof(int));
	int back[8] = {0};
	OK(MPI_Unpack_c(buf, psz, &upos, back, 1, strided, MPI_COMM_WORLD));
	CHECK(upos == pos && back[2] == src[2] && back[6] == src[6] && back[1] == 0);
	free(buf);
}

/* One-sided on the long-lived window: each rank's memory is written by its peer. */
/* MPI_Op_create_c's operations: the one of setup() and one of the round, non-commutative. */
static void user_ops(int step)
{
	long v[3] = {step, rank, 1}, r[3] = {0, 0, 0};
	OK(MPI_Allreduce_c(v, r, 3, MPI_LONG, sum_c, MPI_COMM_WORLD));
	CHECK(r[0] == (long)step * size && r[1] == (long)size * (size - 1) / 2 && r[2] == size);
	MPI_Op mine;
	OK(MPI_Op_create_c(sum_longs_c, 0, &mine));
	int commute = -1;
	OK(MPI_Op_commutative(mine, &commute));
	CHECK(commute == 0);
	OK(MPI_Reduce_c(v, r, 3, MPI_LONG, mine, 0, MPI_COMM_WORLD));
	CHECK(rank != 0 || r[2] == size);
	OK(MPI_Op_free(&mine));
	CHECK(mine == MPI_OP_NULL);
}

static void one_sided(int step)
{
	int vals[4] = {step, step + 1, step + 2, step + 3}, res[2] = {0, 0}, fetched[2];
	OK(MPI_Win_fence(0, win));
	OK(MPI_Put_c(vals, 2, MPI_INT, peer, 0, 2, MPI_INT, win));
	OK(MPI_Win_fence(0, win));
	CHECK(win_mem[0] == step && win_mem[1] == step + 1);
	OK(MPI_Accumulate_c(vals, 2, MPI_INT, peer, 0, 2, MPI_INT, MPI_SUM, win));
	OK(MPI_Win_fence(0, win));
	CHECK(win_mem[0] == 2 * step && win_mem[1] == 2 * step + 2);
	OK(MPI_Get_c(res, 2, MPI_INT, peer, 0, 2, MPI_INT, win));
	OK(MPI_Win_fence(0, win));
	CHECK(res[0] == 2 * step && res[1] == 2 * step + 2);
	OK(MPI_Get_accumulate_c(vals, 1, MPI_INT, fetched, 1, MPI_INT, peer, 0, 1, MPI_INT, MPI_SUM,
				win));
	OK(MPI_Win_fence(0, win));
	CHECK(fetched[0] == 2 * step && win_mem[0] == 3 * step);
	MPI_Request r[2];
	OK(MPI_Win_lock_all(0, win));
	OK(MPI_Rput_c(vals + 2, 2, MPI_INT, peer, 4, 2, MPI_INT, win, &r[0]));
	OK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
	OK(MPI_Win_flush(peer, win));
	OK(MPI_Rget_c(res, 2, MPI_INT, peer, 4, 2, MPI_INT, win, &r[1]));
	OK(MPI_Wait(&r[1], MPI_STATUS_IGNORE));
	OK(MPI_Win_unlock_all(win));
	CHECK(res[0] == step + 2 && res[1] == step + 3);
	/* request-based accumulates into the peer's MPI_Win_allocate_c memory: each round adds
	 * step to its first long and fetches what was there */
	long add = step, before = -1;
	OK(MPI_Win_lock(MPI_LOCK_SHARED, peer, 0, awin));
	OK(MPI_Rget_accumulate_c(&add, 1, MPI_LONG, &before, 1, MPI_LONG, peer, 0, 1, MPI_LONG,
				 MPI_SUM, awin, &r[0]));
	OK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
	OK(MPI_Raccumulate_c(&add, 1, MPI_LONG, peer, 1, 1, MPI_LONG, MPI_SUM, awin, &r[1]));
	OK(MPI_Wait(&r[1], MPI_STATUS_IGNORE));
	OK(MPI_Win_unlock(peer, awin));
	CHECK(before == (long)(step - 1) * step / 2);
	CHECK(*awin_size == 2 * sizeof(long) && *awin_unit == sizeof(long));
	CHECK(*awin_flavor == MPI_WIN_FLAVOR_ALLOCATE && *awin_model == MPI_WIN_UNIFIED);
	OK(MPI_Barrier(MPI_COMM_WORLD));
	OK(MPI_Win_lock(MPI_LOCK_SHARED, rank, 0, awin));
	CHECK(awin_mem[0] == (long)step * (step + 1) / 2 && awin_mem[1] == awin_mem[0]);
	OK(MPI_Win_unlock(rank, awin));
	OK(MPI_Barrier(MPI_COMM_WORLD));
}

/* MPI-IO: each rank its own block of a shared file, by explicit offsets and by pointer. */
static void file_io(int step, const char *path)
{
	MPI_File fh;
	OK(MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_INFO_NULL,
			 &fh));
	int out[4] = {rank, step, rank + step, -rank}, in[4] = {0};
	const MPI_Offset off = (MPI_Offset)rank * 4 * (MPI_Offset)sizeof(int);
	MPI_Status st;
	MPI_Count n = -1;
	OK(MPI_File_write_at_all_c(fh, off, out, 4, MPI_INT, &st));
	OK(MPI_File_read_at_all_c(fh, off, in, 4, MPI_INT, &st));
	OK(MPI_Get_count_c(&st, MPI_INT, &n));
	CHECK(n == 4 && in[2] == rank + step && in[3] == -rank);
	OK(MPI_File_write_at_c(fh, off, out + 1, 1, MPI_INT, MPI_STATUS_IGNORE));
	OK(MPI_File_read_at_c(fh, off, in, 1, MPI_INT, MPI_STATUS_IGNORE));
	CHECK(in[0] == step);
	OK(MPI_File_seek(fh, off, MPI_SEEK_SET));
	OK(MPI_File_write_c(fh, out, 2, MPI_INT, MPI_STATUS_IGNORE));
	OK(MPI_File_seek(fh, off, MPI_SEEK_SET));
	OK(MPI_File_read_c(fh, in, 2, MPI_INT, MPI_STATUS_IGNORE));
	CHECK(in[0] == rank && in[1] == step);
	MPI_Request r[2];
	OK(MPI_File_iwrite_at_c(fh, off + 3 * (MPI_Offset)sizeof(int), out, 1, MPI_INT, &r[0]));
	OK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
	OK(MPI_File_iread_at_c(fh, off + 3 * (MPI_Offset)sizeof(int), in + 3, 1, MPI_INT, &r[1]));
	OK(MPI_Wait(&r[1], MPI_STATUS_IGNORE));
	CHECK(in[3] == rank);
	OK(MPI_File_seek(fh, off, MPI_SEEK_SET));
	OK(MPI_File_iwrite_c(fh, out + 2, 1, MPI_INT, &r[0]));
	OK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
	OK(MPI_File_seek(fh, off, MPI_SEEK_SET));
	OK(MPI_File_iread_c(fh, in, 1, MPI_INT, &r[1]));
	OK(MPI_Wait(&r[1], MPI_STATUS_IGNORE));
	CHECK(in[0] == rank + step);
	OK(MPI_File_iwrite_at_all_c(fh, off, out, 4, MPI_INT, &r[0]));
	OK(MPI_Wait(&r[0], MPI_STATUS_IGNORE));
	OK(MPI_File_iread_at_all_c(fh, off, in, 4, MPI_INT, &r[1]));
	OK(MPI_Wait(&r[1], MPI_STATUS_IGNORE));
	CHECK(in[0] == rank && in[1] == step && in[3] == -rank);
	OK(MPI_File_close(&fh));
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	CHECK(size % 2 == 0);
	peer = rank ^ 1;
	int steps = cov_steps(argc, argv);
	/* a file of this job only: the checkpoint tests run the native and restarted jobs apart */
	char path[256];
	const char *dir = getenv("TMPDIR");
	int tag = 0;
	if (rank == 0)
		tag = (int)getpid();
	OK(MPI_Bcast(&tag, 1, MPI_INT, 0, MPI_COMM_WORLD));
	snprintf(path, sizeof path, "%s/cov_large.%d", dir ? dir : "/tmp", tag);
	setup();
	for (int step = 1; step <= steps; step++) {
		p2p(step);
		collectives(step);
		neighbors(step);
		datatypes(step);
		one_sided(step);
		user_ops(step);
		file_io(step, path);
		cov_step_done(step, steps);
	}
	OK(MPI_Request_free(&persistent_recv));
	OK(MPI_Type_free(&strided));
	OK(MPI_Op_free(&sum_c));
	OK(MPI_Win_free(&win));
	OK(MPI_Win_free(&awin));
	OK(MPI_Barrier(MPI_COMM_WORLD));
	if (rank == 0)
		OK(MPI_File_delete(path, MPI_INFO_NULL));
	cov_finish("cov_large");
	MPI_Finalize();
	return 0;
}
