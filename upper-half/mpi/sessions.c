/* MPI sessions over the world model. The cut needs a communicator of its own over every rank
 * and a world group to translate ranks (cut.c), and a restart begins with MPI_Init_thread of the
 * new MPI (replay.c): so when a program starts a session without having called MPI_Init, MPI is
 * initialized beneath it first (at MPI_THREAD_MULTIPLE, the most a session may ask), and the
 * last MPI_Session_finalize of such a program finalizes it again, after the program's last
 * session, as MPI would. The program still sees its own world model only: MPI_Initialized and
 * MPI_Finalized answer for its MPI_Init and MPI_Finalize, and its MPI_Init over MPI initialized
 * beneath succeeds without a second initialization. */
#define _GNU_SOURCE
#include <mpi.h>
#include <stdio.h>
#include <unistd.h>

#include "../mpi_crossing.h"

int sc_mpi_world_under, sc_mpi_app_init, sc_mpi_app_finalized;
static int live_sessions; /* made and not finalized */

void sc_mpi_after_app_init(void)
{
	sc_mpi_after_init();
	sc_mpi_app_init = 1;
}

int sc_mpi_init_over(int *provided)
{
	int rc = MPI_SUCCESS;
	if (sc_mpi_finalized) {
		/* the last session finalized MPI beneath: MPI cannot begin again */
		static const char m[] = "splitckpt: MPI_Init after the program's last "
					"MPI_Session_finalize: MPI cannot be initialized again\n";
		(void)!write(2, m, sizeof m - 1);
		rc = MPI_ERR_OTHER;
	} else if (sc_mpi_app_init) {
		rc = MPI_ERR_OTHER; /* a second MPI_Init, as MPI answers it */
	} else {
		sc_mpi_app_init = 1;
		if (provided)
			*provided = sc_mpi_thread_level;
	}
	sc_mpi_leave();
	return rc;
}

int sc_mpi_sessions_world(void)
{
	if (sc_mpi_initialized)
		return 0;
	if (sc_mpi_finalized) {
		static const char m[] = "splitckpt: MPI_Session_init after the program's last "
					"MPI_Session_finalize: MPI cannot be initialized again\n";
		(void)!write(2, m, sizeof m - 1);
		return MPI_ERR_OTHER;
	}
	const struct sc_mpi_table *tab = sc_mpi_tab;
	int provided = 0, rc;
	SC_MPI_CALL(rc = tab->Init_thread(MPI_THREAD_MULTIPLE, &provided));
	sc_mpi_thr.stage = 1; /* back in the wrapper, before its counters */
	if (rc != 0)
		return rc;
	sc_mpi_world_under = 1;
	sc_mpi_after_init();
	return 0;
}

void sc_mpi_session_made(void)
{
	__atomic_add_fetch(&live_sessions, 1, __ATOMIC_SEQ_CST);
}

int PMPI_Session_finalize(MPI_Session *session)
{
	const struct sc_mpi_table *tab = sc_mpi_begin();
	uint64_t lower = sc_vh_lower(*session);
	int rc;
	SC_MPI_CALL(rc = tab->Session_finalize(&lower));
	if (rc != 0)
		return sc_mpi_fail(SC_FN_MPI_Session_finalize, rc);
	sc_vh_free(SC_VK_SESSION, *session);
	*session = MPI_SESSION_NULL;
	sc_mpi_leave();
	/* the program's last session: MPI beneath ends with it (a collective over every rank,
	 * waited for in slices like the program's own MPI_Finalize) */
	if (__atomic_sub_fetch(&live_sessions, 1, __ATOMIC_SEQ_CST) == 0 && sc_mpi_world_under &&
	    !sc_mpi_app_init)
		rc = PMPI_Finalize();
	return rc;
}
int MPI_Session_finalize(MPI_Session *session)
    __attribute__((weak, alias("PMPI_Session_finalize")));

void sc_mpi_comm_errh_record(void *comm, void *errhandler)
{
	if ((uintptr_t)comm < SC_VH_PREDEF_MAX)
		return;
	/* as MPI_Comm_set_errhandler's record: the communicator first (not kept alive by it),
	 * the error handler kept alive */
	sc_vh_record_set(
	    SC_FN_MPI_Comm_set_errhandler, 2,
	    (const uint64_t[]){(uint64_t)(uintptr_t)comm, (uint64_t)(uintptr_t)errhandler}, 0x2);
}

int PMPI_Initialized(int *flag)
{
	*flag = sc_mpi_app_init;
	return MPI_SUCCESS;
}
int MPI_Initialized(int *flag) __attribute__((weak, alias("PMPI_Initialized")));

int PMPI_Finalized(int *flag)
{
	*flag = sc_mpi_app_finalized;
	return MPI_SUCCESS;
}
int MPI_Finalized(int *flag) __attribute__((weak, alias("PMPI_Finalized")));
