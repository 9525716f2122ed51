/* The checkpoint image writer's output (sc_image_write, image.h): argument checks, the
 * CHUNK/WINDOW pipeline page data streams through, the tables, the header and the durable
 * rename; image_scan.c decides which pages go in. It runs in the checkpoint thread while every
 * other thread is suspended, possibly holding libc locks: no malloc, no stdio, no locks. */
#define _GNU_SOURCE
#include "config.h"

#include "image_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h> /* rename(2) only: no stdio stream is used */
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Tuning (measured with bench/image_throughput, see bench/README.md):
 * CHUNK: bytes handed to one pwritev; each chunk is hashed right after the kernel copied it to
 *   the page cache, so it is still warm in the CPU cache.
 * WINDOW: bytes allowed under writeback before we wait for the oldest ones; the disk works on
 *   them while we copy and hash the next chunks, and the page cache never holds more dirty
 *   checkpoint data than this (a plain write + fdatasync lets GiBs pile up and then stalls). */
#define CHUNK (4UL << 20)
#define WINDOW (64UL << 20)

/* Formats %s and %u/%x with optional l, ll or z (snprintf is stdio: it may lock or malloc). */
__attribute__((format(printf, 3, 4))) void sc_imgw_fmt(char *b, size_t cap, const char *f, ...)
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

const char *sc_imgw_errdesc(int e)
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

void sc_imgw_copy_str(char *dst, size_t cap, const char *src)
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

/* The first page of the pending iovecs that cannot be read (EFAULT from pwritev), 0 if none.
 * The bounce buffer is scratch for the probe: the pending data is lost anyway. */
static uint64_t first_unreadable(struct writer *w)
{
	struct wscratch *s = w->s;
	for (int i = 0; i < w->niov; i++)
		for (size_t o = 0; o < s->iov[i].iov_len; o += SC_PAGE_SIZE) {
			uint64_t page = (uint64_t)(uintptr_t)s->iov[i].iov_base + o;
			if (sc_imgw_page_readable(page, s->bounce) != 1)
				return page;
		}
	return 0;
}

/* Writes the pending iovecs at w->off, starts their writeback, hashes them while the disk
 * works, and waits for data older than WINDOW so that little dirty data ever accumulates. */
int sc_imgw_flush(struct writer *w)
{
	struct wscratch *s = w->s;
	if (!w->niov)
		return 0;
	if (pwritev_all(w->fd, s->iov, w->niov, w->off)) {
		int e = errno;
		uint64_t bad = e == EFAULT ? first_unreadable(w) : 0;
		if (bad) /* a page the maps call readable whose memory is not there */
			sc_imgw_fmt(
			    w->err, w->errlen,
			    "%s: writing page data at offset %llu: the page at 0x%llx cannot "
			    "be read",
			    s->tmppath, (unsigned long long)w->off, (unsigned long long)bad);
		else
			sc_imgw_fmt(w->err, w->errlen, "%s: writing page data at offset %llu: %s",
				    s->tmppath, (unsigned long long)w->off, sc_imgw_errdesc(e));
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
int sc_imgw_add_data(struct writer *w, uint64_t addr, uint64_t len, int via_bounce)
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
			if (sc_imgw_flush(w))
				return -1;
	}
	return 0;
}

/* Checks what the reader would refuse, before any file is created. */
static int check_args(const char *path, const struct sc_region_desc *regions, size_t n_regions,
		      const struct sc_image_thread *threads, size_t n_threads, char *err,
		      size_t errlen)
{
	if (n_regions > SC_IMAGE_MAX_REGIONS) {
		sc_imgw_fmt(err, errlen, "%s: %zu regions (at most %u supported)", path, n_regions,
			    SC_IMAGE_MAX_REGIONS);
		return -1;
	}
	if (n_threads < 1 || n_threads > SC_IMAGE_MAX_THREADS) {
		sc_imgw_fmt(err, errlen, "%s: %zu threads (between 1 and %u supported)", path,
			    n_threads, SC_IMAGE_MAX_THREADS);
		return -1;
	}
	size_t nckpt = 0;
	for (size_t i = 0; i < n_threads; i++) {
		const struct sc_image_thread *t = &threads[i];
		if (!t->tid || (t->flags & ~(uint32_t)SC_THREAD_CKPT) || !t->ctx.rip ||
		    !t->ctx.rsp) {
			sc_imgw_fmt(err, errlen,
				    "%s: thread %zu (tid %u) has no tid, unknown flags or no "
				    "resume context (rip/rsp 0)",
				    path, i, t->tid);
			return -1;
		}
		nckpt += (t->flags & SC_THREAD_CKPT) != 0;
	}
	if (nckpt != 1) {
		sc_imgw_fmt(err, errlen,
			    "%s: %zu threads flagged SC_THREAD_CKPT (need exactly one)", path,
			    nckpt);
		return -1;
	}
	for (size_t i = 0; i < n_regions; i++) {
		const struct sc_region_desc *d = &regions[i];
		if (d->start % SC_PAGE_SIZE || d->end % SC_PAGE_SIZE || d->start >= d->end ||
		    (i && d->start < regions[i - 1].end)) {
			sc_imgw_fmt(
			    err, errlen,
			    "%s: region %zu [0x%lx-0x%lx) is empty, not page aligned or not after "
			    "the previous one (regions must be sorted and disjoint)",
			    path, i, (unsigned long)d->start, (unsigned long)d->end);
			return -1;
		}
		if (d->flags & SC_REGION_SHARED) {
			sc_imgw_fmt(err, errlen,
				    "%s: region %zu [0x%lx-0x%lx) %s is MAP_SHARED (not supported)",
				    path, i, (unsigned long)d->start, (unsigned long)d->end,
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
		sc_imgw_fmt(err, errlen, "%s: image path empty or too long", path);
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
		sc_imgw_fmt(err, errlen, "%s: rank %u of %u ranks", path, info->rank, info->nranks);
		return -1;
	}
	w.s = mmap(NULL, sizeof *w.s, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w.runs_cap = 65536;
	w.runs = mmap(NULL, w.runs_cap * sizeof *w.runs, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w.regs = mmap(NULL, regs_bytes ? regs_bytes : 1, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w.s == MAP_FAILED || w.runs == MAP_FAILED || w.regs == MAP_FAILED) {
		sc_imgw_fmt(err, errlen, "%s: cannot map scratch memory for the writer: %s", path,
			    sc_imgw_errdesc(errno));
		goto out;
	}
	struct wscratch *s = w.s;
	if (split_paths(s, path, err, errlen))
		goto out;
	w.pmfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (w.pmfd < 0) {
		sc_imgw_fmt(err, errlen, "%s: cannot open /proc/self/pagemap: %s", path,
			    sc_imgw_errdesc(errno));
		goto out;
	}
	/* O_TRUNC: a stale .tmp of a crashed checkpoint may exist */
	w.fd = open(s->tmppath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w.fd < 0) {
		sc_imgw_fmt(err, errlen, "cannot create %s: %s", s->tmppath,
			    sc_imgw_errdesc(errno));
		goto out;
	}
	w.off = w.synced = SC_PAGE_SIZE;
	for (size_t i = 0; i < n_regions; i++)
		if (sc_imgw_write_region(&w, i, &regions[i], live_sp))
			goto out;
	if (w.nruns > SC_IMAGE_MAX_RUNS) {
		sc_imgw_fmt(err, errlen, "%s: %llu runs of pages (at most %u supported)", path,
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
		sc_imgw_fmt(err, errlen, "%s: writing the tables: %s", s->tmppath,
			    sc_imgw_errdesc(errno));
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
	sc_imgw_copy_str(h->program, sizeof h->program, info ? info->program : NULL);
	sc_imgw_copy_str(h->hostname, sizeof h->hostname, info ? info->hostname : NULL);
	sc_imgw_copy_str(h->mpi, sizeof h->mpi, info ? info->mpi : NULL);
	sc_imgw_copy_str(h->cmdline, sizeof h->cmdline, info ? info->cmdline : NULL);
	h->header_checksum = XXH3_64bits(h, offsetof(struct sc_image_header, header_checksum));
	struct iovec hiov = {h, sizeof *h};
	if (pwritev_all(w.fd, &hiov, 1, 0)) {
		sc_imgw_fmt(err, errlen, "%s: writing the header: %s", s->tmppath,
			    sc_imgw_errdesc(errno));
		goto out;
	}
	if (fdatasync(w.fd)) {
		sc_imgw_fmt(err, errlen, "%s: fdatasync: %s", s->tmppath, sc_imgw_errdesc(errno));
		goto out;
	}
	int fd = w.fd;
	w.fd = -1;
	if (close(fd)) { /* NFS reports write errors at close */
		sc_imgw_fmt(err, errlen, "%s: close: %s", s->tmppath, sc_imgw_errdesc(errno));
		unlink(s->tmppath);
		goto out;
	}
	if (rename(s->tmppath, path)) {
		sc_imgw_fmt(err, errlen, "cannot rename %s to %s: %s", s->tmppath, path,
			    sc_imgw_errdesc(errno));
		unlink(s->tmppath);
		goto out;
	}
	/* the rename is durable only once the directory is */
	int dfd = open(s->dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd)) {
		sc_imgw_fmt(err, errlen, "%s: fsync of directory %s: %s", path, s->dirpath,
			    sc_imgw_errdesc(errno));
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
		sc_imgw_restore_prot(&w);
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
