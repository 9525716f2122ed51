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

/* Synchronous sends (ssend.c). The drained message of (comm, source, tag) that `followers`
 * messages of the same triple follow is acknowledged to world rank ack_to with token when the
 * application takes it: 1 if there is one. */
int sc_drained_mark_sync(uintptr_t comm, int source, int tag, uint64_t followers, int ack_to,
			 uint64_t token);
/* A drained acknowledgement (the queue's key for the cut's communicator): 1 and its token. */
int sc_drained_take_ack(uintptr_t key, uint64_t *token);
void sc_mpi_sync_ack(int to, uint64_t token);
/* After the drain: which synchronous sends the receivers drained; those wait for the
 * acknowledgement. At a restart, such a request waits again (a new generalized request). */
struct sc_mpi_table;
int sc_mpi_sync_exchange(const struct sc_mpi_table *tab, char *err, size_t errlen);
struct sc_vobj;
int sc_mpi_sync_rebuild(const struct sc_mpi_table *tab, struct sc_vobj *o);

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
