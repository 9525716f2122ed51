/* MPI_Is_thread_main, answered by the upper half: the thread that called MPI_Init (or
 * MPI_Init_thread) is the main one. After a restart MPI would answer for the checkpoint thread,
 * which initialized the new MPI instance; the application's threads keep their identities
 * (pthread_self) because the upper half's memory is restored at the same addresses. */
#define _GNU_SOURCE
#include <mpi.h>
#include <pthread.h>

#include "../mpi_crossing.h"

static pthread_t main_thread;

void sc_mpi_main_thread_is_caller(void)
{
	main_thread = pthread_self();
}

int PMPI_Is_thread_main(int *flag)
{
	if (!sc_mpi_initialized)
		return MPI_ERR_OTHER; /* before MPI_Init: erroneous */
	*flag = pthread_equal(pthread_self(), main_thread) != 0;
	return MPI_SUCCESS;
}

int MPI_Is_thread_main(int *flag) __attribute__((weak, alias("PMPI_Is_thread_main")));
