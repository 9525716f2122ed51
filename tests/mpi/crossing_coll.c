/* Collectives and communicators through the MPI crossing: barrier, broadcast, reductions with
 * predefined ops, MPI_IN_PLACE (a different pointer value in the ABI and in MPICH), a
 * user-defined op (the callback path: MPI calls the application back from the lower half, and
 * the datatype it passes must be the application's handle), split/dup/free. Self-checking. */
#include <mpi.h>
#include <stdio.h>

#include "mpi_check.h"

static int rank, size;
static int op_calls;
static MPI_Datatype seen_type;

/* inout[i] = max(|in[i]|, |inout[i]|): commutative and unlike any predefined op */
static void absmax(void *in, void *inout, int *len, MPI_Datatype *type)
{
	const int *a = in;
	int *b = inout;
	op_calls++; /* a global of the application: proves we run on its TLS and data */
	seen_type = *type;
	for (int i = 0; i < *len; i++) {
		int x = a[i] < 0 ? -a[i] : a[i], y = b[i] < 0 ? -b[i] : b[i];
		b[i] = x > y ? x : y;
	}
}

static void predefined(void)
{
	MPI_Barrier(MPI_COMM_WORLD);
	int v = rank == 1 ? 4242 : 0;
	MPI_Bcast(&v, 1, MPI_INT, 1, MPI_COMM_WORLD);
	CHECK(v == 4242);

	double d = rank + 1.5, sum = 0;
	MPI_Reduce(&d, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
	if (rank == 0)
		CHECK(sum == size * (size + 1) / 2.0 + 0.5 * size);

	long m[2] = {rank, -rank}, mx[2];
	MPI_Allreduce(m, mx, 2, MPI_LONG, MPI_MAX, MPI_COMM_WORLD);
	CHECK(mx[0] == size - 1 && mx[1] == 0);

	int inplace[3] = {rank, 1, 2 * rank};
	MPI_Allreduce(MPI_IN_PLACE, inplace, 3, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	CHECK(inplace[0] == size * (size - 1) / 2 && inplace[1] == size &&
	      inplace[2] == size * (size - 1));
}

static void user_op(void)
{
	MPI_Op op;
	MPI_Op_create(absmax, 1, &op);
	CHECK(op != MPI_OP_NULL);
	int v[4] = {rank, -10 * rank, 3, -rank * rank}, r[4];
	MPI_Allreduce(v, r, 4, MPI_INT, op, MPI_COMM_WORLD);
	int n = size - 1;
	CHECK(r[0] == n && r[1] == 10 * n && r[2] == 3 && r[3] == n * n);
	if (size > 1) {
		CHECK(op_calls > 0 || rank != 0 || size == 1);
		if (op_calls)
			CHECK(seen_type == MPI_INT);
	}
	int x = -7 * rank, y = 0;
	MPI_Reduce(&x, &y, 1, MPI_INT, op, 0, MPI_COMM_WORLD);
	if (rank == 0)
		CHECK(y == 7 * (size - 1));
	MPI_Op_free(&op);
	CHECK(op == MPI_OP_NULL);
}

static void communicators(void)
{
	MPI_Comm half, dup, none;
	MPI_Comm_split(MPI_COMM_WORLD, rank % 2, -rank, &half);
	CHECK(half != MPI_COMM_NULL && half != MPI_COMM_WORLD);
	int hr, hs;
	MPI_Comm_rank(half, &hr);
	MPI_Comm_size(half, &hs);
	CHECK(hs == (size + 1 - rank % 2) / 2);
	CHECK(hr == hs - 1 - rank / 2); /* key -rank reverses the order */
	int s = rank, t = 0;
	MPI_Allreduce(&s, &t, 1, MPI_INT, MPI_SUM, half);
	int expect = 0;
	for (int i = rank % 2; i < size; i += 2)
		expect += i;
	CHECK(t == expect);

	MPI_Comm_dup(half, &dup);
	CHECK(dup != half && dup != MPI_COMM_NULL);
	int dr;
	MPI_Comm_rank(dup, &dr);
	CHECK(dr == hr);
	MPI_Comm_free(&half); /* dup was created from half: it must outlive it */
	CHECK(half == MPI_COMM_NULL);
	MPI_Barrier(dup);
	MPI_Comm_free(&dup);
	CHECK(dup == MPI_COMM_NULL);

	MPI_Comm_split(MPI_COMM_WORLD, rank == 0 ? MPI_UNDEFINED : 1, 0, &none);
	CHECK((rank == 0) == (none == MPI_COMM_NULL));
	if (none != MPI_COMM_NULL)
		MPI_Comm_free(&none);
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	predefined();
	user_op();
	communicators();
	MPI_Finalize();
	if (rank == 0)
		printf("crossing_coll: ok (%d ranks)\n", size);
	return 0;
}
