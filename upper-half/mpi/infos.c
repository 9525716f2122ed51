/* The contents of info objects across a restart. MPI_Info_set and MPI_Info_delete are local calls
 * no record keeps, so a restart's replay of MPI_Info_create (or MPI_Info_dup, MPI_X_get_info)
 * would give an info with other keys: at each checkpoint every info's keys and values go into
 * upper-half memory (one the application freed while a record keeps it, when it was freed), and
 * a restart gives each rebuilt info exactly those, right after making it (before a creation
 * that passes it as hints is replayed). */
#define _GNU_SOURCE
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mpi_crossing.h"

struct saved_info {
	const struct sc_vobj *info;
	int npairs;
	char *pairs; /* npairs times "key\0value\0" */
};

static struct saved_info *saved;
static size_t nsaved, cap;
static pthread_mutex_t ilock = PTHREAD_MUTEX_INITIALIZER;

/* info's pairs now (MPI error, or MPI_ERR_NO_MEM). */
static int read_pairs(const struct sc_mpi_table *tab, const struct sc_vobj *info,
		      struct saved_info *s)
{
	int n = 0, rc;
	size_t len = 0;
	*s = (struct saved_info){.info = info};
	SC_MPI_CALL(rc = tab->Info_get_nkeys(info->lower, &n));
	for (int k = 0; rc == 0 && k < n; k++) {
		char key[MPI_MAX_INFO_KEY + 1];
		int vlen = 0, flag = 0;
		SC_MPI_CALL(rc = tab->Info_get_nthkey(info->lower, k, key));
		if (rc == 0)
			SC_MPI_CALL(rc = tab->Info_get_valuelen(info->lower, key, &vlen, &flag));
		if (rc != 0 || !flag || vlen < 0)
			continue;
		size_t klen = strnlen(key, MPI_MAX_INFO_KEY) + 1;
		char *grown = realloc(s->pairs, len + klen + (size_t)vlen + 1);
		if (!grown)
			return MPI_ERR_NO_MEM;
		s->pairs = grown;
		memcpy(s->pairs + len, key, klen);
		SC_MPI_CALL(
		    rc = tab->Info_get(info->lower, key, vlen, s->pairs + len + klen, &flag));
		s->pairs[len + klen + (size_t)vlen] = '\0';
		len += klen + (size_t)vlen + 1;
		s->npairs++;
	}
	return rc;
}

static struct saved_info *find_saved(const struct sc_vobj *info)
{
	for (size_t i = 0; i < nsaved; i++)
		if (saved[i].info == info)
			return &saved[i];
	return NULL;
}

/* Reads info's pairs into its entry (a new one if it has none). Under ilock. */
static int save_one(const struct sc_mpi_table *tab, const struct sc_vobj *info)
{
	struct saved_info fresh, *s = find_saved(info);
	int rc = read_pairs(tab, info, &fresh);
	if (rc != 0) {
		free(fresh.pairs);
		return rc;
	}
	if (!s && nsaved == cap) {
		size_t ncap = cap ? 2 * cap : 16;
		struct saved_info *grown = realloc(saved, ncap * sizeof *grown);
		if (!grown) {
			free(fresh.pairs);
			return MPI_ERR_NO_MEM;
		}
		saved = grown;
		cap = ncap;
	}
	if (!s)
		s = &saved[nsaved++];
	else
		free(s->pairs);
	*s = fresh;
	return 0;
}

void sc_mpi_info_freeing(void *info)
{
	const struct sc_vobj *o = info;
	if ((uintptr_t)o < SC_VH_PREDEF_MAX || o->refs < 2)
		return; /* gone with the application's handle: nothing will replay it */
	pthread_mutex_lock(&ilock);
	if (save_one(sc_mpi_tab, o) != 0) /* a restart would make it empty: say so now */
		fprintf(stderr, "splitckpt: rank %d: cannot keep the keys of a freed info\n",
			sc_mpi_world_rank);
	pthread_mutex_unlock(&ilock);
}

int sc_mpi_infos_save(char *err, size_t errlen)
{
	const struct sc_mpi_table *tab = sc_cut_table();
	int rc = 0;
	pthread_mutex_lock(&ilock);
	/* entries of objects no longer infos (released, their memory reused) go */
	for (size_t i = 0; i < nsaved;) {
		const struct sc_vobj *o = NULL;
		for (o = sc_vh_first(); o && o != saved[i].info; o = o->next)
			;
		if (o && o->kind == SC_VK_INFO) {
			i++;
			continue;
		}
		free(saved[i].pairs);
		saved[i] = saved[--nsaved];
	}
	for (struct sc_vobj *o = sc_vh_first(); o && rc == 0; o = o->next)
		if (o->kind == SC_VK_INFO && (o->flags & SC_VOBJ_LIVE))
			rc = save_one(tab, o);
	pthread_mutex_unlock(&ilock);
	if (rc != 0)
		snprintf(err, errlen, "saving the keys of an info object failed (MPI error %d)",
			 rc);
	return rc ? -1 : 0;
}

int sc_mpi_info_restore(const struct sc_vobj *info)
{
	const struct sc_mpi_table *tab = sc_mpi_tab;
	const struct saved_info *s = find_saved(info);
	if (!s)
		return 0; /* made after the checkpoint's save: not in this image */
	int n = 0, rc;
	SC_MPI_CALL(rc = tab->Info_get_nkeys(info->lower, &n));
	/* what the replayed creation put there (MPI_X_get_info's current hints) goes first */
	for (; rc == 0 && n > 0; n--) {
		char key[MPI_MAX_INFO_KEY + 1];
		SC_MPI_CALL(rc = tab->Info_get_nthkey(info->lower, n - 1, key));
		if (rc == 0)
			SC_MPI_CALL(rc = tab->Info_delete(info->lower, key));
	}
	const char *p = s->pairs;
	for (int k = 0; rc == 0 && k < s->npairs; k++) {
		const char *value = p + strlen(p) + 1;
		SC_MPI_CALL(rc = tab->Info_set(info->lower, p, value));
		p = value + strlen(value) + 1;
	}
	return rc;
}
