/* A communicator's part in checkpoints: its id (the same on every member), its groups as world
 * ranks and its topology, taken when it is created; and at a restart, every communicator
 * rebuilt from those alone. Replaying the creating calls instead breaks as soon as ranks hold
 * different sets (a split that gave some ranks MPI_COMM_NULL, a parent one rank freed and
 * another keeps for a child, a free one rank did before the cut and another after): a
 * collective creation then runs on some members only and the restart hangs. */
#define _GNU_SOURCE
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../mpi_crossing.h"

uint64_t sc_cut_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 31);
}

/* ---- groups and topology of a communicator --------------------------------------------- */

static int32_t *translate(uint64_t group, int n)
{
	const struct sc_mpi_table *tab = sc_mpi_tab;
	int *in = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
	int32_t *out = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
	int rc = -1;
	if (in && out) {
		for (int i = 0; i < n; i++)
			in[i] = i;
		SC_MPI_CALL(rc = tab->Group_translate_ranks(group, n, in, sc_mpi_world_group, out));
	}
	free(in);
	if (rc != 0) {
		free(out);
		return NULL;
	}
	return out;
}

int sc_cut_comm_tables(struct sc_comm_cut *c, uint64_t lower)
{
	const struct sc_mpi_table *tab = sc_mpi_tab;
	int inter = 0, rc;
	uint64_t g = 0, rg = 0;
	SC_MPI_CALL(rc = tab->Comm_test_inter(lower, &inter));
	if (rc == 0)
		SC_MPI_CALL(rc = tab->Comm_group(lower, &g));
	if (rc == 0)
		SC_MPI_CALL(rc = tab->Group_size(g, &c->size));
	if (rc == 0 && inter) {
		SC_MPI_CALL(rc = tab->Comm_remote_group(lower, &rg));
		if (rc == 0)
			SC_MPI_CALL(rc = tab->Group_size(rg, &c->rsize));
	}
	if (rc != 0)
		return -1;
	free(c->world);
	if (c->rworld != c->world)
		free(c->rworld);
	c->inter = inter != 0;
	c->world = translate(g, c->size);
	c->rworld = inter ? translate(rg, c->rsize) : c->world;
	if (!inter)
		c->rsize = c->size;
	SC_MPI_CALL(tab->Group_free(&g));
	if (inter)
		SC_MPI_CALL(tab->Group_free(&rg));
	return c->world && c->rworld ? 0 : -1;
}

/* The topology as c->topo: {MPI_CART, ndims, dims[], periods[]}, {MPI_GRAPH, nnodes, nedges,
 * index[], edges[]} or {MPI_DIST_GRAPH, indegree, outdegree, weighted, sources[],
 * sourceweights[] (if weighted), destinations[], destweights[] (if weighted)}; none: NULL. */
static int describe_topology(struct sc_comm_cut *c, uint64_t lower)
{
	const struct sc_mpi_table *tab = sc_mpi_tab;
	int kind = MPI_UNDEFINED, rc, a = 0, b = 0, w = 0;
	SC_MPI_CALL(rc = tab->Topo_test(lower, &kind));
	if (rc != 0)
		return -1;
	if (kind == MPI_CART)
		SC_MPI_CALL(rc = tab->Cartdim_get(lower, &a));
	else if (kind == MPI_GRAPH)
		SC_MPI_CALL(rc = tab->Graphdims_get(lower, &a, &b));
	else if (kind == MPI_DIST_GRAPH)
		SC_MPI_CALL(rc = tab->Dist_graph_neighbors_count(lower, &a, &b, &w));
	else
		return 0;
	if (rc != 0 || a < 0 || b < 0)
		return -1;
	w = w != 0;
	long n = kind == MPI_CART    ? 2 + 2L * a
		 : kind == MPI_GRAPH ? 3L + a + b
				     : 4 + (1L + w) * (a + b);
	int *t = malloc(sizeof(int) * (size_t)(n + a)); /* + coords of MPI_Cart_get */
	if (!t)
		return -1;
	t[0] = kind;
	t[1] = a;
	if (kind == MPI_CART) {
		SC_MPI_CALL(rc = tab->Cart_get(lower, a, t + 2, t + 2 + a, t + 2 + 2 * a));
	} else if (kind == MPI_GRAPH) {
		t[2] = b;
		SC_MPI_CALL(rc = tab->Graph_get(lower, a, b, t + 3, t + 3 + a));
	} else {
		int *src = t + 4, *dst = src + (1 + w) * a;
		t[2] = b;
		t[3] = w;
		SC_MPI_CALL(rc = tab->Dist_graph_neighbors(lower, a, src,
							   w ? src + a : MPI_UNWEIGHTED, b, dst,
							   w ? dst + b : MPI_UNWEIGHTED));
	}
	if (rc != 0) {
		free(t);
		return -1;
	}
	free(c->topo);
	c->topo = t;
	c->ntopo = (int)n;
	return 0;
}

void sc_cut_free(struct sc_comm_cut *c)
{
	if (!c)
		return;
	if (c->rworld != c->world)
		free(c->rworld);
	free(c->world);
	free(c->topo);
	sc_mpi_epochs_free(c->epochs);
	sc_mpi_pscw_free(c->pscw);
	free(c);
}

static int32_t *dup_ranks(const int32_t *r, int n)
{
	int32_t *c = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
	if (c)
		memcpy(c, r, sizeof(int32_t) * (size_t)n);
	return c;
}

static int copy_tables(struct sc_comm_cut *c, const struct sc_comm_cut *p)
{
	if (!p || !p->world)
		return -1;
	c->inter = p->inter;
	c->size = p->size;
	c->rsize = p->rsize;
	c->world = dup_ranks(p->world, p->size);
	c->rworld = p->rworld == p->world ? c->world : dup_ranks(p->rworld, p->rsize);
	if (p->topo) {
		c->topo = malloc(sizeof(int) * (size_t)p->ntopo);
		if (!c->topo)
			return -1;
		memcpy(c->topo, p->topo, sizeof(int) * (size_t)p->ntopo);
		c->ntopo = p->ntopo;
	}
	return c->world && c->rworld ? 0 : -1;
}

/* ---- the id ------------------------------------------------------------------------------ */

static uint64_t hash_ranks(const int32_t *r, int n)
{
	uint64_t h = (uint64_t)n;
	for (int i = 0; i < n; i++)
		h = sc_cut_mix(h, (uint64_t)(uint32_t)r[i]);
	return h;
}

/* How many communicators were made before with the same key. MPI_Comm_create_group,
 * MPI_Intercomm_create and the creations from groups have no collective over a common parent to
 * count: their members agree only on the group(s), the tag and that creations with the same
 * ones come in order. */
static uint64_t occurrence(uint64_t key)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct seen {
		uint64_t key, n;
	} * seen;
	static size_t nseen, cap;
	uint64_t n = 0;
	pthread_mutex_lock(&lock);
	size_t i = 0;
	while (i < nseen && seen[i].key != key)
		i++;
	if (i == nseen) {
		if (nseen == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct seen *s = realloc(seen, ncap * sizeof *s);
			if (!s) {
				pthread_mutex_unlock(&lock);
				return ~0ull; /* ids of these may collide: the restart says so */
			}
			seen = s;
			cap = ncap;
		}
		seen[nseen++] = (struct seen){key, 0};
	}
	n = seen[i].n++;
	pthread_mutex_unlock(&lock);
	return n;
}

/* A string tag of MPI_(Inter)comm_create_from_group(s) (the record's copy). */
static uint64_t hash_string(uint64_t copy)
{
	const unsigned char *p = (const unsigned char *)(uintptr_t)copy;
	uint64_t h = 0x54414753ull;
	while (p && *p)
		h = sc_cut_mix(h, *p++);
	return h;
}

static uint64_t comm_id(const struct sc_vobj *o, const struct sc_comm_cut *c, const void *parent)
{
	uint64_t h = sc_cut_mix(0x53434b50ull, (uint64_t)o->fn);
	uint64_t g = hash_ranks(c->world, c->size), rg = hash_ranks(c->rworld, c->rsize);
	if (o->fn == SC_FN_MPI_Intercomm_create ||
	    o->fn == SC_FN_MPI_Intercomm_create_from_groups) {
		/* The two sides have different local communicators; both know both groups. */
		h = sc_cut_mix(sc_cut_mix(h, g < rg ? g : rg), g < rg ? rg : g);
		/* the tag: an int, or the string tag (both the fifth argument) */
		h = sc_cut_mix(h, o->fn == SC_FN_MPI_Intercomm_create ? o->args[4]
								      : hash_string(o->args[4]));
		return sc_cut_mix(h, occurrence(h));
	}
	if (o->fn == SC_FN_MPI_Comm_create_from_group) { /* no parent: the group and string tag */
		h = sc_cut_mix(sc_cut_mix(h, g), hash_string(o->args[1]));
		return sc_cut_mix(h, occurrence(h));
	}
	const struct sc_comm_cut *p = sc_comm_cut_of(parent);
	h = sc_cut_mix(sc_cut_mix(sc_cut_mix(h, p ? p->id : 0), g), rg);
	if (o->fn == SC_FN_MPI_Comm_create_group) {
		h = sc_cut_mix(h, o->args[2]); /* the tag */
		return sc_cut_mix(h, occurrence(h));
	}
	return sc_cut_mix(h, p ? p->coll : 0);
}

void sc_mpi_comm_created(void *comm, const void *parent, int fn)
{
	if ((uintptr_t)comm < SC_VH_PREDEF_MAX)
		return;
	struct sc_vobj *o = comm;
	struct sc_comm_cut *c = calloc(1, sizeof *c);
	/* MPI_Comm_idup(_with_info)'s communicator may not be used before its request completes;
	 * it has its parent's groups and topology. */
	const int same_groups = fn == SC_FN_MPI_Comm_idup || fn == SC_FN_MPI_Comm_idup_with_info;
	if (!c ||
	    (same_groups ? copy_tables(c, sc_comm_cut_of(parent))
			 : sc_cut_comm_tables(c, o->lower) || describe_topology(c, o->lower))) {
		static const char m[] = "splitckpt: cannot describe a new communicator for "
					"checkpoints (out of memory?)\n";
		(void)!write(2, m, sizeof m - 1);
		abort();
	}
	c->id = comm_id(o, c, parent);
	c->target = sc_cut_target_of(c->id);
	o->cut = c;
}
