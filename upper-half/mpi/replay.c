/* The restart of MPI in a restored upper half, run by the checkpoint thread while the
 * application's threads are still suspended: MPI_Init of the new lower half at the saved thread
 * level, the same rank in a job of the same size, then every object rebuilt behind the handle
 * the application holds: communicators from their groups (comms_rebuild.c), the memory of
 * shared windows shared again (winshared.c), other objects in creation order (so collective
 * creations happen in the same order on every rank), the last call of every setter (names,
 * error handlers, info, file views), keyvals and attributes (attrs.c), file pointers
 * (files.c), the buffer of buffered sends, and every request the cut left: receives posted
 * again, completed ones answering with the status the drain saw; a barrier before any rank
 * resumes. */
#define _GNU_SOURCE
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mpi_crossing.h"
#include "drain.h"

#define ABI_DATATYPE_KIND SC_VK_DATATYPE

extern const char *const sc_mpi_fn_names[SC_MPI_NFUNCS];

static const char *fn_name(int fn)
{
	return fn >= 0 && fn < SC_MPI_NFUNCS ? sc_mpi_fn_names[fn] : "?";
}

struct fix {
	const struct sc_mpi_table *tab;
	char *err;
	size_t errlen;
	int failed;
	/* persistent collectives, made again after the others in their creation order */
	struct sc_vobj **colls;
	size_t ncolls, capcolls;
};

/* Why making something again with fn failed: a function the new MPI lacks (a generation taken
 * under another MPI) is named as such. */
static void replay_failed(char *err, size_t errlen, const char *what, int fn, int rc)
{
	if (rc == SC_MPI_E_UNIMPL)
		snprintf(
		    err, errlen,
		    "%s cannot be made again: the %s lower half does not implement %s (restart "
		    "under the MPI the job was checkpointed with)",
		    what, sc_mpi_tab->svc.impl, fn_name(fn));
	else
		snprintf(err, errlen, "%s failed (MPI error %d)", what, rc);
}

static void fail(struct fix *f, const char *what, int fn, int rc)
{
	char obj[160];
	snprintf(obj, sizeof obj, "%s%sa request made by %s", rc == SC_MPI_E_UNIMPL ? "" : what,
		 rc == SC_MPI_E_UNIMPL ? "" : " of ", fn_name(fn));
	if (!f->failed)
		replay_failed(f->err, f->errlen, obj, fn, rc);
	f->failed = 1;
}

long sc_mpi_sum(const int *counts, int n)
{
	long sum = 0;
	for (int i = 0; counts && i < n; i++)
		sum += counts[i] > 0 ? counts[i] : 0;
	return sum;
}

int sc_mpi_cartdim(const void *comm)
{
	int ndims = 0, rc;
	SC_MPI_CALL(rc = sc_mpi_tab->Cartdim_get(sc_vh_lower(comm), &ndims));
	return rc == 0 ? ndims : 0;
}

/* A request after the new MPI exists: a persistent one made again (started again, or parked
 * with the status the cut saw), one the cut completed answered with that status, a receive
 * still waiting for its message posted again. */
static void fix_one(struct fix *f, struct sc_vobj *o)
{
	const struct sc_mpi_table *tab = f->tab;
	uint64_t lower = 0;
	int rc;
	if (sc_mpi_request_is_persistent(o->fn)) {
		/* Made again inactive; one the cut left waiting for its message starts again. */
		if ((rc = sc_mpi_replay(tab, o, &lower)) != 0)
			return fail(f, "rebuilding", o->fn, rc);
		o->lower = lower;
		o->flags &= ~(uint32_t)SC_VOBJ_PARKED;
		if ((o->flags & SC_VOBJ_STARTED) && !(o->flags & SC_VOBJ_CUTDONE)) {
			SC_MPI_CALL(rc = tab->Start(&o->lower));
			if (rc != 0)
				return fail(f, "restarting", o->fn, rc);
		} else if (o->flags & SC_VOBJ_STARTED) {
			/* Complete at the cut: answers the next completion call with the status
			 * MPI gave (an empty one if the application had already taken it). */
			if ((rc = sc_mpi_park(o, &o->cut_status)) != 0)
				return fail(f, "completing", o->fn, rc);
		}
		return;
	}
	if (o->flags & SC_VOBJ_CUTDONE) {
		if ((rc = sc_mpi_completed_request(&o->cut_status, &lower)) != 0)
			return fail(f, "completing", o->fn, rc);
		o->lower = lower;
		return;
	}
	if (!sc_mpi_request_is_recv(o->fn)) { /* the drain completed every other kind */
		if (!f->failed)
			snprintf(f->err, f->errlen,
				 "a request made by %s was not complete at the "
				 "checkpoint",
				 fn_name(o->fn));
		f->failed = 1;
		return;
	}
	if ((rc = sc_mpi_replay(tab, o, &lower)) != 0)
		return fail(f, "posting again", o->fn, rc);
	o->lower = lower;
}

static void fix_request(struct sc_vobj *o, void *arg)
{
	struct fix *f = arg;
	int rc;
	if (f->failed)
		return;
	if (o->flags & SC_VOBJ_ACKWAIT) { /* its receiver acknowledges it later (ssend.c) */
		if ((rc = sc_mpi_sync_rebuild(f->tab, o)) != 0)
			fail(f, "rebuilding", o->fn, rc);
		return;
	}
	if (sc_mpi_fn_request[o->fn] & SC_REQ_COLL) {
		/* MPI may number a persistent collective at its init (MPICH takes a tag): every
		 * member makes them again in one order, the creation order (fix_collectives). */
		if (f->ncolls == f->capcolls) {
			size_t cap = f->capcolls ? 2 * f->capcolls : 16;
			struct sc_vobj **c = realloc(f->colls, cap * sizeof *c);
			if (!c)
				return fail(f, "remembering", o->fn, SC_MPI_E_NOMEM);
			f->colls = c;
			f->capcolls = cap;
		}
		f->colls[f->ncolls++] = o;
		return;
	}
	fix_one(f, o);
}

static int by_seq(const void *a, const void *b)
{
	const struct sc_vobj *x = *(struct sc_vobj *const *)a, *y = *(struct sc_vobj *const *)b;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

static void fix_collectives(struct fix *f)
{
	if (f->ncolls)
		qsort(f->colls, f->ncolls, sizeof *f->colls, by_seq);
	for (size_t i = 0; i < f->ncolls && !f->failed; i++)
		fix_one(f, f->colls[i]);
	free(f->colls);
}

/* Every rank restarted from the same generation: images of different checkpoints (node-local
 * directories that differ, a --generation given to some ranks only) are different moments of
 * the job, whose messages and collectives do not match. */
static int same_generation(const struct sc_mpi_table *tab, char *err, size_t errlen)
{
	const uint64_t mine = sc_mpi_info->restored_generation;
	const int n = sc_mpi_world_size;
	uint64_t *gens = calloc((size_t)n, sizeof *gens);
	int rc = -1;
	if (gens) {
		uint64_t u64 = sc_vh_lower(MPI_UINT64_T);
		SC_MPI_CALL(rc = tab->Allgather(&mine, 1, u64, gens, 1, u64, sc_mpi_private_comm));
	}
	if (rc != 0)
		snprintf(err, errlen, "exchanging the restored generations failed");
	for (int r = 0; rc == 0 && r < n; r++)
		if (gens[r] != mine) {
			snprintf(
			    err, errlen,
			    "rank %d restarted from generation %llu but rank %d from generation "
			    "%llu: every rank must restart the same generation",
			    r, (unsigned long long)gens[r], sc_mpi_world_rank,
			    (unsigned long long)mine);
			rc = -1;
		}
	free(gens);
	return rc;
}

/* The lower half's free of an object of `kind` that MPI frees locally, or NULL. */
static int (*local_free(const struct sc_mpi_table *tab, uint32_t kind))(uint64_t *)
{
	switch (kind) {
	case SC_VK_DATATYPE:
		return tab->Type_free;
	case SC_VK_GROUP:
		return tab->Group_free;
	case SC_VK_OP:
		return tab->Op_free;
	case SC_VK_INFO:
		return tab->Info_free;
	case SC_VK_ERRHANDLER:
		return tab->Errhandler_free;
	}
	return NULL;
}

/* Objects the application had freed, made again only because a record names them (a type of a
 * persistent request, an error handler set on a communicator): freed again as the application
 * freed them, once everything made from them exists; MPI keeps what still uses them. Without
 * this the new MPI holds them to its finalize (MPICH: "yaksa: N leaked handle pool objects").
 * Local frees only: a communicator, window or file is freed collectively. */
static int free_again(const struct sc_mpi_table *tab, char *err, size_t errlen)
{
	for (struct sc_vobj *o = sc_vh_first(); o; o = o->next) {
		int (*free_fn)(uint64_t *) = local_free(tab, o->kind);
		if ((o->flags & (SC_VOBJ_LIVE | SC_VOBJ_FREED)) != SC_VOBJ_FREED || !free_fn)
			continue;
		uint64_t lower = o->lower;
		int rc;
		SC_MPI_CALL(rc = free_fn(&lower));
		if (rc != 0) {
			snprintf(err, errlen,
				 "freeing again an object made by %s, which the application had "
				 "freed, failed (MPI error %d)",
				 fn_name(o->fn), rc);
			return -1;
		}
	}
	return 0;
}

int sc_cut_restart(char *err, size_t errlen)
{
	if (!sc_mpi_initialized || sc_mpi_finalized)
		return 0;
	if (!sc_mpi_info->mpi_instance || !sc_mpi_info->mpi_table) {
		snprintf(err, errlen,
			 "this image is an MPI rank's: restart it with an MPI lower half");
		return -1;
	}
	const int rank = sc_mpi_world_rank, size = sc_mpi_world_size;
	const struct sc_mpi_table *tab = sc_cut_table();
	int provided = 0, rc;
	SC_MPI_CALL(rc = tab->Init_thread(sc_mpi_thread_level, &provided));
	if (rc != 0) {
		snprintf(err, errlen, "MPI_Init_thread of the new MPI failed (MPI error %d)", rc);
		return -1;
	}
	sc_cut_after_init();
	if (sc_mpi_world_rank != rank || sc_mpi_world_size != size) {
		snprintf(err, errlen,
			 "the image is rank %d of %d ranks, but this process is rank %d of %d: "
			 "restart with the same number of ranks (%d)",
			 rank, size, sc_mpi_world_rank, sc_mpi_world_size, size);
		return -1;
	}
	if (provided < sc_mpi_thread_level) {
		snprintf(err, errlen, "the new MPI provides thread level %d, the job had %d",
			 provided, sc_mpi_thread_level);
		return -1;
	}
	/* Shared window memory before any window is made again: MPI registers its pages. */
	if (same_generation(tab, err, errlen) || sc_mpi_errcodes_restore(tab, err, errlen) ||
	    sc_mpi_datareps_restore(tab, err, errlen) || sc_mpi_comms_rebuild(err, errlen) ||
	    sc_mpi_win_shared_restore(err, errlen))
		return -1;
	for (struct sc_vobj *o = sc_vh_first(); o; o = o->next) {
		uint64_t lower = 0;
		if (o->flags & (SC_VOBJ_DRAINED_MSG | SC_VOBJ_TAKEN))
			continue; /* no MPI object behind it (a drained or a received message) */
		if (o->kind == SC_VK_COMM && o->cut)
			continue; /* rebuilt above */
		if ((rc = sc_mpi_replay(tab, o, &lower)) != 0) {
			char obj[160];
			snprintf(obj, sizeof obj, "an MPI object made by %s", fn_name(o->fn));
			replay_failed(err, errlen, obj, o->fn, rc);
			return -1;
		}
		sc_vh_set_lower(o, lower);
		/* Uncommitted types cannot be used, so an unused commit is invisible. */
		if (o->kind == ABI_DATATYPE_KIND) {
			SC_MPI_CALL(rc = tab->Type_commit(&lower));
			sc_vh_set_lower(o, lower);
		}
		/* At once: a creation replayed later may pass it as hints. */
		if (o->kind == SC_VK_INFO && (rc = sc_mpi_info_restore(o)) != 0) {
			snprintf(err, errlen, "setting an info's keys again failed (MPI error %d)",
				 rc);
			return -1;
		}
		/* At once: fences are collectives, in creation order on every member. */
		if (o->kind == SC_VK_WIN && (rc = sc_mpi_rma_reopen(o)) != 0) {
			snprintf(err, errlen,
				 "opening a window's epoch again failed (MPI error %d)", rc);
			return -1;
		}
	}
	/* A rebuilt communicator's hints, as its creation gave them; */
	if (sc_mpi_comms_hints(err, errlen))
		return -1;
	/* what setters changed since (names, error handlers, info, file views), in call order. */
	for (struct sc_vobj *r = sc_vh_sets_first(); r; r = r->next) {
		uint64_t unused;
		if ((rc = sc_mpi_replay(tab, r, &unused)) != 0) {
			char call[160];
			snprintf(call, sizeof call, "a call of %s", fn_name(r->fn));
			replay_failed(err, errlen, call, r->fn, rc);
			return -1;
		}
	}
	/* Keyvals and attributes last: no callback of the application runs for them. */
	if (sc_mpi_attrs_restore(err, errlen) || sc_mpi_files_restore(err, errlen) ||
	    sc_mpi_bsend_buffer_restore(err, errlen))
		return -1;
	struct fix f = {tab, err, errlen, 0, NULL, 0, 0};
	sc_vh_req_foreach(fix_request, &f);
	fix_collectives(&f);
	if (f.failed || free_again(tab, err, errlen))
		return -1;
	/* No rank resumes before every rank is rebuilt: the application's own synchronization
	 * before the cut promised its peers, say, memory attached to a dynamic window, which a
	 * peer replays in its own time (Open MPI then refuses an RMA call to a range not attached
	 * yet: MPI_ERR_RMA_RANGE). */
	SC_MPI_CALL(rc = tab->Barrier(sc_mpi_private_comm));
	if (rc != 0) {
		snprintf(err, errlen, "the barrier after the restart failed (MPI error %d)", rc);
		return -1;
	}
	sc_cut_resume();
	return 0;
}
