/* MPI-IO files across a restart: the restart opens every open file again (its MPI_File_open
 * record) and sets its view again (a setter record), which puts the file pointer at 0; this
 * saves each file's individual pointer at a checkpoint and seeks back to it at the restart. An
 * open that created the file exclusively is repeated without MPI_MODE_EXCL: the file exists. */
#define _GNU_SOURCE
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "../mpi_crossing.h"

struct position {
	const struct sc_vobj *file;
	int64_t offset; /* in etypes of the current view, as MPI_File_get_position says */
};

static struct position *positions;
static size_t npositions, cappositions;

struct save {
	const struct sc_mpi_table *tab;
	int rc;
};

static void save_file(struct sc_vobj *o, void *arg)
{
	struct save *s = arg;
	int64_t offset = 0;
	if (s->rc)
		return;
	SC_MPI_CALL(s->rc = s->tab->File_get_position(o->lower, &offset));
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
	positions[npositions++] = (struct position){o, offset};
	/* records: comm, filename, amode, info */
	if (o->fn == SC_FN_MPI_File_open)
		o->args[2] &= ~(uint64_t)MPI_MODE_EXCL;
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

int sc_mpi_files_restore(char *err, size_t errlen)
{
	const struct sc_mpi_table *tab = sc_cut_table();
	for (size_t i = 0; i < npositions; i++) {
		int rc;
		SC_MPI_CALL(rc = tab->File_seek(positions[i].file->lower, positions[i].offset,
						MPI_SEEK_SET));
		if (rc) {
			snprintf(err, errlen,
				 "moving the file pointer of a reopened MPI file back failed (MPI "
				 "error %d)",
				 rc);
			return -1;
		}
	}
	return 0;
}
