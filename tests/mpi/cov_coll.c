/* Coverage of collectives through the crossing: every blocking collective and its nonblocking
 * form (Bcast, Gather(v), Scatter(v), Allgather(v), Alltoall(v,w), Reduce, Allreduce,
 * Reduce_scatter(_block), Scan, Exscan, Barrier), MPI_IN_PLACE where the standard allows it, and
 * MPI_Reduce_local. Each result is computed independently and compared. Any rank count >= 2.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_check.h"

static int rank, size;

/* The nonblocking form completes through MPI_Wait; the blocking one directly. */
static MPI_Request req;
#define RUN(nb, blocking, nbcall, bcall)                                                           \
	do {                                                                                       \
		if (nb) {                                                                          \
			OK(nbcall);                                                                \
			OK(MPI_Wait(&req, MPI_STATUS_IGNORE));                                     \
			CHECK(req == MPI_REQUEST_NULL);                                            \
		} else {                                                                           \
			OK(bcall);                                                                 \
		}                                                                                  \
	} while (0)

static int val(int r, int i)
{
	return 1000 * r + i;
}

static void rooted(int nb, int root)
{
	int *all = calloc((size_t)size * 4, sizeof(int)), mine[4], cnt[64], dsp[64];
	for (int i = 0; i < 4; i++)
		mine[i] = val(rank, i);
	/* Bcast */
	int b[3] = {0};
	if (rank == root)
		for (int i = 0; i < 3; i++)
			b[i] = val(root, i);
	RUN(nb, 0, MPI_Ibcast(b, 3, MPI_INT, root, MPI_COMM_WORLD, &req),
	    MPI_Bcast(b, 3, MPI_INT, root, MPI_COMM_WORLD));
	CHECK(b[2] == val(root, 2));
	/* Gather, then Gather with MPI_IN_PLACE at the root */
	RUN(nb, 0, MPI_Igather(mine, 2, MPI_INT, all, 2, MPI_INT, root, MPI_COMM_WORLD, &req),
	    MPI_Gather(mine, 2, MPI_INT, all, 2, MPI_INT, root, MPI_COMM_WORLD));
	if (rank == root)
		for (int r = 0; r < size; r++)
			CHECK(all[2 * r + 1] == val(r, 1));
	if (rank == root) {
		memset(all, 0, (size_t)size * 2 * sizeof(int));
		all[2 * root] = mine[0];
		all[2 * root + 1] = mine[1];
		RUN(nb, 0,
		    MPI_Igather(MPI_IN_PLACE, 0, MPI_INT, all, 2, MPI_INT, root, MPI_COMM_WORLD,
				&req),
		    MPI_Gather(MPI_IN_PLACE, 0, MPI_INT, all, 2, MPI_INT, root, MPI_COMM_WORLD));
		for (int r = 0; r < size; r++)
			CHECK(all[2 * r] == val(r, 0));
	} else {
		RUN(nb, 0,
		    MPI_Igather(mine, 2, MPI_INT, NULL, 0, MPI_INT, root, MPI_COMM_WORLD, &req),
		    MPI_Gather(mine, 2, MPI_INT, NULL, 0, MPI_INT, root, MPI_COMM_WORLD));
	}
	/* Gatherv: rank r contributes r % 3 + 1 values */
	int off = 0;
	for (int r = 0; r < size; r++) {
		cnt[r] = r % 3 + 1;
		dsp[r] = off;
		off += cnt[r];
	}
	memset(all, 0, (size_t)size * 4 * sizeof(int));
	RUN(nb, 0,
	    MPI_Igatherv(mine, rank % 3 + 1, MPI_INT, all, cnt, dsp, MPI_INT, root, MPI_COMM_WORLD,
			 &req),
	    MPI_Gatherv(mine, rank % 3 + 1, MPI_INT, all, cnt, dsp, MPI_INT, root, MPI_COMM_WORLD));
	if (rank == root)
		for (int r = 0; r < size; r++)
			for (int i = 0; i < cnt[r]; i++)
				CHECK(all[dsp[r] + i] == val(r, i));
	/* Scatter and Scatterv: the root's array */
	for (int i = 0; i < size * 4; i++)
		all[i] = val(i / 4, i % 4) + 7;
	int got[4] = {0};
	RUN(nb, 0, MPI_Iscatter(all, 4, MPI_INT, got, 4, MPI_INT, root, MPI_COMM_WORLD, &req),
	    MPI_Scatter(all, 4, MPI_INT, got, 4, MPI_INT, root, MPI_COMM_WORLD));
	CHECK(got[3] == val(rank, 3) + 7);
	for (int r = 0; r < size; r++)
		dsp[r] = 4 * r + 1;
	memset(got, 0, sizeof got);
	RUN(nb, 0,
	    MPI_Iscatterv(all, cnt, dsp, MPI_INT, got, cnt[rank], MPI_INT, root, MPI_COMM_WORLD,
			  &req),
	    MPI_Scatterv(all, cnt, dsp, MPI_INT, got, cnt[rank], MPI_INT, root, MPI_COMM_WORLD));
	for (int i = 0; i < cnt[rank]; i++)
		CHECK(got[i] == val(rank, i + 1) + 7);
	/* Reduce (and in place at the root) */
	long s[2] = {rank, 2 * rank}, t[2] = {0}, want = (long)size * (size - 1) / 2;
	RUN(nb, 0, MPI_Ireduce(s, t, 2, MPI_LONG, MPI_SUM, root, MPI_COMM_WORLD, &req),
	    MPI_Reduce(s, t, 2, MPI_LONG, MPI_SUM, root, MPI_COMM_WORLD));
	if (rank == root)
		CHECK(t[0] == want && t[1] == 2 * want);
	int mx = rank * 5;
	if (rank == root)
		RUN(nb, 0,
		    MPI_Ireduce(MPI_IN_PLACE, &mx, 1, MPI_INT, MPI_MAX, root, MPI_COMM_WORLD, &req),
		    MPI_Reduce(MPI_IN_PLACE, &mx, 1, MPI_INT, MPI_MAX, root, MPI_COMM_WORLD));
	else
		RUN(nb, 0, MPI_Ireduce(&mx, NULL, 1, MPI_INT, MPI_MAX, root, MPI_COMM_WORLD, &req),
		    MPI_Reduce(&mx, NULL, 1, MPI_INT, MPI_MAX, root, MPI_COMM_WORLD));
	if (rank == root)
		CHECK(mx == (size - 1) * 5);
	free(all);
}

static void everyone(int nb)
{
	int n = size, *all = calloc((size_t)n * n * 4, sizeof(int)), mine[4], cnt[64], dsp[64];
	int *in = calloc((size_t)n * 4, sizeof(int));
	for (int i = 0; i < 4; i++)
		mine[i] = val(rank, i);
	RUN(nb, 0, MPI_Iallgather(mine, 2, MPI_INT, all, 2, MPI_INT, MPI_COMM_WORLD, &req),
	    MPI_Allgather(mine, 2, MPI_INT, all, 2, MPI_INT, MPI_COMM_WORLD));
	for (int r = 0; r < n; r++)
		CHECK(all[2 * r + 1] == val(r, 1));
	memset(all, 0, (size_t)n * 2 * sizeof(int));
	all[2 * rank] = mine[0];
	all[2 * rank + 1] = mine[1];
	RUN(nb, 0, MPI_Iallgather(MPI_IN_PLACE, 0, MPI_INT, all, 2, MPI_INT, MPI_COMM_WORLD, &req),
	    MPI_Allgather(MPI_IN_PLACE, 0, MPI_INT, all, 2, MPI_INT, MPI_COMM_WORLD));
	for (int r = 0; r < n; r++)
		CHECK(all[2 * r] == val(r, 0));
	int off = 0;
	for (int r = 0; r < n; r++) {
		cnt[r] = (r + 1) % 3 + 1;
		dsp[r] = off;
		off += cnt[r] + 1;
	}
	RUN(nb, 0,
	    MPI_Iallgatherv(mine, cnt[rank], MPI_INT, all, cnt, dsp, MPI_INT, MPI_COMM_WORLD, &req),
	    MPI_Allgatherv(mine, cnt[rank], MPI_INT, all, cnt, dsp, MPI_INT, MPI_COMM_WORLD));
	for (int r = 0; r < n; r++)
		for (int i = 0; i < cnt[r]; i++)
			CHECK(all[dsp[r] + i] == val(r, i));
	/* Alltoall: block j of rank r holds val(r, j); rank r receives val(j, r) from j */
	for (int j = 0; j < n; j++)
		all[j] = val(rank, j);
	RUN(nb, 0, MPI_Ialltoall(all, 1, MPI_INT, in, 1, MPI_INT, MPI_COMM_WORLD, &req),
	    MPI_Alltoall(all, 1, MPI_INT, in, 1, MPI_INT, MPI_COMM_WORLD));
	for (int j = 0; j < n; j++)
		CHECK(in[j] == val(j, rank));
	RUN(nb, 0, MPI_Ialltoall(MPI_IN_PLACE, 0, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD, &req),
	    MPI_Alltoall(MPI_IN_PLACE, 0, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD));
	for (int j = 0; j < n; j++)
		CHECK(all[j] == val(j, rank));
	/* Alltoallv: rank r sends (r + j) % 2 + 1 values to j */
	int sc[64], sd[64], rc[64], rd[64];
	for (int j = 0, so = 0, ro = 0; j < n; j++) {
		sc[j] = (rank + j) % 2 + 1;
		rc[j] = (j + rank) % 2 + 1;
		sd[j] = so;
		rd[j] = ro;
		so += sc[j];
		ro += rc[j];
		for (int i = 0; i < sc[j]; i++)
			all[sd[j] + i] = val(rank, 10 * j + i);
	}
	RUN(nb, 0, MPI_Ialltoallv(all, sc, sd, MPI_INT, in, rc, rd, MPI_INT, MPI_COMM_WORLD, &req),
	    MPI_Alltoallv(all, sc, sd, MPI_INT, in, rc, rd, MPI_INT, MPI_COMM_WORLD));
	for (int j = 0; j < n; j++)
		for (int i = 0; i < rc[j]; i++)
			CHECK(in[rd[j] + i] == val(j, 10 * rank + i));
	/* Alltoallw: per-peer datatypes (MPI_INT to even peers, a 2-int contiguous to odd) */
	MPI_Datatype two, st[64], rt[64];
	OK(MPI_Type_contiguous(2, MPI_INT, &two));
	OK(MPI_Type_commit(&two));
	for (int j = 0; j < n; j++) {
		sc[j] = rc[j] = 1;
		sd[j] = rd[j] = 2 * j * (int)sizeof(int); /* bytes */
		all[2 * j] = val(rank, j);
		all[2 * j + 1] = -val(rank, j);
		in[2 * j] = in[2 * j + 1] = 0;
	}
	/* sender r and receiver j agree on the type of their pair: (r + j) % 2 picks it */
	for (int j = 0; j < n; j++)
		st[j] = rt[j] = (rank + j) % 2 ? MPI_INT : two;
	RUN(nb, 0, MPI_Ialltoallw(all, sc, sd, st, in, rc, rd, rt, MPI_COMM_WORLD, &req),
	    MPI_Alltoallw(all, sc, sd, st, in, rc, rd, rt, MPI_COMM_WORLD));
	for (int j = 0; j < n; j++) {
		CHECK(in[2 * j] == val(j, rank));
		CHECK(in[2 * j + 1] == ((rank + j) % 2 ? 0 : -val(j, rank)));
	}
	OK(MPI_Type_free(&two));
	/* Allreduce (and in place) */
	double d = rank + 0.5, e = 0;
	RUN(nb, 0, MPI_Iallreduce(&d, &e, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, &req),
	    MPI_Allreduce(&d, &e, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
	CHECK(e == n * (n - 1) / 2.0 + n * 0.5);
	int m = rank;
	RUN(nb, 0, MPI_Iallreduce(MPI_IN_PLACE, &m, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD, &req),
	    MPI_Allreduce(MPI_IN_PLACE, &m, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
	CHECK(m == 0);
	/* Reduce_scatter: element k of everyone's vector is summed; rank r gets r + 1 of them */
	int tot = 0;
	for (int r = 0; r < n; r++)
		tot += (rc[r] = r + 1);
	for (int k = 0; k < tot; k++)
		all[k] = k * (rank + 1);
	int sumr = n * (n + 1) / 2, first = rank * (rank + 1) / 2;
	RUN(nb, 0, MPI_Ireduce_scatter(all, in, rc, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &req),
	    MPI_Reduce_scatter(all, in, rc, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
	for (int i = 0; i < rank + 1; i++)
		CHECK(in[i] == (first + i) * sumr);
	for (int k = 0; k < tot; k++)
		all[k] = k * (rank + 1);
	RUN(nb, 0,
	    MPI_Ireduce_scatter(MPI_IN_PLACE, all, rc, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &req),
	    MPI_Reduce_scatter(MPI_IN_PLACE, all, rc, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
	for (int i = 0; i < rank + 1; i++)
		CHECK(all[i] == (first + i) * sumr);
	for (int k = 0; k < 2 * n; k++)
		all[k] = k + rank;
	RUN(nb, 0, MPI_Ireduce_scatter_block(all, in, 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &req),
	    MPI_Reduce_scatter_block(all, in, 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
	CHECK(in[1] == n * (2 * rank + 1) + sumr - n);
	/* Scan, Exscan */
	int sv = rank + 1, so = -1;
	RUN(nb, 0, MPI_Iscan(&sv, &so, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &req),
	    MPI_Scan(&sv, &so, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
	CHECK(so == (rank + 1) * (rank + 2) / 2);
	RUN(nb, 0, MPI_Iscan(MPI_IN_PLACE, &sv, 1, MPI_INT, MPI_PROD, MPI_COMM_WORLD, &req),
	    MPI_Scan(MPI_IN_PLACE, &sv, 1, MPI_INT, MPI_PROD, MPI_COMM_WORLD));
	int fact = 1;
	for (int i = 2; i <= rank + 1; i++)
		fact *= i;
	CHECK(sv == fact);
	sv = rank + 1;
	so = -1;
	RUN(nb, 0, MPI_Iexscan(&sv, &so, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &req),
	    MPI_Exscan(&sv, &so, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
	if (rank > 0)
		CHECK(so == rank * (rank + 1) / 2);
	RUN(nb, 0, MPI_Iexscan(MPI_IN_PLACE, &sv, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &req),
	    MPI_Exscan(MPI_IN_PLACE, &sv, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
	if (rank > 0)
		CHECK(sv == rank);
	RUN(nb, 0, MPI_Ibarrier(MPI_COMM_WORLD, &req), MPI_Barrier(MPI_COMM_WORLD));
	free(all);
	free(in);
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	CHECK(size <= 64);
	int steps = cov_steps(argc, argv);
	for (int step = 1; step <= steps; step++) {
		for (int nb = 0; nb < 2; nb++) {
			for (int root = 0; root < size; root += size - 1)
				rooted(nb, root);
			everyone(nb);
		}
		/* several nonblocking collectives in flight at once, completed by one Waitall */
		int a = rank, b = 0, c[64];
		MPI_Request rs[3];
		OK(MPI_Iallreduce(&a, &b, 1, MPI_INT, MPI_BOR, MPI_COMM_WORLD, &rs[0]));
		OK(MPI_Iallgather(&a, 1, MPI_INT, c, 1, MPI_INT, MPI_COMM_WORLD, &rs[1]));
		OK(MPI_Ibarrier(MPI_COMM_WORLD, &rs[2]));
		MPI_Status sts[3];
		OK(MPI_Waitall(3, rs, sts));
		int bor = 0;
		for (int r = 0; r < size; r++) {
			bor |= r;
			CHECK(c[r] == r);
		}
		CHECK(b == bor);
		/* Reduce_local: no communication */
		int x[3] = {1, 2, 3}, y[3] = {10, 20, 30};
		OK(MPI_Reduce_local(x, y, 3, MPI_INT, MPI_SUM));
		CHECK(y[0] == 11 && y[2] == 33);
		cov_step_done(step, steps);
	}
	cov_finish("cov_coll");
	MPI_Finalize();
	return 0;
}
