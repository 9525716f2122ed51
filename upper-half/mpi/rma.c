/* One-sided communication across a checkpoint: the epoch each window is in (a fence epoch, a
 * lock_all, locks on targets), kept after every synchronization call succeeds; the drain
 * completes the RMA operations of open epochs (a fence of its own, which every member reaches at
 * the same fence count because fences are collectives of the window's clock, or flushes), so the
 * windows' memory in the upper half holds their results; a restart opens the same epochs on the
 * window it made again. An exclusive lock cannot be held across a cut (a peer blocked inside
 * MPI_Win_lock for it could never be stopped): the quiesce runs on until every exclusive lock
 * is released, and holds new ones back (sc_mpi_lock_gate, cut.c). */
#define _GNU_SOURCE
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../mpi_crossing.h"

struct sc_win_epochs {
	int fence_open; /* since a fence without MPI_MODE_NOSUCCEED */
	int lock_all, lock_all_assert;
	int nlocks, cap;
	struct held_lock {
		int rank, type, assert;
	} * locks;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void sc_mpi_epochs_free(struct sc_win_epochs *e)
{
	if (e)
		free(e->locks);
	free(e);
}

static void oom(void)
{
	static const char m[] = "splitckpt: out of memory for a window's epoch\n";
	(void)!write(2, m, sizeof m - 1);
	abort();
}

static void add_lock(struct sc_win_epochs *e, int type, int rank, int assert)
{
	if (e->nlocks == e->cap) {
		int cap = e->cap ? 2 * e->cap : 4;
		struct held_lock *l = realloc(e->locks, sizeof *l * (size_t)cap);
		if (!l)
			oom();
		e->locks = l;
		e->cap = cap;
	}
	e->locks[e->nlocks++] = (struct held_lock){rank, type, assert};
}

static void drop_lock(struct sc_win_epochs *e, int rank)
{
	for (int i = 0; i < e->nlocks; i++)
		if (e->locks[i].rank == rank) {
			if (e->locks[i].type == MPI_LOCK_EXCLUSIVE)
				__atomic_sub_fetch(&sc_mpi_excl_locks, 1, __ATOMIC_SEQ_CST);
			e->locks[i] = e->locks[--e->nlocks];
			return;
		}
}

void sc_mpi_rma_enter(int fn, int lock_type)
{
	if (fn != SC_FN_MPI_Win_lock || lock_type != MPI_LOCK_EXCLUSIVE)
		return;
	sc_mpi_lock_gate();
	__atomic_add_fetch(&sc_mpi_excl_locks, 1, __ATOMIC_SEQ_CST);
}

void sc_mpi_rma_failed(int fn, int lock_type)
{
	if (fn == SC_FN_MPI_Win_lock && lock_type == MPI_LOCK_EXCLUSIVE)
		__atomic_sub_fetch(&sc_mpi_excl_locks, 1, __ATOMIC_SEQ_CST);
}

void sc_mpi_rma_epoch(int fn, void *win, int a, int b, int c)
{
	if ((uintptr_t)win < SC_VH_PREDEF_MAX || !((struct sc_vobj *)win)->cut)
		return;
	struct sc_comm_cut *cut = ((struct sc_vobj *)win)->cut;
	pthread_mutex_lock(&lock);
	if (!cut->epochs && !(cut->epochs = calloc(1, sizeof *cut->epochs)))
		oom();
	struct sc_win_epochs *e = cut->epochs;
	if (fn == SC_FN_MPI_Win_fence)
		e->fence_open = !(a & MPI_MODE_NOSUCCEED);
	else if (fn == SC_FN_MPI_Win_lock)
		add_lock(e, a, b, c);
	else if (fn == SC_FN_MPI_Win_unlock)
		drop_lock(e, a);
	else if (fn == SC_FN_MPI_Win_lock_all)
		e->lock_all = 1, e->lock_all_assert = a;
	else if (fn == SC_FN_MPI_Win_unlock_all)
		e->lock_all = 0;
	pthread_mutex_unlock(&lock);
}

static const struct sc_win_epochs *epochs_of(const struct sc_vobj *o)
{
	return o->kind == SC_VK_WIN && (o->flags & SC_VOBJ_LIVE) && o->cut ? o->cut->epochs : NULL;
}

/* The passive-target epochs of e on a window, released (completing their operations) or taken
 * again as the application took them. */
static int passive_epochs(const struct sc_mpi_table *tab, const struct sc_win_epochs *e,
			  uint64_t win, int take)
{
	int rc = 0;
	if (e->lock_all)
		SC_MPI_CALL(rc = take ? tab->Win_lock_all(e->lock_all_assert, win)
				      : tab->Win_unlock_all(win));
	for (int i = 0; rc == 0 && i < e->nlocks; i++)
		SC_MPI_CALL(rc = take ? tab->Win_lock(e->locks[i].type, e->locks[i].rank,
						      e->locks[i].assert, win)
				      : tab->Win_unlock(e->locks[i].rank, win));
	return rc;
}

int sc_mpi_rma_drain(char *err, size_t errlen)
{
	const struct sc_mpi_table *tab = sc_mpi_tab;
	for (struct sc_vobj *o = sc_vh_first(); o; o = o->next) {
		const struct sc_win_epochs *e = epochs_of(o);
		int rc = 0;
		if (!e)
			continue;
		if (e->fence_open && (e->lock_all || e->nlocks)) {
			/* A fence without MPI_MODE_NOSUCCEED followed by locks: legal, for no RMA
			 * call came between (the fence opened no epoch), but a fence now would be
			 * erroneous. Every member fences here (the same fence count, the same
			 * assert): the locks are released around it. */
			rc = passive_epochs(tab, e, o->lower, 0);
			if (rc == 0)
				SC_MPI_CALL(rc = tab->Win_fence(0, o->lower));
			if (rc == 0)
				rc = passive_epochs(tab, e, o->lower, 1);
		} else if (e->fence_open) {
			SC_MPI_CALL(rc = tab->Win_fence(0, o->lower));
		} else {
			if (e->lock_all)
				SC_MPI_CALL(rc = tab->Win_flush_all(o->lower));
			for (int i = 0; rc == 0 && i < e->nlocks; i++)
				SC_MPI_CALL(rc = tab->Win_flush(e->locks[i].rank, o->lower));
		}
		if (rc != 0) {
			snprintf(err, errlen,
				 "completing the RMA operations of a window failed (MPI error %d)",
				 rc);
			return -1;
		}
	}
	return 0;
}

int sc_mpi_rma_reopen(struct sc_vobj *o)
{
	const struct sc_mpi_table *tab = sc_mpi_tab;
	const struct sc_win_epochs *e = epochs_of(o);
	int rc = 0;
	if (!e)
		return 0;
	if (e->fence_open)
		SC_MPI_CALL(rc = tab->Win_fence(0, o->lower));
	return rc == 0 ? passive_epochs(tab, e, o->lower, 1) : rc;
}
