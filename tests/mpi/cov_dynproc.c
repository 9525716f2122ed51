/* Coverage of the dynamic-process functions that need no second job: name publishing
 * (MPI_Publish_name, MPI_Lookup_name, MPI_Unpublish_name) and ports (MPI_Open_port,
 * MPI_Close_port), with the errors returned (MPI_ERRORS_RETURN) rather than fatal; the process
 * was not spawned (MPI_Comm_get_parent). Debian's MPICH 4.0.2 (ch4:ucx) has no ports: then
 * MPI_Open_port fails, natively and through splitckpt alike, and the program checks the error
 * class is a real one. MPI_Comm_accept/connect/join need a second job or a socket: not here.
 * Self-checking. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "mpi_check.h"

static int rank, size;

static void names(int step)
{
	char service[64], port[MPI_MAX_PORT_NAME], found[MPI_MAX_PORT_NAME];
	snprintf(service, sizeof service, "cov_dynproc-%d-%d", rank, step);
	snprintf(port, sizeof port, "port-of-%d-%d", rank, step);
	OK(MPI_Publish_name(service, MPI_INFO_NULL, port));
	memset(found, 0, sizeof found);
	int rc = MPI_Lookup_name(service, MPI_INFO_NULL, found);
	CHECK(rc == MPI_SUCCESS);
	OK(MPI_Unpublish_name(service, MPI_INFO_NULL, port));
}

static void ports(void)
{
	char port[MPI_MAX_PORT_NAME];
	int cls = -1, rc = MPI_Open_port(MPI_INFO_NULL, port);
	if (rc == MPI_SUCCESS) {
		CHECK(strlen(port) > 0 && strlen(port) < MPI_MAX_PORT_NAME);
		OK(MPI_Close_port(port));
	} else {
		OK(MPI_Error_class(rc, &cls));
		CHECK(cls > MPI_SUCCESS && cls <= MPI_ERR_LASTCODE);
	}
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
	MPI_Comm parent = MPI_COMM_WORLD;
	OK(MPI_Comm_get_parent(&parent));
	CHECK(parent == MPI_COMM_NULL);
	int steps = cov_steps(argc, argv);
	for (int step = 1; step <= steps; step++) {
		names(step);
		ports();
		cov_step_done(step, steps);
	}
	cov_finish("cov_dynproc");
	MPI_Finalize();
	return 0;
}
