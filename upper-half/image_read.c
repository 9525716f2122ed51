/* The checkpoint image reader (sc_image_open/read_region/verify/close, image.h). It runs in a
 * fresh lower half at restart and in `splitckpt inspect`, where malloc and stdio are fine, and
 * treats every byte of the file as untrusted: each count, offset and size is checked against
 * the file size and for overflow before use, and every failure names the file and the field. */
#define _GNU_SOURCE
#include "config.h"

#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL /* header-only: static functions, no runtime dependency, no clash */
#include <xxhash.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

#define RCHUNK (8UL << 20)	 /* bytes per pread of page data */
#define USER_VA_END (1ULL << 56) /* above any x86_64 user address (5-level paging) */
#define KNOWN_REGION_FLAGS 0x3fu /* enum sc_region_flags */
#define KNOWN_THREAD_FLAGS 0x1u	 /* enum sc_thread_flags */

__attribute__((format(printf, 4, 5))) static int fail(const char *path, char *err, size_t errlen,
						      const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (errlen)
		snprintf(err, errlen, "%s: %s", path, msg);
	return -1;
}

/* pread until n bytes or end of file; returns the bytes read or -1 (errno). */
static ssize_t pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* "\x7fELF\x02..." style rendering of 8 untrusted bytes */
static void show8(const char *p, char *out, size_t outlen)
{
	size_t n = 0;
	for (int i = 0; i < 8 && n + 5 < outlen; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			out[n++] = (char)c;
		else
			n += (size_t)snprintf(out + n, outlen - n, "\\x%02x", c);
	}
	out[n] = '\0';
}

static int check_magic(const char *path, const char *buf, size_t got, char *err, size_t errlen)
{
	if (got < 8)
		return fail(path, err, errlen,
			    "not a splitckpt checkpoint image: only %zu bytes (an image starts "
			    "with a 4096-byte header)",
			    got);
	if (memcmp(buf, SC_IMAGE_MAGIC, 8) == 0)
		return 0;
	char shown[48];
	show8(buf, shown, sizeof shown);
	const char *what = "";
	if (memcmp(buf,
		   "\x7f"
		   "ELF",
		   4) == 0)
		what = " (it is an ELF file)";
	else if (memcmp(buf, "SCKP", 4) == 0)
		what = " (another splitckpt file format or a newer image)";
	return fail(path, err, errlen,
		    "not a splitckpt checkpoint image: bad magic \"%s\", expected \"%s\"%s", shown,
		    SC_IMAGE_MAGIC, what);
}

static int str_terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

/* Header fields that do not need the tables. */
static int check_header(const char *path, const struct sc_image_header *h, uint64_t size, char *err,
			size_t errlen)
{
	if (h->version != SC_IMAGE_VERSION)
		return fail(path, err, errlen,
			    "unsupported image version %u (this splitckpt reads version %u)",
			    h->version, SC_IMAGE_VERSION);
	if (h->header_size != sizeof *h)
		return fail(path, err, errlen, "header_size is %u, expected %zu", h->header_size,
			    sizeof *h);
	uint64_t sum = XXH3_64bits(h, offsetof(struct sc_image_header, header_checksum));
	if (sum != h->header_checksum)
		return fail(path, err, errlen,
			    "header checksum mismatch (stored %016llx, computed %016llx): the "
			    "header is corrupt",
			    (unsigned long long)h->header_checksum, (unsigned long long)sum);
	if (h->arch != SC_IMAGE_ARCH_X86_64)
		return fail(path, err, errlen, "image is for ELF machine %u, not x86_64 (%u)",
			    h->arch, SC_IMAGE_ARCH_X86_64);
	if (h->flags)
		return fail(path, err, errlen, "unknown header flags 0x%x", h->flags);
	if (size < sizeof *h || h->file_size != size)
		return fail(path, err, errlen,
			    size < h->file_size
				? "truncated: the file has %llu bytes, its header says %llu"
				: "the file has %llu bytes but its header says %llu (trailing "
				  "data)",
			    (unsigned long long)size, (unsigned long long)h->file_size);
	if (!str_terminated(h->program, sizeof h->program) ||
	    !str_terminated(h->hostname, sizeof h->hostname) ||
	    !str_terminated(h->cmdline, sizeof h->cmdline) ||
	    !str_terminated(h->mpi, sizeof h->mpi))
		return fail(path, err, errlen,
			    "program, hostname, cmdline or MPI name not NUL-terminated");
	if (h->nranks == 0 || h->rank >= h->nranks)
		return fail(path, err, errlen, "rank %u of %u is impossible", h->rank, h->nranks);
	if (h->n_regions > SC_IMAGE_MAX_REGIONS)
		return fail(path, err, errlen, "n_regions %u exceeds the maximum %u", h->n_regions,
			    SC_IMAGE_MAX_REGIONS);
	if (h->n_runs_total > SC_IMAGE_MAX_RUNS)
		return fail(path, err, errlen, "n_runs_total %u exceeds the maximum %u",
			    h->n_runs_total, SC_IMAGE_MAX_RUNS);
	if (h->n_threads == 0 || h->n_threads > SC_IMAGE_MAX_THREADS)
		return fail(path, err, errlen, "n_threads %u is not between 1 and %u", h->n_threads,
			    SC_IMAGE_MAX_THREADS);
	if (h->vdso_start > h->vdso_end)
		return fail(path, err, errlen, "vdso range [0x%llx-0x%llx) is reversed",
			    (unsigned long long)h->vdso_start, (unsigned long long)h->vdso_end);

	/* Layout: header, data, regions, runs, threads, trailer, contiguous. The counts are
	 * bounded above, so the products below cannot overflow; the offsets are compared
	 * against the file size before any sum with them. */
	if (h->data_bytes % SC_PAGE_SIZE || h->data_bytes > size - sizeof *h)
		return fail(path, err, errlen,
			    "data_bytes %llu is not a page multiple or does not fit in the file "
			    "(%llu bytes)",
			    (unsigned long long)h->data_bytes, (unsigned long long)size);
	uint64_t want = sizeof *h + h->data_bytes;
	const struct {
		const char *name;
		uint64_t off, next;
	} tab[] = {
	    {"region table", h->regions_off,
	     (uint64_t)h->n_regions * sizeof(struct sc_image_region)},
	    {"run table", h->runs_off, (uint64_t)h->n_runs_total * sizeof(struct sc_image_run)},
	    {"thread table", h->threads_off,
	     (uint64_t)h->n_threads * sizeof(struct sc_image_thread)},
	    {"trailer", h->trailer_off, sizeof(struct sc_image_trailer)},
	};
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
		if (tab[i].next > size || tab[i].off > size - tab[i].next)
			return fail(path, err, errlen,
				    "%s [%llu, +%llu) lies outside the file (%llu bytes)",
				    tab[i].name, (unsigned long long)tab[i].off,
				    (unsigned long long)tab[i].next, (unsigned long long)size);
		if (tab[i].off != want)
			return fail(path, err, errlen,
				    "%s offset %llu is wrong (expected %llu from the counts and "
				    "data size)",
				    tab[i].name, (unsigned long long)tab[i].off,
				    (unsigned long long)want);
		want += tab[i].next;
	}
	if (want != size)
		return fail(path, err, errlen, "tables end at %llu but the file has %llu bytes",
			    (unsigned long long)want, (unsigned long long)size);
	return 0;
}

static int check_regions(const char *path, const struct sc_image_header *h,
			 const struct sc_image_region *regs, const struct sc_image_run *runs,
			 char *err, size_t errlen)
{
	uint64_t data_off = sizeof *h, run_idx = 0;
	for (uint32_t i = 0; i < h->n_regions; i++) {
		const struct sc_image_region *r = &regs[i];
		unsigned long long s = r->start, e = r->end;
		if (s % SC_PAGE_SIZE || e % SC_PAGE_SIZE || s >= e || e > USER_VA_END)
			return fail(path, err, errlen,
				    "region %u [0x%llx-0x%llx) is empty, not page aligned or "
				    "beyond user space",
				    i, s, e);
		if (i && s < regs[i - 1].end)
			return fail(path, err, errlen,
				    "region %u [0x%llx-0x%llx) overlaps or precedes region %u "
				    "[0x%llx-0x%llx)",
				    i, s, e, i - 1, (unsigned long long)regs[i - 1].start,
				    (unsigned long long)regs[i - 1].end);
		if (r->prot & ~(uint32_t)(PROT_READ | PROT_WRITE | PROT_EXEC))
			return fail(path, err, errlen, "region %u [0x%llx-0x%llx): bad prot 0x%x",
				    i, s, e, r->prot);
		if (r->flags & ~KNOWN_REGION_FLAGS)
			return fail(path, err, errlen,
				    "region %u [0x%llx-0x%llx): unknown flags 0x%x", i, s, e,
				    r->flags);
		if (!str_terminated(r->name, sizeof r->name))
			return fail(path, err, errlen,
				    "region %u [0x%llx-0x%llx): name not NUL-terminated", i, s, e);
		uint64_t npages = (e - s) / SC_PAGE_SIZE;
		if (r->data_off != data_off)
			return fail(path, err, errlen,
				    "region %u [0x%llx-0x%llx): data offset %llu, expected %llu", i,
				    s, e, (unsigned long long)r->data_off,
				    (unsigned long long)data_off);
		if (r->data_pages > npages ||
		    r->data_pages > (h->regions_off - data_off) / SC_PAGE_SIZE)
			return fail(path, err, errlen,
				    "region %u [0x%llx-0x%llx): %llu saved pages do not fit in "
				    "the region or the file's data",
				    i, s, e, (unsigned long long)r->data_pages);
		if ((r->flags & SC_REGION_NODATA) && (r->data_pages || r->n_runs))
			return fail(path, err, errlen,
				    "region %u [0x%llx-0x%llx) is NODATA but has saved pages", i, s,
				    e);
		if (r->first_run != run_idx || r->n_runs > h->n_runs_total - run_idx)
			return fail(path, err, errlen,
				    "region %u [0x%llx-0x%llx): runs [%llu, +%llu) are not the "
				    "next ones of the %u in the run table",
				    i, s, e, (unsigned long long)r->first_run,
				    (unsigned long long)r->n_runs, h->n_runs_total);
		uint64_t next = 0, pages = 0;
		for (uint64_t k = 0; k < r->n_runs; k++) {
			const struct sc_image_run *u = &runs[run_idx + k];
			if (u->npages == 0 || u->first_page < next || u->first_page >= npages ||
			    u->npages > npages - u->first_page)
				return fail(path, err, errlen,
					    "region %u [0x%llx-0x%llx) (%llu pages): run %llu "
					    "(pages %llu, +%llu) is empty, out of order or outside "
					    "the region",
					    i, s, e, (unsigned long long)npages,
					    (unsigned long long)k,
					    (unsigned long long)u->first_page,
					    (unsigned long long)u->npages);
			next = u->first_page + u->npages;
			pages += u->npages;
		}
		if (pages != r->data_pages)
			return fail(path, err, errlen,
				    "region %u [0x%llx-0x%llx): runs hold %llu pages, region says "
				    "%llu",
				    i, s, e, (unsigned long long)pages,
				    (unsigned long long)r->data_pages);
		run_idx += r->n_runs;
		data_off += r->data_pages * SC_PAGE_SIZE;
	}
	if (run_idx != h->n_runs_total)
		return fail(path, err, errlen, "regions use %llu runs, header says %u",
			    (unsigned long long)run_idx, h->n_runs_total);
	if (data_off != h->regions_off)
		return fail(path, err, errlen, "regions hold %llu data bytes, header says %llu",
			    (unsigned long long)(data_off - sizeof *h),
			    (unsigned long long)h->data_bytes);
	return 0;
}

static int check_threads(const char *path, const struct sc_image_header *h,
			 const struct sc_image_thread *t, char *err, size_t errlen)
{
	uint32_t nckpt = 0;
	for (uint32_t i = 0; i < h->n_threads; i++) {
		if (t[i].tid == 0)
			return fail(path, err, errlen, "thread %u has tid 0", i);
		if (t[i].flags & ~KNOWN_THREAD_FLAGS)
			return fail(path, err, errlen, "thread %u (tid %u): unknown flags 0x%x", i,
				    t[i].tid, t[i].flags);
		if (t[i].ctx.rip == 0 || t[i].ctx.rsp == 0)
			return fail(path, err, errlen, "thread %u (tid %u): no resume context", i,
				    t[i].tid);
		nckpt += (t[i].flags & SC_THREAD_CKPT) != 0;
	}
	if (nckpt != 1)
		return fail(path, err, errlen,
			    "%u threads are flagged as the checkpoint thread, expected exactly 1",
			    nckpt);
	return 0;
}

int sc_image_open(const char *path, struct sc_image *img, char *err, size_t errlen)
{
	struct sc_image_header *h = &img->hdr;
	struct stat st;
	memset(img, 0, sizeof *img);
	img->fd = -1;
	snprintf(img->path, sizeof img->path, "%s", path);

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(path, err, errlen, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fail(path, err, errlen, "not a regular file");
		goto bad;
	}
	uint64_t size = (uint64_t)st.st_size;
	ssize_t got = pread_full(fd, h, sizeof *h, 0);
	if (got < 0) {
		fail(path, err, errlen, "reading the header: %s", strerror(errno));
		goto bad;
	}
	if (check_magic(path, h->magic, (size_t)got, err, errlen))
		goto bad;
	if ((size_t)got < sizeof *h) {
		fail(path, err, errlen, "truncated: %zd bytes, the header alone is %zu", got,
		     sizeof *h);
		goto bad;
	}
	if (check_header(path, h, size, err, errlen))
		goto bad;

	struct sc_image_trailer tr;
	if (pread_full(fd, &tr, sizeof tr, h->trailer_off) != (ssize_t)sizeof tr ||
	    memcmp(tr.magic, SC_IMAGE_TRAILER_MAGIC, 8) || tr.file_size != size) {
		fail(path, err, errlen, "bad trailer at offset %llu (incomplete or damaged image)",
		     (unsigned long long)h->trailer_off);
		goto bad;
	}

	/* the three tables in one allocation (img->regions owns it; see sc_image_close) */
	size_t tlen = (size_t)(h->trailer_off - h->regions_off);
	char *tables = malloc(tlen ? tlen : 1);
	if (!tables) {
		fail(path, err, errlen, "cannot allocate %zu bytes for the tables", tlen);
		goto bad;
	}
	img->regions = (struct sc_image_region *)tables;
	img->runs = (struct sc_image_run *)(tables + (h->runs_off - h->regions_off));
	img->threads = (struct sc_image_thread *)(tables + (h->threads_off - h->regions_off));
	if (pread_full(fd, tables, tlen, h->regions_off) != (ssize_t)tlen) {
		fail(path, err, errlen, "cannot read the tables: %s",
		     errno ? strerror(errno) : "short read");
		goto bad;
	}
	uint64_t sum = XXH3_64bits(tables, tlen);
	if (sum != h->tables_checksum) {
		fail(path, err, errlen,
		     "table checksum mismatch (stored %016llx, computed %016llx): the region, run "
		     "or thread table is corrupt",
		     (unsigned long long)h->tables_checksum, (unsigned long long)sum);
		goto bad;
	}
	if (check_regions(path, h, img->regions, img->runs, err, errlen) ||
	    check_threads(path, h, img->threads, err, errlen))
		goto bad;
	img->fd = fd;
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* a larger readahead window */
	return 0;
bad:
	free(img->regions);
	img->regions = NULL;
	img->runs = NULL;
	img->threads = NULL;
	close(fd);
	return -1;
}

static int region_arg(struct sc_image *img, size_t i, char *err, size_t errlen)
{
	if (img->fd < 0 || !img->regions)
		return fail(img->path, err, errlen, "image is not open");
	if (i >= img->hdr.n_regions)
		return fail(img->path, err, errlen, "no region %zu (the image has %u)", i,
			    img->hdr.n_regions);
	return 0;
}

static int bad_sum(struct sc_image *img, size_t i, uint64_t sum, char *err, size_t errlen)
{
	const struct sc_image_region *r = &img->regions[i];
	return fail(img->path, err, errlen,
		    "region %zu [0x%llx-0x%llx) %s: data checksum mismatch (stored %016llx, "
		    "computed %016llx): the page data is corrupt",
		    i, (unsigned long long)r->start, (unsigned long long)r->end,
		    r->name[0] ? r->name : "(anonymous)", (unsigned long long)r->checksum,
		    (unsigned long long)sum);
}

static int short_data(struct sc_image *img, size_t i, uint64_t off, char *err, size_t errlen)
{
	return fail(img->path, err, errlen, "region %zu: cannot read page data at offset %llu: %s",
		    i, (unsigned long long)off, errno ? strerror(errno) : "unexpected end of file");
}

/* Drops page data already consumed from the page cache. At restart the image is read once and
 * its cached copy would double the memory the restore touches; recycling those pages for the
 * readahead that follows halved the restore time in the measurements (bench/README.md). */
static void drop_behind(int fd, uint64_t off, size_t n)
{
	posix_fadvise(fd, (off_t)off, (off_t)n, POSIX_FADV_DONTNEED);
}

/* The restart speed path: data goes straight from the file into its final place, RCHUNK at a
 * time. Each chunk of the destination is populated (MADV_POPULATE_WRITE) just before its
 * pread: one batched allocation instead of a page fault per 4 KiB inside copy_to_user, done
 * while the kernel's sequential readahead already fetches the next chunk from the disk.
 * Measured (bench/README.md): 15% faster than no populate; populating the whole region up
 * front is slower because nothing overlaps it. */
int sc_image_read_region(struct sc_image *img, size_t i, void *dest, char *err, size_t errlen)
{
	if (region_arg(img, i, err, errlen))
		return -1;
	const struct sc_image_region *r = &img->regions[i];
	XXH3_state_t st;
	XXH3_64bits_reset(&st);
	uint64_t off = r->data_off;
	for (uint64_t k = 0; k < r->n_runs; k++) {
		const struct sc_image_run *u = &img->runs[r->first_run + k];
		char *dst = (char *)dest + u->first_page * SC_PAGE_SIZE;
		uint64_t len = u->npages * SC_PAGE_SIZE;
		for (uint64_t x = 0; x < len;) {
			size_t n = len - x < RCHUNK ? (size_t)(len - x) : RCHUNK;
			/* only a hint (EINVAL before Linux 5.14): pread faults pages in anyway */
			madvise(dst + x, n, MADV_POPULATE_WRITE);
			errno = 0;
			ssize_t got = pread_full(img->fd, dst + x, n, off + x);
			if (got != (ssize_t)n) {
				if (errno == EFAULT)
					return fail(img->path, err, errlen,
						    "region %zu: destination %p is not writable "
						    "memory",
						    i, (void *)(dst + x));
				return short_data(img, i, off + x, err, errlen);
			}
			XXH3_64bits_update(&st, dst + x, n);
			drop_behind(img->fd, off + x, n);
			x += n;
		}
		off += len;
	}
	uint64_t sum = XXH3_64bits_digest(&st);
	if (sum != r->checksum)
		return bad_sum(img, i, sum, err, errlen);
	return 0;
}

int sc_image_verify(struct sc_image *img, char *err, size_t errlen)
{
	if (img->fd < 0 || !img->regions)
		return fail(img->path, err, errlen, "image is not open");
	char *buf = malloc(RCHUNK);
	if (!buf)
		return fail(img->path, err, errlen, "cannot allocate a read buffer");
	XXH3_state_t st;
	int ret = 0;
	for (size_t i = 0; i < img->hdr.n_regions && !ret; i++) {
		const struct sc_image_region *r = &img->regions[i];
		uint64_t len = r->data_pages * SC_PAGE_SIZE;
		XXH3_64bits_reset(&st);
		for (uint64_t x = 0; x < len;) {
			size_t n = len - x < RCHUNK ? (size_t)(len - x) : RCHUNK;
			errno = 0;
			if (pread_full(img->fd, buf, n, r->data_off + x) != (ssize_t)n) {
				ret = short_data(img, i, r->data_off + x, err, errlen);
				break;
			}
			XXH3_64bits_update(&st, buf, n);
			drop_behind(img->fd, r->data_off + x, n);
			x += n;
		}
		uint64_t sum = XXH3_64bits_digest(&st);
		if (!ret && sum != r->checksum)
			ret = bad_sum(img, i, sum, err, errlen);
	}
	free(buf);
	return ret;
}

void sc_image_close(struct sc_image *img)
{
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
	free(img->regions); /* the one allocation holding all three tables */
	img->regions = NULL;
	img->runs = NULL;
	img->threads = NULL;
}
