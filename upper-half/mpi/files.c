/* MPI-IO files across a restart: the restart opens every open file again (its MPI_File_open
 * record) and sets its view again (a setter record), which puts the file pointers at 0; this
 * saves each file's individual pointer, and the shared one where it was used, at a checkpoint
 * and moves them back at the restart. An open that created the file exclusively is repeated
 * without MPI_MODE_EXCL: the file exists. */
#define _GNU_SOURCE
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "../mpi_crossing.h"

struct position {
	const struct sc_vobj *file;
	/* in etypes of the current view, as MPI_File_get_position(_shared) say; -1: none (a file
	 * of MPI_MODE_SEQUENTIAL has no individual pointer; a shared one no rank used) */
	int64_t offset, shared;
};

static struct position *positions;
static size_t npositions, cappositions;

struct save {
	const struct sc_mpi_table *tab;
	int rc;
};

/* File_open's record: comm, filename, amode (ABI bits), info */
static int sequential(const struct sc_vobj *o)
{
	return o->fn == SC_FN_MPI_File_open && (o->args[2] & MPI_MODE_SEQUENTIAL);
}

static void save_file(struct sc_vobj *o, void *arg)
{
	struct save *s = arg;
	int64_t offset = -1, shared = -1;
	if (s->rc)
		return;
	if (!sequential(o))
		SC_MPI_CALL(s->rc = s->tab->File_get_position(o->lower, &offset));
	if (!s->rc && (o->flags & SC_VOBJ_SHARED_FP))
		SC_MPI_CALL(s->rc = s->tab->File_get_position_shared(o->lower, &shared));
	if (s->rc)
		return;
	if (npositions == cappositions) {
		size_t cap = cappositions * 2 + 8;
		struct position *n = realloc(positions, cap * sizeof *n);
		if (!n) {
			s->rc = SC_ABI_ERR_NO_MEM;
			return;
		}
		positions = n;
		cappositions = cap;
	}
	positions[npositions++] = (struct position){o, offset, shared};
	if (o->fn == SC_FN_MPI_File_open && (o->args[2] & MPI_MODE_EXCL)) {
		o->args[2] &= ~(uint64_t)MPI_MODE_EXCL;
		o->flags |= SC_VOBJ_OPENED_EXCL;
	}
}

void sc_mpi_file_shared_used(void *file)
{
	if ((uintptr_t)file >= SC_VH_PREDEF_MAX)
		((struct sc_vobj *)file)->flags |= SC_VOBJ_SHARED_FP;
}

int sc_mpi_files_save(char *err, size_t errlen)
{
	struct save s = {.tab = sc_cut_table()};
	npositions = 0;
	sc_vh_foreach(SC_VK_FILE, save_file, &s);
	if (s.rc)
		snprintf(err, errlen,
			 "reading the file pointers of open MPI files failed (MPI error %d)", s.rc);
	return s.rc ? -1 : 0;
}

/* The shared pointer is one per file: its value where any member used it, agreed on the
 * file's communicator (a collective: files are restored in creation order on every rank). */
static int restore_shared(const struct sc_mpi_table *tab, const struct position *p)
{
	int64_t shared = p->shared;
	int rc;
	if (p->file->fn != SC_FN_MPI_File_open)
		return 0;
	uint64_t comm = sc_vh_lower((const void *)(uintptr_t)p->file->args[0]);
	SC_MPI_CALL(rc = tab->Allreduce(SC_ABI_IN_PLACE, &shared, 1, sc_vh_lower(MPI_INT64_T),
					sc_vh_lower(MPI_MAX), comm));
	if (rc == 0 && shared >= 0)
		SC_MPI_CALL(rc = tab->File_seek_shared(p->file->lower, shared, MPI_SEEK_SET));
	return rc;
}

int sc_mpi_files_restore(char *err, size_t errlen)
{
	const struct sc_mpi_table *tab = sc_cut_table();
	for (size_t i = 0; i < npositions; i++) {
		const struct position *p = &positions[i];
		int rc = 0;
		if (p->offset >= 0)
			SC_MPI_CALL(rc = tab->File_seek(p->file->lower, p->offset, MPI_SEEK_SET));
		if (rc == 0)
			rc = restore_shared(tab, p);
		if (rc) {
			snprintf(err, errlen,
				 "moving the file pointers of a reopened MPI file back failed (MPI "
				 "error %d)",
				 rc);
			return -1;
		}
	}
	return 0;
}
