/* The arena allocator and the SIGSYS trap that feeds it. The upper half never chooses its own
 * addresses: its mmap-family system calls raise SIGSYS (seccomp, only for instruction pointers
 * inside the arena) and this handler performs them at addresses it picks inside the arena, so the
 * lower half knows every upper-half range exactly; ranges whose pages it releases are logged for
 * the MPI library's registration caches (lh_abi.h, struct sc_unmap_log). Everything reachable
 * from the handler uses raw system calls and no TLS: it runs with the upper half's FS base. */
#define _GNU_SOURCE
#include "arena.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "sc_syscall.h"

#define PAGE 4096UL
#define HUGE_ALIGN (2UL << 20)
#define RESERVE_FLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

static struct sc_lh_info *g_info;

static inline int is_err(long r)
{
	return r < 0 && r > -4096;
}

static inline uint64_t page_up(uint64_t v)
{
	return (v + PAGE - 1) & ~(PAGE - 1);
}

static inline uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static int in_alloc_zone(uint64_t start, uint64_t len)
{
	return start >= SC_ALLOC_BASE && len <= SC_ARENA_END - start;
}

static int touches_arena(uint64_t start, uint64_t len)
{
	return start < SC_ARENA_END && start + len > SC_ARENA_BASE;
}

/* ---- the range table (sorted, non-overlapping, adjacent ranges merged) -------------------- */

static void table_lock(void)
{
	while (__atomic_exchange_n(&g_info->ranges_lock, 1, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
}

static void table_unlock(void)
{
	__atomic_store_n(&g_info->ranges_lock, 0, __ATOMIC_RELEASE);
}

static struct sc_lh_range *table(void)
{
	return (struct sc_lh_range *)g_info->ranges_addr;
}

/* Makes room for `extra` more entries; the table lives in lower-half memory outside the arena. */
static int table_reserve(uint32_t extra)
{
	if (g_info->nranges + extra <= g_info->ranges_capacity)
		return 0;
	uint64_t cap = g_info->ranges_capacity ? g_info->ranges_capacity * 2 : 4096;
	while (cap < g_info->nranges + extra)
		cap *= 2;
	long mem = sc_sys6(SYS_mmap, 0, page_up(cap * sizeof(struct sc_lh_range)),
			   PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (is_err(mem))
		return -1;
	struct sc_lh_range *old = table();
	struct sc_lh_range *nt = (struct sc_lh_range *)mem;
	for (uint32_t i = 0; i < g_info->nranges; i++)
		nt[i] = old[i];
	if (old)
		sc_sys2(SYS_munmap, old,
			page_up(g_info->ranges_capacity * sizeof(struct sc_lh_range)));
	g_info->ranges_addr = (uint64_t)mem;
	g_info->ranges_capacity = cap;
	return 0;
}

static int table_overlaps(uint64_t start, uint64_t end)
{
	struct sc_lh_range *t = table();
	for (uint32_t i = 0; i < g_info->nranges && t[i].start < end; i++)
		if (t[i].end > start)
			return 1;
	return 0;
}

static void table_remove_at(uint32_t i)
{
	struct sc_lh_range *t = table();
	for (uint32_t j = i; j + 1 < g_info->nranges; j++)
		t[j] = t[j + 1];
	g_info->nranges--;
}

/* Removes [start, end) from the used set, splitting a range if needed. */
static int table_remove(uint64_t start, uint64_t end)
{
	if (table_reserve(1))
		return -1;
	struct sc_lh_range *t = table();
	for (uint32_t i = 0; i < g_info->nranges;) {
		struct sc_lh_range r = t[i];
		if (r.end <= start) {
			i++;
			continue;
		}
		if (r.start >= end)
			break;
		if (r.start < start && r.end > end) { /* split in two */
			for (uint32_t j = g_info->nranges; j > i + 1; j--)
				t[j] = t[j - 1];
			g_info->nranges++;
			t[i].end = start;
			t[i + 1].start = end;
			t[i + 1].end = r.end;
			return 0;
		}
		if (r.start < start) {
			t[i].end = start;
			i++;
		} else if (r.end > end) {
			t[i].start = end;
			i++;
		} else {
			table_remove_at(i);
		}
	}
	return 0;
}

/* Adds [start, end) to the used set, merging with overlapping or adjacent ranges. */
static int table_insert(uint64_t start, uint64_t end)
{
	if (table_reserve(1))
		return -1;
	struct sc_lh_range *t = table();
	uint32_t i = 0;
	while (i < g_info->nranges && t[i].end < start)
		i++;
	/* t[i] is the first range that ends at or after start: merge all that touch [start,end] */
	uint32_t j = i;
	while (j < g_info->nranges && t[j].start <= end) {
		if (t[j].start < start)
			start = t[j].start;
		if (t[j].end > end)
			end = t[j].end;
		j++;
	}
	uint32_t merged = j - i;
	if (merged == 0) {
		for (uint32_t k = g_info->nranges; k > i; k--)
			t[k] = t[k - 1];
		g_info->nranges++;
	} else {
		for (uint32_t k = 1; k < merged; k++)
			table_remove_at(i + 1);
	}
	t[i].start = start;
	t[i].end = end;
	return 0;
}

/* First fit from the bottom of the allocatable zone. */
static uint64_t table_find_gap(uint64_t len, uint64_t align)
{
	struct sc_lh_range *t = table();
	uint64_t cand = align_up(SC_ALLOC_BASE, align);
	for (uint32_t i = 0; i < g_info->nranges; i++) {
		if (cand + len <= t[i].start)
			return cand;
		if (t[i].end > cand)
			cand = align_up(t[i].end, align);
	}
	return (cand < SC_ARENA_END && len <= SC_ARENA_END - cand) ? cand : 0;
}

/* ---- the log of released ranges (struct sc_unmap_log) -------------------------------------- */

_Static_assert(sizeof(struct sc_lh_info) <= SC_INFO_SIZE, "the info block outgrew its slot");

/* Records that the pages of [start, start + len) left the upper half. Called with the table
 * lock held (the lock serializes the writers; readers take none). Only plain stores: it runs in
 * the SIGSYS handler. The release fence orders "this slot is being reused" (seq, seen by the
 * previous writer's readers) before the slot's new contents, as a seqlock writer does. */
static void unmap_note(uint64_t start, uint64_t len)
{
	struct sc_unmap_log *u = &g_info->unmaps;
	if (len == 0)
		return;
	uint64_t end = start + len < start ? ~0UL : start + len;
	if (!(start >= SC_ARENA_BASE && end <= SC_ARENA_END)) {
		/* outside the arena: a reader that overflows reports this envelope too */
		if (!u->out_hi || start < u->out_lo)
			__atomic_store_n(&u->out_lo, start, __ATOMIC_RELAXED);
		if (end > u->out_hi)
			__atomic_store_n(&u->out_hi, end, __ATOMIC_RELAXED);
	}
	uint64_t t = u->seq;
	struct sc_lh_range *s = &u->slot[t % SC_UNMAP_LOG_SIZE];
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&s->start, start, __ATOMIC_RELAXED);
	__atomic_store_n(&s->end, end, __ATOMIC_RELAXED);
	__atomic_store_n(&u->seq, t + 1, __ATOMIC_RELEASE);
}

static void unmap_note_locked(uint64_t start, uint64_t len)
{
	table_lock();
	unmap_note(start, len);
	table_unlock();
}

/* Puts the PROT_NONE reservation back over a range the upper half gave up, so the kernel can
 * never place a lower-half mapping inside the arena. */
static long rereserve(uint64_t start, uint64_t len)
{
	return sc_sys6(SYS_mmap, start, len, PROT_NONE, RESERVE_FLAGS | MAP_FIXED, -1, 0);
}

/* ---- public setup API (single-threaded, before the upper half runs) ----------------------- */

struct sc_lh_info *sc_arena_init(char *err, size_t errlen)
{
	void *r = mmap((void *)SC_ARENA_BASE, SC_ARENA_END - SC_ARENA_BASE, PROT_NONE,
		       RESERVE_FLAGS | MAP_FIXED_NOREPLACE, -1, 0);
	if (r == MAP_FAILED || r != (void *)SC_ARENA_BASE) {
		snprintf(err, errlen,
			 "cannot reserve the upper-half arena at %#lx-%#lx: %s (is an address "
			 "space limit (ulimit -v) set?)",
			 SC_ARENA_BASE, SC_ARENA_END, r == MAP_FAILED ? strerror(errno) : "moved");
		return NULL;
	}
	void *info = mmap((void *)SC_INFO_ADDR, SC_INFO_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (info == MAP_FAILED) {
		snprintf(err, errlen, "cannot map the info block: %s", strerror(errno));
		return NULL;
	}
	g_info = info;
	memset(g_info, 0, sizeof *g_info);
	g_info->magic = SC_INFO_MAGIC;
	g_info->version = SC_INFO_VERSION;
	if (table_reserve(1)) {
		snprintf(err, errlen, "cannot allocate the arena range table");
		return NULL;
	}
	return g_info;
}

uint64_t sc_arena_take(uint64_t len, uint64_t align)
{
	len = page_up(len);
	if (align < PAGE)
		align = PAGE;
	uint64_t at = table_find_gap(len, align);
	if (!at || table_insert(at, at + len))
		return 0;
	return at;
}

int sc_arena_claim(uint64_t start, uint64_t end)
{
	if (end <= start || !in_alloc_zone(start, end - start))
		return -1;
	return table_insert(start, end);
}

int sc_arena_add_fixed(uint64_t start, uint64_t end)
{
	for (uint32_t i = 0; i < g_info->nfixed; i++)
		if (g_info->fixed[i].start == start && g_info->fixed[i].end == end)
			return 0;
	if (g_info->nfixed >= sizeof g_info->fixed / sizeof g_info->fixed[0])
		return -1;
	g_info->fixed[g_info->nfixed].start = start;
	g_info->fixed[g_info->nfixed].end = end;
	g_info->nfixed++;
	return 0;
}

static void fixed_remove(uint64_t start, uint64_t end)
{
	for (uint32_t i = 0; i < g_info->nfixed; i++) {
		if (g_info->fixed[i].start >= start && g_info->fixed[i].end <= end) {
			g_info->fixed[i] = g_info->fixed[--g_info->nfixed];
			i--;
		}
	}
}

struct sc_lh_info *sc_arena_info(void)
{
	return g_info;
}

/* ---- the upper half's mmap family, called from the SIGSYS handler ----------------------- */

long sc_arena_mmap(uint64_t addr, uint64_t len, long prot, long flags, long fd, long off)
{
	if (len == 0)
		return -EINVAL;
	uint64_t l = page_up(len);
	if (l < len)
		return -ENOMEM;
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (addr & (PAGE - 1))
			return -EINVAL;
		if (!in_alloc_zone(addr, l)) {
			if (touches_arena(addr, l))
				return -ENOMEM; /* would clobber the info block or the vdso slot */
			long r = sc_sys6(SYS_mmap, addr, len, prot, flags, fd, off);
			if (!is_err(r) && sc_arena_add_fixed(addr, addr + l)) {
				sc_sys2(SYS_munmap, addr, l);
				return -ENOMEM;
			}
			if (!is_err(r) && !(flags & MAP_FIXED_NOREPLACE))
				unmap_note_locked(addr, l); /* may have replaced pages */
			return r;
		}
		table_lock();
		long r = -EEXIST;
		int replaces = table_overlaps(addr, addr + l);
		if (!((flags & MAP_FIXED_NOREPLACE) && replaces)) {
			r = sc_sys6(SYS_mmap, addr, len, prot,
				    (flags & ~MAP_FIXED_NOREPLACE) | MAP_FIXED, fd, off);
			if (replaces && !is_err(r))
				unmap_note(addr, l); /* the old pages are gone */
			if (!is_err(r) && table_insert(addr, addr + l)) {
				rereserve(addr, l);
				r = -ENOMEM;
			}
		}
		table_unlock();
		return r;
	}
	if (flags & MAP_32BIT) { /* cannot be honoured inside the arena: let the kernel place it */
		long r = sc_sys6(SYS_mmap, addr, len, prot, flags, fd, off);
		if (!is_err(r) && sc_arena_add_fixed((uint64_t)r, (uint64_t)r + l)) {
			sc_sys2(SYS_munmap, r, l);
			return -ENOMEM;
		}
		return r;
	}
	/* Large mappings get 2 MiB alignment, as the kernel gives them, so THP can back them. */
	uint64_t align = (l >= HUGE_ALIGN || (flags & MAP_HUGETLB)) ? HUGE_ALIGN : PAGE;
	table_lock();
	uint64_t at = 0;
	if (addr && !(addr & (align - 1)) && in_alloc_zone(addr, l) &&
	    !table_overlaps(addr, addr + l))
		at = addr; /* honour a usable hint */
	else
		at = table_find_gap(l, align);
	long r = -ENOMEM;
	if (at) {
		r = sc_sys6(SYS_mmap, at, len, prot, flags | MAP_FIXED, fd, off);
		if (!is_err(r) && table_insert(at, at + l)) {
			rereserve(at, l);
			r = -ENOMEM;
		}
	}
	table_unlock();
	return r;
}

long sc_arena_munmap(uint64_t addr, uint64_t len)
{
	if ((addr & (PAGE - 1)) || len == 0)
		return -EINVAL;
	uint64_t l = page_up(len);
	if (!in_alloc_zone(addr, l)) {
		if (touches_arena(addr, l))
			return -EINVAL;
		long r = sc_sys2(SYS_munmap, addr, len);
		if (!is_err(r)) {
			fixed_remove(addr, addr + l);
			unmap_note_locked(addr, l);
		}
		return r;
	}
	table_lock();
	long r = rereserve(addr, l);
	if (!is_err(r)) {
		table_remove(addr, addr + l);
		unmap_note(addr, l);
		r = 0;
	}
	table_unlock();
	return r;
}

/* The seccomp filter traps madvise only for these (trap.c): they free the pages of a range that
 * stays mapped (the next touch gets zeroed pages, or the file's), which for a registration cache
 * is an unmap, as UCX's own madvise hook treats them. */
int sc_arena_madvise_releases(long advice)
{
	return advice == MADV_DONTNEED || advice == MADV_FREE || advice == MADV_REMOVE ||
	       advice == MADV_DONTNEED_LOCKED;
}

long sc_arena_madvise(uint64_t addr, uint64_t len, long advice)
{
	long r = sc_sys3(SYS_madvise, addr, len, advice);
	if (!is_err(r) && sc_arena_madvise_releases(advice))
		unmap_note_locked(addr, page_up(len));
	return r;
}

long sc_arena_mremap(uint64_t old, uint64_t oldlen, uint64_t newlen, long flags, uint64_t newaddr)
{
	if (old & (PAGE - 1))
		return -EINVAL;
	uint64_t ol = page_up(oldlen), nl = page_up(newlen);
	if (nl == 0 || nl < newlen)
		return -EINVAL;
	if (!in_alloc_zone(old, ol ? ol : PAGE)) {
		if (touches_arena(old, ol) ||
		    ((flags & MREMAP_FIXED) && touches_arena(newaddr, nl)))
			return -EINVAL;
		/* Outside the arena (non-PIE data): keep it outside, so it never moves; only a
		 * shrink releases pages. */
		long r = sc_sys5(SYS_mremap, old, oldlen, newlen, flags & ~MREMAP_MAYMOVE, newaddr);
		if (!is_err(r) && nl < ol)
			unmap_note_locked(old + nl, ol - nl);
		return r;
	}
	table_lock();
	long r;
	if (flags & MREMAP_FIXED) {
		if (!in_alloc_zone(newaddr, nl)) {
			r = -EINVAL;
			goto out;
		}
		int replaces = table_overlaps(newaddr, newaddr + nl);
		r = sc_sys5(SYS_mremap, old, oldlen, newlen, flags, newaddr);
		if (!is_err(r)) {
			if (replaces) /* mremap unmapped what was at the target first */
				unmap_note(newaddr, nl);
			table_insert(newaddr, newaddr + nl);
			/* The old range lost its pages even with MREMAP_DONTUNMAP (it stays mapped,
			 * empty). */
			if (ol)
				unmap_note(old, ol);
			if (!(flags & MREMAP_DONTUNMAP) && ol) {
				rereserve(old, ol);
				table_remove(old, old + ol);
			}
		}
		goto out;
	}
	if (ol == 0) { /* duplicate a shared mapping: needs a new place */
		uint64_t at = (flags & MREMAP_MAYMOVE) ? table_find_gap(nl, PAGE) : 0;
		r = at ? sc_sys5(SYS_mremap, old, 0, newlen, MREMAP_MAYMOVE | MREMAP_FIXED, at)
		       : -ENOMEM;
		if (!is_err(r))
			table_insert(at, at + nl);
		goto out;
	}
	if (nl <= ol) { /* shrinking never moves */
		r = sc_sys5(SYS_mremap, old, oldlen, newlen, 0, 0);
		if (!is_err(r) && nl < ol) {
			rereserve(old + nl, ol - nl);
			table_remove(old + nl, old + ol);
			unmap_note(old + nl, ol - nl);
		}
		goto out;
	}
	/* Growing: in place when the following range is ours to give. */
	if (in_alloc_zone(old + ol, nl - ol) && !table_overlaps(old + ol, old + nl)) {
		sc_sys2(SYS_munmap, old + ol, nl - ol);
		r = sc_sys5(SYS_mremap, old, oldlen, newlen, 0, 0);
		if (!is_err(r)) {
			table_insert(old, old + nl);
			goto out;
		}
		rereserve(old + ol, nl - ol);
	}
	if (!(flags & MREMAP_MAYMOVE)) {
		r = -ENOMEM;
		goto out;
	}
	uint64_t at = table_find_gap(nl, nl >= HUGE_ALIGN ? HUGE_ALIGN : PAGE);
	r = at ? sc_sys5(SYS_mremap, old, oldlen, newlen, MREMAP_MAYMOVE | MREMAP_FIXED, at)
	       : -ENOMEM;
	if (!is_err(r)) {
		table_insert(at, at + nl);
		rereserve(old, ol);
		table_remove(old, old + ol);
		unmap_note(old, ol); /* moved: the pages live at `at` now */
	}
out:
	table_unlock();
	return r;
}
