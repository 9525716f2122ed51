/* Which pages of each region the image writer saves: pages present or swapped per
 * /proc/self/pagemap, every page of file mappings, the live stack below the writer's frames.
 * Their runs make the run table and are queued for output (image_write.c) as soon as known;
 * regions without PROT_READ are made readable for the copy. No malloc, no stdio, no locks. */
#define _GNU_SOURCE
#include "config.h"

#include "image_writer.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define STACK_SLACK (64UL << 10) /* the writer's frames may grow this far below live_sp */
#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)

static int push_run(struct writer *w, uint64_t first_page, uint64_t npages)
{
	if (w->nruns == w->runs_cap) {
		/* grow into a fresh mapping: mremap could move it to addresses that the lower
		 * half's arena allocator did not hand out */
		uint64_t cap = w->runs_cap * 2;
		void *p = mmap(NULL, cap * sizeof *w->runs, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			sc_imgw_fmt(w->err, w->errlen,
				    "%s: cannot map %llu bytes for the run table: %s",
				    w->s->tmppath, (unsigned long long)(cap * sizeof *w->runs),
				    sc_imgw_errdesc(errno));
			return -1;
		}
		memcpy(p, w->runs, w->nruns * sizeof *w->runs);
		munmap(w->runs, w->runs_cap * sizeof *w->runs);
		w->runs = p;
		w->runs_cap = cap;
	}
	w->runs[w->nruns].first_page = first_page;
	w->runs[w->nruns].npages = npages;
	w->nruns++;
	return 0;
}

int sc_imgw_restore_prot(struct writer *w)
{
	if (!w->prot_raised)
		return 0;
	w->prot_raised = 0;
	if (mprotect((void *)w->prot_start, w->prot_end - w->prot_start, (int)w->prot_orig)) {
		sc_imgw_fmt(w->err, w->errlen, "%s: cannot restore protection of [0x%lx-0x%lx): %s",
			    w->s->tmppath, (unsigned long)w->prot_start, (unsigned long)w->prot_end,
			    sc_imgw_errdesc(errno));
		return -1;
	}
	return 0;
}

/* Queues pages [first, first+n) of region d. A region without PROT_READ but with saved pages
 * (e.g. memory the application mprotect'ed PROT_NONE after using it) is made readable for the
 * copy; its protection is restored once its last page is written (sc_imgw_restore_prot). */
static int queue_pages(struct writer *w, const struct sc_region_desc *d, uint64_t first, uint64_t n,
		       int via_bounce)
{
	if (!(d->prot & PROT_READ) && !w->prot_raised) {
		if (mprotect((void *)d->start, d->end - d->start, (int)(d->prot | PROT_READ))) {
			sc_imgw_fmt(w->err, w->errlen, "%s: cannot make [0x%lx-0x%lx) readable: %s",
				    w->s->tmppath, (unsigned long)d->start, (unsigned long)d->end,
				    sc_imgw_errdesc(errno));
			return -1;
		}
		w->prot_raised = 1;
		w->prot_start = d->start;
		w->prot_end = d->end;
		w->prot_orig = d->prot;
	}
	w->pages_saved += n;
	return sc_imgw_add_data(w, d->start + first * SC_PAGE_SIZE, n * SC_PAGE_SIZE, via_bounce);
}

int sc_imgw_page_readable(uint64_t addr, void *buf)
{
	/* process_vm_readv on ourselves copies through the kernel and fails with EFAULT where a
	 * load would fault (SIGBUS past a file's end) */
	struct iovec local = {buf, 1}, remote = {(void *)(uintptr_t)addr, 1};
	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1)
		return 1;
	if (errno != EFAULT)
		return 1; /* the call itself is refused (seccomp): cannot tell, try to save it */
	unsigned char in_core;
	if (mincore((void *)(uintptr_t)addr, SC_PAGE_SIZE, &in_core) && errno == ENOMEM)
		return -1;
	return 0;
}

/* How many leading pages of a readable private file mapping can be read: a mapping may reach
 * past its file's end (a library's last segment, a file mapped larger than it is, one
 * truncated since), and those pages fault; they hold nothing to save and come back as zeros.
 * They are a suffix, found by a binary search. -1 (error set) if the region is not mapped. */
static int64_t file_pages(struct writer *w, const struct sc_region_desc *d, uint64_t npages)
{
	void *buf = w->s->bounce; /* free between regions: every region flushes at its end */
	int first = npages ? sc_imgw_page_readable(d->start, buf) : 1;
	int r = first == 1 && npages > 1
		    ? sc_imgw_page_readable(d->start + (npages - 1) * SC_PAGE_SIZE, buf)
		    : first;
	if (r == 1)
		return (int64_t)npages;
	if (first == 0)
		return 0;
	uint64_t lo = 1, hi = npages - 1; /* page lo - 1 can be read, page hi cannot */
	while (r >= 0 && lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		r = sc_imgw_page_readable(d->start + mid * SC_PAGE_SIZE, buf);
		if (r == 1)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (r < 0) {
		sc_imgw_fmt(w->err, w->errlen, "%s: region [0x%lx-0x%lx) (%s) is not mapped",
			    w->s->tmppath, (unsigned long)d->start, (unsigned long)d->end,
			    d->name ? d->name : "");
		return -1;
	}
	return (int64_t)lo;
}

/* Reads the pagemap entries of pages [first, first+n) of the region at start. */
static int read_pagemap(struct writer *w, uint64_t start, uint64_t first, size_t n)
{
	char *dst = (char *)w->s->pm;
	size_t want = n * 8, got = 0;
	off_t off = (off_t)((start / SC_PAGE_SIZE + first) * 8);
	while (got < want) {
		ssize_t r = pread(w->pmfd, dst + got, want - got, off + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			sc_imgw_fmt(w->err, w->errlen,
				    "%s: reading /proc/self/pagemap at 0x%lx: %s", w->s->tmppath,
				    (unsigned long)(start + first * SC_PAGE_SIZE),
				    r < 0 ? sc_imgw_errdesc(errno) : "unexpected end of file");
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

/* Saves region idx: finds its runs of saved pages and writes their data at w->off. Pages are
 * queued as soon as they are known (a run is queued piecewise while it is still open) so that
 * one huge run streams through the CHUNK/WINDOW pipeline instead of waiting for its end. */
int sc_imgw_write_region(struct writer *w, size_t idx, const struct sc_region_desc *d,
			 uint64_t live_sp)
{
	struct sc_image_region *r = &w->regs[idx];
	uint64_t npages = (d->end - d->start) / SC_PAGE_SIZE;
	int is_stack = live_sp >= d->start && live_sp < d->end;
	/* The writer's own frames come and go below live_sp: their pages count as present
	 * whatever pagemap says at the moment, and are copied through the bounce buffer so
	 * that the checksum covers exactly the bytes stored. */
	uint64_t force_from = npages;
	if (is_stack) {
		uint64_t lo = live_sp - STACK_SLACK;
		lo = (live_sp < STACK_SLACK || lo < d->start) ? d->start : lo & ~(SC_PAGE_SIZE - 1);
		force_from = (lo - d->start) / SC_PAGE_SIZE;
	}

	r->start = d->start;
	r->end = d->end;
	r->prot = d->prot;
	r->flags = d->flags;
	r->file_offset = d->file_offset;
	r->data_off = w->off;
	r->first_run = w->nruns;
	sc_imgw_copy_str(r->name, sizeof r->name, d->name);
	XXH3_64bits_reset(&w->s->rs);
	uint64_t saved_before = w->pages_saved;

	if (!(d->flags & SC_REGION_NODATA)) {
		/* Every page of a readable private file mapping within its file: an unsaved one
		 * would come back as zeros, not as the file's. Other regions (a file mapping
		 * without read permission: a library's gaps) only the pages the process touched. */
		int all = (d->flags & SC_REGION_FILE) && (d->prot & PROT_READ);
		int64_t readable = all ? file_pages(w, d, npages) : 0;
		if (readable < 0)
			return -1;
		uint64_t run_start = 0, run_len = 0, queued = 0; /* open run, pages queued */
		for (uint64_t p = 0; p < npages;) {
			size_t n = npages - p < PM_ENTRIES ? (size_t)(npages - p) : PM_ENTRIES;
			if (!all && read_pagemap(w, d->start, p, n))
				return -1;
			for (size_t k = 0; k < n; k++, p++) {
				if (all ? p < (uint64_t)readable
					: p >= force_from ||
					      (w->s->pm[k] & (PM_PRESENT | PM_SWAPPED))) {
					if (!run_len) {
						run_start = p;
						queued = 0;
					}
					run_len++;
				} else if (run_len) {
					if (queue_pages(w, d, run_start + queued, run_len - queued,
							is_stack) ||
					    push_run(w, run_start, run_len))
						return -1;
					run_len = 0;
				}
			}
			if (run_len > queued) {
				if (queue_pages(w, d, run_start + queued, run_len - queued,
						is_stack))
					return -1;
				queued = run_len;
			}
		}
		if (run_len && push_run(w, run_start, run_len))
			return -1;
		if (sc_imgw_flush(w) || sc_imgw_restore_prot(w))
			return -1;
	}
	r->data_pages = w->pages_saved - saved_before;
	r->n_runs = w->nruns - r->first_run;
	r->checksum = XXH3_64bits_digest(&w->s->rs);
	w->pages_skipped += npages - r->data_pages;
	return 0;
}
