/* Between the drain (drain.c), which receives the messages in flight at a checkpoint, and
 * drain_serve.c, which keeps them for the application's receives. */
#ifndef SPLITCKPT_MPI_DRAIN_H
#define SPLITCKPT_MPI_DRAIN_H

#include <stdint.h>

#include "sc_mpi_abi.h"

/* Appends a drained message (status as MPI gave it for `size` bytes of MPI_BYTE). */
int sc_drained_add(uintptr_t comm, const struct sc_abi_status *st, const void *data, long size);

#endif
