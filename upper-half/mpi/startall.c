/* MPI_Startall as the standard defines it: MPI_Start on each request in turn, through the
 * wrapper of libsplitckpt_mpi, so that each persistent receive sees the drained messages first
 * (drain_serve.c) and each start moves the checkpoint's counters. */
#include <mpi.h>

int PMPI_Startall(int count, MPI_Request array_of_requests[])
{
	if (count < 0)
		return MPI_ERR_COUNT;
	for (int i = 0; i < count; i++) {
		int rc = PMPI_Start(&array_of_requests[i]);
		if (rc != MPI_SUCCESS)
			return rc;
	}
	return MPI_SUCCESS;
}

int MPI_Startall(int count, MPI_Request array_of_requests[])
    __attribute__((weak, alias("PMPI_Startall")));
