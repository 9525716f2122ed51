/* Coverage of process topologies through the crossing: Dims_create, a periodic and a
 * non-periodic Cartesian grid (coords, rank, shift with MPI_PROC_NULL, get, dim, sub), Topo_test
 * (MPI_CART/MPI_GRAPH/MPI_UNDEFINED differ between the ABI and MPICH), a ring graph and its
 * queries, distributed graphs (adjacent and general, weighted and MPI_UNWEIGHTED) and
 * neighborhood collectives. Any rank count >= 2. Self-checking.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_check.h"

static int rank, size;

static void cart(void)
{
	int dims[2] = {0, 0}, periods[2] = {1, 0}, st = -1;
	OK(MPI_Dims_create(size, 2, dims));
	CHECK(dims[0] * dims[1] == size && dims[0] >= dims[1]);
	MPI_Comm c;
	OK(MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &c));
	OK(MPI_Topo_test(c, &st));
	CHECK(st == MPI_CART);
	OK(MPI_Topo_test(MPI_COMM_WORLD, &st));
	CHECK(st == MPI_UNDEFINED);
	int nd = 0, co[2], r = -1;
	OK(MPI_Cartdim_get(c, &nd));
	CHECK(nd == 2);
	OK(MPI_Cart_coords(c, rank, 2, co));
	CHECK(co[0] == rank / dims[1] && co[1] == rank % dims[1]); /* row-major */
	OK(MPI_Cart_rank(c, co, &r));
	CHECK(r == rank);
	int gd[2], gp[2], gc[2];
	OK(MPI_Cart_get(c, 2, gd, gp, gc));
	CHECK(gd[0] == dims[0] && gd[1] == dims[1] && gp[0] == 1 && gp[1] == 0);
	CHECK(gc[0] == co[0] && gc[1] == co[1]);
	int src, dst;
	OK(MPI_Cart_shift(c, 0, 1, &src, &dst)); /* periodic: wraps */
	CHECK(dst == ((co[0] + 1) % dims[0]) * dims[1] + co[1]);
	CHECK(src == ((co[0] + dims[0] - 1) % dims[0]) * dims[1] + co[1]);
	OK(MPI_Cart_shift(c, 1, 1, &src, &dst)); /* not periodic: MPI_PROC_NULL at the edges */
	CHECK(co[1] == dims[1] - 1 ? dst == MPI_PROC_NULL : dst == rank + 1);
	CHECK(co[1] == 0 ? src == MPI_PROC_NULL : src == rank - 1);
	/* neighborhood collectives: order -d0, +d0, -d1, +d1; MPI_PROC_NULL neighbors untouched */
	int nb[4], expect[4];
	int s0, d0, s1, d1;
	OK(MPI_Cart_shift(c, 0, 1, &s0, &d0));
	OK(MPI_Cart_shift(c, 1, 1, &s1, &d1));
	int who[4] = {s0, d0, s1, d1};
	for (int i = 0; i < 4; i++) {
		nb[i] = -1;
		expect[i] = who[i] == MPI_PROC_NULL ? -1 : 10 * who[i];
	}
	int me = 10 * rank;
	OK(MPI_Neighbor_allgather(&me, 1, MPI_INT, nb, 1, MPI_INT, c));
	for (int i = 0; i < 4; i++)
		CHECK(nb[i] == expect[i]);
	int out[4];
	for (int i = 0; i < 4; i++) {
		out[i] = 100 * rank + i;
		nb[i] = -1;
	}
	MPI_Request req;
	OK(MPI_Ineighbor_alltoall(out, 1, MPI_INT, nb, 1, MPI_INT, c, &req));
	OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
	/* what I get from my -d1 neighbor is what it sent to its +d1 neighbor (index 3) */
	CHECK(s1 == MPI_PROC_NULL ? nb[2] == -1 : nb[2] == 100 * s1 + 3);
	CHECK(d1 == MPI_PROC_NULL ? nb[3] == -1 : nb[3] == 100 * d1 + 2);
	for (int i = 0; i < 4; i++)
		nb[i] = -1;
	OK(MPI_Ineighbor_allgather(&me, 1, MPI_INT, nb, 1, MPI_INT, c, &req));
	OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
	CHECK(nb[2] == expect[2] && nb[3] == expect[3]);
	for (int i = 0; i < 4; i++)
		nb[i] = -1;
	OK(MPI_Neighbor_alltoall(out, 1, MPI_INT, nb, 1, MPI_INT, c));
	CHECK(s1 == MPI_PROC_NULL ? nb[2] == -1 : nb[2] == 100 * s1 + 3);
	/* Cart_sub: keep dimension 1, so each row is a communicator */
	int keep[2] = {0, 1}, n = 0;
	MPI_Comm row;
	OK(MPI_Cart_sub(c, keep, &row));
	OK(MPI_Comm_size(row, &n));
	OK(MPI_Comm_rank(row, &r));
	CHECK(n == dims[1] && r == co[1]);
	OK(MPI_Topo_test(row, &st));
	CHECK(st == MPI_CART);
	OK(MPI_Comm_free(&row));
	OK(MPI_Comm_free(&c));
}

static void graph(void)
{
	/* a ring: node i is linked to i - 1 and i + 1 (one link when there are 2 nodes) */
	int index[64], edges[128], ne = 0;
	for (int i = 0; i < size; i++) {
		int a = (i + size - 1) % size, b = (i + 1) % size;
		edges[ne++] = a;
		if (b != a)
			edges[ne++] = b;
		index[i] = ne;
	}
	MPI_Comm g;
	OK(MPI_Graph_create(MPI_COMM_WORLD, size, index, edges, 0, &g));
	int st = -1, nn = 0, nedges = 0, cnt = 0, nbrs[2], gi[64], ge[128];
	OK(MPI_Topo_test(g, &st));
	CHECK(st == MPI_GRAPH);
	OK(MPI_Graphdims_get(g, &nn, &nedges));
	CHECK(nn == size && nedges == ne);
	OK(MPI_Graph_get(g, 64, 128, gi, ge));
	CHECK(gi[size - 1] == ne && ge[0] == edges[0] && ge[ne - 1] == edges[ne - 1]);
	OK(MPI_Graph_neighbors_count(g, rank, &cnt));
	CHECK(cnt == (size == 2 ? 1 : 2));
	OK(MPI_Graph_neighbors(g, rank, 2, nbrs));
	CHECK(nbrs[0] == (rank + size - 1) % size);
	/* data moves along the graph: neighbors' ranks */
	int me = rank, got[2] = {-1, -1};
	OK(MPI_Neighbor_allgather(&me, 1, MPI_INT, got, 1, MPI_INT, g));
	CHECK(got[0] == nbrs[0] && (cnt == 1 || got[1] == nbrs[1]));
	OK(MPI_Comm_free(&g));
}

/* A directed ring as a distributed graph: each rank hears from its left neighbor and talks to
 * its right one, once with weights and once MPI_UNWEIGHTED (a sentinel pointer in the ABI). */
static void dist_graph(void)
{
	int left = (rank + size - 1) % size, right = (rank + 1) % size;
	int sw[1] = {7 + left}, dw[1] = {7 + rank};
	int *volatile unw = MPI_UNWEIGHTED; /* a variable: gcc takes the sentinel for an array */
	for (int weighted = 1; weighted >= 0; weighted--) {
		MPI_Comm d;
		OK(MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 1, &left, weighted ? sw : unw, 1,
						  &right, weighted ? dw : unw, MPI_INFO_NULL, 0,
						  &d));
		int st = -1, in = -1, out = -1, w = -1;
		OK(MPI_Topo_test(d, &st));
		CHECK(st == MPI_DIST_GRAPH);
		OK(MPI_Dist_graph_neighbors_count(d, &in, &out, &w));
		CHECK(in == 1 && out == 1 && w == weighted);
		int src = -1, dst = -1, gsw = -1, gdw = -1;
		if (weighted) {
			OK(MPI_Dist_graph_neighbors(d, 1, &src, &gsw, 1, &dst, &gdw));
			CHECK(gsw == 7 + left && gdw == 7 + rank);
		} else {
			OK(MPI_Dist_graph_neighbors(d, 1, &src, unw, 1, &dst, unw));
		}
		CHECK(src == left && dst == right);
		/* v-variants: 2 ints travel along the ring */
		int sendv[2] = {rank, -rank}, recvv[3] = {-9, -9, -9}, cnt[1] = {2}, dsp[1] = {1};
		OK(MPI_Neighbor_allgatherv(sendv, 2, MPI_INT, recvv, cnt, dsp, MPI_INT, d));
		CHECK(recvv[0] == -9 && recvv[1] == left && recvv[2] == -left);
		int sd0[1] = {0};
		recvv[1] = recvv[2] = -9;
		OK(MPI_Neighbor_alltoallv(sendv, cnt, sd0, MPI_INT, recvv, cnt, dsp, MPI_INT, d));
		CHECK(recvv[1] == left && recvv[2] == -left);
		MPI_Request r;
		recvv[1] = recvv[2] = -9;
		OK(MPI_Ineighbor_allgatherv(sendv, 2, MPI_INT, recvv, cnt, dsp, MPI_INT, d, &r));
		OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
		CHECK(recvv[1] == left);
		recvv[1] = recvv[2] = -9;
		OK(MPI_Ineighbor_alltoallv(sendv, cnt, sd0, MPI_INT, recvv, cnt, dsp, MPI_INT, d,
					   &r));
		OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
		CHECK(recvv[2] == -left);
		OK(MPI_Comm_free(&d));
	}
}

/* The general MPI_Dist_graph_create: rank 0 alone declares every edge of a ring, right to
 * left (i -> i-1) with weight 100+i; the others declare none. Each rank then hears from its
 * right neighbor and talks to its left one. Then unweighted (a sentinel pointer in the ABI). */
static void dist_graph_general(void)
{
	int left = (rank + size - 1) % size, right = (rank + 1) % size;
	int n = rank == 0 ? size : 0;
	int *src = malloc(sizeof(int) * size), *deg = malloc(sizeof(int) * size);
	int *dst = malloc(sizeof(int) * size), *wt = malloc(sizeof(int) * size);
	for (int i = 0; i < size; i++) {
		src[i] = i;
		deg[i] = 1;
		dst[i] = (i + size - 1) % size;
		wt[i] = 100 + i;
	}
	int *volatile unw = MPI_UNWEIGHTED;
	for (int weighted = 1; weighted >= 0; weighted--) {
		MPI_Comm d;
		OK(MPI_Dist_graph_create(MPI_COMM_WORLD, n, src, deg, dst, weighted ? wt : unw,
					 MPI_INFO_NULL, 0, &d));
		int st = -1, in = -1, out = -1, w = -1;
		OK(MPI_Topo_test(d, &st));
		CHECK(st == MPI_DIST_GRAPH);
		OK(MPI_Dist_graph_neighbors_count(d, &in, &out, &w));
		CHECK(in == 1 && out == 1 && w == weighted);
		int s = -1, t = -1, sw = -1, tw = -1;
		if (weighted) {
			OK(MPI_Dist_graph_neighbors(d, 1, &s, &sw, 1, &t, &tw));
			CHECK(sw == 100 + right && tw == 100 + rank);
		} else {
			OK(MPI_Dist_graph_neighbors(d, 1, &s, unw, 1, &t, unw));
		}
		CHECK(s == right && t == left);
		int mine = 1000 + rank, got = -1;
		OK(MPI_Neighbor_allgather(&mine, 1, MPI_INT, &got, 1, MPI_INT, d));
		CHECK(got == 1000 + right);
		OK(MPI_Comm_free(&d));
	}
	free(src);
	free(deg);
	free(dst);
	free(wt);
}

/* Where a topology would put this process: MPI_Cart_map and MPI_Graph_map (MPICH keeps the
 * ranks; a process outside the topology gets MPI_UNDEFINED). */
static void maps(void)
{
	int dims[2] = {1, size - 1}, periods[2] = {0, 1}, newrank = -2;
	OK(MPI_Cart_map(MPI_COMM_WORLD, 2, dims, periods, &newrank));
	CHECK(rank < size - 1 ? newrank == rank : newrank == MPI_UNDEFINED);
	int index[2] = {1, 2}, edges[2] = {1, 0};
	OK(MPI_Graph_map(MPI_COMM_WORLD, 2, index, edges, &newrank));
	CHECK(rank < 2 ? newrank == rank : newrank == MPI_UNDEFINED);
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	CHECK(size >= 2 && size <= 64);
	int steps = cov_steps(argc, argv);
	for (int step = 1; step <= steps; step++) {
		cart();
		graph();
		dist_graph();
		dist_graph_general();
		maps();
		cov_step_done(step, steps);
	}
	cov_finish("cov_topo");
	MPI_Finalize();
	return 0;
}
