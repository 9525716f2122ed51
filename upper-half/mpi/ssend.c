/* Synchronous sends across a checkpoint. MPI_Ssend/MPI_Issend/MPI_Ssend_init complete only once
 * the receiver matched the message; a drain that receives it into the receiver's upper half
 * completes the send in MPI although no receive of the application matched it yet (algorithms
 * such as NBX's sparse exchange rely on that difference). So each rank keeps its synchronous
 * sends; at the drain the receiver finds which of them it drained, the sender's request then
 * waits on an incomplete generalized request instead, and the receiver acknowledges when the
 * application takes the message (an 8-byte message on the cut's own communicator, counted and
 * drained like any other). */
#define _GNU_SOURCE
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mpi_crossing.h"
#include "drain.h"

#define ACK_TAG 0x7ff0 /* below every MPI_TAG_UB (at least 32767) */

/* A synchronous send the application holds. The drained messages of one sender on one
 * (communicator, tag) are the last ones it sent there (MPI matches them in order), so the
 * receiver finds this send's message by how many sends to the same peer, communicator and tag
 * came after it. */
struct sync_send {
	struct sc_vobj *req;
	uint64_t token;	    /* names it in the receiver's acknowledgement */
	uint64_t followers; /* sends to the same peer, communicator and tag since it started */
};

/* What a sender tells the receiver at the drain (Alltoallv, as bytes). */
struct sync_record {
	uint64_t comm_id; /* struct sc_comm_cut's id: the same on every member */
	uint64_t followers;
	uint64_t token;
	int32_t tag;
	int32_t unused;
};

static struct sync_send *syncs;
static size_t nsyncs, cap;
static uint64_t last_token;
static pthread_mutex_t slock = PTHREAD_MUTEX_INITIALIZER, plock = PTHREAD_MUTEX_INITIALIZER;
volatile int sc_mpi_sync_live, sc_mpi_acks_waiting;

/* Point-to-point requests record: buf, count, datatype, dest, tag, comm. */
static int rec_dest(const struct sc_vobj *o)
{
	return (int)(int64_t)o->args[3];
}
static int rec_tag(const struct sc_vobj *o)
{
	return (int)(int64_t)o->args[4];
}
static const void *rec_comm(const struct sc_vobj *o)
{
	return (const void *)(uintptr_t)o->args[5];
}

void sc_mpi_sync_posted(void *request)
{
	struct sc_vobj *o = request;
	if ((uintptr_t)o < SC_VH_PREDEF_MAX || !sc_mpi_sent_to(rec_comm(o), rec_dest(o)))
		return; /* MPI_PROC_NULL: nothing to match */
	pthread_mutex_lock(&slock);
	size_t i = 0;
	while (i < nsyncs && syncs[i].req != o)
		i++;
	if (i == nsyncs) { /* a persistent request starting again keeps its place */
		if (nsyncs == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct sync_send *n = realloc(syncs, ncap * sizeof *n);
			if (!n) { /* without a record it completes as before this file existed */
				pthread_mutex_unlock(&slock);
				return;
			}
			syncs = n;
			cap = ncap;
		}
		syncs[nsyncs++] = (struct sync_send){.req = o, .token = ++last_token};
		o->flags |= SC_VOBJ_SYNC;
	}
	syncs[i].followers = 0;
	sc_mpi_sync_live = (int)nsyncs;
	pthread_mutex_unlock(&slock);
}

void sc_mpi_sync_follow(const void *comm, int dest, int tag)
{
	pthread_mutex_lock(&slock);
	for (size_t i = 0; i < nsyncs; i++) {
		const struct sc_vobj *o = syncs[i].req;
		if (rec_comm(o) == comm && rec_dest(o) == dest && rec_tag(o) == tag)
			syncs[i].followers++;
	}
	pthread_mutex_unlock(&slock);
}

void sc_mpi_sync_forget(struct sc_vobj *o)
{
	pthread_mutex_lock(&slock);
	for (size_t i = 0; i < nsyncs; i++)
		if (syncs[i].req == o) {
			if (o->flags & SC_VOBJ_ACKWAIT) /* MPI_Request_free before the answer */
				sc_mpi_acks_waiting--;
			syncs[i] = syncs[--nsyncs];
			break;
		}
	o->flags &= ~(uint32_t)(SC_VOBJ_SYNC | SC_VOBJ_ACKWAIT);
	sc_mpi_sync_live = (int)nsyncs;
	pthread_mutex_unlock(&slock);
}

/* ---- the receiver's acknowledgement ----------------------------------------------------- */

static int wait_req(const struct sc_mpi_table *tab, uint64_t *req, struct sc_abi_status *st)
{
	int rc;
	do
		SC_MPI_CALL(rc = tab->svc.wait_slice(req, st));
	while (rc == SC_MPI_PENDING);
	return rc;
}

void sc_mpi_sync_ack(int to, uint64_t token)
{
	const struct sc_mpi_table *tab = sc_mpi_tab;
	uint64_t req = 0;
	struct sc_abi_status st;
	int rc;
	SC_MPI_CALL(rc = tab->Isend(&token, 1, sc_vh_lower(MPI_UINT64_T), to, ACK_TAG,
				    sc_mpi_private_comm, &req));
	if (rc == 0) { /* counted in the call's window: no drain sees the send uncounted */
		sc_cut_add(&sc_mpi_sent[to]);
		rc = wait_req(tab, &req, &st);
	}
	if (rc != 0) /* the sender would wait forever: say so */
		fprintf(stderr,
			"splitckpt: rank %d: acknowledging a synchronous send to rank %d failed "
			"(MPI error %d)\n",
			sc_mpi_world_rank, to, rc);
}

/* The sender's side: the request of token completes (its generalized request). */
static void acknowledged(const struct sc_mpi_table *tab, uint64_t token)
{
	pthread_mutex_lock(&slock);
	for (size_t i = 0; i < nsyncs; i++) {
		struct sc_vobj *o = syncs[i].req;
		if (syncs[i].token != token || !(o->flags & SC_VOBJ_ACKWAIT))
			continue;
		SC_MPI_CALL((void)tab->Grequest_complete(o->lower));
		o->flags &= ~(uint32_t)SC_VOBJ_ACKWAIT;
		sc_mpi_acks_waiting--;
		break;
	}
	pthread_mutex_unlock(&slock); /* no request: the application freed it meanwhile */
}

void sc_mpi_sync_poll(void)
{
	if (pthread_mutex_trylock(&plock))
		return; /* another thread polls */
	const struct sc_mpi_table *tab = sc_mpi_tab;
	uint64_t token;
	while (sc_drained_take_ack((uintptr_t)&sc_mpi_private_comm, &token))
		acknowledged(tab, token);
	for (;;) {
		int flag = 0, rc;
		struct sc_abi_status st;
		SC_MPI_CALL(
		    rc = tab->Iprobe(MPI_ANY_SOURCE, ACK_TAG, sc_mpi_private_comm, &flag, &st));
		if (rc != 0 || !flag)
			break;
		uint64_t req = 0;
		sc_cut_add(&sc_mpi_recv_started);
		SC_MPI_CALL(rc = tab->Recv(&token, 1, sc_vh_lower(MPI_UINT64_T), st.source, ACK_TAG,
					   sc_mpi_private_comm, &st, &req));
		if (rc == 0 && req)
			rc = wait_req(tab, &req, &st);
		if (rc != 0)
			break;
		acknowledged(tab, token);
	}
	pthread_mutex_unlock(&plock);
}

/* ---- the drain ------------------------------------------------------------------------ */

/* Whether the request of a synchronous send may have its message in a receiver's drained queue
 * (one the receiver acknowledges already, or a persistent one never started, cannot). */
static int may_be_drained(const struct sc_vobj *o)
{
	if (o->flags & SC_VOBJ_ACKWAIT)
		return 0;
	return !sc_mpi_request_is_persistent(o->fn) || (o->flags & SC_VOBJ_STARTED);
}

/* The drain completed o's send in MPI, but the receiver drained its message: o's handle now
 * stands for a generalized request completed by the acknowledgement (a persistent request
 * parked behind it, inactive). */
static int await_ack(const struct sc_mpi_table *tab, struct sc_vobj *o)
{
	struct sc_abi_status st;
	uint64_t pending, req = o->lower;
	/* Complete: MPI frees it, or makes a persistent one inactive. The wait zeroes its copy
	 * either way: a persistent request's handle is o->lower, kept. */
	int rc = wait_req(tab, &req, &st);
	if (!sc_mpi_request_is_persistent(o->fn))
		o->lower = req;
	if (rc == 0)
		rc = sc_mpi_status_request(&o->cut_status, 0, &pending);
	if (rc != 0)
		return rc;
	if (sc_mpi_request_is_persistent(o->fn)) {
		o->parked = o->lower;
		o->flags |= SC_VOBJ_PARKED;
	}
	o->lower = pending;
	o->flags = (o->flags & ~(uint32_t)SC_VOBJ_CUTDONE) | SC_VOBJ_ACKWAIT;
	sc_mpi_acks_waiting++;
	return 0;
}

static void *comm_of_id(uint64_t id)
{
	if (sc_cut_world.id == id)
		return MPI_COMM_WORLD;
	if (sc_cut_self.id == id)
		return MPI_COMM_SELF;
	for (struct sc_vobj *o = sc_vh_first(); o; o = o->next)
		if (o->kind == SC_VK_COMM && (o->flags & SC_VOBJ_LIVE) && o->cut &&
		    o->cut->id == id)
			return o;
	return NULL;
}

/* The receiver's side of one record from world rank `from`: 1 if its message is drained here
 * (then acknowledged when the application takes it). */
static int mark(const struct sync_record *r, int from)
{
	void *comm = comm_of_id(r->comm_id);
	struct sc_comm_cut *c = comm ? sc_comm_cut_of(comm) : NULL;
	for (int src = 0; c && src < c->rsize; src++)
		if (c->rworld[src] == from)
			return sc_drained_mark_sync((uintptr_t)comm, src, r->tag, r->followers,
						    from, r->token);
	return 0;
}

static int alltoallv(const struct sc_mpi_table *tab, const void *out, const int *ocounts, void *in,
		     const int *icounts, int n)
{
	int *od = malloc(2 * (size_t)n * sizeof *od), rc;
	if (!od)
		return MPI_ERR_NO_MEM;
	int *id = od + n;
	for (int i = 0, o = 0, k = 0; i < n; o += ocounts[i], k += icounts[i], i++) {
		od[i] = o;
		id[i] = k;
	}
	uint64_t byte = sc_vh_lower(MPI_BYTE);
	SC_MPI_CALL(rc = tab->Alltoallv(out, ocounts, od, byte, in, icounts, id, byte,
					sc_mpi_private_comm));
	free(od);
	return rc;
}

int sc_mpi_sync_exchange(const struct sc_mpi_table *tab, char *err, size_t errlen)
{
	const int n = sc_mpi_world_size, rsz = (int)sizeof(struct sync_record);
	int *cnt = calloc(4 * (size_t)n, sizeof *cnt), rc = MPI_ERR_NO_MEM;
	struct sync_record *out = NULL, *in = NULL;
	struct sync_send **sent = NULL;
	unsigned char *marks = NULL, *answers = NULL;
	size_t nout = 0, nin = 0;
	pthread_mutex_lock(&slock); /* the application is held: only for the list's invariants */
	if (!cnt)
		goto out;
	int *ocnt = cnt, *icnt = cnt + n, *obytes = cnt + 2 * n, *ibytes = cnt + 3 * n;
	for (size_t i = 0; i < nsyncs; i++)
		if (may_be_drained(syncs[i].req)) {
			const struct sc_vobj *o = syncs[i].req;
			ocnt[sc_comm_cut_of(rec_comm(o))->rworld[rec_dest(o)]]++;
			nout++;
		}
	out = calloc(nout + 1, sizeof *out);
	sent = calloc(nout + 1, sizeof *sent);
	if (!out || !sent)
		goto out;
	/* by destination, in list order within one */
	for (int d = 0, k = 0; d < n; d++)
		for (size_t i = 0; i < nsyncs; i++) {
			struct sc_vobj *o = syncs[i].req;
			if (!may_be_drained(o) ||
			    sc_comm_cut_of(rec_comm(o))->rworld[rec_dest(o)] != d)
				continue;
			out[k] = (struct sync_record){.comm_id = sc_comm_cut_of(rec_comm(o))->id,
						      .followers = syncs[i].followers,
						      .token = syncs[i].token,
						      .tag = rec_tag(o)};
			sent[k++] = &syncs[i];
		}
	uint64_t i32 = sc_vh_lower(MPI_INT);
	SC_MPI_CALL(rc = tab->Alltoall(ocnt, 1, i32, icnt, 1, i32, sc_mpi_private_comm));
	if (rc != 0)
		goto out;
	for (int r = 0; r < n; r++) {
		nin += (size_t)icnt[r];
		obytes[r] = ocnt[r] * rsz;
		ibytes[r] = icnt[r] * rsz;
	}
	in = calloc(nin + 1, sizeof *in);
	marks = calloc(nin + 1, 1);
	answers = calloc(nout + 1, 1);
	rc = MPI_ERR_NO_MEM;
	if (!in || !marks || !answers || (rc = alltoallv(tab, out, obytes, in, ibytes, n)) != 0)
		goto out;
	for (int r = 0, k = 0; r < n; r++)
		for (int j = 0; j < icnt[r]; j++, k++)
			marks[k] = (unsigned char)mark(&in[k], r);
	if ((rc = alltoallv(tab, marks, icnt, answers, ocnt, n)) != 0)
		goto out;
	for (size_t k = 0; k < nout && rc == 0; k++)
		if (answers[k])
			rc = await_ack(tab, sent[k]->req);
	if (rc == 0 && nout)
		sc_mpi_drains++; /* a Wait parked on a changed request starts over */
out:
	pthread_mutex_unlock(&slock);
	free(cnt);
	free(out);
	free(sent);
	free(in);
	free(marks);
	free(answers);
	if (rc != 0)
		snprintf(err, errlen,
			 "drain: exchanging which synchronous sends were drained failed (MPI error "
			 "%d)",
			 rc);
	return rc ? -1 : 0;
}

int sc_mpi_sync_rebuild(const struct sc_mpi_table *tab, struct sc_vobj *o)
{
	uint64_t pending, inactive = 0;
	int rc = sc_mpi_status_request(&o->cut_status, 0, &pending);
	if (rc == 0 && sc_mpi_request_is_persistent(o->fn)) {
		rc = sc_mpi_replay(tab, o, &inactive);
		o->parked = inactive;
	}
	if (rc == 0)
		o->lower = pending;
	return rc;
}
