/* Private to the image writer, shared by its two halves: image_scan.c (which pages of a region
 * are saved, the run table) and image_write.c (page data output, tables, header, file). Holds
 * their common state and the functions each provides the other; not part of libscimage's
 * interface, and like the rest of the writer free of malloc, stdio and locks. */
#ifndef SPLITCKPT_IMAGE_WRITER_H
#define SPLITCKPT_IMAGE_WRITER_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "image.h"

#define XXH_INLINE_ALL /* header-only: static functions, no runtime dependency, no clash */
#include <xxhash.h>

#define PM_ENTRIES 65536 /* pagemap entries read per pread: 512 KiB covering 256 MiB */
#define NIOV 1024	 /* IOV_MAX */
#define BOUNCE (1UL << 20)

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

/* Hidden: libsplitckpt.so, preloaded into every upper half, exports none of these. */
#pragma GCC visibility push(hidden)

/* ---- image_write.c ------------------------------------------------------------------------ */
/* A lock-free subset of snprintf for the error messages: %s, %u and %x (l, ll, z). */
__attribute__((format(printf, 3, 4))) void sc_imgw_fmt(char *b, size_t cap, const char *f, ...);
/* The description of errno value e, without strerror's locale machinery. */
const char *sc_imgw_errdesc(int e);
/* Copies src (NULL: empty) into dst, truncated to cap - 1 bytes and NUL terminated. */
void sc_imgw_copy_str(char *dst, size_t cap, const char *src);
/* Queues page data for output, flushing full chunks; via_bounce for the live stack. */
int sc_imgw_add_data(struct writer *w, uint64_t addr, uint64_t len, int via_bounce);
/* Writes the queued page data at w->off and adds it to the region checksum w->s->rs. */
int sc_imgw_flush(struct writer *w);

/* ---- image_scan.c ------------------------------------------------------------------------- */
/* Saves region idx: fills w->regs[idx], appends its runs and writes their data at w->off. */
int sc_imgw_write_region(struct writer *w, size_t idx, const struct sc_region_desc *d,
			 uint64_t live_sp);
/* Puts back the protection of a region made readable for the copy, if any. */
int sc_imgw_restore_prot(struct writer *w);
/* 1 if the page at addr can be read, 0 if it is mapped but faults (a file mapping past the
 * file's end, no read permission), -1 if nothing is mapped there. */
int sc_imgw_page_readable(uint64_t addr, void *buf);

#pragma GCC visibility pop

#endif
