/* MPI-IO split collectives (MPI_File_*_begin / *_end) answered in the upper half: the begin
 * call runs the matching blocking collective (through the wrappers, so it counts in the file's
 * collective clock) and keeps its status; the end call hands that status back. MPI allows one
 * split collective per file at a time and lets an implementation do all the work in begin, as
 * ROMIO does: a checkpoint between begin and end then has nothing of MPI to keep, and the
 * pending status lives in upper-half memory, saved with the program. */
#include <mpi.h>
#include <pthread.h>
#include <stdlib.h>

struct split {
	MPI_File file;
	int kind; /* which begin: its end must be the same kind */
	MPI_Status status;
	struct split *next;
};

enum { READ_ALL, WRITE_ALL, READ_AT_ALL, WRITE_AT_ALL, READ_ORDERED, WRITE_ORDERED };

static struct split *pending;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static struct split **find_locked(MPI_File file)
{
	struct split **p = &pending;
	while (*p && (*p)->file != file)
		p = &(*p)->next;
	return p;
}

/* Before the collective: a second begin on the file is erroneous (MPI 4.1 section 14.4.5). */
static struct split *begin(MPI_File file, int kind, int *rc)
{
	struct split *s = NULL;
	pthread_mutex_lock(&lock);
	if (file == MPI_FILE_NULL)
		*rc = MPI_ERR_FILE;
	else if (*find_locked(file))
		*rc = MPI_ERR_OTHER; /* a split collective of this file is still open */
	else if (!(s = calloc(1, sizeof *s)))
		*rc = MPI_ERR_NO_MEM;
	else
		*rc = MPI_SUCCESS;
	pthread_mutex_unlock(&lock);
	if (s) {
		s->file = file;
		s->kind = kind;
	}
	return s;
}

static int begun(struct split *s, int rc)
{
	if (rc != MPI_SUCCESS) {
		free(s);
		return rc;
	}
	pthread_mutex_lock(&lock);
	s->next = pending;
	pending = s;
	pthread_mutex_unlock(&lock);
	return MPI_SUCCESS;
}

static int end(MPI_File file, int kind, MPI_Status *status)
{
	pthread_mutex_lock(&lock);
	struct split **p = find_locked(file), *s = *p;
	if (s && s->kind == kind)
		*p = s->next;
	pthread_mutex_unlock(&lock);
	if (!s || s->kind != kind)
		return MPI_ERR_OTHER; /* no matching begin on this file */
	if (status != MPI_STATUS_IGNORE)
		*status = s->status;
	free(s);
	return MPI_SUCCESS;
}

/* One begin function per kind and count type: the collective it runs and the parameters. */
#define SPLIT_BEGIN(NAME, KIND, CALL, ...)                                                         \
	int P##NAME(__VA_ARGS__)                                                                   \
	{                                                                                          \
		int rc;                                                                            \
		struct split *s = begin(fh, KIND, &rc);                                            \
		return s ? begun(s, CALL) : rc;                                                    \
	}                                                                                          \
	int NAME(__VA_ARGS__) __attribute__((weak, alias("P" #NAME)));

#define SPLIT_END(NAME, KIND, CONST)                                                               \
	int P##NAME(MPI_File fh, CONST void *buf, MPI_Status *status)                              \
	{                                                                                          \
		(void)buf;                                                                         \
		return end(fh, KIND, status);                                                      \
	}                                                                                          \
	int NAME(MPI_File fh, CONST void *buf, MPI_Status *status)                                 \
	    __attribute__((weak, alias("P" #NAME)));

SPLIT_BEGIN(MPI_File_read_all_begin, READ_ALL,
	    PMPI_File_read_all(fh, buf, count, datatype, &s->status), MPI_File fh, void *buf,
	    int count, MPI_Datatype datatype)
SPLIT_BEGIN(MPI_File_read_all_begin_c, READ_ALL,
	    PMPI_File_read_all_c(fh, buf, count, datatype, &s->status), MPI_File fh, void *buf,
	    MPI_Count count, MPI_Datatype datatype)
SPLIT_END(MPI_File_read_all_end, READ_ALL, )

SPLIT_BEGIN(MPI_File_write_all_begin, WRITE_ALL,
	    PMPI_File_write_all(fh, buf, count, datatype, &s->status), MPI_File fh, const void *buf,
	    int count, MPI_Datatype datatype)
SPLIT_BEGIN(MPI_File_write_all_begin_c, WRITE_ALL,
	    PMPI_File_write_all_c(fh, buf, count, datatype, &s->status), MPI_File fh,
	    const void *buf, MPI_Count count, MPI_Datatype datatype)
SPLIT_END(MPI_File_write_all_end, WRITE_ALL, const)

SPLIT_BEGIN(MPI_File_read_at_all_begin, READ_AT_ALL,
	    PMPI_File_read_at_all(fh, offset, buf, count, datatype, &s->status), MPI_File fh,
	    MPI_Offset offset, void *buf, int count, MPI_Datatype datatype)
SPLIT_BEGIN(MPI_File_read_at_all_begin_c, READ_AT_ALL,
	    PMPI_File_read_at_all_c(fh, offset, buf, count, datatype, &s->status), MPI_File fh,
	    MPI_Offset offset, void *buf, MPI_Count count, MPI_Datatype datatype)
SPLIT_END(MPI_File_read_at_all_end, READ_AT_ALL, )

SPLIT_BEGIN(MPI_File_write_at_all_begin, WRITE_AT_ALL,
	    PMPI_File_write_at_all(fh, offset, buf, count, datatype, &s->status), MPI_File fh,
	    MPI_Offset offset, const void *buf, int count, MPI_Datatype datatype)
SPLIT_BEGIN(MPI_File_write_at_all_begin_c, WRITE_AT_ALL,
	    PMPI_File_write_at_all_c(fh, offset, buf, count, datatype, &s->status), MPI_File fh,
	    MPI_Offset offset, const void *buf, MPI_Count count, MPI_Datatype datatype)
SPLIT_END(MPI_File_write_at_all_end, WRITE_AT_ALL, const)

SPLIT_BEGIN(MPI_File_read_ordered_begin, READ_ORDERED,
	    PMPI_File_read_ordered(fh, buf, count, datatype, &s->status), MPI_File fh, void *buf,
	    int count, MPI_Datatype datatype)
SPLIT_BEGIN(MPI_File_read_ordered_begin_c, READ_ORDERED,
	    PMPI_File_read_ordered_c(fh, buf, count, datatype, &s->status), MPI_File fh, void *buf,
	    MPI_Count count, MPI_Datatype datatype)
SPLIT_END(MPI_File_read_ordered_end, READ_ORDERED, )

SPLIT_BEGIN(MPI_File_write_ordered_begin, WRITE_ORDERED,
	    PMPI_File_write_ordered(fh, buf, count, datatype, &s->status), MPI_File fh,
	    const void *buf, int count, MPI_Datatype datatype)
SPLIT_BEGIN(MPI_File_write_ordered_begin_c, WRITE_ORDERED,
	    PMPI_File_write_ordered_c(fh, buf, count, datatype, &s->status), MPI_File fh,
	    const void *buf, MPI_Count count, MPI_Datatype datatype)
SPLIT_END(MPI_File_write_ordered_end, WRITE_ORDERED, const)
