/* The checkpoint image format: one file per rank per generation holding the upper half's
 * memory regions (only pages ever touched), its threads' resume contexts and a description of
 * the process. The writer runs in the checkpoint thread while every other upper-half thread is
 * suspended; the reader runs in a fresh lower half and treats every byte as untrusted. */
#ifndef SPLITCKPT_IMAGE_H
#define SPLITCKPT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "../lower-half/lh_abi.h"

#define SC_IMAGE_MAGIC "SCKPIMG1" /* 8 bytes, no NUL stored */
#define SC_IMAGE_VERSION 1
#define SC_PAGE_SIZE 4096UL
#define SC_IMAGE_ARCH_X86_64 62		  /* EM_X86_64 */
#define SC_IMAGE_TRAILER_MAGIC "SCKPEND1" /* 8 bytes, no NUL stored */
/* Sanity maxima: the writer refuses more, the reader rejects images claiming more. */
#define SC_IMAGE_MAX_REGIONS (1u << 20) /* vm.max_map_count is 65530 by default */
#define SC_IMAGE_MAX_THREADS (1u << 16)
#define SC_IMAGE_MAX_RUNS (1u << 28)

/* On-disk layout (all integers little-endian, structures naturally aligned, no padding holes):
 *   [header: 4096 bytes]
 *   [page data of region 0, runs in order][page data of region 1]...   (each page 4096 bytes,
 *                                          data of every region starts page aligned)
 *   [region table: n_regions x struct sc_image_region]
 *   [run table: all runs, region by region, struct sc_image_run]
 *   [thread table: n_threads x struct sc_image_thread]
 *   [trailer: struct sc_image_trailer]
 * The header is written last (pwrite at offset 0) so that a crash leaves no valid magic.
 * Checksums are XXH3-64 (seed 0). */

enum sc_region_flags {
	SC_REGION_ANON = 1u << 0,    /* anonymous private memory */
	SC_REGION_FILE = 1u << 1,    /* was a private file mapping (restored as anonymous copy) */
	SC_REGION_SHARED = 1u << 2,  /* MAP_SHARED (refused at checkpoint for now) */
	SC_REGION_STACK = 1u << 3,   /* a thread stack */
	SC_REGION_NODATA = 1u << 4,  /* contents not saved (PROT_NONE reservation, guard pages) */
	SC_REGION_OUTSIDE = 1u << 5, /* outside the arena (non-PIE executable) */
};

struct sc_image_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size; /* 4096 */
	uint32_t arch;	      /* SC_IMAGE_ARCH_X86_64 */
	uint32_t flags;
	uint64_t created_ns; /* CLOCK_REALTIME at checkpoint */
	uint64_t generation;
	uint32_t rank, nranks;
	uint32_t pid;
	uint32_t n_regions;
	uint32_t n_threads;
	uint32_t n_runs_total;
	uint64_t regions_off; /* file offset of the region table */
	uint64_t runs_off;    /* file offset of the run table */
	uint64_t threads_off; /* file offset of the thread table */
	uint64_t trailer_off;
	uint64_t file_size;  /* total bytes; must equal the file's size */
	uint64_t data_bytes; /* sum of saved page bytes */
	uint64_t vdso_start; /* [vvar..vdso] span at checkpoint */
	uint64_t vdso_end;
	uint64_t tables_checksum; /* XXH3 over region+run+thread tables as stored */
	char program[1024];	  /* path of the upper-half executable */
	char hostname[256];
	char cmdline[1024]; /* argv joined with spaces, truncated */
	char mpi[64];	    /* the MPI beneath ("MPICH 4.0.2"), "" for none (or an older image) */
	uint8_t reserved[4096 - 8 - 4 * 4 - 8 * 2 - 4 * 6 - 8 * 9 - 1024 - 256 - 1024 - 64 - 8];
	uint64_t header_checksum; /* XXH3 over the header's first 4088 bytes */
};

struct sc_image_region {
	uint64_t start, end;  /* page aligned, start < end */
	uint32_t prot;	      /* PROT_* at checkpoint */
	uint32_t flags;	      /* enum sc_region_flags */
	uint64_t file_offset; /* offset of a file mapping (information only) */
	uint64_t data_off;    /* file offset of the first saved page of this region */
	uint64_t data_pages;  /* number of saved pages */
	uint64_t first_run;   /* index in the run table */
	uint64_t n_runs;
	uint64_t checksum; /* XXH3 over the saved pages in run order */
	char name[256];	   /* path or [heap]/[stack]/"" */
};

struct sc_image_run {
	uint64_t first_page; /* page index relative to the region's start */
	uint64_t npages;
};

enum sc_thread_flags {
	SC_THREAD_CKPT = 1u << 0, /* the checkpoint thread: the lower half resumes it itself */
};

struct sc_image_thread {
	uint32_t tid; /* at checkpoint */
	uint32_t flags;
	uint64_t fs_base;
	uint64_t clear_child_tid; /* address the kernel clears at thread exit (glibc's pd->tid) */
	struct sc_ctx ctx; /* resume point (inside the suspend handler / checkpoint thread) */
};

struct sc_image_trailer {
	char magic[8]; /* "SCKPEND1" */
	uint64_t file_size;
};

_Static_assert(sizeof(struct sc_image_header) == 4096, "image header is one page");

/* ---- writer (checkpoint thread; no malloc, no stdio, no locks) --------------------------- */

struct sc_image_info {
	uint64_t generation;
	uint32_t rank, nranks;
	const char *program, *hostname, *cmdline, *mpi;
	uint64_t vdso_start, vdso_end;
};

/* A region to save, as the runtime computed it (arena ranges intersected with the maps). */
struct sc_region_desc {
	uint64_t start, end;
	uint32_t prot;
	uint32_t flags;
	uint64_t file_offset;
	const char *name;
};

struct sc_image_stats {
	uint64_t bytes_written; /* file size */
	uint64_t data_bytes;
	uint64_t pages_saved, pages_skipped;
	uint64_t nanos; /* wall time of sc_image_write */
};

/* Writes the image to `path` (creates path.tmp, writes, fsyncs, renames to path, fsyncs the
 * directory). Which pages are saved: pages present or swapped per /proc/self/pagemap; every
 * page of SC_REGION_FILE regions; none of SC_REGION_NODATA regions. `live_sp`, if non-zero, is
 * the writer's own stack pointer: the region holding it is copied through a bounce buffer so its
 * checksum matches the bytes stored even though the writer's frames change it. Returns 0, or -1
 * with a message naming the file and the failing step in err. */
int sc_image_write(const char *path, const struct sc_image_info *info,
		   const struct sc_region_desc *regions, size_t n_regions,
		   const struct sc_image_thread *threads, size_t n_threads, uint64_t live_sp,
		   struct sc_image_stats *stats, char *err, size_t errlen);

/* ---- reader (lower half at restart, `splitckpt inspect`) ---------------------------------- */

struct sc_image {
	int fd;
	char path[1024];
	struct sc_image_header hdr;
	struct sc_image_region *regions; /* hdr.n_regions, validated */
	struct sc_image_run *runs;	 /* hdr.n_runs_total, validated */
	struct sc_image_thread *threads; /* hdr.n_threads, validated */
};

/* Opens and validates everything but the page data: magic, version, arch, sizes, offsets
 * within the file, regions sorted/non-overlapping/page aligned, runs within their region and
 * in order, exactly one SC_THREAD_CKPT thread, checksums of header and tables. On error returns
 * -1 with a message naming the file and what was wrong. */
int sc_image_open(const char *path, struct sc_image *img, char *err, size_t errlen);

/* Reads region i's saved pages to dest + (page index * 4096) (dest is normally the region's
 * start; memory must be writable) and verifies its checksum. */
int sc_image_read_region(struct sc_image *img, size_t i, void *dest, char *err, size_t errlen);

/* Reads every region through a buffer and verifies every checksum (for inspect). */
int sc_image_verify(struct sc_image *img, char *err, size_t errlen);

void sc_image_close(struct sc_image *img);

#endif
