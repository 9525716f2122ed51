/* What the checkpoint thread of libsplitckpt asks of the MPI layer (libsplitckpt_mpi), which
 * registers it from its constructor when a program links MPI. Each call returns 0, or -1 with a
 * message in err; text arguments are the coordinator's phase texts (upper-half/mpi/cut.h). */
#ifndef SPLITCKPT_CKPT_MPI_H
#define SPLITCKPT_CKPT_MPI_H

#include <stddef.h>

struct sc_mpi_ckpt_ops {
	/* *out: this rank's report, owned by the MPI layer, valid until the next call */
	int (*quiesce)(const char *targets, const char **out, char *err, size_t errlen);
	int (*drain)(char *err, size_t errlen);
	void (*resume)(void);
	int (*restart)(char *err, size_t errlen);
	const char *(*impl)(void); /* the MPI beneath ("MPICH 4.0.2"), for the image */
};

/* The memory of MPI_Win_allocate_shared windows: MAP_SHARED mappings of files in /dev/shm with
 * this prefix, the only writable shared file mappings a checkpoint takes (their contents, as
 * private memory: the MPI layer shares them again at a restart, mpi/winshared.c). */
#define SC_SHM_WIN_PREFIX "/dev/shm/splitckpt-win-"

/* Defined in libsplitckpt; weak in libsplitckpt_mpi, which also runs without it. */
void sc_ckpt_register_mpi(const struct sc_mpi_ckpt_ops *ops);

#endif
