/* A function of the list that the running lower half lacks (MPI_Irecv_c: MPI 4.0's large
 * counts, not in Open MPI 4.1) must be reported, not crash: the call returns
 * MPI_ERR_UNSUPPORTED_OPERATION and the job goes on. argv[1]: "missing" (expect that) or "present"
 * (expect the real exchange); argv[2], optional: a file whose creation rank 0 waits for (at most 60
 * s) after MPI_Init, so that a test can look at the running job. Built only with splitckpt-mpicc
 * (tests/mpi/launch*). */
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int rank, size, cls = -1, out, in = -1;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	for (int i = 0; argc > 2 && rank == 0 && i < 600 && access(argv[2], F_OK); i++)
		usleep(100000);
	MPI_Barrier(MPI_COMM_WORLD);
	MPI_Request req[2];
	out = 10 + rank;
	int rc = MPI_Irecv_c(&in, 1, MPI_INT, (rank + size - 1) % size, 3, MPI_COMM_WORLD, &req[0]);
	if (rc == MPI_SUCCESS)
		rc = MPI_Isend_c(&out, 1, MPI_INT, (rank + 1) % size, 3, MPI_COMM_WORLD, &req[1]);
	if (rc == MPI_SUCCESS)
		rc = MPI_Waitall(2, req, MPI_STATUSES_IGNORE);
	if (rc != MPI_SUCCESS)
		MPI_Error_class(rc, &cls);
	int want_missing = argc > 1 && !strcmp(argv[1], "missing");
	int ok = want_missing ? cls == MPI_ERR_UNSUPPORTED_OPERATION
			      : rc == MPI_SUCCESS && in == 10 + (rank + size - 1) % size;
	int all = 0;
	MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
	if (rank == 0)
		printf("launch_missing: %s (%d ranks)\n", all ? "ok" : "FAILED", size);
	MPI_Finalize();
	return all ? 0 : 1;
}
