/* General active target synchronization (MPI_Win_post/start/complete/wait/test) across a
 * checkpoint: the clock of each (origin, target) pair of a window, and the epochs open on this
 * rank. No epoch is open at a cut, so a restart has none to open again; see cut.h for the rules.
 */
#define _GNU_SOURCE
#include <mpi.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "../mpi_crossing.h"

volatile int sc_mpi_pscw_open;

/* A window's pair clocks on this rank, each allocated once (gates and the registry of threads
 * point to them), and the pairs the last post and start counted in (taken back if it fails). */
struct sc_pscw {
	size_t n, cap;
	struct pair {
		int peer, as_target; /* the peer's MPI_COMM_WORLD rank; this rank's role */
		struct sc_comm_cut *clock;
	} * pairs;
	struct sc_comm_cut **last[2]; /* [as_target]: the clocks of the last start/post */
	int nlast[2];
	int open[2]; /* [as_target]: an access/exposure epoch is open */
};

/* Guards every window's pair lists: application threads add to them, the checkpoint thread
 * walks them. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void oom(void)
{
	static const char m[] = "splitckpt: out of memory for a PSCW epoch's clocks\n";
	(void)!write(2, m, sizeof m - 1);
	abort();
}

void sc_mpi_pscw_free(struct sc_pscw *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->pairs[i].clock);
	free(p->pairs);
	free(p->last[0]);
	free(p->last[1]);
	free(p);
}

void sc_mpi_pscw_foreach_clock(struct sc_comm_cut *win_clock,
			       void (*fn)(struct sc_comm_cut *c, void *arg), void *arg)
{
	pthread_mutex_lock(&lock);
	const struct sc_pscw *p = win_clock->pscw;
	for (size_t i = 0; p && i < p->n; i++)
		fn(p->pairs[i].clock, arg);
	pthread_mutex_unlock(&lock);
}

/* The pair clock of this rank and `peer` in a role (caller holds lock). Its id is the same on
 * the peer, which has the other role: the window's id, then the origin's and the target's world
 * ranks. */
static struct sc_comm_cut *pair_clock(struct sc_comm_cut *win, int peer, int as_target)
{
	struct sc_pscw *p = win->pscw;
	for (size_t i = 0; i < p->n; i++)
		if (p->pairs[i].peer == peer && p->pairs[i].as_target == as_target)
			return p->pairs[i].clock;
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 8;
		struct pair *np = realloc(p->pairs, cap * sizeof *np);
		if (!np)
			oom();
		p->pairs = np;
		p->cap = cap;
	}
	struct sc_comm_cut *c = calloc(1, sizeof *c);
	if (!c)
		oom();
	int origin = as_target ? peer : sc_mpi_world_rank;
	int target = as_target ? sc_mpi_world_rank : peer;
	c->id = sc_cut_mix(sc_cut_mix(sc_cut_mix(0x50534357ull, win->id), (uint64_t)origin),
			   (uint64_t)target);
	c->size = c->rsize = 2;
	/* made during a quiesce: the target the peer's clock has */
	c->target = sc_cut_target_of(c->id);
	p->pairs[p->n++] = (struct pair){peer, as_target, c};
	return c;
}

/* The world ranks of group's members (lower calls: the thread's stage is set back to 1, the
 * wrapper's stage before its counters move). */
static int group_world_ranks(void *group, int **out, int *n)
{
	const struct sc_mpi_table *tab = sc_mpi_tab;
	uint64_t lower = sc_vh_lower(group);
	int rc, size = 0;
	SC_MPI_CALL(rc = tab->Group_size(lower, &size));
	sc_mpi_thr.stage = 1;
	if (rc != 0)
		return rc;
	int *ranks = malloc(sizeof(int) * (size_t)(2 * size + 1));
	if (!ranks)
		oom();
	for (int i = 0; i < size; i++)
		ranks[i] = i;
	SC_MPI_CALL(
	    rc = tab->Group_translate_ranks(lower, size, ranks, sc_mpi_world_group, ranks + size));
	sc_mpi_thr.stage = 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (rc != 0) {
		free(ranks);
		return rc;
	}
	*out = ranks;
	*n = size;
	return 0;
}

/* The window's clock, NULL for a handle that is no window of the cut (MPI reports it). */
static struct sc_comm_cut *win_clock(void *win)
{
	return (uintptr_t)win < SC_VH_PREDEF_MAX ? NULL : ((struct sc_vobj *)win)->cut;
}

/* This rank's epoch in a role ends (undo: a failed post or start takes its counts back). */
static void close_epoch(struct sc_comm_cut *wc, int as_target, int undo)
{
	struct sc_pscw *p = wc ? wc->pscw : NULL;
	if (!p || !p->open[as_target])
		return;
	pthread_mutex_lock(&lock);
	for (int i = 0; undo && i < p->nlast[as_target]; i++)
		__atomic_sub_fetch(&p->last[as_target][i]->coll, 1, __ATOMIC_SEQ_CST);
	p->open[as_target] = 0;
	pthread_mutex_unlock(&lock);
	__atomic_sub_fetch(&sc_mpi_pscw_open, 1, __ATOMIC_SEQ_CST);
}

int sc_mpi_pscw_begin(int fn, void *group, void *win)
{
	struct sc_comm_cut *wc = win_clock(win);
	if (!wc)
		return 0;
	const int as_target = fn == SC_FN_MPI_Win_post;
	int *ranks = NULL, n = 0;
	int rc = group_world_ranks(group, &ranks, &n);
	if (rc != 0)
		return rc;
	struct sc_comm_cut **clocks = malloc(sizeof *clocks * (size_t)(n + 1));
	if (!clocks)
		oom();
	pthread_mutex_lock(&lock);
	if (!wc->pscw && !(wc->pscw = calloc(1, sizeof *wc->pscw)))
		oom();
	for (int i = 0; i < n; i++)
		clocks[i] = pair_clock(wc, ranks[n + i], as_target);
	pthread_mutex_unlock(&lock);
	free(ranks);
	/* a new epoch waits while a quiesce holds one of its pairs at its target */
	if (__builtin_expect(sc_mpi_ckpt_pending != 0, 0))
		sc_mpi_clocks_gate(clocks, n);
	pthread_mutex_lock(&lock);
	struct sc_pscw *p = wc->pscw;
	for (int i = 0; i < n; i++)
		sc_cut_add(&clocks[i]->coll);
	free(p->last[as_target]);
	p->last[as_target] = clocks;
	p->nlast[as_target] = n;
	p->open[as_target] = 1;
	pthread_mutex_unlock(&lock);
	__atomic_add_fetch(&sc_mpi_pscw_open, 1, __ATOMIC_SEQ_CST);
	return 0;
}

void sc_mpi_pscw_failed(int fn, void *win)
{
	close_epoch(win_clock(win), fn == SC_FN_MPI_Win_post, 1);
}

void sc_mpi_pscw_end(int fn, void *win, int done)
{
	if (done) /* MPI_Win_complete ends the access epoch; wait and test the exposure */
		close_epoch(win_clock(win), fn != SC_FN_MPI_Win_complete, 0);
}
