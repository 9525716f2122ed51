/* Coverage of point-to-point through the crossing: every send mode and its nonblocking form,
 * Sendrecv(_replace), persistent requests, (matched) probes, the Test/Wait families, request
 * freeing, cancellation, MPI_Get_elements, generalized requests (query/free/cancel callbacks,
 * MPI_Status_set_*), the large-count _c forms, a 5 MiB message and wildcards. Self-checking (a
 * wrong value exits non-zero); needs an even number of ranks. Built natively and with
 * splitckpt-mpicc.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_check.h"

static int rank, size, peer;

/* MPI_STATUSES_IGNORE through a variable: gcc 12 takes MPICH's (MPI_Status *)1 for an array */
static MPI_Status *volatile no_statuses = MPI_STATUSES_IGNORE;

/* Even ranks send v, odd ranks receive it: v + 1000 * tag arrives with that tag. */
static void modes(void)
{
	int v = 10 + rank, got = -1;
	MPI_Status st;
	if (rank % 2 == 0) {
		OK(MPI_Ssend(&v, 1, MPI_INT, peer, 1, MPI_COMM_WORLD));
		int bsize = 0;
		OK(MPI_Pack_size(1, MPI_INT, MPI_COMM_WORLD, &bsize));
		bsize += MPI_BSEND_OVERHEAD;
		char *buf = malloc((size_t)bsize * 2);
		OK(MPI_Buffer_attach(buf, bsize * 2));
		OK(MPI_Bsend(&v, 1, MPI_INT, peer, 2, MPI_COMM_WORLD));
		void *back = NULL;
		int bs = 0;
		OK(MPI_Buffer_detach(&back, &bs)); /* waits until the buffered send left */
		CHECK(back == buf && bs == bsize * 2);
		free(buf);
		OK(MPI_Recv(NULL, 0, MPI_INT, peer, 3, MPI_COMM_WORLD,
			    MPI_STATUS_IGNORE)); /* ready */
		OK(MPI_Rsend(&v, 1, MPI_INT, peer, 4, MPI_COMM_WORLD));
		MPI_Request r[3];
		int w[3] = {v + 1, v + 2, v + 3};
		OK(MPI_Issend(&w[0], 1, MPI_INT, peer, 5, MPI_COMM_WORLD, &r[0]));
		buf = malloc((size_t)bsize);
		OK(MPI_Buffer_attach(buf, bsize));
		OK(MPI_Ibsend(&w[1], 1, MPI_INT, peer, 6, MPI_COMM_WORLD, &r[1]));
		OK(MPI_Recv(NULL, 0, MPI_INT, peer, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
		OK(MPI_Irsend(&w[2], 1, MPI_INT, peer, 7, MPI_COMM_WORLD, &r[2]));
		OK(MPI_Waitall(3, r, no_statuses));
		for (int i = 0; i < 3; i++)
			CHECK(r[i] == MPI_REQUEST_NULL);
		OK(MPI_Buffer_detach(&back, &bs));
		free(buf);
	} else {
		for (int tag = 1; tag <= 2; tag++) {
			OK(MPI_Recv(&got, 1, MPI_INT, peer, tag, MPI_COMM_WORLD, &st));
			CHECK(got == 10 + peer && st.MPI_TAG == tag && st.MPI_SOURCE == peer);
		}
		MPI_Request r;
		OK(MPI_Irecv(&got, 1, MPI_INT, peer, 4, MPI_COMM_WORLD, &r)); /* before the Rsend */
		OK(MPI_Send(NULL, 0, MPI_INT, peer, 3, MPI_COMM_WORLD));
		OK(MPI_Wait(&r, &st));
		CHECK(got == 10 + peer && st.MPI_TAG == 4);
		int w[3];
		OK(MPI_Recv(&w[0], 1, MPI_INT, peer, 5, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
		OK(MPI_Recv(&w[1], 1, MPI_INT, peer, 6, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
		OK(MPI_Irecv(&w[2], 1, MPI_INT, peer, 7, MPI_COMM_WORLD, &r));
		OK(MPI_Send(NULL, 0, MPI_INT, peer, 3, MPI_COMM_WORLD));
		OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
		for (int i = 0; i < 3; i++)
			CHECK(w[i] == 10 + peer + i + 1);
	}
}

static void sendrecv(void)
{
	int right = (rank + 1) % size, left = (rank + size - 1) % size, out = rank, in = -1;
	MPI_Status st;
	OK(MPI_Sendrecv(&out, 1, MPI_INT, right, 11, &in, 1, MPI_INT, left, 11, MPI_COMM_WORLD,
			&st));
	CHECK(in == left && st.MPI_SOURCE == left && st.MPI_TAG == 11);
	int buf[2] = {rank, -rank};
	OK(MPI_Sendrecv_replace(buf, 2, MPI_INT, right, 12, MPI_ANY_SOURCE, MPI_ANY_TAG,
				MPI_COMM_WORLD, &st));
	CHECK(buf[0] == left && buf[1] == -left && st.MPI_SOURCE == left && st.MPI_TAG == 12);
	in = 77; /* MPI_PROC_NULL as source: nothing arrives, source MPI_PROC_NULL */
	OK(MPI_Sendrecv(&out, 1, MPI_INT, MPI_PROC_NULL, 13, &in, 1, MPI_INT, MPI_PROC_NULL, 13,
			MPI_COMM_WORLD, &st));
	CHECK(in == 77 && st.MPI_SOURCE == MPI_PROC_NULL && st.MPI_TAG == MPI_ANY_TAG);
	MPI_Request r;
	OK(MPI_Isendrecv(&out, 1, MPI_INT, right, 14, &in, 1, MPI_INT, left, 14, MPI_COMM_WORLD,
			 &r));
	OK(MPI_Wait(&r, &st));
	CHECK(in == left && r == MPI_REQUEST_NULL); /* MPICH 4.0.2 leaves its status unset */
	buf[0] = rank;
	OK(MPI_Isendrecv_replace(buf, 1, MPI_INT, right, 15, left, 15, MPI_COMM_WORLD, &r));
	OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
	CHECK(buf[0] == left);
}

/* Persistent requests: the handle survives its completions until MPI_Request_free. */
static void persistent(void)
{
	int out = 0, in = -1;
	MPI_Request r[2];
	if (rank % 2 == 0) {
		OK(MPI_Send_init(&out, 1, MPI_INT, peer, 20, MPI_COMM_WORLD, &r[0]));
		OK(MPI_Recv_init(&in, 1, MPI_INT, peer, 21, MPI_COMM_WORLD, &r[1]));
	} else {
		OK(MPI_Recv_init(&in, 1, MPI_INT, peer, 20, MPI_COMM_WORLD, &r[0]));
		OK(MPI_Ssend_init(&out, 1, MPI_INT, peer, 21, MPI_COMM_WORLD, &r[1]));
	}
	MPI_Request keep0 = r[0], keep1 = r[1];
	for (int it = 0; it < 5; it++) {
		out = 100 * rank + it;
		if (it % 2) {
			OK(MPI_Startall(2, r));
			OK(MPI_Waitall(2, r, no_statuses));
		} else {
			OK(MPI_Start(&r[0]));
			OK(MPI_Start(&r[1]));
			MPI_Status st;
			OK(MPI_Wait(&r[1], &st));
			OK(MPI_Wait(&r[0], &st));
		}
		CHECK(in == 100 * peer + it);
		CHECK(r[0] == keep0 && r[1] == keep1); /* inactive, not freed */
	}
	OK(MPI_Request_free(&r[0]));
	OK(MPI_Request_free(&r[1]));
	CHECK(r[0] == MPI_REQUEST_NULL && r[1] == MPI_REQUEST_NULL);
	/* Bsend_init / Rsend_init are created and freed without starting */
	OK(MPI_Bsend_init(&out, 1, MPI_INT, peer, 22, MPI_COMM_WORLD, &r[0]));
	OK(MPI_Rsend_init(&out, 1, MPI_INT, peer, 22, MPI_COMM_WORLD, &r[1]));
	OK(MPI_Request_free(&r[0]));
	OK(MPI_Request_free(&r[1]));
}

static void probes(void)
{
	int v[3] = {rank, rank + 1, rank + 2}, got[3] = {0}, n = -1, flag = 0;
	MPI_Status st;
	if (rank % 2 == 0) {
		for (int t = 30; t < 34; t++)
			OK(MPI_Send(v, t == 30 ? 3 : 2, MPI_INT, peer, t, MPI_COMM_WORLD));
		return;
	}
	OK(MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st));
	CHECK(st.MPI_SOURCE == peer && st.MPI_TAG == 30);
	OK(MPI_Get_count(&st, MPI_INT, &n));
	CHECK(n == 3);
	OK(MPI_Recv(got, 3, MPI_INT, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
	CHECK(got[2] == peer + 2);
	do
		OK(MPI_Iprobe(peer, 31, MPI_COMM_WORLD, &flag, &st));
	while (!flag);
	CHECK(st.MPI_TAG == 31);
	OK(MPI_Recv(got, 3, MPI_INT, peer, 31, MPI_COMM_WORLD, &st));
	OK(MPI_Get_count(&st, MPI_INT, &n));
	CHECK(n == 2);
	MPI_Message m = MPI_MESSAGE_NULL;
	OK(MPI_Mprobe(peer, 32, MPI_COMM_WORLD, &m, &st));
	CHECK(m != MPI_MESSAGE_NULL && st.MPI_TAG == 32);
	got[0] = -1;
	OK(MPI_Mrecv(got, 2, MPI_INT, &m, &st));
	CHECK(m == MPI_MESSAGE_NULL && got[0] == peer && st.MPI_SOURCE == peer);
	flag = 0;
	do
		OK(MPI_Improbe(MPI_ANY_SOURCE, 33, MPI_COMM_WORLD, &flag, &m, &st));
	while (!flag);
	MPI_Request r;
	got[1] = -1;
	OK(MPI_Imrecv(got, 2, MPI_INT, &m, &r));
	CHECK(m == MPI_MESSAGE_NULL);
	OK(MPI_Wait(&r, &st));
	CHECK(got[1] == peer + 1 && st.MPI_TAG == 33);
	/* a probe of MPI_PROC_NULL matches at once with the predefined "no process" message */
	OK(MPI_Mprobe(MPI_PROC_NULL, 0, MPI_COMM_WORLD, &m, &st));
	CHECK(m == MPI_MESSAGE_NO_PROC && st.MPI_SOURCE == MPI_PROC_NULL);
	OK(MPI_Mrecv(got, 1, MPI_INT, &m, MPI_STATUS_IGNORE));
	CHECK(m == MPI_MESSAGE_NULL);
}

/* N messages from the peer, completed through each Wait/Test family member. */
static void completions(void)
{
	enum { N = 6 };
	int out[N], in[N];
	MPI_Request r[N];
	MPI_Status sts[N];
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < N; i++) {
			out[i] = 1000 * round + 10 * rank + i;
			in[i] = -1;
		}
		if (rank % 2 == 0) {
			for (int i = 0; i < N; i++)
				OK(MPI_Isend(&out[i], 1, MPI_INT, peer, 40 + i, MPI_COMM_WORLD,
					     &r[i]));
			OK(MPI_Waitall(N, r, no_statuses));
			continue;
		}
		for (int i = 0; i < N; i++)
			OK(MPI_Irecv(&in[i], 1, MPI_INT, peer, 40 + i, MPI_COMM_WORLD, &r[i]));
		int done = 0, idx, flag, outcount, ids[N], seen[N] = {0};
		while (done < N) {
			switch (round) {
			case 0: /* Waitany */
				OK(MPI_Waitany(N, r, &idx, &sts[0]));
				CHECK(idx >= 0 && idx < N && !seen[idx] &&
				      r[idx] == MPI_REQUEST_NULL);
				CHECK(sts[0].MPI_TAG == 40 + idx);
				seen[idx] = 1;
				done++;
				break;
			case 1: /* Waitsome */
				OK(MPI_Waitsome(N, r, &outcount, ids, sts));
				CHECK(outcount >= 1 && outcount <= N - done);
				for (int k = 0; k < outcount; k++) {
					CHECK(!seen[ids[k]] && sts[k].MPI_TAG == 40 + ids[k]);
					seen[ids[k]] = 1;
				}
				done += outcount;
				break;
			case 2: /* Testall */
				OK(MPI_Testall(N, r, &flag, sts));
				if (flag) {
					for (int k = 0; k < N; k++)
						CHECK(sts[k].MPI_TAG == 40 + k &&
						      r[k] == MPI_REQUEST_NULL);
					done = N;
				}
				break;
			case 3: /* Testany */
				OK(MPI_Testany(N, r, &idx, &flag, &sts[0]));
				if (flag) {
					CHECK(idx >= 0 && !seen[idx] && sts[0].MPI_SOURCE == peer);
					seen[idx] = 1;
					done++;
				}
				break;
			default: /* Testsome */
				OK(MPI_Testsome(N, r, &outcount, ids, sts));
				for (int k = 0; k < outcount; k++) {
					CHECK(!seen[ids[k]] && sts[k].MPI_TAG == 40 + ids[k]);
					seen[ids[k]] = 1;
				}
				done += outcount;
			}
		}
		for (int i = 0; i < N; i++)
			CHECK(in[i] == 1000 * round + 10 * peer + i && r[i] == MPI_REQUEST_NULL);
		/* no active request left: the "undefined" answers */
		OK(MPI_Waitany(N, r, &idx, &sts[0]));
		CHECK(idx == MPI_UNDEFINED);
		OK(MPI_Testany(N, r, &idx, &flag, &sts[0]));
		CHECK(flag && idx == MPI_UNDEFINED);
		OK(MPI_Waitsome(N, r, &outcount, ids, sts));
		CHECK(outcount == MPI_UNDEFINED);
		OK(MPI_Testsome(N, r, &outcount, ids, sts));
		CHECK(outcount == MPI_UNDEFINED);
	}
}

static void free_cancel_elements(void)
{
	int v[3] = {7, 8, 9}, got[4] = {0};
	MPI_Request r;
	MPI_Status st;
	int flag = 0;
	/* a receive that nothing matches, cancelled */
	OK(MPI_Irecv(got, 1, MPI_INT, peer, 999, MPI_COMM_WORLD, &r));
	OK(MPI_Cancel(&r));
	OK(MPI_Wait(&r, &st));
	OK(MPI_Test_cancelled(&st, &flag));
	CHECK(flag && r == MPI_REQUEST_NULL);
	/* MPI_Request_get_status leaves the request alone, even once complete */
	if (rank % 2 == 0) {
		int x = 5;
		OK(MPI_Send(&x, 1, MPI_INT, peer, 998, MPI_COMM_WORLD));
	} else {
		OK(MPI_Irecv(got, 1, MPI_INT, peer, 998, MPI_COMM_WORLD, &r));
		MPI_Request keep = r;
		flag = 0;
		while (!flag)
			OK(MPI_Request_get_status(r, &flag, &st));
		CHECK(r == keep && st.MPI_SOURCE == peer && st.MPI_TAG == 998);
		OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
		CHECK(got[0] == 5 && r == MPI_REQUEST_NULL);
	}
	/* a freed active send still delivers */
	MPI_Datatype pair;
	OK(MPI_Type_contiguous(2, MPI_INT, &pair));
	OK(MPI_Type_commit(&pair));
	if (rank % 2 == 0) {
		OK(MPI_Isend(v, 3, MPI_INT, peer, 50, MPI_COMM_WORLD, &r));
		OK(MPI_Request_free(&r));
		CHECK(r == MPI_REQUEST_NULL);
	} else {
		OK(MPI_Recv(got, 2, pair, peer, 50, MPI_COMM_WORLD, &st));
		int n = 0, e = 0;
		OK(MPI_Test_cancelled(&st, &flag));
		CHECK(!flag);
		OK(MPI_Get_count(&st, pair, &n));
		OK(MPI_Get_elements(&st, pair, &e));
		CHECK(n == MPI_UNDEFINED && e == 3 && got[2] == 9);
	}
	OK(MPI_Type_free(&pair));
	OK(MPI_Barrier(MPI_COMM_WORLD)); /* the freed send completed before the next phase */
}

/* Generalized requests: MPI calls the application's query/free/cancel functions with the
 * extra_state given to MPI_Grequest_start; query fills the status through MPI_Status_set_*. */
struct greq {
	int id, queried, freed, cancels, complete_seen;
};

static int greq_query(void *extra, MPI_Status *st)
{
	struct greq *g = extra;
	g->queried++;
	st->MPI_SOURCE = 100 + g->id;
	st->MPI_TAG = 200 + g->id;
	st->MPI_ERROR = MPI_SUCCESS;
	MPI_Status_set_cancelled(st, g->cancels > 0);
	if (g->id == 2)
		MPI_Status_set_elements_x(st, MPI_INT, (MPI_Count)3 << 31); /* beyond int */
	else
		MPI_Status_set_elements(st, MPI_INT, 10 + g->id);
	return g->id == 3 ? MPI_ERR_OTHER : MPI_SUCCESS; /* the request's error */
}

static int greq_free(void *extra)
{
	((struct greq *)extra)->freed++;
	return MPI_SUCCESS;
}

static int greq_cancel(void *extra, int complete)
{
	struct greq *g = extra;
	g->cancels++;
	g->complete_seen = complete;
	return MPI_SUCCESS;
}

static void grequests(void)
{
	struct greq g[4] = {{.id = 0}, {.id = 1}, {.id = 2}, {.id = 3}};
	MPI_Request r[4];
	MPI_Status st;
	int flag = -1, n = -1;
	for (int i = 0; i < 4; i++)
		OK(MPI_Grequest_start(greq_query, greq_free, greq_cancel, &g[i], &r[i]));
	/* not complete yet: MPI_Test says so and queries nothing */
	OK(MPI_Test(&r[0], &flag, &st));
	CHECK(!flag && g[0].queried == 0 && r[0] != MPI_REQUEST_NULL);
	OK(MPI_Grequest_complete(r[0]));
	OK(MPI_Wait(&r[0], &st));
	CHECK(r[0] == MPI_REQUEST_NULL && g[0].queried >= 1 && g[0].freed == 1);
	CHECK(st.MPI_SOURCE == 100 && st.MPI_TAG == 200);
	OK(MPI_Get_count(&st, MPI_INT, &n));
	CHECK(n == 10);
	OK(MPI_Test_cancelled(&st, &flag));
	CHECK(!flag);
	/* cancelled before completion: cancel sees complete = 0, the status says cancelled */
	OK(MPI_Cancel(&r[1]));
	CHECK(g[1].cancels == 1 && g[1].complete_seen == 0 && g[1].freed == 0);
	OK(MPI_Grequest_complete(r[1]));
	flag = 0;
	while (!flag)
		OK(MPI_Test(&r[1], &flag, &st));
	OK(MPI_Test_cancelled(&st, &flag));
	CHECK(flag && r[1] == MPI_REQUEST_NULL && g[1].freed == 1 && st.MPI_TAG == 201);
	/* a count beyond int: MPI_Get_count cannot say it, MPI_Get_elements neither */
	OK(MPI_Grequest_complete(r[2]));
	OK(MPI_Cancel(&r[2])); /* after completion: complete = 1 */
	CHECK(g[2].complete_seen == 1);
	OK(MPI_Wait(&r[2], &st));
	OK(MPI_Get_count(&st, MPI_INT, &n));
	CHECK(n == MPI_UNDEFINED && st.MPI_SOURCE == 102);
	MPI_Count big = -1;
	OK(MPI_Get_count_c(&st, MPI_INT, &big));
	CHECK(big == (MPI_Count)3 << 31);
	/* the query function's error: MPI_ERR_IN_STATUS from MPI_Waitall, in the right status */
	MPI_Request two[2];
	MPI_Status sts[2];
	OK(MPI_Grequest_start(greq_query, greq_free, greq_cancel, &g[0], &two[0]));
	two[1] = r[3];
	OK(MPI_Grequest_complete(two[0]));
	OK(MPI_Grequest_complete(two[1]));
	OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
	OK(MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN));
	sts[0].MPI_ERROR = sts[1].MPI_ERROR = -1;
	int rc = MPI_Waitall(2, two, sts), cls = -1;
	OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
	OK(MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_ARE_FATAL));
	CHECK(rc == MPI_ERR_IN_STATUS);
	OK(MPI_Error_class(sts[1].MPI_ERROR, &cls));
	CHECK(sts[0].MPI_ERROR == MPI_SUCCESS && cls == MPI_ERR_OTHER && sts[1].MPI_TAG == 203);
	CHECK(g[3].queried >= 1 && g[3].freed == 1 && g[0].freed == 2);
	/* MPI_Status_set_* on a status of the application's own */
	MPI_Status mine;
	memset(&mine, 0, sizeof mine);
	mine.MPI_SOURCE = 5;
	OK(MPI_Status_set_elements(&mine, MPI_INT, 4));
	OK(MPI_Status_set_cancelled(&mine, 1));
	OK(MPI_Get_elements(&mine, MPI_INT, &n));
	OK(MPI_Test_cancelled(&mine, &flag));
	CHECK(n == 4 && flag && mine.MPI_SOURCE == 5);
}

/* The large-count (MPI_Count) forms: data, statuses and type queries. */
static void large_counts(void)
{
	enum { N = 1000 };
	int *out = malloc(N * sizeof(int)), *in = malloc(N * sizeof(int));
	for (int i = 0; i < N; i++)
		out[i] = rank * N + i;
	MPI_Status st;
	MPI_Count c = -1, lb = -1, ext = -1;
	if (rank % 2 == 0) {
		OK(MPI_Send_c(out, N, MPI_INT, peer, 70, MPI_COMM_WORLD));
		MPI_Request r;
		OK(MPI_Isend_c(out, N / 2, MPI_INT, peer, 71, MPI_COMM_WORLD, &r));
		OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
	} else {
		memset(in, 0, N * sizeof(int));
		OK(MPI_Recv_c(in, N, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st));
		CHECK(st.MPI_SOURCE == peer && st.MPI_TAG == 70 && in[N - 1] == peer * N + N - 1);
		OK(MPI_Get_count_c(&st, MPI_INT, &c));
		CHECK(c == N);
		MPI_Request r;
		OK(MPI_Irecv_c(in, N, MPI_INT, peer, 71, MPI_COMM_WORLD, &r));
		OK(MPI_Wait(&r, &st));
		OK(MPI_Get_elements_c(&st, MPI_INT, &c));
		CHECK(c == N / 2 && in[1] == peer * N + 1);
		/* a count that is not a whole number of pairs */
		MPI_Datatype pair;
		OK(MPI_Type_contiguous_c(2, MPI_INT, &pair));
		OK(MPI_Type_commit(&pair));
		OK(MPI_Get_count_c(&st, pair, &c));
		CHECK(c == N / 4);
		OK(MPI_Type_size_c(pair, &c));
		OK(MPI_Type_get_extent_c(pair, &lb, &ext));
		CHECK(c == 2 * sizeof(int) && lb == 0 && ext == 2 * sizeof(int));
		OK(MPI_Type_free(&pair));
	}
	OK(MPI_Recv_c(NULL, 0, MPI_INT, MPI_PROC_NULL, 0, MPI_COMM_WORLD, &st));
	CHECK(st.MPI_SOURCE == MPI_PROC_NULL);
	/* collectives */
	long v = rank == 0 ? 77 : -1, sum = -1, tot = -1;
	OK(MPI_Bcast_c(&v, 1, MPI_LONG, 0, MPI_COMM_WORLD));
	CHECK(v == 77);
	long me = rank + 1;
	OK(MPI_Allreduce_c(&me, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD));
	CHECK(sum == (long)size * (size + 1) / 2);
	OK(MPI_Reduce_c(&me, &tot, 1, MPI_LONG, MPI_MAX, size - 1, MPI_COMM_WORLD));
	CHECK(rank != size - 1 || tot == size);
	MPI_Request r[3];
	long b = rank == 1 ? 5 : 0, s2 = -1, m2 = -1;
	OK(MPI_Ibcast_c(&b, 1, MPI_LONG, 1, MPI_COMM_WORLD, &r[0]));
	OK(MPI_Iallreduce_c(&me, &s2, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD, &r[1]));
	OK(MPI_Ireduce_c(&me, &m2, 1, MPI_LONG, MPI_MIN, 0, MPI_COMM_WORLD, &r[2]));
	OK(MPI_Waitall(3, r, no_statuses));
	CHECK(b == 5 && s2 == sum && (rank != 0 || m2 == 1));
	free(out);
	free(in);
}

static void large_and_wildcards(void)
{
	const int n = (5 << 20) / (int)sizeof(int); /* 5 MiB: rendezvous, many time slices */
	int *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
	for (int i = 0; i < n; i++)
		a[i] = i ^ (rank << 24);
	MPI_Request r;
	OK(MPI_Irecv(b, n, MPI_INT, peer, 60, MPI_COMM_WORLD, &r));
	OK(MPI_Send(a, n, MPI_INT, peer, 60, MPI_COMM_WORLD));
	OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
	for (int i = 0; i < n; i++)
		if (b[i] != (i ^ (peer << 24)))
			CHECK(!"large message corrupted");
	if (rank % 2 == 0)
		OK(MPI_Ssend(a, n, MPI_INT, peer, 61, MPI_COMM_WORLD));
	else
		OK(MPI_Recv(b, n, MPI_INT, peer, 61, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
	if (rank % 2 && b[n - 1] != ((n - 1) ^ (peer << 24)))
		CHECK(!"large synchronous message corrupted");
	free(a);
	free(b);
	/* every rank reports to rank 0, which takes them in whatever order they come */
	if (rank == 0) {
		int seen = 0;
		for (int i = 1; i < size; i++) {
			int v;
			MPI_Status st;
			OK(MPI_Recv(&v, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD,
				    &st));
			CHECK(v == st.MPI_SOURCE * 3 && st.MPI_TAG == 70 + st.MPI_SOURCE);
			seen |= 1 << st.MPI_SOURCE;
		}
		CHECK(seen == (1 << size) - 2);
	} else {
		int v = rank * 3;
		OK(MPI_Send(&v, 1, MPI_INT, 0, 70 + rank, MPI_COMM_WORLD));
	}
	/* no rank's next round may send to rank 0 before its wildcard receives are done */
	OK(MPI_Barrier(MPI_COMM_WORLD));
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	CHECK(size % 2 == 0);
	peer = rank ^ 1;
	int steps = cov_steps(argc, argv);
	for (int step = 1; step <= steps; step++) {
		modes();
		sendrecv();
		persistent();
		probes();
		completions();
		free_cancel_elements();
		grequests();
		large_counts();
		large_and_wildcards();
		cov_step_done(step, steps);
	}
	cov_finish("cov_p2p");
	MPI_Finalize();
	return 0;
}
