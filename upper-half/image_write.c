/* The checkpoint image writer (sc_image_write, image.h). It runs in the checkpoint thread while
 * every other application thread is suspended, possibly holding libc locks: so no malloc, no
 * stdio, no locks — scratch memory is a raw mmap, errors are formatted by hand and I/O is plain
 * open/pwritev/sync_file_range/fdatasync/rename. */
#define _GNU_SOURCE
#include "config.h"

#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h> /* rename(2) only: no stdio stream is used */
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL /* header-only: static functions, no runtime dependency, no clash */
#include <xxhash.h>

/* Tuning (measured with bench/image_throughput, see bench/README.md):
 * CHUNK: bytes handed to one pwritev; each chunk is hashed right after the kernel copied it to
 *   the page cache, so it is still warm in the CPU cache.
 * WINDOW: bytes allowed under writeback before we wait for the oldest ones; the disk works on
 *   them while we copy and hash the next chunks, and the page cache never holds more dirty
 *   checkpoint data than this (a plain write + fdatasync lets GiBs pile up and then stalls). */
#define CHUNK (4UL << 20)
#define WINDOW (64UL << 20)
#define PM_ENTRIES 65536 /* pagemap entries read per pread: 512 KiB covering 256 MiB */
#define NIOV 1024	 /* IOV_MAX */
#define BOUNCE (1UL << 20)
#define STACK_SLACK (64UL << 10) /* the writer's frames may grow this far below live_sp */
#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)

/* Everything the writer needs besides the run table, in one anonymous mapping. */
struct wscratch {
	struct sc_image_header hdr; /* first: page aligned */
	uint8_t bounce[BOUNCE];	    /* page aligned too */
	uint64_t pm[PM_ENTRIES];
	struct iovec iov[NIOV];
	XXH3_state_t rs; /* region checksum */
	XXH3_state_t ts; /* tables checksum */
	char tmppath[PATH_MAX + 8];
	char dirpath[PATH_MAX];
};

struct writer {
	struct wscratch *s;
	int fd, pmfd;
	char *err;
	size_t errlen;
	uint64_t off;	 /* next file offset of page data */
	uint64_t synced; /* data below this offset is on disk and dropped from the cache */
	int niov;	 /* pending iovecs in s->iov */
	size_t pending;	 /* their bytes */
	size_t bounce_used;
	struct sc_image_region *regs; /* region table (scratch) */
	struct sc_image_run *runs;    /* run table (scratch, grows) */
	uint64_t nruns, runs_cap;
	uint64_t pages_saved, pages_skipped;
	/* region being written whose protection we raised to PROT_READ, to restore */
	uint64_t prot_start, prot_end;
	uint32_t prot_orig;
	int prot_raised;
};

/* Formats %s and %u/%x with optional l, ll or z (snprintf is stdio: it may lock or malloc). */
__attribute__((format(printf, 3, 4))) static void fmt(char *b, size_t cap, const char *f, ...)
{
	va_list ap;
	size_t n = 0;
	va_start(ap, f);
	for (; *f && n + 1 < cap; f++) {
		if (*f != '%' || !f[1]) {
			b[n++] = *f;
			continue;
		}
		int l = 0, z = 0;
		while (*++f == 'l' || *f == 'z')
			*f == 'l' ? l++ : z++;
		if (!*f)
			break;
		char tmp[24], *s = tmp + sizeof tmp - 1;
		*s = '\0';
		if (*f == 's') {
			s = va_arg(ap, char *);
		} else {
			unsigned long long v = z	? va_arg(ap, size_t)
					       : l == 1 ? va_arg(ap, unsigned long)
					       : l	? va_arg(ap, unsigned long long)
							: va_arg(ap, unsigned);
			unsigned base = *f == 'x' ? 16 : 10;
			do
				*--s = "0123456789abcdef"[v % base];
			while ((v /= base) != 0);
		}
		while (*s && n + 1 < cap)
			b[n++] = *s++;
	}
	if (cap)
		b[n] = '\0';
	va_end(ap);
}

static const char *errdesc(int e)
{
	const char *s = strerrordesc_np(e); /* a table lookup, unlike strerror (locale) */
	return s ? s : "unknown error";
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = 0;
	if (src)
		while (src[n] && n + 1 < cap) {
			dst[n] = src[n];
			n++;
		}
	dst[n] = '\0';
}

/* --- page data output ---------------------------------------------------------------------- */

/* pwritev of all of iov[0..cnt) at off, resuming after short writes without modifying iov. */
static int pwritev_all(int fd, const struct iovec *iov, int cnt, uint64_t off)
{
	int i = 0;
	size_t skip = 0; /* bytes of iov[i] already written */
	while (i < cnt) {
		ssize_t n;
		if (skip)
			n = pwrite(fd, (const char *)iov[i].iov_base + skip, iov[i].iov_len - skip,
				   (off_t)off);
		else
			n = pwritev(fd, iov + i, cnt - i > NIOV ? NIOV : cnt - i, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		off += (uint64_t)n;
		while (n > 0 && i < cnt) {
			size_t rem = iov[i].iov_len - skip;
			if ((size_t)n >= rem) {
				n -= (ssize_t)rem;
				i++;
				skip = 0;
			} else {
				skip += (size_t)n;
				n = 0;
			}
		}
	}
	return 0;
}

/* Writes the pending iovecs at w->off, starts their writeback, hashes them while the disk
 * works, and waits for data older than WINDOW so that little dirty data ever accumulates. */
static int flush(struct writer *w)
{
	struct wscratch *s = w->s;
	if (!w->niov)
		return 0;
	if (pwritev_all(w->fd, s->iov, w->niov, w->off)) {
		/* EFAULT here means a region descriptor covers unmapped memory */
		fmt(w->err, w->errlen, "%s: writing page data at offset %llu: %s", s->tmppath,
		    (unsigned long long)w->off, errdesc(errno));
		return -1;
	}
	/* Best effort: some filesystems (NFS, FUSE) ignore or refuse these; fdatasync at the
	 * end is what guarantees durability. SYNC_FILE_RANGE_WRITE alone does not wait. */
	sync_file_range(w->fd, (off_t)w->off, (off_t)w->pending, SYNC_FILE_RANGE_WRITE);
	for (int i = 0; i < w->niov; i++)
		XXH3_64bits_update(&s->rs, s->iov[i].iov_base, s->iov[i].iov_len);
	w->off += w->pending;
	w->niov = 0;
	w->pending = 0;
	w->bounce_used = 0;
	if (w->off - w->synced > WINDOW) {
		uint64_t upto = w->off - WINDOW / 2;
		sync_file_range(w->fd, (off_t)w->synced, (off_t)(upto - w->synced),
				SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
				    SYNC_FILE_RANGE_WAIT_AFTER);
		/* clean now: drop it so that a checkpoint does not evict the application's
		 * cached files with its own data */
		posix_fadvise(w->fd, (off_t)w->synced, (off_t)(upto - w->synced),
			      POSIX_FADV_DONTNEED);
		w->synced = upto;
	}
	return 0;
}

/* Copies the live stack with rep movsb (fast with ERMS): not libc's memcpy, which a sanitizer
 * intercepts and which would report the redzones of instrumented frames on that stack. */
static void copy_raw(void *dst, const void *src, size_t n)
{
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

/* Queues [addr, addr+len) of page data; via_bounce copies it first (the live stack). */
static int add_data(struct writer *w, uint64_t addr, uint64_t len, int via_bounce)
{
	struct wscratch *s = w->s;
	while (len) {
		uint64_t n = len < CHUNK - w->pending ? len : CHUNK - w->pending;
		void *src = (void *)addr;
		if (via_bounce) {
			if (n > BOUNCE - w->bounce_used)
				n = BOUNCE - w->bounce_used;
			src = s->bounce + w->bounce_used;
			copy_raw(src, (const void *)addr, n);
			w->bounce_used += n;
		}
		struct iovec *last = w->niov ? &s->iov[w->niov - 1] : NULL;
		if (last && (char *)last->iov_base + last->iov_len == (char *)src) {
			last->iov_len += n;
		} else {
			s->iov[w->niov].iov_base = src;
			s->iov[w->niov].iov_len = n;
			w->niov++;
		}
		w->pending += n;
		addr += n;
		len -= n;
		if (w->pending == CHUNK || w->niov == NIOV ||
		    (via_bounce && w->bounce_used == BOUNCE))
			if (flush(w))
				return -1;
	}
	return 0;
}

static int push_run(struct writer *w, uint64_t first_page, uint64_t npages)
{
	if (w->nruns == w->runs_cap) {
		/* grow into a fresh mapping: mremap could move it to addresses that the lower
		 * half's arena allocator did not hand out */
		uint64_t cap = w->runs_cap * 2;
		void *p = mmap(NULL, cap * sizeof *w->runs, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			fmt(w->err, w->errlen, "%s: cannot map %llu bytes for the run table: %s",
			    w->s->tmppath, (unsigned long long)(cap * sizeof *w->runs),
			    errdesc(errno));
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

static int restore_prot(struct writer *w)
{
	if (!w->prot_raised)
		return 0;
	w->prot_raised = 0;
	if (mprotect((void *)w->prot_start, w->prot_end - w->prot_start, (int)w->prot_orig)) {
		fmt(w->err, w->errlen, "%s: cannot restore protection of [0x%lx-0x%lx): %s",
		    w->s->tmppath, (unsigned long)w->prot_start, (unsigned long)w->prot_end,
		    errdesc(errno));
		return -1;
	}
	return 0;
}

/* Queues pages [first, first+n) of region d. A region without PROT_READ but with saved pages
 * (e.g. memory the application mprotect'ed PROT_NONE after using it) is made readable for the
 * copy; its protection is restored once its last page is written (restore_prot). */
static int queue_pages(struct writer *w, const struct sc_region_desc *d, uint64_t first, uint64_t n,
		       int via_bounce)
{
	if (!(d->prot & PROT_READ) && !w->prot_raised) {
		if (mprotect((void *)d->start, d->end - d->start, (int)(d->prot | PROT_READ))) {
			fmt(w->err, w->errlen, "%s: cannot make [0x%lx-0x%lx) readable: %s",
			    w->s->tmppath, (unsigned long)d->start, (unsigned long)d->end,
			    errdesc(errno));
			return -1;
		}
		w->prot_raised = 1;
		w->prot_start = d->start;
		w->prot_end = d->end;
		w->prot_orig = d->prot;
	}
	w->pages_saved += n;
	return add_data(w, d->start + first * SC_PAGE_SIZE, n * SC_PAGE_SIZE, via_bounce);
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
			fmt(w->err, w->errlen, "%s: reading /proc/self/pagemap at 0x%lx: %s",
			    w->s->tmppath, (unsigned long)(start + first * SC_PAGE_SIZE),
			    r < 0 ? errdesc(errno) : "unexpected end of file");
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

/* Saves region idx: finds its runs of saved pages and writes their data at w->off. Pages are
 * queued as soon as they are known (a run is queued piecewise while it is still open) so that
 * one huge run streams through the CHUNK/WINDOW pipeline instead of waiting for its end. */
static int write_region(struct writer *w, size_t idx, const struct sc_region_desc *d,
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
	copy_str(r->name, sizeof r->name, d->name);
	XXH3_64bits_reset(&w->s->rs);
	uint64_t saved_before = w->pages_saved;

	if (!(d->flags & SC_REGION_NODATA)) {
		int all = (d->flags & SC_REGION_FILE) != 0;
		uint64_t run_start = 0, run_len = 0, queued = 0; /* open run, pages queued */
		for (uint64_t p = 0; p < npages;) {
			size_t n = npages - p < PM_ENTRIES ? (size_t)(npages - p) : PM_ENTRIES;
			if (!all && read_pagemap(w, d->start, p, n))
				return -1;
			for (size_t k = 0; k < n; k++, p++) {
				if (all || p >= force_from ||
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
		if (flush(w) || restore_prot(w))
			return -1;
	}
	r->data_pages = w->pages_saved - saved_before;
	r->n_runs = w->nruns - r->first_run;
	r->checksum = XXH3_64bits_digest(&w->s->rs);
	w->pages_skipped += npages - r->data_pages;
	return 0;
}

/* Checks what the reader would refuse, before any file is created. */
static int check_args(const char *path, const struct sc_region_desc *regions, size_t n_regions,
		      const struct sc_image_thread *threads, size_t n_threads, char *err,
		      size_t errlen)
{
	if (n_regions > SC_IMAGE_MAX_REGIONS) {
		fmt(err, errlen, "%s: %zu regions (at most %u supported)", path, n_regions,
		    SC_IMAGE_MAX_REGIONS);
		return -1;
	}
	if (n_threads < 1 || n_threads > SC_IMAGE_MAX_THREADS) {
		fmt(err, errlen, "%s: %zu threads (between 1 and %u supported)", path, n_threads,
		    SC_IMAGE_MAX_THREADS);
		return -1;
	}
	size_t nckpt = 0;
	for (size_t i = 0; i < n_threads; i++) {
		const struct sc_image_thread *t = &threads[i];
		if (!t->tid || (t->flags & ~(uint32_t)SC_THREAD_CKPT) || !t->ctx.rip ||
		    !t->ctx.rsp) {
			fmt(err, errlen,
			    "%s: thread %zu (tid %u) has no tid, unknown flags or no "
			    "resume context (rip/rsp 0)",
			    path, i, t->tid);
			return -1;
		}
		nckpt += (t->flags & SC_THREAD_CKPT) != 0;
	}
	if (nckpt != 1) {
		fmt(err, errlen, "%s: %zu threads flagged SC_THREAD_CKPT (need exactly one)", path,
		    nckpt);
		return -1;
	}
	for (size_t i = 0; i < n_regions; i++) {
		const struct sc_region_desc *d = &regions[i];
		if (d->start % SC_PAGE_SIZE || d->end % SC_PAGE_SIZE || d->start >= d->end ||
		    (i && d->start < regions[i - 1].end)) {
			fmt(err, errlen,
			    "%s: region %zu [0x%lx-0x%lx) is empty, not page aligned or not after "
			    "the previous one (regions must be sorted and disjoint)",
			    path, i, (unsigned long)d->start, (unsigned long)d->end);
			return -1;
		}
		if (d->flags & SC_REGION_SHARED) {
			fmt(err, errlen,
			    "%s: region %zu [0x%lx-0x%lx) %s is MAP_SHARED (not supported)", path,
			    i, (unsigned long)d->start, (unsigned long)d->end,
			    d->name ? d->name : "");
			return -1;
		}
	}
	return 0;
}

static int split_paths(struct wscratch *s, const char *path, char *err, size_t errlen)
{
	size_t len = strlen(path);
	if (len == 0 || len + 5 > sizeof s->tmppath || len >= sizeof s->dirpath) {
		fmt(err, errlen, "%s: image path empty or too long", path);
		return -1;
	}
	memcpy(s->tmppath, path, len);
	memcpy(s->tmppath + len, ".tmp", 5);
	const char *slash = strrchr(path, '/');
	if (!slash) {
		memcpy(s->dirpath, ".", 2);
	} else {
		size_t dl = slash == path ? 1 : (size_t)(slash - path);
		memcpy(s->dirpath, path, dl);
		s->dirpath[dl] = '\0';
	}
	return 0;
}

int sc_image_write(const char *path, const struct sc_image_info *info,
		   const struct sc_region_desc *regions, size_t n_regions,
		   const struct sc_image_thread *threads, size_t n_threads, uint64_t live_sp,
		   struct sc_image_stats *stats, char *err, size_t errlen)
{
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	struct writer w = {.fd = -1, .pmfd = -1, .err = err, .errlen = errlen};
	size_t regs_bytes = n_regions * sizeof *w.regs;
	int ret = -1;

	if (check_args(path, regions, n_regions, threads, n_threads, err, errlen))
		return -1;
	if (info && info->nranks && info->rank >= info->nranks) {
		fmt(err, errlen, "%s: rank %u of %u ranks", path, info->rank, info->nranks);
		return -1;
	}
	w.s = mmap(NULL, sizeof *w.s, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w.runs_cap = 65536;
	w.runs = mmap(NULL, w.runs_cap * sizeof *w.runs, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w.regs = mmap(NULL, regs_bytes ? regs_bytes : 1, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w.s == MAP_FAILED || w.runs == MAP_FAILED || w.regs == MAP_FAILED) {
		fmt(err, errlen, "%s: cannot map scratch memory for the writer: %s", path,
		    errdesc(errno));
		goto out;
	}
	struct wscratch *s = w.s;
	if (split_paths(s, path, err, errlen))
		goto out;
	w.pmfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (w.pmfd < 0) {
		fmt(err, errlen, "%s: cannot open /proc/self/pagemap: %s", path, errdesc(errno));
		goto out;
	}
	/* O_TRUNC: a stale .tmp of a crashed checkpoint may exist */
	w.fd = open(s->tmppath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w.fd < 0) {
		fmt(err, errlen, "cannot create %s: %s", s->tmppath, errdesc(errno));
		goto out;
	}
	w.off = w.synced = SC_PAGE_SIZE;
	for (size_t i = 0; i < n_regions; i++)
		if (write_region(&w, i, &regions[i], live_sp))
			goto out;
	if (w.nruns > SC_IMAGE_MAX_RUNS) {
		fmt(err, errlen, "%s: %llu runs of pages (at most %u supported)", path,
		    (unsigned long long)w.nruns, SC_IMAGE_MAX_RUNS);
		goto out;
	}

	/* tables and trailer, contiguous after the page data */
	struct sc_image_header *h = &s->hdr;
	struct sc_image_trailer tr;
	memcpy(tr.magic, SC_IMAGE_TRAILER_MAGIC, 8);
	h->regions_off = w.off;
	h->runs_off = h->regions_off + regs_bytes;
	h->threads_off = h->runs_off + w.nruns * sizeof *w.runs;
	h->trailer_off = h->threads_off + n_threads * sizeof *threads;
	h->file_size = tr.file_size = h->trailer_off + sizeof tr;
	struct iovec tiov[4] = {{w.regs, regs_bytes},
				{w.runs, w.nruns * sizeof *w.runs},
				{(void *)threads, n_threads * sizeof *threads},
				{&tr, sizeof tr}};
	XXH3_64bits_reset(&s->ts);
	for (int i = 0; i < 3; i++)
		XXH3_64bits_update(&s->ts, tiov[i].iov_base, tiov[i].iov_len);
	if (pwritev_all(w.fd, tiov, 4, h->regions_off)) {
		fmt(err, errlen, "%s: writing the tables: %s", s->tmppath, errdesc(errno));
		goto out;
	}

	/* the header last, so that an interrupted write never shows a valid magic */
	memcpy(h->magic, SC_IMAGE_MAGIC, 8);
	h->version = SC_IMAGE_VERSION;
	h->header_size = sizeof *h;
	h->arch = SC_IMAGE_ARCH_X86_64;
	h->created_ns = now_ns(CLOCK_REALTIME);
	h->generation = info ? info->generation : 0;
	h->rank = info ? info->rank : 0;
	h->nranks = info && info->nranks ? info->nranks : 1;
	h->pid = (uint32_t)getpid();
	h->n_regions = (uint32_t)n_regions;
	h->n_threads = (uint32_t)n_threads;
	h->n_runs_total = (uint32_t)w.nruns;
	h->data_bytes = w.off - SC_PAGE_SIZE;
	h->vdso_start = info ? info->vdso_start : 0;
	h->vdso_end = info ? info->vdso_end : 0;
	h->tables_checksum = XXH3_64bits_digest(&s->ts);
	copy_str(h->program, sizeof h->program, info ? info->program : NULL);
	copy_str(h->hostname, sizeof h->hostname, info ? info->hostname : NULL);
	copy_str(h->cmdline, sizeof h->cmdline, info ? info->cmdline : NULL);
	h->header_checksum = XXH3_64bits(h, offsetof(struct sc_image_header, header_checksum));
	struct iovec hiov = {h, sizeof *h};
	if (pwritev_all(w.fd, &hiov, 1, 0)) {
		fmt(err, errlen, "%s: writing the header: %s", s->tmppath, errdesc(errno));
		goto out;
	}
	if (fdatasync(w.fd)) {
		fmt(err, errlen, "%s: fdatasync: %s", s->tmppath, errdesc(errno));
		goto out;
	}
	int fd = w.fd;
	w.fd = -1;
	if (close(fd)) { /* NFS reports write errors at close */
		fmt(err, errlen, "%s: close: %s", s->tmppath, errdesc(errno));
		unlink(s->tmppath);
		goto out;
	}
	if (rename(s->tmppath, path)) {
		fmt(err, errlen, "cannot rename %s to %s: %s", s->tmppath, path, errdesc(errno));
		unlink(s->tmppath);
		goto out;
	}
	/* the rename is durable only once the directory is */
	int dfd = open(s->dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd)) {
		fmt(err, errlen, "%s: fsync of directory %s: %s", path, s->dirpath, errdesc(errno));
		if (dfd >= 0)
			close(dfd);
		goto out;
	}
	close(dfd);
	if (stats) {
		stats->bytes_written = h->file_size;
		stats->data_bytes = h->data_bytes;
		stats->pages_saved = w.pages_saved;
		stats->pages_skipped = w.pages_skipped;
		stats->nanos = now_ns(CLOCK_MONOTONIC) - t0;
	}
	ret = 0;
out:
	if (w.s != MAP_FAILED && w.prot_raised) {
		/* an error in the middle of a raised region: keep err, restore anyway */
		char keep[1];
		w.err = keep;
		w.errlen = sizeof keep;
		restore_prot(&w);
	}
	if (w.fd >= 0) {
		close(w.fd);
		unlink(w.s->tmppath);
	}
	if (w.pmfd >= 0)
		close(w.pmfd);
	if (w.runs != MAP_FAILED)
		munmap(w.runs, w.runs_cap * sizeof *w.runs);
	if (w.regs != MAP_FAILED)
		munmap(w.regs, regs_bytes ? regs_bytes : 1);
	if (w.s != MAP_FAILED)
		munmap(w.s, sizeof *w.s);
	return ret;
}
