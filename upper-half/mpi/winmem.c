/* MPI_Win_allocate with the window's memory in the upper half, so that a checkpoint saves it
 * and a restart finds it at the same address: the memory comes from the upper half's heap and
 * the window is an MPI_Win_create of it (a record a restart replays). The window still says it
 * was allocated (MPI_WIN_CREATE_FLAVOR; a shared one of winshared.c, that it is shared), and
 * MPI_Win_free frees its memory. MPI_Alloc_mem's memory comes from the upper half's heap as
 * well (MPI may use any memory for windows and messages: MPICH's own would be lost at a
 * restart). */
#define _GNU_SOURCE
#include <mpi.h>
#include <stdlib.h>

#include "../mpi_crossing.h"

int PMPI_Alloc_mem(MPI_Aint size, MPI_Info info, void *baseptr)
{
	(void)info;
	void *mem = NULL;
	if (size < 0)
		return MPI_ERR_SIZE;
	if (posix_memalign(&mem, 64, size > 0 ? (size_t)size : 1) != 0)
		return MPI_ERR_NO_MEM;
	*(void **)baseptr = mem;
	return MPI_SUCCESS;
}

int MPI_Alloc_mem(MPI_Aint size, MPI_Info info, void *baseptr)
    __attribute__((weak, alias("PMPI_Alloc_mem")));

int PMPI_Free_mem(void *base)
{
	free(base);
	return MPI_SUCCESS;
}

int MPI_Free_mem(void *base) __attribute__((weak, alias("PMPI_Free_mem")));

/* large: the _c form (MPI_Win_create_c, which a lower half may lack). */
static int win_allocate(MPI_Aint size, MPI_Aint disp_unit, MPI_Info info, MPI_Comm comm,
			void *baseptr, MPI_Win *win, int large)
{
	void *mem = NULL;
	/* a negative size is MPI_Win_create's error to report */
	if (size > 0 && posix_memalign(&mem, 64, (size_t)size) != 0)
		return MPI_ERR_NO_MEM;
	int rc = large ? PMPI_Win_create_c(mem, size, disp_unit, info, comm, win)
		       : PMPI_Win_create(mem, size, (int)disp_unit, info, comm, win);
	if (rc != MPI_SUCCESS) {
		free(mem);
		return rc;
	}
	if ((uintptr_t)*win >= SC_VH_PREDEF_MAX)
		((struct sc_vobj *)*win)->flags |= SC_VOBJ_WIN_MEMORY;
	*(void **)baseptr = mem;
	return MPI_SUCCESS;
}

int PMPI_Win_allocate(MPI_Aint size, int disp_unit, MPI_Info info, MPI_Comm comm, void *baseptr,
		      MPI_Win *win)
{
	return win_allocate(size, disp_unit, info, comm, baseptr, win, 0);
}

int PMPI_Win_allocate_c(MPI_Aint size, MPI_Aint disp_unit, MPI_Info info, MPI_Comm comm,
			void *baseptr, MPI_Win *win)
{
	return win_allocate(size, disp_unit, info, comm, baseptr, win, 1);
}

int MPI_Win_allocate(MPI_Aint size, int disp_unit, MPI_Info info, MPI_Comm comm, void *baseptr,
		     MPI_Win *win) __attribute__((weak, alias("PMPI_Win_allocate")));
int MPI_Win_allocate_c(MPI_Aint size, MPI_Aint disp_unit, MPI_Info info, MPI_Comm comm,
		       void *baseptr, MPI_Win *win)
    __attribute__((weak, alias("PMPI_Win_allocate_c")));

void *sc_mpi_win_memory(const void *win)
{
	const struct sc_vobj *o = win;
	if ((uintptr_t)win < SC_VH_PREDEF_MAX || !(o->flags & SC_VOBJ_WIN_MEMORY))
		return NULL;
	return (void *)(uintptr_t)o->args[0]; /* MPI_Win_create's record: base first */
}

void sc_mpi_win_attr(const void *win, int keyval, void *attribute_val, const int *flag)
{
	static const int allocated = MPI_WIN_FLAVOR_ALLOCATE, shared = MPI_WIN_FLAVOR_SHARED;
	if (!*flag || keyval != MPI_WIN_CREATE_FLAVOR || (uintptr_t)win < SC_VH_PREDEF_MAX)
		return;
	if (sc_mpi_win_memory(win))
		*(const int **)attribute_val = &allocated;
	else if (((const struct sc_vobj *)win)->flags & SC_VOBJ_WIN_SHARED)
		*(const int **)attribute_val = &shared;
}

void sc_mpi_win_freed(const void *win, void *memory)
{
	free(memory);
	if ((uintptr_t)win >= SC_VH_PREDEF_MAX &&
	    (((const struct sc_vobj *)win)->flags & SC_VOBJ_WIN_SHARED))
		sc_mpi_win_shared_freed(win);
}
