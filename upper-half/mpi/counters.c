/* The drain's point-to-point counters beyond what the generated wrappers count inline (cut.h):
 * messages matched by MPI_(I)mprobe, persistent requests started, and sends or receives that
 * MPI_Cancel took back. Also which request is which (the function that made it), for the drain
 * and the restart. */
#define _GNU_SOURCE
#include <mpi.h>

#include "../mpi_crossing.h"
#include "drain.h"

_Static_assert(SC_ABI_ROOT_RANK == MPI_ROOT, "mpi_crossing.h's MPI_ROOT differs from mpi.h");
_Static_assert(SC_ABI_CART == MPI_CART && SC_ABI_GRAPH == MPI_GRAPH &&
		   SC_ABI_DIST_GRAPH == MPI_DIST_GRAPH && SC_ABI_UNDEFINED == MPI_UNDEFINED,
	       "sc_mpi_abi.h's topology constants differ from mpi.h");

int sc_mpi_request_is_recv(int fn)
{
	return (sc_mpi_fn_request[fn] & SC_REQ_RECV) != 0;
}

int sc_mpi_request_is_persistent(int fn)
{
	return (sc_mpi_fn_request[fn] & SC_REQ_PERSISTENT) != 0;
}

static int request_is_send(int fn)
{
	return (sc_mpi_fn_request[fn] & SC_REQ_SEND) != 0;
}

void sc_mpi_count_match(const void *comm, uint64_t lower_message)
{
	if (lower_message != sc_vh_lower(MPI_MESSAGE_NULL) &&
	    lower_message != sc_vh_lower(MPI_MESSAGE_NO_PROC) && sc_comm_cut_of(comm))
		sc_cut_add(&sc_mpi_recv_started);
}

void sc_mpi_message_matched(void *message, const struct sc_abi_status *st)
{
	if ((uintptr_t)message >= SC_VH_PREDEF_MAX) /* not MPI_MESSAGE_NULL / _NO_PROC */
		((struct sc_vobj *)message)->cut_status = *st;
}

/* Point-to-point requests record: buf, count, datatype, dest/source, tag, comm. */
static const void *request_comm(const struct sc_vobj *o)
{
	return (const void *)(uintptr_t)o->args[5];
}

static int request_peer(const struct sc_vobj *o)
{
	return (int)(int64_t)o->args[3];
}

void sc_mpi_count_start(void *request)
{
	if ((uintptr_t)request < SC_VH_PREDEF_MAX)
		return;
	struct sc_vobj *o = request;
	/* A persistent collective begins here: first the communicator's gate (a quiesce may hold
	 * the thread through a checkpoint, with the request not yet started), then its count. */
	const int comm_arg = sc_mpi_fn_coll_comm[o->fn];
	if (comm_arg)
		sc_mpi_count_coll((const void *)(uintptr_t)o->args[comm_arg - 1]);
	/* Starting it means the answer a checkpoint parked was consumed (a start of an active
	 * request is erroneous): freeing that completed generalized request cannot fail. */
	sc_mpi_unpark(o);
	o->flags = (o->flags | SC_VOBJ_STARTED) & ~(uint32_t)SC_VOBJ_CUTDONE;
	if (sc_mpi_request_is_recv(o->fn))
		sc_mpi_count_recv(request_comm(o), request_peer(o));
	else if (request_is_send(o->fn)) {
		sc_mpi_count_send(request_comm(o), request_peer(o));
		sc_mpi_sync_note(request_comm(o), request_peer(o), (int)(int64_t)o->args[4]);
	}
	if (sc_mpi_fn_request[o->fn] & SC_REQ_SYNC)
		sc_mpi_sync_posted(o);
}

static void uncount(uint64_t *counter)
{
	if (__builtin_expect(sc_mpi_multi, 0))
		__atomic_fetch_sub(counter, 1, __ATOMIC_RELAXED);
	else
		--*counter;
}

/* Takes back what sc_mpi_count_recv / sc_mpi_count_send counted. */
static void uncount_recv(const void *comm, int source)
{
	if (source != SC_ABI_PROC_NULL_RANK && sc_comm_cut_of(comm))
		uncount(&sc_mpi_recv_started);
}

static void uncount_send(const void *comm, int dest)
{
	uint64_t *sent = sc_mpi_sent_to(comm, dest);
	if (sent)
		uncount(sent);
}

int sc_mpi_count_cancel(void *request)
{
	if ((uintptr_t)request < SC_VH_PREDEF_MAX)
		return 0;
	struct sc_vobj *o = request;
	int recv = sc_mpi_request_is_recv(o->fn), send = request_is_send(o->fn);
	if ((!recv && !send) || (o->flags & SC_VOBJ_CUTDONE))
		return 0; /* counted nowhere, or already complete (a cancel does nothing then) */
	/* A receive or send marked for cancellation completes locally, cancelled or not (MPI 4.1
	 * 3.8.4): wait for that without taking the request from the application, which still
	 * waits on it. A cancelled one never moves a message, so the drain must not expect it. */
	const struct sc_mpi_table *tab = sc_mpi_tab;
	int flag = 0, cancelled = 0, rc;
	struct sc_abi_status st;
	do
		SC_MPI_CALL(rc = tab->Request_get_status(o->lower, &flag, &st));
	while (rc == 0 && !flag);
	if (rc == 0)
		SC_MPI_CALL(rc = tab->Test_cancelled(&st, &cancelled));
	if (rc != 0 || !cancelled)
		return rc;
	if (recv)
		uncount_recv(request_comm(o), request_peer(o));
	else
		uncount_send(request_comm(o), request_peer(o));
	return 0;
}

/* Whether a failed point-to-point call moved no message: an error in its arguments (the
 * message of a truncated receive was taken). */
static int moved_nothing(int rc)
{
	if (rc == SC_MPI_E_UNIMPL || rc == SC_MPI_E_NOMEM) /* the crossing's own: not called */
		return 1;
	int cls = 0, crc;
	SC_MPI_CALL(crc = sc_mpi_tab->Error_class(rc, &cls));
	return crc == 0 && cls != MPI_ERR_TRUNCATE && cls != MPI_ERR_IN_STATUS;
}

void sc_mpi_uncount_recv(const void *comm, int source, int rc)
{
	if (moved_nothing(rc))
		uncount_recv(comm, source);
}

void sc_mpi_uncount_send(const void *comm, int dest, int rc)
{
	if (moved_nothing(rc))
		uncount_send(comm, dest);
}
