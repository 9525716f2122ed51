/* The drain of a checkpoint: with every application thread out of MPI, the ranks exchange how
 * many messages each sent to each other (since MPI_Init) and each rank receives until it has as
 * many as were sent to it: a message no receive of the application has matched yet is received
 * into upper-half memory (drain_serve.c keeps it), the application's pending requests are tested
 * (MPI_Request_get_status: the request stays the application's) until every send, collective and
 * I/O request completed. What a restart cannot rebuild is refused here, before anything moves. */
#define _GNU_SOURCE
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../mpi_crossing.h"
#include "drain.h"

#define STALL_NS (120ull * 1000000000ull) /* no progress for this long: give up, naming why */

extern const char *const sc_mpi_fn_names[SC_MPI_NFUNCS];

/* ---- what a restart could not rebuild ------------------------------------------------------ */

struct refusal {
	char *err;
	size_t errlen;
	int refused;
};

static void check_object(struct sc_vobj *o, void *arg)
{
	struct refusal *r = arg;
	/* a drained message's handle (the message is in upper-half memory), or one MPI_Mrecv
	 * took (its request is the drain's to complete) */
	if (r->refused || sc_mpi_replayable[o->fn] ||
	    (o->flags & (SC_VOBJ_DRAINED_MSG | SC_VOBJ_TAKEN)))
		return;
	r->refused = 1;
	const char *fn = o->fn < SC_MPI_NFUNCS ? sc_mpi_fn_names[o->fn] : "?";
	if (o->fn == SC_FN_MPI_Comm_accept || o->fn == SC_FN_MPI_Comm_connect ||
	    o->fn == SC_FN_MPI_Comm_join)
		snprintf(r->err, r->errlen,
			 "an intercommunicator made by %s connects processes outside the job, "
			 "which a checkpoint cannot hold (MPI_Comm_disconnect it first); the job "
			 "goes on",
			 fn);
	else
		snprintf(r->err, r->errlen,
			 "an MPI object made by %s cannot be rebuilt at a restart yet (see "
			 "wrappers/COVERAGE.md)",
			 fn);
}

static int check_restorable(char *err, size_t errlen)
{
	struct refusal r = {err, errlen, 0};
	for (uint32_t k = 0; k < SC_VK_COUNT && !r.refused; k++)
		if (k != SC_VK_REQUEST)
			sc_vh_foreach(k, check_object, &r);
	return r.refused ? -1 : 0;
}

/* Every rank learns whether any failed, so that none is left waiting in a collective of the
 * drain for a rank that gave up (the checkpoint thread would never read the coordinator's
 * abort, and the job would hang): the lowest failed rank's reason becomes everyone's. A
 * collective on the private communicator; returns -1 on every rank if one rank failed. */
static int all_agree(const struct sc_mpi_table *tab, int failed, char *err, size_t errlen)
{
	int me = failed ? sc_mpi_world_rank : sc_mpi_world_size, first = me, rc;
	SC_MPI_CALL(rc = tab->Allreduce(&me, &first, 1, sc_vh_lower(MPI_INT), sc_vh_lower(MPI_MIN),
					sc_mpi_private_comm));
	if (rc != 0) {
		snprintf(err, errlen, "drain: agreeing on the ranks' outcome failed (MPI error %d)",
			 rc);
		return -1;
	}
	if (first >= sc_mpi_world_size)
		return 0;
	char why[512];
	snprintf(why, sizeof why, "%s", failed ? err : "");
	SC_MPI_CALL(rc = tab->Bcast(why, (int)sizeof why, sc_vh_lower(MPI_CHAR), first,
				    sc_mpi_private_comm));
	why[sizeof why - 1] = '\0';
	snprintf(err, errlen, "on rank %d: %s", first, rc == 0 ? why : "(its reason was lost)");
	return -1;
}

/* ---- requests ---------------------------------------------------------------------------- */

struct scan {
	const struct sc_mpi_table *tab;
	uint64_t pending_recvs; /* receives whose message has not arrived */
	uint64_t busy;		/* sends, collectives, I/O... still running */
	int fn_busy;		/* one of them, for the message */
	int rc;
};

volatile unsigned sc_mpi_drains;

static int is_io(int fn)
{
	return fn >= 0 && fn < SC_MPI_NFUNCS && !strncmp(sc_mpi_fn_names[fn], "MPI_File_i", 10);
}

static void scan_request(struct sc_vobj *o, void *arg)
{
	struct scan *s = arg;
	if (o->flags &
	    (SC_VOBJ_CUTDONE | SC_VOBJ_ACKWAIT)) /* done, or waits for a peer (ssend.c) */
		return;
	if (sc_mpi_request_is_persistent(o->fn) && !(o->flags & SC_VOBJ_STARTED))
		return; /* inactive */
	if (o->fn == SC_FN_MPI_Grequest_start) {
		s->busy++; /* the application completes it, not MPI: it must before a cut */
		s->fn_busy = o->fn;
		return;
	}
	int flag = 0, rc;
	struct sc_abi_status st;
	memset(&st, 0, sizeof st);
	/* MPI-IO's nonblocking requests are generalized requests that only MPI_Test moves on
	 * (ROMIO's poll function): tested, and once done replaced by a completed request with
	 * their status. */
	const int io = is_io(o->fn);
	uint64_t done = 0;
	if (io)
		SC_MPI_CALL(rc = s->tab->Test(&o->lower, &flag, &st));
	else
		SC_MPI_CALL(rc = s->tab->Request_get_status(o->lower, &flag, &st));
	if (rc == 0 && io && flag) {
		rc = sc_mpi_completed_request(&st, &done);
		o->lower = done;
		sc_mpi_drains++; /* a Wait parked on it starts over (sc_mpi_slice_done) */
	}
	if (rc != 0) {
		s->rc = rc;
		return;
	}
	if (flag) {
		o->cut_status = st;
		o->flags |= SC_VOBJ_CUTDONE;
	} else if (sc_mpi_request_is_recv(o->fn)) {
		s->pending_recvs++;
	} else {
		s->busy++;
		s->fn_busy = o->fn;
	}
}

/* A request no checkpoint can keep: partitioned communication's (its partitions' progress lives
 * in MPI only). Returns the function that made one that exists, or -1. */
static void find_unsavable(struct sc_vobj *o, void *arg)
{
	if (o->fn == SC_FN_MPI_Psend_init || o->fn == SC_FN_MPI_Precv_init)
		*(int *)arg = o->fn;
}

static int unsavable_request(void)
{
	int fn = -1;
	sc_vh_req_foreach(find_unsavable, &fn);
	return fn;
}

/* ---- messages -------------------------------------------------------------------------------- */

struct probe {
	const struct sc_mpi_table *tab;
	uint64_t drained, bytes;
	int rc;
};

static int wait_req(const struct sc_mpi_table *tab, uint64_t req, struct sc_abi_status *st)
{
	int rc;
	do
		SC_MPI_CALL(rc = tab->svc.wait_slice(&req, st));
	while (rc == SC_MPI_PENDING);
	return rc;
}

/* Receives every message waiting on one communicator into the drained queue. */
static void drain_comm(struct probe *p, uintptr_t app, uint64_t lower)
{
	const struct sc_mpi_table *tab = p->tab;
	uint64_t byte = sc_vh_lower(MPI_BYTE);
	for (;;) {
		int flag = 0, n = 0, rc;
		struct sc_abi_status st;
		SC_MPI_CALL(rc = tab->Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, lower, &flag, &st));
		if (rc == 0 && flag)
			SC_MPI_CALL(rc = tab->Get_count(&st, byte, &n));
		if (rc != 0 || !flag) {
			p->rc = rc;
			return;
		}
		unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
		if (!buf) {
			p->rc = SC_ABI_ERR_NO_MEM;
			return;
		}
		uint64_t req = 0;
		struct sc_abi_status got;
		SC_MPI_CALL(rc = tab->Recv(buf, n, byte, st.source, st.tag, lower, &got, &req));
		if (rc == 0 && req)
			rc = wait_req(tab, req, &got);
		if (rc == 0 && sc_drained_add(app, &got, buf, n))
			rc = SC_ABI_ERR_NO_MEM;
		free(buf);
		if (rc != 0) {
			p->rc = rc;
			return;
		}
		p->drained++;
		p->bytes += (uint64_t)n;
	}
}

/* Messages MPI_(I)mprobe matched in MPI that the application has not received yet: received
 * now into upper-half memory, held by their handles, as if they had matched drained messages
 * (a restart has no MPI message behind a handle to rebuild). */
static int hold_matched(const struct sc_mpi_table *tab, char *err, size_t errlen)
{
	uint64_t byte = sc_vh_lower(MPI_BYTE);
	for (struct sc_vobj *o = sc_vh_first(); o; o = o->next) {
		if (o->kind != SC_VK_MESSAGE || !(o->flags & SC_VOBJ_LIVE) ||
		    (o->flags & (SC_VOBJ_DRAINED_MSG | SC_VOBJ_TAKEN)))
			continue;
		int n = 0, rc;
		SC_MPI_CALL(rc = tab->Get_count(&o->cut_status, byte, &n));
		unsigned char *buf = rc == 0 ? malloc(n > 0 ? (size_t)n : 1) : NULL;
		uint64_t msg = o->lower, req = 0;
		struct sc_abi_status got;
		if (buf)
			SC_MPI_CALL(rc = tab->Mrecv(buf, n, byte, &msg, &got, &req));
		if (buf && rc == 0 && req)
			rc = wait_req(tab, req, &got);
		if (!buf || rc != 0 || sc_drained_hold(o, &got, buf, n)) {
			free(buf);
			snprintf(err, errlen,
				 "drain: receiving a message MPI_Mprobe matched failed (%s %d)",
				 rc ? "MPI error" : "out of memory for", rc ? rc : n);
			return -1;
		}
		free(buf);
	}
	return 0;
}

static void drain_comm_obj(struct sc_vobj *o, void *arg)
{
	drain_comm(arg, (uintptr_t)o, o->lower);
}

static void drain_all_comms(struct probe *p)
{
	drain_comm(p, (uintptr_t)MPI_COMM_WORLD, sc_vh_lower(MPI_COMM_WORLD));
	drain_comm(p, (uintptr_t)MPI_COMM_SELF, sc_vh_lower(MPI_COMM_SELF));
	sc_vh_foreach(SC_VK_COMM, drain_comm_obj, p);
	/* acknowledgements of synchronous sends (ssend.c) */
	drain_comm(p, (uintptr_t)&sc_mpi_private_comm, sc_mpi_private_comm);
}

static uint64_t drained_total; /* messages drained since MPI_Init, over all checkpoints */

int sc_cut_drain(char *err, size_t errlen)
{
	if (!sc_mpi_initialized || sc_mpi_finalized)
		return 0;
	if (sc_cut_hold(err, errlen))
		return -1;
	const struct sc_mpi_table *tab = sc_cut_table();
	int failed = hold_matched(tab, err, errlen) || check_restorable(err, errlen);
	int fn = failed ? -1 : unsavable_request();
	if (fn >= 0) {
		failed = 1;
		snprintf(err, errlen,
			 "a request of %s exists: partitioned communication cannot be "
			 "checkpointed (free its requests first); the job goes on",
			 sc_mpi_fn_names[fn]);
	} else if (!failed && __atomic_load_n(&sc_mpi_greqs_live, __ATOMIC_SEQ_CST) > 0) {
		/* the quiesce holds new ones back (cut.c): only one started from a callback
		 * inside an MPI call can be here */
		failed = 1;
		snprintf(err, errlen,
			 "a generalized request (MPI_Grequest_start) was started during the "
			 "checkpoint; the job goes on");
	}
	if (all_agree(tab, failed, err, errlen))
		return -1;
	sc_cut_forget_lingering();
	if (sc_mpi_rma_drain(err, errlen))
		return -1;
	int n = sc_mpi_world_size, rc;
	uint64_t *expect = calloc((size_t)n, sizeof *expect), want = 0;
	if (!expect) {
		snprintf(err, errlen, "out of memory for the drain");
		return -1;
	}
	uint64_t u64 = sc_vh_lower(MPI_UINT64_T);
	SC_MPI_CALL(rc = tab->Alltoall(sc_mpi_sent, 1, u64, expect, 1, u64, sc_mpi_private_comm));
	for (int i = 0; i < n; i++)
		want += expect[i];
	free(expect);
	if (rc != 0) {
		snprintf(err, errlen, "drain: exchanging message counts failed (MPI error %d)", rc);
		return -1;
	}
	struct probe p = {.tab = tab};
	uint64_t last_progress = sc_cut_now_ns(), last_got = ~0ull, last_busy = ~0ull;
	for (;;) {
		struct scan s = {.tab = tab};
		sc_vh_req_foreach(scan_request, &s);
		uint64_t got = sc_mpi_recv_started - s.pending_recvs + drained_total + p.drained;
		if (s.rc || p.rc) {
			snprintf(err, errlen, "drain: MPI error %d", s.rc ? s.rc : p.rc);
			return -1;
		}
		if (got > want) {
			snprintf(
			    err, errlen,
			    "drain: rank %d received %llu messages but only %llu were sent to it "
			    "(receives begun %llu, %llu of them pending; drained %llu before, %llu "
			    "now)",
			    sc_mpi_world_rank, (unsigned long long)got, (unsigned long long)want,
			    (unsigned long long)sc_mpi_recv_started,
			    (unsigned long long)s.pending_recvs, (unsigned long long)drained_total,
			    (unsigned long long)p.drained);
			return -1;
		}
		if (got == want && !s.busy)
			break;
		if (got != last_got || s.busy != last_busy) {
			last_got = got;
			last_busy = s.busy;
			last_progress = sc_cut_now_ns();
		} else if (sc_cut_now_ns() - last_progress > STALL_NS) {
			snprintf(err, errlen,
				 "drain: rank %d has %llu of the %llu messages sent to it and %llu "
				 "unfinished requests (e.g. %s) after %llu s without progress",
				 sc_mpi_world_rank, (unsigned long long)got,
				 (unsigned long long)want, (unsigned long long)s.busy,
				 s.busy ? sc_mpi_fn_names[s.fn_busy] : "none",
				 (unsigned long long)(STALL_NS / 1000000000ull));
			return -1;
		}
		if (got < want)
			drain_all_comms(&p);
	}
	drained_total += p.drained;
	if (p.drained)
		sc_mpi_drains++;
	failed = sc_mpi_sync_exchange(tab, err, errlen) || sc_mpi_attrs_save(err, errlen) ||
		 sc_mpi_files_save(err, errlen) || sc_mpi_infos_save(err, errlen);
	/* Every rank's messages have arrived; a barrier (the agreement is one) so that no rank
	 * writes its image while a peer still needs it to move data of a send that the peer
	 * received. */
	return all_agree(tab, failed, err, errlen);
}
