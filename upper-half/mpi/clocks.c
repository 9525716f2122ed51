/* The collective clocks of windows and files (made with them from the communicator they are
 * made on; a freed one's lingers in the cut until the next drain), and the walk over every
 * clock of the cut that the quiesce makes (cut.c). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "../mpi_crossing.h"

static pthread_mutex_t linger_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sc_comm_cut **lingering; /* clocks of windows and files freed since the drain */
static size_t nlingering, lingering_cap;

static void clock_oom(void)
{
	static const char m[] = "splitckpt: out of memory for a collective clock\n";
	(void)!write(2, m, sizeof m - 1);
	abort();
}

void sc_mpi_clock_created(void *h, const void *comm, int fn)
{
	const struct sc_comm_cut *p = sc_comm_cut_of(comm);
	if ((uintptr_t)h < SC_VH_PREDEF_MAX || !p)
		return;
	struct sc_comm_cut *c = calloc(1, sizeof *c);
	if (!c)
		clock_oom();
	/* the creation is a collective of comm: its clock tells the members' creations apart */
	c->id = sc_cut_mix(sc_cut_mix(sc_cut_mix(0x434c4b53ull, (uint64_t)fn), p->id), p->coll);
	c->size = c->rsize = p->size;
	c->target = sc_cut_target_of(c->id);
	((struct sc_vobj *)h)->cut = c;
}

void sc_mpi_linger(void *h)
{
	struct sc_vobj *o = h;
	if ((uintptr_t)h < SC_VH_PREDEF_MAX || !o->cut || o->cut->size <= 1)
		return; /* a rank's own (MPI_COMM_SELF's file): nobody else to catch up */
	pthread_mutex_lock(&linger_lock);
	if (nlingering == lingering_cap) {
		size_t cap = lingering_cap ? 2 * lingering_cap : 8;
		struct sc_comm_cut **l = realloc(lingering, cap * sizeof *l);
		if (!l)
			clock_oom();
		lingering = l;
		lingering_cap = cap;
	}
	lingering[nlingering++] = o->cut;
	o->cut = NULL;
	pthread_mutex_unlock(&linger_lock);
}

/* After a quiesce every member reached every target: each freed window or file is freed on
 * all its members. */
void sc_cut_forget_lingering(void)
{
	pthread_mutex_lock(&linger_lock);
	for (size_t i = 0; i < nlingering; i++)
		sc_cut_free(lingering[i]);
	nlingering = 0;
	pthread_mutex_unlock(&linger_lock);
}

struct clock_visit {
	void (*fn)(struct sc_comm_cut *c, void *arg);
	void *arg;
};

static void visit_obj(struct sc_vobj *o, void *arg)
{
	const struct clock_visit *v = arg;
	if (o->cut) {
		v->fn(o->cut, v->arg);
		sc_mpi_pscw_foreach_clock(o->cut, v->fn, v->arg);
	}
}

void sc_cut_foreach_clock(void (*fn)(struct sc_comm_cut *c, void *arg), void *arg)
{
	struct clock_visit v = {fn, arg};
	fn(&sc_cut_world, arg);
	fn(&sc_cut_self, arg);
	sc_vh_foreach(SC_VK_COMM, visit_obj, &v);
	sc_vh_foreach(SC_VK_WIN, visit_obj, &v);
	sc_vh_foreach(SC_VK_FILE, visit_obj, &v);
	pthread_mutex_lock(&linger_lock);
	for (size_t i = 0; i < nlingering; i++) {
		fn(lingering[i], arg);
		sc_mpi_pscw_foreach_clock(lingering[i], fn, arg);
	}
	pthread_mutex_unlock(&linger_lock);
}
