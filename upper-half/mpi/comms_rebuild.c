/* The restart's rebuild of communicators (comms.c says why not by replaying their creation).
 * Every rank sends the description of each communicator it holds (live, or freed but named by
 * a record) to all; each communicator of the union is made by all its members with
 * MPI_Comm_create_group on the cut's own communicator, in id order, so no two ranks wait for
 * each other in opposite orders; its topology is set again, and the two groups of an
 * intercommunicator are joined by MPI_Intercomm_create between their first ranks. */
#define _GNU_SOURCE
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mpi_crossing.h"

/* A description on the wire, in int32 words: its length, the id (low, high word), whether an
 * intercommunicator, the group sizes, the topology's length, then the local group's world
 * ranks, the remote group's (intercommunicators only) and the topology (comms.c). */
enum { W_LEN, W_ID_LO, W_ID_HI, W_INTER, W_SIZE, W_RSIZE, W_NTOPO, W_HEAD };

struct desc {
	uint64_t id;
	const int32_t *w;
	struct sc_vobj *mine; /* this rank's communicator with this id, or NULL */
};

static int held(const struct sc_vobj *o)
{
	return o->kind == SC_VK_COMM && o->cut;
}

static long words_of(const struct sc_comm_cut *c)
{
	return W_HEAD + (long)c->size + (c->inter ? c->rsize : 0) + c->ntopo;
}

static int32_t *describe_mine(int *nwords, int *ncomms)
{
	long n = 0;
	*ncomms = 0;
	for (struct sc_vobj *o = sc_vh_first(); o; o = o->next)
		if (held(o)) {
			n += words_of(o->cut);
			++*ncomms;
		}
	if (n > INT_MAX / 2)
		return NULL;
	int32_t *buf = malloc(sizeof(int32_t) * (size_t)(n ? n : 1)), *p = buf;
	for (struct sc_vobj *o = sc_vh_first(); buf && o; o = o->next) {
		const struct sc_comm_cut *c = o->cut;
		if (!held(o))
			continue;
		p[W_LEN] = (int32_t)words_of(c);
		p[W_ID_LO] = (int32_t)(uint32_t)c->id;
		p[W_ID_HI] = (int32_t)(uint32_t)(c->id >> 32);
		p[W_INTER] = c->inter;
		p[W_SIZE] = c->size;
		p[W_RSIZE] = c->rsize;
		p[W_NTOPO] = c->ntopo;
		p += W_HEAD;
		memcpy(p, c->world, sizeof(int32_t) * (size_t)c->size);
		p += c->size;
		if (c->inter) {
			memcpy(p, c->rworld, sizeof(int32_t) * (size_t)c->rsize);
			p += c->rsize;
		}
		for (int i = 0; i < c->ntopo; i++)
			*p++ = c->topo[i];
	}
	*nwords = (int)n;
	return buf;
}

/* Checks one description from `rank` at w (avail words left); its length, or -1. */
static long check(const int32_t *w, long avail, int nranks)
{
	if (avail < W_HEAD)
		return -1;
	long size = w[W_SIZE], rsize = w[W_RSIZE], ntopo = w[W_NTOPO];
	if ((w[W_INTER] != 0 && w[W_INTER] != 1) || size < 1 || rsize < 1 || ntopo < 0 ||
	    size > nranks || rsize > nranks || (!w[W_INTER] && rsize != size))
		return -1;
	long len = W_HEAD + size + (w[W_INTER] ? rsize : 0) + ntopo;
	if (w[W_LEN] != len || len > avail)
		return -1;
	for (long i = 0; i < size + (w[W_INTER] ? rsize : 0); i++)
		if (w[W_HEAD + i] < 0 || w[W_HEAD + i] >= nranks)
			return -1;
	return len;
}

static uint64_t id_of(const int32_t *w)
{
	return (uint64_t)(uint32_t)w[W_ID_LO] | (uint64_t)(uint32_t)w[W_ID_HI] << 32;
}

static int by_id_mine_first(const void *a, const void *b)
{
	const struct desc *x = a, *y = b;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return (y->mine != NULL) - (x->mine != NULL);
}

static int find(const int32_t *r, int n, int rank)
{
	for (int i = 0; i < n; i++)
		if (r[i] == rank)
			return 1;
	return 0;
}

/* The topology again on p (the group's plain communicator): the description's own for a
 * holder; a rank that no longer holds the communicator takes part with no neighbours of its
 * own in a distributed graph (it frees the result). */
static int set_topology(const struct sc_mpi_table *tab, uint64_t p, const int32_t *w, int holder,
			uint64_t *out)
{
	const int *t = (const int *)(w + w[W_LEN] - w[W_NTOPO]);
	long n = w[W_NTOPO], a = n > 1 ? t[1] : -1, b = n > 2 ? t[2] : -1;
	int rc = -1, none = 0;
	if (n >= 2 && t[0] == MPI_CART && a >= 0 && n == 2 + 2 * a) {
		SC_MPI_CALL(rc = tab->Cart_create(p, (int)a, t + 2, t + 2 + a, 0, out));
	} else if (n >= 3 && t[0] == MPI_GRAPH && a >= 0 && b >= 0 && n == 3 + a + b) {
		SC_MPI_CALL(rc = tab->Graph_create(p, (int)a, t + 3, t + 3 + a, 0, out));
	} else if (n >= 4 && t[0] == MPI_DIST_GRAPH && a >= 0 && b >= 0 && (t[3] & ~1) == 0 &&
		   n == 4 + (1L + t[3]) * (a + b)) {
		const int weighted = t[3], *src = t + 4, *dst = src + (1 + weighted) * a;
		const int *sw = weighted ? src + a : MPI_UNWEIGHTED;
		const int *dw = weighted ? dst + b : MPI_UNWEIGHTED;
		if (!holder)
			a = b = 0, src = dst = &none, sw = dw = weighted ? MPI_WEIGHTS_EMPTY : sw;
		SC_MPI_CALL(rc = tab->Dist_graph_create_adjacent(p, (int)a, src, sw, (int)b, dst,
								 dw, sc_vh_lower(MPI_INFO_NULL), 0,
								 out));
	}
	return rc;
}

/* Makes the communicator w describes, of which this rank is a member, into *out. */
static int make(const struct sc_mpi_table *tab, uint64_t base, const int32_t *w, int holder,
		uint64_t *out)
{
	const int me = sc_mpi_world_rank, size = w[W_SIZE], rsize = w[W_RSIZE];
	const int32_t *world = w + W_HEAD, *rworld = world + size;
	const int tag = (int)(id_of(w) % 32768);
	const int in_local = find(world, size, me);
	const int32_t *local = in_local ? world : rworld, *remote = in_local ? rworld : world;
	uint64_t g = 0, p = 0;
	int rc;
	SC_MPI_CALL(rc = tab->Group_incl(base, in_local ? size : rsize, local, &g));
	if (rc == 0) {
		SC_MPI_CALL(rc = tab->Comm_create_group(sc_mpi_private_comm, g, tag, &p));
		SC_MPI_CALL(tab->Group_free(&g));
	}
	if (rc != 0 || (!w[W_INTER] && !w[W_NTOPO])) {
		*out = p;
		return rc;
	}
	if (w[W_INTER])
		SC_MPI_CALL(
		    rc = tab->Intercomm_create(p, 0, sc_mpi_private_comm, remote[0], tag, out));
	else
		rc = set_topology(tab, p, w, holder, out);
	SC_MPI_CALL(tab->Comm_free(&p));
	return rc;
}

/* Makes d[i], if this rank is a member: kept behind the handle of this rank's communicator,
 * else freed. base: the group of the communicator the new ones come from. */
static int make_one(const struct sc_mpi_table *tab, uint64_t base, const struct desc *d, char *err,
		    size_t errlen)
{
	const int32_t *w = d->w;
	uint64_t lower = 0;
	int rc;
	if (!find(w + W_HEAD, w[W_SIZE] + (w[W_INTER] ? w[W_RSIZE] : 0), sc_mpi_world_rank))
		return 0;
	if ((rc = make(tab, base, w, d->mine != NULL, &lower)) != 0) {
		snprintf(err, errlen,
			 "rebuilding a communicator of %d ranks (id %llx) failed (MPI error %d)",
			 w[W_SIZE], (unsigned long long)d->id, rc);
		return -1;
	}
	if (!d->mine) {
		SC_MPI_CALL(tab->Comm_free(&lower));
		return 0;
	}
	sc_vh_set_lower(d->mine, lower);
	if (sc_cut_comm_tables(d->mine->cut, lower)) {
		snprintf(err, errlen, "describing a rebuilt communicator failed");
		return -1;
	}
	return 0;
}

/* Makes every communicator of the union (sorted by id, this rank's first among equal ids). */
static int make_all(const struct sc_mpi_table *tab, const struct desc *d, long n, char *err,
		    size_t errlen)
{
	/* MPICH 4.0's MPI_Comm_create_group crashes on a communicator whose group it never
	 * made: the group of the cut's communicator (== MPI_COMM_WORLD's) first. */
	uint64_t base = 0;
	int rc;
	SC_MPI_CALL(rc = tab->Comm_group(sc_mpi_private_comm, &base));
	if (rc != 0) {
		snprintf(err, errlen, "MPI_Comm_group of the restart's communicator failed (%d)",
			 rc);
		return -1;
	}
	for (long i = 0; rc == 0 && i < n; i++) {
		if (i == 0 || d[i].id != d[i - 1].id) {
			rc = make_one(tab, base, &d[i], err, errlen);
		} else if (d[i].mine) {
			snprintf(err, errlen,
				 "two communicators of this rank have the same id %llx",
				 (unsigned long long)d[i].id);
			rc = -1;
		} /* else the same communicator, described by another member */
	}
	SC_MPI_CALL(tab->Group_free(&base));
	return rc;
}

int sc_mpi_comms_rebuild(char *err, size_t errlen)
{
	const struct sc_mpi_table *tab = sc_cut_table();
	const int nranks = sc_mpi_world_size;
	const uint64_t mpi_int = sc_vh_lower(MPI_INT);
	int nwords = 0, ncomms = 0, rc = -1;
	int32_t *mine = describe_mine(&nwords, &ncomms), *all = NULL;
	int *lens = calloc((size_t)nranks, sizeof *lens),
	    *displs = calloc((size_t)nranks, sizeof *displs);
	struct desc *d = NULL;
	long total = 0, nd = 0;
	if (!mine || !lens || !displs) {
		snprintf(err, errlen, "out of memory describing communicators");
		goto out;
	}
	SC_MPI_CALL(rc =
			tab->Allgather(&nwords, 1, mpi_int, lens, 1, mpi_int, sc_mpi_private_comm));
	for (int r = 0; rc == 0 && r < nranks; r++) {
		if (lens[r] < 0 || total + lens[r] > INT_MAX) {
			snprintf(err, errlen, "rank %d describes %d words of communicators", r,
				 lens[r]);
			rc = -1;
			goto out;
		}
		displs[r] = (int)total;
		total += lens[r];
	}
	if (rc == 0 && !(all = malloc(sizeof(int32_t) * (size_t)(total ? total : 1))))
		rc = -1;
	if (rc == 0)
		SC_MPI_CALL(rc = tab->Allgatherv(mine, nwords, mpi_int, all, lens, displs, mpi_int,
						 sc_mpi_private_comm));
	if (rc != 0) {
		snprintf(err, errlen, "exchanging the communicators' descriptions failed (%d)", rc);
		goto out;
	}
	/* At most one description per W_HEAD words. */
	if (!(d = malloc(sizeof *d * (size_t)(total / W_HEAD + 1)))) {
		snprintf(err, errlen, "out of memory describing communicators");
		rc = -1;
		goto out;
	}
	struct sc_vobj *o = sc_vh_first();
	for (int r = 0; r < nranks; r++)
		for (long at = displs[r], len; at < displs[r] + lens[r]; at += len) {
			if ((len = check(all + at, displs[r] + lens[r] - at, nranks)) < 0) {
				snprintf(err, errlen,
					 "rank %d sent a malformed communicator description "
					 "(word %ld)",
					 r, at - displs[r]);
				rc = -1;
				goto out;
			}
			d[nd] = (struct desc){id_of(all + at), all + at, NULL};
			if (r == sc_mpi_world_rank) { /* in the order describe_mine took them */
				while (o && !held(o))
					o = o->next;
				if (!o)
					abort(); /* describe_mine took more than there are */
				d[nd].mine = o;
				o = o->next;
			}
			nd++;
		}
	qsort(d, (size_t)nd, sizeof *d, by_id_mine_first);
	rc = make_all(tab, d, nd, err, errlen);
out:
	free(d);
	free(all);
	free(displs);
	free(lens);
	free(mine);
	return rc;
}

/* The info argument of a communicator's creation (its record's index), -1 for none. */
static int creation_info_arg(int fn)
{
	if (fn == SC_FN_MPI_Comm_dup_with_info || fn == SC_FN_MPI_Comm_idup_with_info)
		return 1; /* comm, info */
	if (fn == SC_FN_MPI_Comm_split_type)
		return 3; /* comm, split_type, key, info */
	return -1;
}

int sc_mpi_comms_hints(char *err, size_t errlen)
{
	const struct sc_mpi_table *tab = sc_mpi_tab;
	for (struct sc_vobj *o = sc_vh_first(); o; o = o->next) {
		const int at = o->kind == SC_VK_COMM ? creation_info_arg(o->fn) : -1;
		if (at < 0 || !held(o) || at >= o->nargs)
			continue;
		uint64_t info = sc_vh_lower((const void *)(uintptr_t)o->args[at]);
		if (info == sc_vh_lower(MPI_INFO_NULL))
			continue;
		/* A duplicate made with them, not MPI_Comm_set_info: Open MPI 4.1 keeps the
		 * mpi_assert_* hints only from a creation. Collective, like MPI_Comm_set_info: in
		 * creation order on every member; no attribute, name or error handler is set yet.
		 */
		uint64_t dup = 0, old = o->lower;
		int rc;
		SC_MPI_CALL(rc = tab->Comm_dup_with_info(o->lower, info, &dup));
		if (rc == 0) {
			SC_MPI_CALL(rc = tab->Comm_free(&old));
			sc_vh_set_lower(o, dup);
		}
		if (rc != 0) {
			snprintf(err, errlen,
				 "giving a rebuilt communicator its creation's info failed (MPI "
				 "error %d)",
				 rc);
			return -1;
		}
	}
	return 0;
}
