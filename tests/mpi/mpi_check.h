/* The self-check of the MPI test programs: CHECK(c) aborts the whole job with status 2 and a
 * message naming the rank, file, line and condition; OK(call) checks an MPI call succeeded.
 * The including program defines `static int rank` (its rank in MPI_COMM_WORLD). */
#ifndef SC_MPI_CHECK_H
#define SC_MPI_CHECK_H

#include <stdio.h>

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "rank %d: %s:%d: check failed: %s\n", rank, __FILE__,      \
				__LINE__, #c);                                                     \
			MPI_Abort(MPI_COMM_WORLD, 2);                                              \
		}                                                                                  \
	} while (0)
#define OK(call) CHECK((call) == MPI_SUCCESS)

#endif
