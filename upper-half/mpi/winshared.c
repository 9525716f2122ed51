/* MPI_Win_allocate_shared and MPI_Win_shared_query, answered in the upper half. The window's
 * memory is one MAP_SHARED mapping of a file in /dev/shm (named SC_SHM_WIN_PREFIX...) that every
 * process of the communicator maps, each rank's segment right after the previous rank's (MPI's
 * default, contiguous; page-aligned with the info key alloc_shared_noncontig), and the window is
 * an MPI_Win_create of this rank's segment, a record a restart replays. A checkpoint saves the
 * mapping's contents with the rest of the upper half (regions.c accepts these shared mappings
 * only); a restart, once the communicators are made again and before any window is, shares
 * them again: the communicator's first rank writes its copy into a new file and every process
 * maps that over its own copy, at the same address (so MPI registers the shared pages). The
 * file is unlinked once all mapped it. Every process must be on one node, at the call (else
 * MPI_ERR_RMA_SHARED) and at a restart (else the restart fails). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../ckpt_mpi.h"
#include "../mpi_crossing.h"
#include "cut.h"

#define PAGE 4096
#define NAME_MAX_LEN 96

struct shwin {
	const struct sc_vobj *win; /* NULL while MPI_Win_allocate_shared runs */
	MPI_Comm comm;		   /* the application's, until the window's record keeps it */
	char *base;		   /* the whole mapping in this process */
	size_t len;
	int n; /* the communicator's size; per rank: */
	MPI_Aint *off, *size, *disp;
	struct shwin *next;
};

static struct shwin *windows; /* in creation order: a restart shares them again in it */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long files_made;

static struct shwin *find(const void *win)
{
	pthread_mutex_lock(&lock);
	struct shwin *w = windows;
	while (w && w->win != win)
		w = w->next;
	pthread_mutex_unlock(&lock);
	return w;
}

static void shwin_free(struct shwin *w)
{
	if (w->base)
		munmap(w->base, w->len);
	free(w->off);
	free(w->size);
	free(w->disp);
	free(w);
}

/* A new file of len bytes, filled from `from` when not NULL; its name in name. */
static int make_file(char *name, size_t len, const void *from)
{
	snprintf(name, NAME_MAX_LEN, "%s%d-%lu", SC_SHM_WIN_PREFIX, (int)getpid(),
		 __atomic_add_fetch(&files_made, 1, __ATOMIC_RELAXED));
	int fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int ok = ftruncate(fd, (off_t)len) == 0;
	for (size_t done = 0; ok && from && done < len;) {
		ssize_t w = pwrite(fd, (const char *)from + done, len - done, (off_t)done);
		if (w < 0 && errno == EINTR)
			continue;
		ok = w > 0;
		done += w > 0 ? (size_t)w : 0;
	}
	close(fd);
	if (!ok)
		unlink(name);
	return ok ? 0 : -1;
}

/* Maps the file at `at` (MAP_FIXED) or anywhere (NULL). */
static void *map_file(const char *name, size_t len, void *at)
{
	int fd = open(name, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return MAP_FAILED;
	void *p = mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | (at ? MAP_FIXED : 0), fd, 0);
	close(fd);
	return p;
}

static int noncontig(MPI_Info info)
{
	char val[16] = "";
	int flag = 0;
	if (info != MPI_INFO_NULL)
		PMPI_Info_get(info, "alloc_shared_noncontig", sizeof val - 1, val, &flag);
	return flag && strcmp(val, "true") == 0;
}

/* Every process of comm in one node: what MPI_COMM_TYPE_SHARED groups. */
static int one_node(MPI_Comm comm, int n)
{
	MPI_Comm node;
	int nn = 0;
	if (PMPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) !=
	    MPI_SUCCESS)
		return 0;
	PMPI_Comm_size(node, &nn);
	PMPI_Comm_free(&node);
	return nn == n;
}

/* The layout of the segments from every rank's (size, disp_unit, noncontig). */
static int layout(struct shwin *w, MPI_Aint size, MPI_Aint disp, int nc, MPI_Comm comm)
{
	MPI_Aint mine[3] = {size, disp, nc}, *all = malloc(sizeof *all * 3 * (size_t)w->n);
	w->off = malloc(sizeof *w->off * (size_t)w->n);
	w->size = malloc(sizeof *w->size * (size_t)w->n);
	w->disp = malloc(sizeof *w->disp * (size_t)w->n);
	if (!all || !w->off || !w->size || !w->disp) {
		free(all);
		return MPI_ERR_NO_MEM;
	}
	int rc = PMPI_Allgather(mine, 3, MPI_AINT, all, 3, MPI_AINT, comm);
	size_t at = 0;
	for (int r = 0; rc == MPI_SUCCESS && r < w->n; r++) {
		if (all[3 * r + 2]) /* MPICH: page-aligned segments when any asks */
			at = (at + PAGE - 1) & ~(size_t)(PAGE - 1);
		w->off[r] = (MPI_Aint)at;
		w->size[r] = all[3 * r];
		w->disp[r] = all[3 * r + 1];
		at += (size_t)all[3 * r];
	}
	w->len = ((at ? at : 1) + PAGE - 1) & ~(size_t)(PAGE - 1);
	free(all);
	return rc;
}

/* The mapping, made by rank 0 and mapped by all; MPI_SUCCESS on every rank or on none. */
static int share(struct shwin *w, int rank, MPI_Comm comm)
{
	char name[NAME_MAX_LEN] = "";
	int rc = MPI_SUCCESS, ok = 1, all_ok = 0;
	if (rank == 0 && make_file(name, w->len, NULL))
		name[0] = '\0';
	if ((rc = PMPI_Bcast(name, sizeof name, MPI_CHAR, 0, comm)) != MPI_SUCCESS)
		return rc;
	void *p = name[0] ? map_file(name, w->len, NULL) : MAP_FAILED;
	ok = p != MAP_FAILED;
	w->base = ok ? p : NULL;
	rc = PMPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, comm);
	if (rank == 0 && name[0])
		unlink(name); /* every process mapped it, or gave up */
	if (rc == MPI_SUCCESS && !all_ok)
		rc = MPI_ERR_NO_MEM;
	return rc;
}

static int allocate_shared(MPI_Aint size, MPI_Aint disp_unit, MPI_Info info, MPI_Comm comm,
			   void *baseptr, MPI_Win *win)
{
	int rank = 0, n = 0, rc;
	if (size < 0)
		return MPI_ERR_SIZE;
	if (disp_unit <= 0 || disp_unit > 0x7fffffff)
		return MPI_ERR_DISP;
	if ((rc = PMPI_Comm_size(comm, &n)) != MPI_SUCCESS ||
	    (rc = PMPI_Comm_rank(comm, &rank)) != MPI_SUCCESS)
		return rc;
	if (!one_node(comm, n))
		return MPI_ERR_RMA_SHARED;
	struct shwin *w = calloc(1, sizeof *w);
	if (!w)
		return MPI_ERR_NO_MEM;
	w->n = n;
	w->comm = comm;
	/* Listed before the mapping exists: a checkpoint between the calls below must find it. */
	pthread_mutex_lock(&lock);
	struct shwin **tail = &windows;
	while (*tail)
		tail = &(*tail)->next;
	*tail = w;
	pthread_mutex_unlock(&lock);
	if ((rc = layout(w, size, disp_unit, noncontig(info), comm)) != MPI_SUCCESS ||
	    (rc = share(w, rank, comm)) != MPI_SUCCESS ||
	    (rc = PMPI_Win_create(w->base + w->off[rank], size, (int)disp_unit, info, comm, win)) !=
		MPI_SUCCESS) {
		sc_mpi_win_shared_freed(w);
		return rc;
	}
	struct sc_vobj *o = (struct sc_vobj *)*win;
	o->flags |= SC_VOBJ_WIN_SHARED;
	w->win = o;
	*(void **)baseptr = w->base + w->off[rank];
	return MPI_SUCCESS;
}

/* Errors go to the communicator's or window's error handler, as MPI's own would. */
static int comm_error(MPI_Comm comm, int rc)
{
	if (rc != MPI_SUCCESS)
		PMPI_Comm_call_errhandler(comm, rc);
	return rc;
}

static int win_error(MPI_Win win, int rc)
{
	if (rc != MPI_SUCCESS && win != MPI_WIN_NULL)
		PMPI_Win_call_errhandler(win, rc);
	return rc;
}

int PMPI_Win_allocate_shared(MPI_Aint size, int disp_unit, MPI_Info info, MPI_Comm comm,
			     void *baseptr, MPI_Win *win)
{
	return comm_error(comm, allocate_shared(size, disp_unit, info, comm, baseptr, win));
}
int MPI_Win_allocate_shared(MPI_Aint size, int disp_unit, MPI_Info info, MPI_Comm comm,
			    void *baseptr, MPI_Win *win)
    __attribute__((weak, alias("PMPI_Win_allocate_shared")));

int PMPI_Win_allocate_shared_c(MPI_Aint size, MPI_Aint disp_unit, MPI_Info info, MPI_Comm comm,
			       void *baseptr, MPI_Win *win)
{
	return comm_error(comm, allocate_shared(size, disp_unit, info, comm, baseptr, win));
}
int MPI_Win_allocate_shared_c(MPI_Aint size, MPI_Aint disp_unit, MPI_Info info, MPI_Comm comm,
			      void *baseptr, MPI_Win *win)
    __attribute__((weak, alias("PMPI_Win_allocate_shared_c")));

/* MPI_PROC_NULL: the segment of the lowest rank that has memory (MPI 4.1 section 12.2.3). */
static int shared_query(MPI_Win win, int rank, MPI_Aint *size, MPI_Aint *disp_unit, void *baseptr)
{
	const struct shwin *w = find(win);
	if (!w)
		return MPI_ERR_RMA_FLAVOR;
	if (rank == MPI_PROC_NULL) {
		rank = 0;
		while (rank < w->n - 1 && w->size[rank] == 0)
			rank++;
	}
	if (rank < 0 || rank >= w->n)
		return MPI_ERR_RANK;
	*size = w->size[rank];
	*disp_unit = w->disp[rank];
	*(void **)baseptr = w->size[rank] ? w->base + w->off[rank] : NULL;
	return MPI_SUCCESS;
}

int PMPI_Win_shared_query(MPI_Win win, int rank, MPI_Aint *size, int *disp_unit, void *baseptr)
{
	MPI_Aint disp = 0;
	int rc = shared_query(win, rank, size, &disp, baseptr);
	if (rc == MPI_SUCCESS)
		*disp_unit = (int)disp;
	return win_error(win, rc);
}
int MPI_Win_shared_query(MPI_Win win, int rank, MPI_Aint *size, int *disp_unit, void *baseptr)
    __attribute__((weak, alias("PMPI_Win_shared_query")));

int PMPI_Win_shared_query_c(MPI_Win win, int rank, MPI_Aint *size, MPI_Aint *disp_unit,
			    void *baseptr)
{
	return win_error(win, shared_query(win, rank, size, disp_unit, baseptr));
}
int MPI_Win_shared_query_c(MPI_Win win, int rank, MPI_Aint *size, MPI_Aint *disp_unit,
			   void *baseptr) __attribute__((weak, alias("PMPI_Win_shared_query_c")));

/* win: the window, or the struct of an allocation that failed. */
void sc_mpi_win_shared_freed(const void *win)
{
	pthread_mutex_lock(&lock);
	struct shwin **p = &windows;
	while (*p && (*p)->win != win && *p != win)
		p = &(*p)->next;
	struct shwin *w = *p;
	if (w)
		*p = w->next;
	pthread_mutex_unlock(&lock);
	if (w)
		shwin_free(w);
}

/* ---- restart: the checkpoint thread, every object made again, MPI through the table ------ */

static int restore_one(const struct sc_mpi_table *tab, struct shwin *w, char *err, size_t errlen)
{
	/* MPI_Win_create's record keeps the communicator: base, size, disp_unit, info, comm */
	const void *app_comm = w->win ? (const void *)(uintptr_t)w->win->args[4] : w->comm;
	uint64_t comm = sc_vh_lower(app_comm), node = 0;
	int rank = -1, n = 0, nn = 0, rc, ok = 1, all_ok = 0;
	char name[NAME_MAX_LEN] = "";
	SC_MPI_CALL(rc = tab->Comm_rank(comm, &rank));
	if (rc == 0)
		SC_MPI_CALL(rc = tab->Comm_size(comm, &n));
	if (rc == 0)
		SC_MPI_CALL(rc = tab->Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0,
						      sc_vh_lower(MPI_INFO_NULL), &node));
	if (rc == 0)
		SC_MPI_CALL(rc = tab->Comm_size(node, &nn));
	if (node)
		SC_MPI_CALL(tab->Comm_free(&node));
	if (rc == 0 && nn != n) {
		snprintf(err, errlen,
			 "the %d ranks of a window of MPI_Win_allocate_shared are on more than one "
			 "node now (this one has %d of them): restart them on one node",
			 n, nn);
		return -1;
	}
	if (rc == 0 && rank == 0 && make_file(name, w->len, w->base))
		name[0] = '\0';
	if (rc == 0)
		SC_MPI_CALL(rc = tab->Bcast(name, sizeof name, sc_vh_lower(MPI_CHAR), 0, comm));
	if (rc == 0)
		ok = name[0] && map_file(name, w->len, w->base) == w->base;
	if (rc == 0)
		SC_MPI_CALL(rc = tab->Allreduce(&ok, &all_ok, 1, sc_vh_lower(MPI_INT),
						sc_vh_lower(MPI_MIN), comm));
	if (rank == 0 && name[0])
		unlink(name);
	if (rc != 0 || !all_ok) {
		snprintf(err, errlen,
			 "sharing the memory of a window of MPI_Win_allocate_shared again failed "
			 "(%s)",
			 rc ? "an MPI call failed" : "a rank could not map it from /dev/shm");
		return -1;
	}
	return 0;
}

int sc_mpi_win_shared_restore(char *err, size_t errlen)
{
	const struct sc_mpi_table *tab = sc_cut_table();
	for (struct shwin *w = windows; w; w = w->next)
		if (w->base && restore_one(tab, w, err, errlen))
			return -1;
	return 0;
}
