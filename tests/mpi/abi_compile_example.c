/* A small, realistic MPI application in the style of the MPI implementations' examples, compiled
 * (never linked or run here) against include/mpi.h with -std=c11 -pedantic -Werror: a token ring,
 * a nonblocking halo exchange of matrix columns through a vector datatype, a struct datatype,
 * reductions with predefined and user-defined operators, attributes and error handling. */
#include <mpi.h>

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#define N 16 /* local grid is N x N, with one ghost column on each side */

struct particle {
	double pos[3];
	int id;
	char tag;
};

static void absmax(void *in, void *inout, int *len, MPI_Datatype *type)
{
	const double *a = in;
	double *b = inout;

	(void)type;
	for (int i = 0; i < *len; i++)
		b[i] = fmax(fabs(a[i]), fabs(b[i]));
}

static void check(int rc, const char *what)
{
	char msg[MPI_MAX_ERROR_STRING];
	int len = 0;

	if (rc == MPI_SUCCESS)
		return;
	MPI_Error_string(rc, msg, &len);
	fprintf(stderr, "%s: %.*s\n", what, len, msg);
	MPI_Abort(MPI_COMM_WORLD, 1);
}

static int ring(int rank, int size)
{
	int token = -1;
	int next = (rank + 1) % size, prev = (rank + size - 1) % size;
	MPI_Status st;

	if (rank == 0) {
		token = 42;
		check(MPI_Send(&token, 1, MPI_INT, next, 0, MPI_COMM_WORLD), "send token");
		check(MPI_Recv(&token, 1, MPI_INT, prev, 0, MPI_COMM_WORLD, &st), "recv token");
	} else {
		check(MPI_Recv(&token, 1, MPI_INT, prev, MPI_ANY_TAG, MPI_COMM_WORLD, &st), "recv");
		check(MPI_Send(&token, 1, MPI_INT, next, st.MPI_TAG, MPI_COMM_WORLD), "send");
	}
	return token;
}

static void halo_exchange(double grid[N][N + 2], int rank, int size)
{
	MPI_Datatype column;
	MPI_Request req[4];
	MPI_Status st[4];
	int left = rank > 0 ? rank - 1 : MPI_PROC_NULL;
	int right = rank < size - 1 ? rank + 1 : MPI_PROC_NULL;
	int count;

	MPI_Type_vector(N, 1, N + 2, MPI_DOUBLE, &column);
	MPI_Type_commit(&column);
	MPI_Irecv(&grid[0][0], 1, column, left, 1, MPI_COMM_WORLD, &req[0]);
	MPI_Irecv(&grid[0][N + 1], 1, column, right, 2, MPI_COMM_WORLD, &req[1]);
	MPI_Isend(&grid[0][1], 1, column, left, 2, MPI_COMM_WORLD, &req[2]);
	MPI_Isend(&grid[0][N], 1, column, right, 1, MPI_COMM_WORLD, &req[3]);
	check(MPI_Waitall(4, req, st), "halo exchange");
	MPI_Get_count(&st[0], column, &count);
	if (left != MPI_PROC_NULL && count != 1)
		fprintf(stderr, "rank %d: got %d columns from the left\n", rank, count);
	MPI_Type_free(&column);
}

static MPI_Datatype particle_type(void)
{
	struct particle p = {{0}, 0, 0};
	int lengths[3] = {3, 1, 1};
	MPI_Aint base, disp[3];
	MPI_Datatype types[3] = {MPI_DOUBLE, MPI_INT, MPI_CHAR}, tmp, result;

	MPI_Get_address(&p, &base);
	MPI_Get_address(&p.pos, &disp[0]);
	MPI_Get_address(&p.id, &disp[1]);
	MPI_Get_address(&p.tag, &disp[2]);
	for (int i = 0; i < 3; i++)
		disp[i] = MPI_Aint_diff(disp[i], base);
	MPI_Type_create_struct(3, lengths, disp, types, &tmp);
	MPI_Type_create_resized(tmp, 0, (MPI_Aint)sizeof(struct particle), &result);
	MPI_Type_free(&tmp);
	MPI_Type_commit(&result);
	return result;
}

int main(int argc, char **argv)
{
	int rank, size, provided, flag, *tag_ub;
	double grid[N][N + 2], t0, local[2], global[2];
	struct {
		double value;
		int rank;
	} mine, best;
	struct particle parts[4] = {{{0}, 0, 'a'}};
	MPI_Datatype ptype;
	MPI_Op op;
	MPI_Comm half;
	char name[MPI_MAX_PROCESSOR_NAME];
	int namelen;

	MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Get_processor_name(name, &namelen);
	MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &tag_ub, &flag);
	if (rank == 0)
		printf("%d ranks, thread level %d, tag_ub %d, on %s\n", size, provided,
		       flag ? *tag_ub : -1, name);
	t0 = MPI_Wtime();

	if (ring(rank, size) != 42)
		MPI_Abort(MPI_COMM_WORLD, 2);

	for (int i = 0; i < N; i++)
		for (int j = 0; j < N + 2; j++)
			grid[i][j] = rank * 1000.0 + i * N + j;
	halo_exchange(grid, rank, size);

	ptype = particle_type();
	MPI_Bcast(parts, 4, ptype, 0, MPI_COMM_WORLD);
	MPI_Type_free(&ptype);

	local[0] = grid[1][1];
	local[1] = -grid[N - 1][N];
	MPI_Allreduce(local, global, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
	MPI_Op_create(absmax, 1, &op);
	MPI_Allreduce(MPI_IN_PLACE, local, 2, MPI_DOUBLE, op, MPI_COMM_WORLD);
	MPI_Op_free(&op);
	mine.value = local[0];
	mine.rank = rank;
	MPI_Reduce(&mine, &best, 1, MPI_DOUBLE_INT, MPI_MAXLOC, 0, MPI_COMM_WORLD);

	MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half);
	MPI_Barrier(half);
	MPI_Comm_free(&half);

	if (rank == 0)
		printf("sum %g %g, max %g on rank %d, %.3f s\n", global[0], global[1], best.value,
		       best.rank, MPI_Wtime() - t0);
	MPI_Finalize();
	return EXIT_SUCCESS;
}
