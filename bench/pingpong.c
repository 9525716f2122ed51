/* MPI benchmark for the crossing's cost: ping-pong one-way latency and streaming bandwidth from
 * 8 B to 1 MiB, 8-byte MPI_Allreduce latency, and the cost of a trivial call (MPI_Comm_rank).
 * The same source is built natively (mpicc.mpich) and with splitckpt-mpicc; run-pingpong.sh runs
 * both and prints the ratios. Output: one "KIND SIZE USEC" line per measurement (rank 0); for
 * "stream" USEC is the time per message. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank;

/* Each measurement is the minimum of `reps` runs: on a shared machine the other processes only
 * ever add time, and the minimum is what the code path itself costs. */
static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pingpong(char *buf, int size, int iters)
{
	int peer = rank ^ 1;
	double t0 = MPI_Wtime();
	for (int i = 0; i < iters; i++) {
		if (rank == 0) {
			MPI_Send(buf, size, MPI_BYTE, peer, 1, MPI_COMM_WORLD);
			MPI_Recv(buf, size, MPI_BYTE, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		} else {
			MPI_Recv(buf, size, MPI_BYTE, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			MPI_Send(buf, size, MPI_BYTE, peer, 1, MPI_COMM_WORLD);
		}
	}
	return (MPI_Wtime() - t0) / iters / 2 * 1e6; /* one way, microseconds */
}

/* Bandwidth as osu_bw measures it: rank 0 keeps WINDOW nonblocking sends in flight, rank 1
 * matching receives, then a zero-byte acknowledgement closes each window. */
enum { WINDOW = 64 };
static double stream(char *buf, int size, int iters)
{
	MPI_Request req[WINDOW];
	int peer = rank ^ 1;
	double t0 = MPI_Wtime();
	for (int i = 0; i < iters; i++) {
		for (int w = 0; w < WINDOW; w++) {
			if (rank == 0)
				MPI_Isend(buf, size, MPI_BYTE, peer, 2, MPI_COMM_WORLD, &req[w]);
			else
				MPI_Irecv(buf, size, MPI_BYTE, peer, 2, MPI_COMM_WORLD, &req[w]);
		}
		MPI_Waitall(WINDOW, req, MPI_STATUSES_IGNORE);
		if (rank == 0)
			MPI_Recv(NULL, 0, MPI_BYTE, peer, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		else
			MPI_Send(NULL, 0, MPI_BYTE, peer, 3, MPI_COMM_WORLD);
	}
	return (MPI_Wtime() - t0) / iters / WINDOW * 1e6; /* per message, microseconds */
}

static double allreduce(int iters)
{
	double in = rank, out;
	double t0 = MPI_Wtime();
	for (int i = 0; i < iters; i++)
		MPI_Allreduce(&in, &out, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
	return (MPI_Wtime() - t0) / iters * 1e6;
}

static double trivial(int iters)
{
	int r = 0;
	double t0 = MPI_Wtime();
	for (int i = 0; i < iters; i++)
		MPI_Comm_rank(MPI_COMM_WORLD, &r);
	return (MPI_Wtime() - t0) / iters * 1e6;
}

static void report(const char *kind, int size, double *v, int reps)
{
	qsort(v, (size_t)reps, sizeof *v, cmp);
	if (rank == 0)
		printf("%s %d %.4f\n", kind, size, v[0]);
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	int nranks;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &nranks);
	int reps = argc > 1 ? atoi(argv[1]) : 7;
	if (reps < 1 || reps > 99)
		reps = 7;
	if (nranks != 2) {
		if (rank == 0)
			fprintf(stderr, "pingpong: run with 2 ranks\n");
		MPI_Abort(MPI_COMM_WORLD, 64);
	}
	char *buf = malloc(1 << 20);
	memset(buf, 1, 1 << 20);
	double v[99];
	static const int sizes[] = {8, 64, 512, 4096, 32768, 262144, 1 << 20};
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		int size = sizes[k];
		int iters = size <= 4096 ? 20000 : (int)(200000000LL / size / 64) + 50;
		pingpong(buf, size, iters / 10); /* warm-up */
		for (int r = 0; r < reps; r++)
			v[r] = pingpong(buf, size, iters);
		report("pingpong", size, v, reps);
	}
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		int size = sizes[k];
		int iters = size <= 4096 ? 500 : (int)(20000000LL / size / 16) + 5;
		stream(buf, size, iters / 10 + 1); /* warm-up */
		for (int r = 0; r < reps; r++)
			v[r] = stream(buf, size, iters);
		report("stream", size, v, reps);
	}
	allreduce(2000);
	for (int r = 0; r < reps; r++)
		v[r] = allreduce(20000);
	report("allreduce", 8, v, reps);
	for (int r = 0; r < reps; r++)
		v[r] = trivial(1000000);
	report("comm_rank", 0, v, reps);
	free(buf);
	MPI_Finalize();
	return 0;
}
