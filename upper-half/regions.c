/* Which memory belongs to the upper half: the lower half's table of arena ranges it handed out
 * (exact, unlike /proc/self/maps, where our PROT_NONE reservation and the application's own
 * PROT_NONE mappings look alike), intersected with the maps for protections and names, plus the
 * ranges outside the arena (a non-PIE executable). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "ckpt_mpi.h"
#include "maps.h"
#include "runtime.h"

#define NAME_LEN 256

struct collect_state {
	struct sc_lh_range *used;
	size_t nused;
	struct sc_region_desc *out;
	char (*names)[NAME_LEN];
	size_t n;
	char *err;
	size_t errlen;
};

static struct sc_region_desc *descs; /* SC_MAX_REGIONS */
static char (*names)[NAME_LEN];
static struct sc_lh_range *used_copy;
static size_t used_capacity;

int sc_regions_init(char *err, size_t errlen)
{
	size_t len = SC_MAX_REGIONS * (sizeof *descs + NAME_LEN);
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "cannot allocate the region list: %s", strerror(errno));
		return -1;
	}
	descs = m;
	names = (void *)((char *)m + SC_MAX_REGIONS * sizeof *descs);
	return 0;
}

static int add(struct collect_state *st, const struct sc_map_entry *e, uint64_t start, uint64_t end,
	       uint32_t extra_flags)
{
	/* A read-only shared file mapping (glibc's gconv cache, locale archives) cannot differ
	 * from a private copy, so it is saved and restored as one; a writable one would lose the
	 * link to its file, unless it is an MPI shared window's, which a restart shares again. */
	if (e->shared && e->name[0] == '/' && (e->prot & PROT_WRITE) &&
	    strncmp(e->name, SC_SHM_WIN_PREFIX, sizeof SC_SHM_WIN_PREFIX - 1) != 0) {
		snprintf(st->err, st->errlen,
			 "cannot checkpoint the writable shared file mapping of %s at %#lx-%#lx "
			 "(writable MAP_SHARED file mappings are not supported)",
			 e->name, (unsigned long)start, (unsigned long)end);
		return -1;
	}
	if (st->n >= SC_MAX_REGIONS) {
		snprintf(st->err, st->errlen, "more than %d memory regions", SC_MAX_REGIONS);
		return -1;
	}
	struct sc_region_desc *d = &st->out[st->n];
	memset(d, 0, sizeof *d);
	d->start = start;
	d->end = end;
	d->prot = e->prot;
	d->flags = extra_flags | (e->name[0] == '/' ? SC_REGION_FILE : SC_REGION_ANON);
	if (!strcmp(e->name, "[stack]"))
		d->flags |= SC_REGION_STACK;
	d->file_offset = e->offset + (start - e->start);
	snprintf(st->names[st->n], NAME_LEN, "%.*s", NAME_LEN - 1, e->name);
	d->name = st->names[st->n];
	st->n++;
	return 0;
}

static int on_entry(const struct sc_map_entry *e, void *arg)
{
	struct collect_state *st = arg;
	if (e->end <= SC_ALLOC_BASE || e->start >= SC_ARENA_END) {
		const struct sc_lh_info *info = sc_rt.info;
		for (uint32_t i = 0; i < info->nfixed; i++) {
			uint64_t s =
			    e->start > info->fixed[i].start ? e->start : info->fixed[i].start;
			uint64_t t = e->end < info->fixed[i].end ? e->end : info->fixed[i].end;
			if (s < t && add(st, e, s, t, SC_REGION_OUTSIDE))
				return 1;
		}
		return 0;
	}
	/* Inside the arena: only the parts the lower half handed out are ours; the rest is the
	 * PROT_NONE reservation. Both lists are sorted. */
	for (size_t i = 0; i < st->nused; i++) {
		if (st->used[i].end <= e->start)
			continue;
		if (st->used[i].start >= e->end)
			break;
		uint64_t s = e->start > st->used[i].start ? e->start : st->used[i].start;
		uint64_t t = e->end < st->used[i].end ? e->end : st->used[i].end;
		if (add(st, e, s, t, 0))
			return 1;
	}
	return 0;
}

/* A consistent copy of the lower half's table. Application threads are suspended and none is
 * inside the SIGSYS handler (it blocks the suspend signal), so the lock is free; take it
 * anyway so a lower-half thread can never race us. Never mmap while holding it: our own mmap
 * traps into the handler, which takes the same lock. */
static int copy_used(char *err, size_t errlen)
{
	struct sc_lh_info *info = sc_rt.info;
	for (;;) {
		size_t want = __atomic_load_n(&info->nranges, __ATOMIC_ACQUIRE) + 16;
		if (want > used_capacity) {
			size_t cap = want * 2 + 1024;
			void *m = mmap(NULL, cap * sizeof *used_copy, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m == MAP_FAILED) {
				snprintf(err, errlen, "cannot copy the range table: %s",
					 strerror(errno));
				return -1;
			}
			if (used_copy)
				munmap(used_copy, used_capacity * sizeof *used_copy);
			used_copy = m;
			used_capacity = cap;
		}
		while (__atomic_exchange_n(&info->ranges_lock, 1, __ATOMIC_ACQUIRE))
			__builtin_ia32_pause();
		size_t n = info->nranges;
		if (n <= used_capacity)
			memcpy(used_copy, (void *)info->ranges_addr, n * sizeof *used_copy);
		__atomic_store_n(&info->ranges_lock, 0, __ATOMIC_RELEASE);
		if (n <= used_capacity)
			return (int)n;
	}
}

int sc_regions_collect(struct sc_region_desc **out, size_t *n, char *err, size_t errlen)
{
	int nused = copy_used(err, errlen);
	if (nused < 0)
		return -1;
	struct collect_state st = {.used = used_copy,
				   .nused = (size_t)nused,
				   .out = descs,
				   .names = names,
				   .err = err,
				   .errlen = errlen};
	static char buf[65536];
	char merr[512];
	int r =
	    sc_maps_foreach("/proc/self/maps", buf, sizeof buf, on_entry, &st, merr, sizeof merr);
	if (r == 1)
		return -1;
	if (r) {
		snprintf(err, errlen, "%s", merr);
		return -1;
	}
	*out = descs;
	*n = st.n;
	return 0;
}
