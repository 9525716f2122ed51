/* MPI_Abort through the crossing: rank 1 aborts with code 7 while rank 0 waits in a receive
 * that never completes (it must be ended, not hang). The test expects a non-zero exit. */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	int rank, v;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	if (rank == 1)
		MPI_Abort(MPI_COMM_WORLD, 7);
	else
		MPI_Recv(&v, 1, MPI_INT, MPI_ANY_SOURCE, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
	MPI_Finalize();
	return 0; /* not reached */
}
