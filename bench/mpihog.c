/* MPI checkpoint benchmark workload: every rank fills MIB mebibytes of heap with incompressible
 * data, rank 0 prints "ready", then the ranks exchange a ring message and an 8-byte Allreduce
 * every 5 ms forever (traffic in flight at the cut). Built with splitckpt-mpicc by
 * ckpt-mpi.sh. Usage: mpihog MIB. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	int rank, size;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	size_t len = (argc > 1 ? strtoul(argv[1], NULL, 10) : 256) << 20;
	uint64_t *buf = malloc(len), x = 0x9e3779b97f4a7c15ull + (uint64_t)rank;
	if (!buf)
		MPI_Abort(MPI_COMM_WORLD, 1);
	for (size_t i = 0; i < len / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = x;
	}
	MPI_Barrier(MPI_COMM_WORLD);
	if (rank == 0) {
		printf("ready\n");
		fflush(stdout);
	}
	for (uint64_t t = 0;; t++) {
		uint64_t in, out = buf[(t * 512) % (len / 8)], sum;
		MPI_Sendrecv(&out, 1, MPI_UINT64_T, (rank + 1) % size, 0, &in, 1, MPI_UINT64_T,
			     (rank + size - 1) % size, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		MPI_Allreduce(&in, &sum, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
		usleep(5000);
	}
}
