/* The messages a checkpoint drained (upper-half memory, so they survive a restart), and how
 * the application's receives get them: before asking MPI, MPI_Recv, MPI_Irecv (and their _c
 * forms), MPI_Start of a persistent receive, MPI_Probe and MPI_Iprobe take the oldest drained
 * message that matches (communicator, source, tag, with MPI_ANY_SOURCE/MPI_ANY_TAG); MPI_Mprobe
 * and MPI_Improbe match it to a message handle that MPI_Mrecv/MPI_Imrecv then receive. Every
 * drained message left MPI before anything still in it, so serving these first keeps MPI's order.
 */
#define _GNU_SOURCE
#include <mpi.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../mpi_crossing.h"
#include "drain.h"

volatile uint64_t sc_mpi_ndrained;

struct drained {
	struct drained *next;
	uintptr_t comm; /* the application's handle */
	int ack_to;	/* a synchronous send's: the world rank waiting for it (ssend.c), or -1 */
	uint64_t ack_token;
	struct sc_abi_status st;
	long size;
	unsigned char data[];
};
static struct drained *head, **tail = &head;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;

static struct drained *new_drained(uintptr_t comm, const struct sc_abi_status *st, const void *data,
				   long size)
{
	struct drained *d = malloc(sizeof *d + (size_t)size);
	if (!d)
		return NULL;
	d->next = NULL;
	d->comm = comm;
	d->ack_to = -1;
	d->st = *st;
	d->size = size;
	memcpy(d->data, data, (size_t)size);
	return d;
}

int sc_drained_add(uintptr_t comm, const struct sc_abi_status *st, const void *data, long size)
{
	struct drained *d = new_drained(comm, st, data, size);
	if (!d)
		return -1;
	pthread_mutex_lock(&qlock);
	*tail = d;
	tail = &d->next;
	sc_mpi_ndrained++;
	pthread_mutex_unlock(&qlock);
	return 0;
}

int sc_drained_hold(struct sc_vobj *o, const struct sc_abi_status *st, const void *data, long size)
{
	/* MPI_(I)mprobe's record: source, tag, comm */
	struct drained *d = new_drained((uintptr_t)o->args[2], st, data, size);
	if (!d)
		return -1;
	sc_vh_set_lower(o, (uint64_t)(uintptr_t)d);
	o->flags |= SC_VOBJ_DRAINED_MSG;
	pthread_mutex_lock(&qlock);
	sc_mpi_ndrained++; /* not in the queue: taken back by MPI_(I)mrecv (take_matched) */
	pthread_mutex_unlock(&qlock);
	return 0;
}

enum { PEEK, TAKE, MATCH }; /* MATCH: out of the queue, still not received (MPI_Mprobe) */

/* The oldest drained message matching (comm, source, tag); out of the queue unless PEEK. */
static struct drained *find(const void *comm, int source, int tag, int how)
{
	struct drained *d = NULL;
	pthread_mutex_lock(&qlock);
	for (struct drained **p = &head; *p; p = &(*p)->next) {
		struct drained *x = *p;
		if (x->comm != (uintptr_t)comm ||
		    (source != MPI_ANY_SOURCE && source != x->st.source) ||
		    (tag != MPI_ANY_TAG && tag != x->st.tag))
			continue;
		d = x;
		if (how != PEEK) {
			*p = x->next;
			if (tail == &x->next)
				tail = p;
		}
		if (how == TAKE)
			sc_mpi_ndrained--;
		break;
	}
	pthread_mutex_unlock(&qlock);
	/* Taken or matched: the receive has started, which a synchronous send waits for. */
	if (d && how != PEEK && d->ack_to >= 0) {
		sc_mpi_sync_ack(d->ack_to, d->ack_token);
		d->ack_to = -1;
	}
	return d;
}

int sc_drained_mark_sync(uintptr_t comm, int source, int tag, uint64_t followers, int ack_to,
			 uint64_t token)
{
	uint64_t n = 0;
	pthread_mutex_lock(&qlock);
	for (struct drained *x = head; x; x = x->next)
		n += x->comm == comm && x->st.source == source && x->st.tag == tag;
	struct drained *d = NULL;
	for (struct drained *x = head; x && n > followers; x = x->next)
		if (x->comm == comm && x->st.source == source && x->st.tag == tag &&
		    n-- == followers + 1)
			d = x;
	if (d) {
		d->ack_to = ack_to;
		d->ack_token = token;
	}
	pthread_mutex_unlock(&qlock);
	return d != NULL;
}

int sc_drained_take_ack(uintptr_t key, uint64_t *token)
{
	if (!sc_mpi_ndrained)
		return 0;
	struct drained *d = find((const void *)key, MPI_ANY_SOURCE, MPI_ANY_TAG, TAKE);
	if (!d)
		return 0;
	int ok = d->size == (long)sizeof *token;
	if (ok)
		memcpy(token, d->data, sizeof *token);
	free(d);
	return ok;
}

/* Unpacks a drained message into the receive buffer as MPI would have received it: `count`
 * elements of `type` at most (MPI_ERR_TRUNCATE beyond). */
static int deliver(struct drained *d, void *buf, MPI_Count count, MPI_Datatype type, MPI_Comm comm,
		   MPI_Status *status)
{
	const struct sc_mpi_table *tab = sc_mpi_tab;
	uint64_t l_type = sc_vh_lower(type), l_comm = sc_vh_lower(comm);
	int tsize = 0, max = 0, pos = 0, rc;
	SC_MPI_CALL(rc = tab->Type_size(l_type, &tsize));
	/* A drained message is below 2 GiB (int counts): so are the elements it fills. */
	int elems = count <= 0 ? 0 : tsize <= 0 ? 1 : (int)((d->size + tsize - 1) / tsize);
	if (elems > count)
		elems = (int)count;
	if (rc == 0)
		SC_MPI_CALL(rc = tab->Pack_size(elems, l_type, l_comm, &max));
	long n = d->size <= max ? d->size : max;
	if (rc == 0 && n > 0)
		SC_MPI_CALL(rc = tab->Unpack(d->data, (int)n, &pos, buf, elems, l_type, l_comm));
	if (rc == 0 && d->size > max)
		rc = MPI_ERR_TRUNCATE;
	if (status != MPI_STATUS_IGNORE) {
		memcpy(status, &d->st, sizeof d->st);
		status->MPI_ERROR = rc;
	}
	return rc;
}

static int serve_recv(void *buf, MPI_Count count, MPI_Datatype datatype, int source, int tag,
		      MPI_Comm comm, MPI_Status *status)
{
	struct drained *d = source == MPI_PROC_NULL ? NULL : find(comm, source, tag, TAKE);
	if (!d)
		return SC_MPI_PENDING;
	int rc = deliver(d, buf, count, datatype, comm, status);
	free(d);
	return rc;
}

/* A nonblocking receive that a drained message answered (rc, st: the delivery's): a completed
 * request with that status, recorded as fn's (nargs arguments rec). */
static int answered(int rc, const MPI_Status *st, int fn, int nargs, const uint64_t *rec,
		    MPI_Request *request)
{
	uint64_t lower;
	if (rc == 0)
		rc = sc_mpi_completed_request((const struct sc_abi_status *)st, &lower);
	if (rc == 0)
		*request = sc_vh_req_new(lower, (uint16_t)fn, nargs, rec);
	return rc;
}

static int serve_irecv(int fn, void *buf, MPI_Count count, MPI_Datatype datatype, int source,
		       int tag, MPI_Comm comm, MPI_Request *request)
{
	MPI_Status st;
	int rc = serve_recv(buf, count, datatype, source, tag, comm, &st);
	if (rc == SC_MPI_PENDING)
		return rc;
	const uint64_t rec[] = {(uint64_t)(uintptr_t)buf,      (uint64_t)count,
				(uint64_t)(uintptr_t)datatype, (uint64_t)(int64_t)source,
				(uint64_t)(int64_t)tag,	       (uint64_t)(uintptr_t)comm};
	return answered(rc, &st, fn, 6, rec, request);
}

int sc_mpi_drained_Recv(void *buf, int count, MPI_Datatype datatype, int source, int tag,
			MPI_Comm comm, MPI_Status *status)
{
	return serve_recv(buf, count, datatype, source, tag, comm, status);
}

int sc_mpi_drained_Recv_c(void *buf, MPI_Count count, MPI_Datatype datatype, int source, int tag,
			  MPI_Comm comm, MPI_Status *status)
{
	return serve_recv(buf, count, datatype, source, tag, comm, status);
}

int sc_mpi_drained_Irecv(void *buf, int count, MPI_Datatype datatype, int source, int tag,
			 MPI_Comm comm, MPI_Request *request)
{
	return serve_irecv(SC_FN_MPI_Irecv, buf, count, datatype, source, tag, comm, request);
}

int sc_mpi_drained_Irecv_c(void *buf, MPI_Count count, MPI_Datatype datatype, int source, int tag,
			   MPI_Comm comm, MPI_Request *request)
{
	return serve_irecv(SC_FN_MPI_Irecv_c, buf, count, datatype, source, tag, comm, request);
}

/* MPI_Start of a persistent receive that a drained message answers: delivered now, and the
 * request parked (vhandle.h) until the application's completion call takes the status. */
int sc_mpi_drained_Start(MPI_Request *request)
{
	struct sc_vobj *o = (struct sc_vobj *)*request;
	if ((uintptr_t)o < SC_VH_PREDEF_MAX || !sc_mpi_request_is_recv(o->fn))
		return SC_MPI_PENDING; /* started: a persistent request, receives only */
	int rc = sc_mpi_unpark(o);     /* started again: the previous answer was consumed */
	if (rc != 0)
		return rc;
	/* records: buf, count, datatype, source, tag, comm */
	MPI_Status st;
	rc = serve_recv((void *)(uintptr_t)o->args[0], (MPI_Count)o->args[1],
			(MPI_Datatype)(uintptr_t)o->args[2], (int)(int64_t)o->args[3],
			(int)(int64_t)o->args[4], (MPI_Comm)(uintptr_t)o->args[5], &st);
	if (rc != 0)
		return rc;
	o->flags = (o->flags | SC_VOBJ_STARTED) & ~(uint32_t)SC_VOBJ_CUTDONE;
	return sc_mpi_park(o, (const struct sc_abi_status *)&st);
}

int sc_mpi_drained_Iprobe(int source, int tag, MPI_Comm comm, int *flag, MPI_Status *status)
{
	struct drained *d = source == MPI_PROC_NULL ? NULL : find(comm, source, tag, PEEK);
	if (!d)
		return SC_MPI_PENDING;
	*flag = 1;
	if (status != MPI_STATUS_IGNORE)
		memcpy(status, &d->st, sizeof d->st);
	return 0;
}

int sc_mpi_drained_Probe(int source, int tag, MPI_Comm comm, MPI_Status *status)
{
	int flag;
	return sc_mpi_drained_Iprobe(source, tag, comm, &flag, status);
}

/* ---- matched probes: a message handle of our own for a drained message ---------------------- */

/* MPI_(I)mprobe matched drained message d: the handle's object is flagged SC_VOBJ_DRAINED_MSG
 * and its lower value is d (no MPI handle is an upper-half address). Records as MPI_Mprobe's. */
static MPI_Message matched(struct drained *d, int fn, int source, int tag, MPI_Comm comm)
{
	const uint64_t rec[] = {(uint64_t)(int64_t)source, (uint64_t)(int64_t)tag,
				(uint64_t)(uintptr_t)comm};
	struct sc_vobj *o =
	    sc_vh_new(SC_VK_MESSAGE, (uint64_t)(uintptr_t)d, (uint16_t)fn, 3, rec, 0x4);
	o->flags |= SC_VOBJ_DRAINED_MSG;
	return (MPI_Message)o;
}

int sc_mpi_drained_Mprobe(int source, int tag, MPI_Comm comm, MPI_Message *message,
			  MPI_Status *status)
{
	struct drained *d = source == MPI_PROC_NULL ? NULL : find(comm, source, tag, MATCH);
	if (!d)
		return SC_MPI_PENDING;
	if (status != MPI_STATUS_IGNORE)
		memcpy(status, &d->st, sizeof d->st);
	*message = matched(d, SC_FN_MPI_Mprobe, source, tag, comm);
	return 0;
}

int sc_mpi_drained_Improbe(int source, int tag, MPI_Comm comm, int *flag, MPI_Message *message,
			   MPI_Status *status)
{
	int rc = sc_mpi_drained_Mprobe(source, tag, comm, message, status);
	if (rc == 0)
		*flag = 1;
	return rc;
}

/* The drained message behind a handle of matched(), taken from it (NULL: an MPI message). */
static struct drained *take_matched(MPI_Message *message)
{
	struct sc_vobj *o = (struct sc_vobj *)*message;
	if ((uintptr_t)o < SC_VH_PREDEF_MAX || !(o->flags & SC_VOBJ_DRAINED_MSG))
		return NULL;
	struct drained *d = (struct drained *)(uintptr_t)o->lower;
	sc_vh_free(SC_VK_MESSAGE, o);
	*message = MPI_MESSAGE_NULL;
	pthread_mutex_lock(&qlock);
	sc_mpi_ndrained--;
	pthread_mutex_unlock(&qlock);
	return d;
}

static int serve_mrecv(void *buf, MPI_Count count, MPI_Datatype datatype, MPI_Message *message,
		       MPI_Status *status)
{
	struct drained *d = take_matched(message);
	if (!d)
		return SC_MPI_PENDING;
	int rc = deliver(d, buf, count, datatype, (MPI_Comm)d->comm, status);
	free(d);
	return rc;
}

static int serve_imrecv(int fn, void *buf, MPI_Count count, MPI_Datatype datatype,
			MPI_Message *message, MPI_Request *request)
{
	MPI_Status st;
	int rc = serve_mrecv(buf, count, datatype, message, &st);
	if (rc == SC_MPI_PENDING)
		return rc;
	const uint64_t rec[] = {(uint64_t)(uintptr_t)buf, (uint64_t)count,
				(uint64_t)(uintptr_t)datatype};
	return answered(rc, &st, fn, 3, rec, request);
}

int sc_mpi_drained_Mrecv(void *buf, int count, MPI_Datatype datatype, MPI_Message *message,
			 MPI_Status *status)
{
	return serve_mrecv(buf, count, datatype, message, status);
}

int sc_mpi_drained_Mrecv_c(void *buf, MPI_Count count, MPI_Datatype datatype, MPI_Message *message,
			   MPI_Status *status)
{
	return serve_mrecv(buf, count, datatype, message, status);
}

int sc_mpi_drained_Imrecv(void *buf, int count, MPI_Datatype datatype, MPI_Message *message,
			  MPI_Request *request)
{
	return serve_imrecv(SC_FN_MPI_Imrecv, buf, count, datatype, message, request);
}

int sc_mpi_drained_Imrecv_c(void *buf, MPI_Count count, MPI_Datatype datatype, MPI_Message *message,
			    MPI_Request *request)
{
	return serve_imrecv(SC_FN_MPI_Imrecv_c, buf, count, datatype, message, request);
}

/* ---- completed requests: MPI generalized requests answering with a saved status ----------- */

static int done_query(void *extra, MPI_Status *status)
{
	memcpy(status, extra, sizeof(struct sc_abi_status));
	return MPI_SUCCESS;
}

static int done_free(void *extra)
{
	free(extra);
	return MPI_SUCCESS;
}

static int done_cancel(void *extra, int complete)
{
	(void)extra;
	(void)complete;
	return MPI_SUCCESS;
}

int sc_mpi_status_request(const struct sc_abi_status *st, int complete, uint64_t *lower)
{
	const struct sc_mpi_table *tab = sc_mpi_tab;
	struct sc_abi_status *copy = malloc(sizeof *copy);
	if (!copy)
		return MPI_ERR_NO_MEM;
	*copy = *st;
	int rc;
	SC_MPI_CALL(rc = tab->Grequest_start((void *)done_query, (void *)done_free,
					     (void *)done_cancel, copy, lower));
	if (rc != 0) {
		free(copy);
		return rc;
	}
	if (complete)
		SC_MPI_CALL(rc = tab->Grequest_complete(*lower));
	return rc;
}

int sc_mpi_completed_request(const struct sc_abi_status *st, uint64_t *lower)
{
	return sc_mpi_status_request(st, 1, lower);
}

int sc_mpi_park(struct sc_vobj *o, const struct sc_abi_status *st)
{
	uint64_t answer;
	int rc = sc_mpi_completed_request(st, &answer);
	if (rc != 0)
		return rc;
	o->parked = o->lower;
	o->lower = answer;
	o->flags |= SC_VOBJ_PARKED;
	return 0;
}

/* MPICH 4.0.2 never completes a persistent collective that was made and not started yet (its
 * MPI_Test, MPI_Wait and MPI_Request_get_status wait for ever), as a restart leaves one that was
 * complete at the cut: until it is started again, it answers as an inactive request should, at
 * once and with an empty status. */
int sc_mpi_answer_inactive(struct sc_vobj *o)
{
	if (!(sc_mpi_fn_request[o->fn] & SC_REQ_COLL))
		return -1;
	struct sc_abi_status empty;
	sc_mpi_empty_status(&empty);
	return sc_mpi_completed_request(&empty, &o->lower);
}

int sc_mpi_unpark(void *request)
{
	struct sc_vobj *o = request;
	if ((uintptr_t)o < SC_VH_PREDEF_MAX || !(o->flags & SC_VOBJ_PARKED))
		return 0;
	int rc;
	SC_MPI_CALL(rc = sc_mpi_tab->Request_free(&o->lower));
	o->lower = o->parked;
	o->flags &= ~(uint32_t)SC_VOBJ_PARKED;
	return rc;
}
