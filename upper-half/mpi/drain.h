/* Shared by the drain (drain.c, which receives the messages in flight at a checkpoint),
 * drain_serve.c (which keeps them for the application's receives) and the restart (replay.c). */
#ifndef SPLITCKPT_MPI_DRAIN_H
#define SPLITCKPT_MPI_DRAIN_H

#include <stdint.h>

#include "sc_mpi_abi.h"

/* Appends a drained message (status as MPI gave it for `size` bytes of MPI_BYTE). */
int sc_drained_add(uintptr_t comm, const struct sc_abi_status *st, const void *data, long size);
/* A message MPI_(I)mprobe matched that the drain received from MPI: from now on its handle o
 * holds it as if it had matched a drained message (SC_VOBJ_DRAINED_MSG). */
struct sc_vobj;
int sc_drained_hold(struct sc_vobj *o, const struct sc_abi_status *st, const void *data, long size);

/* Requests by the function that made them: receives (their message may still be on its way)
 * and persistent requests (inactive until started). */
int sc_mpi_request_is_recv(int fn);
int sc_mpi_request_is_persistent(int fn);

/* Generated from the list (mpi_upper_gen.c): calls the function that made o again with its
 * recorded arguments (*lower: the new handle; SC_MPI_E_UNIMPL when it cannot), and which
 * functions' records can be. */
struct sc_mpi_table;
struct sc_vobj;
int sc_mpi_replay(const struct sc_mpi_table *tab, const struct sc_vobj *o, uint64_t *lower);
extern const unsigned char sc_mpi_replayable[];

#endif
