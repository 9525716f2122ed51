/* Coverage of MPI-IO beyond explicit offsets: the shared file pointer (MPI_File_write/read_shared,
 * their nonblocking and ordered forms, MPI_File_seek_shared, MPI_File_get_position_shared), the
 * collective individual-pointer calls (MPI_File_read/write_all, iread/iwrite_all), split
 * collectives (a write or read begun in one round and ended in the next, so checkpoints land
 * between begin and end), and the file queries and settings (access mode, atomicity, info, view,
 * group, byte offsets, size, preallocation), with their large-count forms, and MPI_Waitall over
 * I/O requests. Two files stay open the whole run: a restart must put both file pointers back,
 * reopen a file created with MPI_MODE_EXCL and still answer its access mode, and set atomicity
 * and info again. Data representations registered stay registered across restarts.
 * Self-checking; every value read is one some rank wrote in this run. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi_check.h"

static int rank, size;
static MPI_File fh;    /* ints in a view of a derived type: split, collective, queries */
static MPI_File shf;   /* bytes: the shared pointer's records */
static int split_kind; /* the split collective open across rounds: 0 none, 1 write, 2 read */
static int split_in;
static MPI_Offset shared_end; /* where every round leaves the shared pointer */

static int value(int step, int r, int what)
{
	return step * 100003 + r * 101 + what;
}

static void open_files(char *path, char *shpath)
{
	long id = getpid();
	MPI_Bcast(&id, 1, MPI_LONG, 0, MPI_COMM_WORLD);
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(path, 256, "%s/sc-cov-io-%ld", dir, id);
	snprintf(shpath, 256, "%s/sc-cov-io-shared-%ld", dir, id);
	MPI_Info info;
	OK(MPI_Info_create(&info));
	OK(MPI_Info_set(info, "cb_buffer_size", "65536"));
	OK(MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_CREATE | MPI_MODE_RDWR | MPI_MODE_EXCL,
			 info, &fh));
	OK(MPI_Info_free(&info));
	OK(MPI_File_open(MPI_COMM_WORLD, shpath, MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_INFO_NULL,
			 &shf));
	/* the view's filetype is freed at once: MPI keeps its own, and so must a restart */
	MPI_Datatype ints;
	OK(MPI_Type_contiguous(2, MPI_INT, &ints));
	OK(MPI_Type_commit(&ints));
	OK(MPI_File_set_view(fh, 0, MPI_INT, ints, "native", MPI_INFO_NULL));
	OK(MPI_Type_free(&ints));
	OK(MPI_File_set_atomicity(fh, 1));
	OK(MPI_File_preallocate(fh, 4096));
	MPI_Offset fsize = 0;
	OK(MPI_File_get_size(fh, &fsize));
	CHECK(fsize >= 4096);
	OK(MPI_Info_create(&info));
	OK(MPI_Info_set(info, "cb_nodes", "1"));
	OK(MPI_File_set_info(shf, info));
	OK(MPI_Info_free(&info));
}

/* What the files say about themselves, every round: the same after a restart. */
static void queries(void)
{
	int amode = 0, atomic = 0, flag = 0, cmp;
	OK(MPI_File_get_amode(fh, &amode));
	CHECK(amode == (MPI_MODE_CREATE | MPI_MODE_RDWR | MPI_MODE_EXCL));
	OK(MPI_File_get_amode(shf, &amode));
	CHECK(amode == (MPI_MODE_CREATE | MPI_MODE_RDWR));
	OK(MPI_File_get_atomicity(fh, &atomic));
	CHECK(atomic == 1);
	OK(MPI_File_get_atomicity(shf, &atomic));
	CHECK(atomic == 0);
	MPI_Info info;
	char val[MPI_MAX_INFO_VAL + 1];
	OK(MPI_File_get_info(fh, &info));
	OK(MPI_Info_get(info, "cb_buffer_size", MPI_MAX_INFO_VAL, val, &flag));
	CHECK(flag && strcmp(val, "65536") == 0);
	OK(MPI_Info_free(&info));
	OK(MPI_File_get_info(shf, &info));
	OK(MPI_Info_get(info, "cb_nodes", MPI_MAX_INFO_VAL, val, &flag));
	CHECK(flag && strcmp(val, "1") == 0);
	OK(MPI_Info_free(&info));
	MPI_Group g, world;
	OK(MPI_File_get_group(fh, &g));
	OK(MPI_Comm_group(MPI_COMM_WORLD, &world));
	OK(MPI_Group_compare(g, world, &cmp));
	CHECK(cmp == MPI_IDENT);
	OK(MPI_Group_free(&g));
	OK(MPI_Group_free(&world));
	/* the view: MPI_INT and a duplicate of the freed two-int type */
	MPI_Offset disp = -1, off = -1;
	MPI_Datatype et, ft;
	char rep[MPI_MAX_DATAREP_STRING];
	OK(MPI_File_get_view(fh, &disp, &et, &ft, rep));
	CHECK(disp == 0 && et == MPI_INT && strcmp(rep, "native") == 0);
	int ni, na, nd, combiner, tsize;
	OK(MPI_Type_get_envelope(ft, &ni, &na, &nd, &combiner));
	CHECK(combiner != MPI_COMBINER_NAMED);
	OK(MPI_Type_size(ft, &tsize));
	CHECK(tsize == 2 * (int)sizeof(int));
	OK(MPI_Type_free(&ft));
	OK(MPI_File_get_byte_offset(fh, 5, &off));
	CHECK(off == 5 * (MPI_Offset)sizeof(int));
	MPI_Aint ext = 0;
	MPI_Count extc = 0;
	OK(MPI_File_get_type_extent(fh, MPI_DOUBLE, &ext));
	OK(MPI_File_get_type_extent_c(shf, MPI_INT, &extc));
	CHECK(ext == sizeof(double) && extc == sizeof(int));
}

/* The shared pointer: records of two ints in any order, then of three in rank order; read back
 * through the shared pointer too. Odd rounds use the nonblocking and large-count forms. */
static void shared_pointer(int step)
{
	MPI_Offset pos = -1, start = shared_end;
	MPI_Status st;
	int cnt = -1, rec[2] = {value(step, rank, 1), rank},
	    ord[3] = {value(step, rank, 2), rank, step};
	/* the pointer is the file's: no rank moves it before every rank read it */
	OK(MPI_File_get_position_shared(shf, &pos));
	CHECK(pos == start);
	OK(MPI_Barrier(MPI_COMM_WORLD));
	if (step % 2) {
		MPI_Request r;
		OK(MPI_File_iwrite_shared(shf, rec, 2, MPI_INT, &r));
		OK(MPI_Wait(&r, &st));
		/* ROMIO passes a token for the ordered write: a late rank's unordered record
		 * would land after the ordered ones of the ranks before it */
		OK(MPI_Barrier(MPI_COMM_WORLD));
		OK(MPI_File_write_ordered_c(shf, ord, 3, MPI_INT, &st));
	} else {
		OK(MPI_File_write_shared(shf, rec, 2, MPI_INT, &st));
		OK(MPI_Barrier(MPI_COMM_WORLD));
		OK(MPI_File_write_ordered(shf, ord, 3, MPI_INT, &st));
	}
	OK(MPI_Get_count(&st, MPI_INT, &cnt));
	CHECK(cnt == 3);
	const MPI_Offset recs = start,
			 ordered = start + (MPI_Offset)size * 2 * (MPI_Offset)sizeof(int);
	shared_end = ordered + (MPI_Offset)size * 3 * (MPI_Offset)sizeof(int);
	OK(MPI_File_get_position_shared(shf, &pos)); /* write_ordered synchronized every rank */
	CHECK(pos == shared_end);
	OK(MPI_Barrier(MPI_COMM_WORLD));
	/* back: each rank reads one of the unordered records, then its own ordered one */
	OK(MPI_File_seek_shared(shf, recs, MPI_SEEK_SET));
	int got[2] = {-1, -1}, mine[3] = {-1, -1, -1};
	if (step % 2) {
		MPI_Request r;
		OK(MPI_File_iread_shared_c(shf, got, 2, MPI_INT, &r));
		OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
	} else {
		OK(MPI_File_read_shared(shf, got, 2, MPI_INT, MPI_STATUS_IGNORE));
	}
	int *all = malloc(sizeof(int) * 2 * (size_t)size), seen = 0;
	CHECK(all != NULL);
	OK(MPI_Allgather(got, 2, MPI_INT, all, 2, MPI_INT, MPI_COMM_WORLD));
	for (int i = 0; i < size; i++) {
		int r = all[2 * i + 1];
		CHECK(r >= 0 && r < size && all[2 * i] == value(step, r, 1) && !(seen & (1 << r)));
		seen |= 1 << r;
	}
	free(all);
	OK(MPI_File_seek_shared(shf, ordered, MPI_SEEK_SET));
	if (step % 2)
		OK(MPI_File_read_ordered_c(shf, mine, 3, MPI_INT, MPI_STATUS_IGNORE));
	else
		OK(MPI_File_read_ordered(shf, mine, 3, MPI_INT, MPI_STATUS_IGNORE));
	CHECK(mine[0] == value(step, rank, 2) && mine[1] == rank && mine[2] == step);
	OK(MPI_File_get_position_shared(shf, &pos));
	CHECK(pos == shared_end);
}

/* Round step's ints in fh: [4R*step, 4R*step + R) the split collectives', then R for
 * write_all, R for iwrite_all, R for io_requests (R = size). */
static MPI_Offset slot(int step, int part, int r)
{
	return (MPI_Offset)4 * size * step + (MPI_Offset)part * size + r;
}

static void collective_pointer(int step)
{
	MPI_Offset pos = -1;
	MPI_Status st;
	int next = (rank + 1) % size, v = value(step, rank, 3), w = value(step, rank, 4), in = -1,
	    cnt = -1;
	OK(MPI_File_seek(fh, slot(step, 1, rank), MPI_SEEK_SET));
	if (step % 2)
		OK(MPI_File_write_all_c(fh, &v, 1, MPI_INT, &st));
	else
		OK(MPI_File_write_all(fh, &v, 1, MPI_INT, &st));
	OK(MPI_Get_count(&st, MPI_INT, &cnt));
	CHECK(cnt == 1);
	OK(MPI_File_seek(fh, slot(step, 2, rank), MPI_SEEK_SET));
	MPI_Request r;
	if (step % 2)
		OK(MPI_File_iwrite_all_c(fh, &w, 1, MPI_INT, &r));
	else
		OK(MPI_File_iwrite_all(fh, &w, 1, MPI_INT, &r));
	OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
	OK(MPI_File_sync(fh));
	OK(MPI_Barrier(MPI_COMM_WORLD));
	OK(MPI_File_sync(fh));
	OK(MPI_File_seek(fh, slot(step, 1, next), MPI_SEEK_SET));
	if (step % 2)
		OK(MPI_File_read_all_c(fh, &in, 1, MPI_INT, MPI_STATUS_IGNORE));
	else
		OK(MPI_File_read_all(fh, &in, 1, MPI_INT, MPI_STATUS_IGNORE));
	CHECK(in == value(step, next, 3));
	OK(MPI_File_seek(fh, slot(step, 2, next), MPI_SEEK_SET));
	if (step % 2)
		OK(MPI_File_iread_all_c(fh, &in, 1, MPI_INT, &r));
	else
		OK(MPI_File_iread_all(fh, &in, 1, MPI_INT, &r));
	OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
	CHECK(in == value(step, next, 4));
	OK(MPI_File_get_position(fh, &pos));
	CHECK(pos == slot(step, 2, next) + 1);
}

/* MPI_Waitall over ROMIO's requests (and a null one, whose status is empty). */
static void io_requests(int step)
{
	int v = value(step, rank, 8), in = -1, cnt = -1;
	MPI_Request r[3];
	MPI_Status st[3];
	OK(MPI_File_iwrite_at(fh, slot(step, 3, rank), &v, 1, MPI_INT, &r[0]));
	r[1] = MPI_REQUEST_NULL;
	OK(MPI_File_iread_at(fh, slot(step, 1, rank), &in, 1, MPI_INT, &r[2]));
	OK(MPI_Waitall(3, r, st));
	CHECK(r[0] == MPI_REQUEST_NULL && r[2] == MPI_REQUEST_NULL);
	OK(MPI_Get_count(&st[0], MPI_INT, &cnt));
	CHECK(cnt == 1);
	OK(MPI_Get_count(&st[1], MPI_INT, &cnt));
	CHECK(cnt == 0 && st[1].MPI_TAG == MPI_ANY_TAG && st[1].MPI_SOURCE == MPI_ANY_SOURCE);
	OK(MPI_Get_count(&st[2], MPI_INT, &cnt));
	CHECK(cnt == 1 && in == value(step, rank, 3));
}

/* The split collective begun last round ends; one of the other kind begins, to end next round:
 * a write of this round's slot in odd rounds, a read of the last round's in even ones. */
static void split(int step)
{
	static int out;
	MPI_Status st;
	int cnt = -1, next = (rank + 1) % size;
	if (split_kind == 1) {
		OK(MPI_File_write_at_all_end(fh, &out, &st));
		OK(MPI_Get_count(&st, MPI_INT, &cnt));
		CHECK(cnt == 1);
	} else if (split_kind == 2) { /* begun last round, of the round before's slot */
		OK(MPI_File_read_at_all_end(fh, &split_in, &st));
		OK(MPI_Get_count(&st, MPI_INT, &cnt));
		CHECK(cnt == 1 && split_in == value(step - 2, next, 5));
	}
	split_kind = 0;
	/* an end without a begin is an error */
	CHECK(MPI_File_read_all_end(fh, &split_in, &st) != MPI_SUCCESS);
	if (step % 2) {
		out = value(step, rank, 5);
		OK(MPI_File_write_at_all_begin(fh, slot(step, 0, rank), &out, 1, MPI_INT));
		split_kind = 1;
	} else {
		OK(MPI_File_read_at_all_begin_c(fh, slot(step - 1, 0, next), &split_in, 1,
						MPI_INT));
		split_kind = 2;
	}
	/* and so is a second split collective while one is open */
	CHECK(MPI_File_write_all_begin(fh, &out, 1, MPI_INT) != MPI_SUCCESS);
}

/* Once at the end: the split forms not used in the rounds, on the individual and shared
 * pointers, and a size set. */
static void last(int steps)
{
	MPI_Status st;
	int cnt = -1, v = value(steps, rank, 6), in = -1, next = (rank + 1) % size;
	if (split_kind == 1)
		OK(MPI_File_write_at_all_end(fh, &v, MPI_STATUS_IGNORE));
	else if (split_kind == 2)
		OK(MPI_File_read_at_all_end(fh, &in, MPI_STATUS_IGNORE));
	OK(MPI_File_seek(fh, slot(steps + 1, 0, rank), MPI_SEEK_SET));
	OK(MPI_File_write_all_begin_c(fh, &v, 1, MPI_INT));
	OK(MPI_File_write_all_end(fh, &v, &st));
	OK(MPI_Get_count(&st, MPI_INT, &cnt));
	CHECK(cnt == 1);
	OK(MPI_File_write_at_all_begin_c(fh, slot(steps + 1, 1, rank), &v, 1, MPI_INT));
	OK(MPI_File_write_at_all_end(fh, &v, MPI_STATUS_IGNORE));
	OK(MPI_File_sync(fh));
	OK(MPI_Barrier(MPI_COMM_WORLD));
	OK(MPI_File_sync(fh));
	OK(MPI_File_seek(fh, slot(steps + 1, 0, next), MPI_SEEK_SET));
	OK(MPI_File_read_all_begin(fh, &in, 1, MPI_INT));
	OK(MPI_File_read_all_end(fh, &in, MPI_STATUS_IGNORE));
	CHECK(in == value(steps, next, 6));
	OK(MPI_File_read_all_begin_c(fh, &in, 1, MPI_INT));
	OK(MPI_File_read_all_end(fh, &in, MPI_STATUS_IGNORE));
	CHECK(in == value(steps, (next + 1) % size, 6));
	OK(MPI_File_read_at_all_begin(fh, slot(steps + 1, 1, next), &in, 1, MPI_INT));
	OK(MPI_File_read_at_all_end(fh, &in, MPI_STATUS_IGNORE));
	CHECK(in == value(steps, next, 6));

	/* the shared pointer's other forms: ordered split collectives, large counts */
	MPI_Offset start = shared_end, pos = -1;
	int rec[2] = {value(steps, rank, 7), rank}, got[2] = {-1, -1};
	OK(MPI_File_write_ordered_begin(shf, rec, 2, MPI_INT));
	OK(MPI_File_write_ordered_end(shf, rec, MPI_STATUS_IGNORE));
	OK(MPI_File_write_ordered_begin_c(shf, rec, 2, MPI_INT));
	OK(MPI_File_write_ordered_end(shf, rec, MPI_STATUS_IGNORE));
	OK(MPI_File_seek_shared(shf, start, MPI_SEEK_SET));
	OK(MPI_File_read_ordered_begin(shf, got, 2, MPI_INT));
	OK(MPI_File_read_ordered_end(shf, got, MPI_STATUS_IGNORE));
	CHECK(got[0] == rec[0] && got[1] == rank);
	OK(MPI_File_read_ordered_begin_c(shf, got, 2, MPI_INT));
	OK(MPI_File_read_ordered_end(shf, got, MPI_STATUS_IGNORE));
	CHECK(got[0] == rec[0] && got[1] == rank);
	OK(MPI_File_get_position_shared(shf, &pos));
	start = pos;
	OK(MPI_Barrier(MPI_COMM_WORLD));
	MPI_Request r;
	OK(MPI_File_write_shared_c(shf, rec, 2, MPI_INT, MPI_STATUS_IGNORE));
	OK(MPI_File_iwrite_shared_c(shf, rec, 2, MPI_INT, &r));
	OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
	OK(MPI_Barrier(MPI_COMM_WORLD));
	OK(MPI_File_get_position_shared(shf, &pos));
	CHECK(pos == start + (MPI_Offset)size * 4 * (MPI_Offset)sizeof(int));
	OK(MPI_Barrier(MPI_COMM_WORLD));
	OK(MPI_File_seek_shared(shf, start, MPI_SEEK_SET));
	OK(MPI_File_read_shared_c(shf, got, 2, MPI_INT, MPI_STATUS_IGNORE));
	CHECK(got[1] >= 0 && got[1] < size && got[0] == value(steps, got[1], 7));
	OK(MPI_File_iread_shared(shf, got, 2, MPI_INT, &r));
	OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
	CHECK(got[1] >= 0 && got[1] < size && got[0] == value(steps, got[1], 7));

	/* a size set collectively cuts the file */
	MPI_Offset fsize = -1;
	OK(MPI_File_set_size(shf, start));
	OK(MPI_File_get_size(shf, &fsize));
	CHECK(fsize == start);
}

/* Data representations (MPI_Register_datarep, _c): one registered at the start must stay
 * registered across restarts (registering its name again fails with MPI_ERR_DUP_DATAREP),
 * every round registers a new one; a representation with conversion functions gets the MPI's
 * own answer (MPICH 4.0.2 refuses them with MPI_ERR_CONVERSION). */
static int file_extent(MPI_Datatype type, MPI_Aint *extent, void *extra)
{
	(void)extra;
	return MPI_Type_get_extent(type, &(MPI_Aint){0}, extent);
}

static int no_conversion(void *userbuf, MPI_Datatype type, int count, void *filebuf,
			 MPI_Offset position, void *extra)
{
	(void)userbuf, (void)type, (void)count, (void)filebuf, (void)position, (void)extra;
	return MPI_ERR_CONVERSION;
}

static void datareps(int step)
{
	char name[64];
	int cls = -1;
	if (step == 1) {
		OK(MPI_Register_datarep("cov_io_rep", MPI_CONVERSION_FN_NULL,
					MPI_CONVERSION_FN_NULL, file_extent, NULL));
		OK(MPI_Register_datarep_c("cov_io_rep_c", MPI_CONVERSION_FN_NULL_C,
					  MPI_CONVERSION_FN_NULL_C, file_extent, NULL));
		int rc = MPI_Register_datarep("cov_io_conv", no_conversion, no_conversion,
					      file_extent, NULL);
		CHECK(rc != MPI_SUCCESS && MPI_Error_class(rc, &cls) == MPI_SUCCESS &&
		      cls == MPI_ERR_CONVERSION);
	}
	int rc = MPI_Register_datarep("cov_io_rep", MPI_CONVERSION_FN_NULL, MPI_CONVERSION_FN_NULL,
				      file_extent, NULL);
	CHECK(rc != MPI_SUCCESS && MPI_Error_class(rc, &cls) == MPI_SUCCESS &&
	      cls == MPI_ERR_DUP_DATAREP);
	rc = MPI_Register_datarep_c("cov_io_rep_c", MPI_CONVERSION_FN_NULL_C,
				    MPI_CONVERSION_FN_NULL_C, file_extent, NULL);
	CHECK(rc != MPI_SUCCESS && MPI_Error_class(rc, &cls) == MPI_SUCCESS &&
	      cls == MPI_ERR_DUP_DATAREP);
	snprintf(name, sizeof name, "cov_io_rep_%d", step);
	OK(MPI_Register_datarep(name, MPI_CONVERSION_FN_NULL, MPI_CONVERSION_FN_NULL, file_extent,
				NULL));
}

int main(int argc, char **argv)
{
	char path[256], shpath[256];
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	CHECK(size >= 2 && size <= 30);
	int steps = cov_steps(argc, argv);
	open_files(path, shpath);
	for (int step = 1; step <= steps; step++) {
		queries();
		shared_pointer(step);
		collective_pointer(step);
		io_requests(step);
		split(step);
		datareps(step);
		cov_step_done(step, steps);
	}
	last(steps);
	OK(MPI_File_close(&fh));
	OK(MPI_File_close(&shf));
	OK(MPI_Barrier(MPI_COMM_WORLD));
	if (rank == 0) {
		OK(MPI_File_delete(path, MPI_INFO_NULL));
		OK(MPI_File_delete(shpath, MPI_INFO_NULL));
	}
	cov_finish("cov_io");
	MPI_Finalize();
	return 0;
}
