/* The entry points lh_main.c calls in an MPI lower half (built with -DSC_LH_MPI): publish
 * the MPI function table, the main thread's TLS and the TLS donor service in the info block;
 * watch a restart until the upper half says it is done.
 * Kept free of MPI headers so that lh_main.c compiles the same for every lower half. */
#ifndef SPLITCKPT_LH_MPI_HOOK_H
#define SPLITCKPT_LH_MPI_HOOK_H

#include "../lh_abi.h"

/* Called on the lower half's main thread after the job settings are in `info`, before the
 * upper half is entered or restored. Exits with a message if it cannot set up. */
void sc_lh_mpi_prepare(struct sc_lh_info *info);
/* Before a rank of a job of several is restored: ends the process if the job's coordinator
 * ends before info->restart_done (a rank refused to restart; lh_restart_watch.c). */
void sc_lh_restart_watch_start(struct sc_lh_info *info);

#endif
