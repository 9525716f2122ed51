/* MPI_Win_allocate with the window's memory in the upper half, so that a checkpoint saves it
 * and a restart finds it at the same address: the memory comes from the upper half's heap and
 * the window is an MPI_Win_create of it (a record a restart replays). The window still says it
 * was allocated (MPI_WIN_CREATE_FLAVOR; a shared one of winshared.c, that it is shared), and
 * MPI_Win_free frees its memory; the values of the predefined window attributes are copies in
 * the upper half. MPI_Alloc_mem's memory comes from the upper half's heap as well (MPI may use
 * any memory for windows and messages: MPICH's own would be lost at a restart). */
#define _GNU_SOURCE
#include <mpi.h>
#include <pthread.h>
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

/* The values of a window's predefined attributes, copied into upper-half memory: MPI points
 * MPI_WIN_SIZE and MPI_WIN_DISP_UNIT into its window object, which a restart replaces, and an
 * application may keep the pointer. One per window asked, freed with it. */
struct win_attrs {
	const void *win;
	struct win_attrs *next;
	MPI_Aint size;
	int disp_unit, flavor, model;
};
static struct win_attrs *win_attrs;
static pthread_mutex_t win_attrs_lock = PTHREAD_MUTEX_INITIALIZER;

static struct win_attrs *attrs_of(const void *win)
{
	struct win_attrs *a;
	for (a = win_attrs; a && a->win != win; a = a->next)
		;
	if (!a && (a = calloc(1, sizeof *a))) {
		a->win = win;
		a->next = win_attrs;
		win_attrs = a;
	}
	return a;
}

void sc_mpi_win_attr(const void *win, int keyval, void *attribute_val, const int *flag)
{
	if (!*flag || (uintptr_t)win < SC_VH_PREDEF_MAX)
		return;
	void **value = attribute_val;
	pthread_mutex_lock(&win_attrs_lock);
	struct win_attrs *a = attrs_of(win);
	if (!a) {
		/* out of memory: the application keeps MPI's own pointer */
	} else if (keyval == MPI_WIN_SIZE) {
		a->size = *(const MPI_Aint *)*value;
		*value = &a->size;
	} else if (keyval == MPI_WIN_DISP_UNIT) {
		a->disp_unit = *(const int *)*value;
		*value = &a->disp_unit;
	} else if (keyval == MPI_WIN_MODEL) {
		a->model = *(const int *)*value;
		*value = &a->model;
	} else if (keyval == MPI_WIN_CREATE_FLAVOR) {
		/* MPI_Win_allocate(_shared) windows are MPI_Win_create ones beneath */
		a->flavor = sc_mpi_win_memory(win) ? MPI_WIN_FLAVOR_ALLOCATE
			    : ((const struct sc_vobj *)win)->flags & SC_VOBJ_WIN_SHARED
				? MPI_WIN_FLAVOR_SHARED
				: *(const int *)*value;
		*value = &a->flavor;
	}
	pthread_mutex_unlock(&win_attrs_lock);
}

static void forget_attrs(const void *win)
{
	pthread_mutex_lock(&win_attrs_lock);
	for (struct win_attrs **p = &win_attrs; *p; p = &(*p)->next)
		if ((*p)->win == win) {
			struct win_attrs *a = *p;
			*p = a->next;
			free(a);
			break;
		}
	pthread_mutex_unlock(&win_attrs_lock);
}

void sc_mpi_win_freed(const void *win, void *memory)
{
	free(memory);
	forget_attrs(win);
	if ((uintptr_t)win >= SC_VH_PREDEF_MAX &&
	    (((const struct sc_vobj *)win)->flags & SC_VOBJ_WIN_SHARED))
		sc_mpi_win_shared_freed(win);
}
