/* Point-to-point through the MPI crossing: blocking and nonblocking calls, wildcards and
 * MPI_PROC_NULL (their values differ between the ABI and MPICH), statuses and MPI_Get_count,
 * a strided datatype, and a large rendezvous message that stays pending across many time
 * slices. Self-checking: any wrong value exits non-zero. Built natively and with splitckpt-mpicc.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi_check.h"

static int rank, size;

static void blocking_and_wildcards(void)
{
	int peer = rank ^ 1, v = 100 + rank, got = -1, count = -1;
	MPI_Status st;
	if (rank % 2 == 0) {
		MPI_Send(&v, 1, MPI_INT, peer, 7, MPI_COMM_WORLD);
		MPI_Recv(&got, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
	} else {
		MPI_Recv(&got, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
		MPI_Send(&v, 1, MPI_INT, peer, 9, MPI_COMM_WORLD);
	}
	CHECK(got == 100 + peer);
	CHECK(st.MPI_SOURCE == peer);
	CHECK(st.MPI_TAG == (rank % 2 == 0 ? 9 : 7));
	MPI_Get_count(&st, MPI_INT, &count);
	CHECK(count == 1);
	MPI_Get_count(&st, MPI_DOUBLE, &count); /* 4 bytes are no whole double */
	CHECK(count == MPI_UNDEFINED);

	/* MPI_PROC_NULL: completes at once with source MPI_PROC_NULL, tag MPI_ANY_TAG, count 0 */
	MPI_Send(&v, 1, MPI_INT, MPI_PROC_NULL, 1, MPI_COMM_WORLD);
	got = 42;
	MPI_Recv(&got, 1, MPI_INT, MPI_PROC_NULL, 1, MPI_COMM_WORLD, &st);
	CHECK(got == 42);
	CHECK(st.MPI_SOURCE == MPI_PROC_NULL);
	CHECK(st.MPI_TAG == MPI_ANY_TAG);
	MPI_Get_count(&st, MPI_INT, &count);
	CHECK(count == 0);
	MPI_Recv(&got, 1, MPI_INT, MPI_PROC_NULL, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
}

static void nonblocking(void)
{
	enum { N = 8 };
	int peer = rank ^ 1, out[N], in[N];
	MPI_Request reqs[2 * N];
	MPI_Status sts[2 * N];
	for (int i = 0; i < N; i++) {
		out[i] = rank * 1000 + i;
		in[i] = -1;
		MPI_Irecv(&in[i], 1, MPI_INT, peer, i, MPI_COMM_WORLD, &reqs[i]);
	}
	for (int i = 0; i < N; i++)
		MPI_Isend(&out[i], 1, MPI_INT, peer, i, MPI_COMM_WORLD, &reqs[N + i]);
	CHECK(reqs[0] != MPI_REQUEST_NULL);
	MPI_Waitall(2 * N, reqs, sts);
	for (int i = 0; i < 2 * N; i++)
		CHECK(reqs[i] == MPI_REQUEST_NULL);
	for (int i = 0; i < N; i++) {
		CHECK(in[i] == peer * 1000 + i);
		CHECK(sts[i].MPI_SOURCE == peer && sts[i].MPI_TAG == i);
	}

	/* MPI_Test until done, then MPI_Wait on the null request it left */
	int x = rank, y = -1, flag = 0;
	MPI_Request r, s;
	MPI_Irecv(&y, 1, MPI_INT, peer, 99, MPI_COMM_WORLD, &r);
	MPI_Isend(&x, 1, MPI_INT, peer, 99, MPI_COMM_WORLD, &s);
	MPI_Status st;
	while (!flag)
		MPI_Test(&r, &flag, &st);
	CHECK(r == MPI_REQUEST_NULL && y == peer && st.MPI_TAG == 99);
	MPI_Wait(&r, MPI_STATUS_IGNORE);
	MPI_Wait(&s, &st);
	CHECK(s == MPI_REQUEST_NULL);
	MPI_Waitall(0, reqs, sts);
}

/* 16 MiB with the receiver late: the sender's MPI_Send cannot complete in its first time
 * slice and continues slice by slice in the upper half. */
static void large_and_late(void)
{
	const int n = 4 << 20;
	int *buf = malloc((size_t)n * sizeof *buf);
	CHECK(buf);
	if (rank == 0) {
		for (int i = 0; i < n; i++)
			buf[i] = i ^ 0x5a5a;
		MPI_Send(buf, n, MPI_INT, 1, 3, MPI_COMM_WORLD);
	} else if (rank == 1) {
		usleep(200 * 1000);
		memset(buf, 0, (size_t)n * sizeof *buf);
		MPI_Recv(buf, n, MPI_INT, 0, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		for (int i = 0; i < n; i += 4099)
			CHECK(buf[i] == (i ^ 0x5a5a));
	}
	free(buf);
}

/* A column of a 4x5 row-major matrix as MPI_Type_vector. */
static void strided(void)
{
	int m[4][5], col[4];
	MPI_Datatype column;
	MPI_Type_vector(4, 1, 5, MPI_INT, &column);
	CHECK(column != MPI_DATATYPE_NULL && column != MPI_INT);
	MPI_Type_commit(&column);
	if (rank == 0) {
		for (int i = 0; i < 4; i++)
			for (int j = 0; j < 5; j++)
				m[i][j] = 10 * i + j;
		MPI_Send(&m[0][2], 1, column, 1, 5, MPI_COMM_WORLD);
	} else if (rank == 1) {
		MPI_Status st;
		int count = -1;
		MPI_Recv(col, 4, MPI_INT, 0, 5, MPI_COMM_WORLD, &st);
		MPI_Get_count(&st, MPI_INT, &count);
		CHECK(count == 4);
		for (int i = 0; i < 4; i++)
			CHECK(col[i] == 10 * i + 2);
	}
	MPI_Type_free(&column);
	CHECK(column == MPI_DATATYPE_NULL);
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	CHECK(size % 2 == 0);
	blocking_and_wildcards();
	nonblocking();
	large_and_late();
	strided();
	MPI_Finalize();
	if (rank == 0)
		printf("crossing_p2p: ok (%d ranks)\n", size);
	return 0;
}
