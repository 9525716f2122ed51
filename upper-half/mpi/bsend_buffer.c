/* The buffer of buffered sends (MPI_Buffer_attach/detach and their _c forms): the process has at
 * most one, in upper-half memory, so a checkpoint saves it; a restart attaches it again to the new
 * MPI, at the same address and size. Its contents need no care: at the cut every buffered
 * message was drained, so the new MPI starts with the whole buffer free. */
#include <limits.h>
#include <mpi.h>
#include <stdio.h>

#include "../mpi_crossing.h"
#include "cut.h"

/* Written only between sc_mpi_begin and sc_mpi_leave: no checkpoint sees it half-written. */
static void *attached;
static MPI_Count attached_size;

static int attach(int fn, void *buffer, MPI_Count size)
{
	const struct sc_mpi_table *tab = sc_mpi_begin();
	int rc;
	if (fn == SC_FN_MPI_Buffer_attach)
		SC_MPI_CALL(rc = tab->Buffer_attach(buffer, (int)size));
	else
		SC_MPI_CALL(rc = tab->Buffer_attach_c(buffer, size));
	if (rc != 0)
		return sc_mpi_fail(fn, rc);
	attached = buffer;
	attached_size = size;
	sc_mpi_leave();
	return MPI_SUCCESS;
}

int PMPI_Buffer_attach(void *buffer, int size)
{
	return attach(SC_FN_MPI_Buffer_attach, buffer, size);
}
int MPI_Buffer_attach(void *buffer, int size) __attribute__((weak, alias("PMPI_Buffer_attach")));

int PMPI_Buffer_attach_c(void *buffer, MPI_Count size)
{
	return attach(SC_FN_MPI_Buffer_attach_c, buffer, size);
}
int MPI_Buffer_attach_c(void *buffer, MPI_Count size)
    __attribute__((weak, alias("PMPI_Buffer_attach_c")));

/* After MPI_Buffer_detach (which returns once MPI sent every buffered message). */
static int detached(int fn, int rc)
{
	if (rc != 0)
		return sc_mpi_fail(fn, rc);
	attached = NULL;
	attached_size = 0;
	sc_mpi_leave();
	return MPI_SUCCESS;
}

int PMPI_Buffer_detach(void *buffer_addr, int *size)
{
	const struct sc_mpi_table *tab = sc_mpi_begin();
	int rc;
	SC_MPI_CALL(rc = tab->Buffer_detach(buffer_addr, size));
	return detached(SC_FN_MPI_Buffer_detach, rc);
}
int MPI_Buffer_detach(void *buffer_addr, int *size)
    __attribute__((weak, alias("PMPI_Buffer_detach")));

int PMPI_Buffer_detach_c(void *buffer_addr, MPI_Count *size)
{
	const struct sc_mpi_table *tab = sc_mpi_begin();
	int rc;
	SC_MPI_CALL(rc = tab->Buffer_detach_c(buffer_addr, size));
	return detached(SC_FN_MPI_Buffer_detach_c, rc);
}
int MPI_Buffer_detach_c(void *buffer_addr, MPI_Count *size)
    __attribute__((weak, alias("PMPI_Buffer_detach_c")));

int sc_mpi_bsend_buffer_restore(char *err, size_t errlen)
{
	int rc;
	if (!attached)
		return 0;
	/* the int form when the size fits: an MPI without large counts has it */
	if (attached_size <= INT_MAX)
		SC_MPI_CALL(rc = sc_mpi_tab->Buffer_attach(attached, (int)attached_size));
	else
		SC_MPI_CALL(rc = sc_mpi_tab->Buffer_attach_c(attached, attached_size));
	if (rc != 0)
		snprintf(err, errlen,
			 "attaching the buffer of buffered sends again (%lld bytes) failed (MPI "
			 "error %d)",
			 (long long)attached_size, rc);
	return rc != 0 ? -1 : 0;
}
