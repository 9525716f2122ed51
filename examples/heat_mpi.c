/* 2-D heat diffusion on an N x N grid split into row blocks across the ranks: each step
 * exchanges halo rows with the neighbours using nonblocking sends and receives, applies a
 * Jacobi update, and every 10 steps rank 0 prints the total heat (an MPI_Allreduce), which
 * must stay constant. Build with `splitckpt-mpicc -O2 -o heat_mpi heat_mpi.c` and run with
 * `mpiexec -n 4 splitckpt launch ./heat_mpi [STEPS [N [MS_PER_STEP]]]`. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	int rank, size;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	int steps = argc > 1 ? atoi(argv[1]) : 200;
	int n = argc > 2 ? atoi(argv[2]) : 512;
	long ms = argc > 3 ? atol(argv[3]) : 0; /* a pause per step, to make a run last */
	if (steps <= 0 || n < size || n < 3 || ms < 0) {
		if (rank == 0)
			fprintf(stderr, "usage: heat_mpi [STEPS [N [MS_PER_STEP]]] "
					"(N >= number of ranks)\n");
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	/* rows [first, first + rows) belong to this rank; row 0 and row rows+1 are halos */
	int rows = n / size + (rank < n % size),
	    first = rank * (n / size) + (rank < n % size ? rank : n % size);
	double *t = calloc((size_t)(rows + 2) * n, sizeof *t);
	double *next = calloc((size_t)(rows + 2) * n, sizeof *next);
	if (!t || !next)
		MPI_Abort(MPI_COMM_WORLD, 1);
	for (int i = 1; i <= rows; i++) /* a hot square in the middle of the plate */
		for (int j = n / 4; j < 3 * n / 4; j++)
			if (first + i - 1 >= n / 4 && first + i - 1 < 3 * n / 4)
				t[(size_t)i * n + j] = 100.0;
	int up = rank > 0 ? rank - 1 : MPI_PROC_NULL;
	int down = rank < size - 1 ? rank + 1 : MPI_PROC_NULL;
	double initial = 0;
	for (int step = 1; step <= steps; step++) {
		MPI_Request req[4];
		MPI_Irecv(&t[0], n, MPI_DOUBLE, up, 1, MPI_COMM_WORLD, &req[0]);
		MPI_Irecv(&t[(size_t)(rows + 1) * n], n, MPI_DOUBLE, down, 0, MPI_COMM_WORLD,
			  &req[1]);
		MPI_Isend(&t[(size_t)n], n, MPI_DOUBLE, up, 0, MPI_COMM_WORLD, &req[2]);
		MPI_Isend(&t[(size_t)rows * n], n, MPI_DOUBLE, down, 1, MPI_COMM_WORLD, &req[3]);
		MPI_Waitall(4, req, MPI_STATUSES_IGNORE);
		for (int i = 1; i <= rows; i++) {
			int g = first + i - 1; /* global row; the plate's border rows stay fixed */
			for (int j = 0; j < n; j++) {
				double *c = &t[(size_t)i * n + j];
				if (g == 0 || g == n - 1 || j == 0 || j == n - 1) {
					next[(size_t)i * n + j] = *c;
					continue;
				}
				next[(size_t)i * n + j] =
				    *c + 0.2 * (c[-n] + c[n] + c[-1] + c[1] - 4 * *c);
			}
		}
		double *swap = t;
		t = next;
		next = swap;
		if (ms) {
			struct timespec pause = {ms / 1000, ms % 1000 * 1000000};
			nanosleep(&pause, NULL);
		}
		if (step % 10 == 0 || step == 1) {
			double local = 0, total = 0;
			for (int i = 1; i <= rows; i++)
				for (int j = 0; j < n; j++)
					local += t[(size_t)i * n + j];
			MPI_Allreduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
			if (step == 1)
				initial = total;
			if (rank == 0) {
				printf("step %d heat %.6e\n", step, total);
				fflush(stdout);
			}
			/* Heat only leaves through the fixed border: it never grows. */
			if (total > initial * (1 + 1e-9) || !isfinite(total)) {
				if (rank == 0)
					fprintf(stderr, "heat_mpi: heat grew at step %d\n", step);
				MPI_Abort(MPI_COMM_WORLD, 1);
			}
		}
	}
	free(t);
	free(next);
	MPI_Finalize();
	return 0;
}
