/* Unit tests of the checkpoint image (upper-half/image_write.c, image_read.c): an image of real
 * memory of this process (touched and untouched anonymous pages, a file mapping, a NODATA
 * reservation, a PROT_NONE region holding data, the live stack) is written, reopened, compared
 * byte for byte, and then damaged in every way the reader must reject with a precise message. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "upper-half/image.h"
#include "upper-half/maps.h"

#define PG 4096UL

static char dir[64];
static char good[128];
static const char marker_text[] = "splitckpt stack marker 0123456789";

/* memory the good image was taken of */
static struct {
	char *anon;	 /* 64 pages, 7 touched */
	char *file;	 /* 3 pages, private file mapping, never touched */
	char *none;	 /* 16 pages PROT_NONE (NODATA) */
	char *prot_none; /* 4 pages, pages 1-2 written, then PROT_NONE */
	uint64_t stack_start, stack_end, marker_addr;
	char filedata[3 * PG];
	struct sc_region_desc regs[5];
	size_t nregs;
	struct sc_image_stats stats;
} m;

static const size_t touched[] = {0, 1, 2, 10, 20, 21, 63};

static void fill_page(char *p, size_t idx, unsigned seed)
{
	for (size_t k = 0; k < PG; k++)
		p[k] = (char)((idx * 131 + k * 7 + seed) & 0xff);
}

static int page_is_zero(const char *p)
{
	for (size_t k = 0; k < PG; k++)
		if (p[k])
			return 0;
	return 1;
}

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	madvise(p, len, MADV_NOHUGEPAGE); /* a huge page would make all 512 pages present */
	return p;
}

static void init_threads(struct sc_image_thread *t, size_t n)
{
	memset(t, 0, n * sizeof *t);
	for (size_t i = 0; i < n; i++) {
		t[i].tid = (uint32_t)(gettid() + (pid_t)i);
		t[i].fs_base = 0x7f0000001000ULL + i * 0x1000;
		t[i].ctx.rip = 0x401000 + i;
		t[i].ctx.rsp = 0x7ffc0000 + i * 0x100;
	}
	t[0].flags = SC_THREAD_CKPT;
}

static uint64_t cur_sp(void)
{
	uint64_t sp;
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	return sp;
}

struct find_addr {
	uint64_t addr, start, end;
	uint32_t prot;
};

static int find_cb(const struct sc_map_entry *e, void *arg)
{
	struct find_addr *f = arg;
	if (f->addr >= e->start && f->addr < e->end) {
		f->start = e->start;
		f->end = e->end;
		f->prot = e->prot;
		return 1;
	}
	return 0;
}

static struct find_addr find_mapping(uint64_t addr)
{
	struct find_addr f = {.addr = addr};
	char buf[8192], err[256];
	assert_int_equal(
	    sc_maps_foreach("/proc/self/maps", buf, sizeof buf, find_cb, &f, err, sizeof err), 1);
	return f;
}

static int cmp_desc(const void *a, const void *b)
{
	const struct sc_region_desc *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int group_setup(void **state)
{
	(void)state;
	char marker[sizeof marker_text];
	memcpy(marker, marker_text, sizeof marker);
	snprintf(dir, sizeof dir, "/tmp/test_image_XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(good, sizeof good, "%s/rank-00000.img", dir);

	m.anon = map_anon(64 * PG);
	for (size_t i = 0; i < sizeof touched / sizeof touched[0]; i++)
		fill_page(m.anon + touched[i] * PG, touched[i], 1);

	char fpath[128];
	snprintf(fpath, sizeof fpath, "%s/mapped file", dir);
	for (size_t i = 0; i < 3; i++)
		fill_page(m.filedata + i * PG, i, 2);
	int fd = open(fpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, m.filedata, sizeof m.filedata) != (ssize_t)sizeof m.filedata)
		return -1;
	m.file = mmap(NULL, 3 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	m.none = mmap(NULL, 16 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	m.prot_none = map_anon(4 * PG);
	fill_page(m.prot_none + PG, 1, 3);
	fill_page(m.prot_none + 2 * PG, 2, 3);
	mprotect(m.prot_none, 4 * PG, PROT_NONE);
	if (m.file == MAP_FAILED || m.none == MAP_FAILED)
		return -1;

	uint64_t sp = cur_sp();
	struct find_addr st = find_mapping(sp);
	m.stack_start = st.start;
	m.stack_end = st.end;
	m.marker_addr = (uint64_t)(uintptr_t)marker;

	struct sc_region_desc *r = m.regs;
	r[0] = (struct sc_region_desc){(uint64_t)m.anon,
				       (uint64_t)m.anon + 64 * PG,
				       PROT_READ | PROT_WRITE,
				       SC_REGION_ANON,
				       0,
				       ""};
	r[1] = (struct sc_region_desc){
	    (uint64_t)m.file, (uint64_t)m.file + 3 * PG, PROT_READ, SC_REGION_FILE, 0, fpath};
	r[2] = (struct sc_region_desc){(uint64_t)m.none,
				       (uint64_t)m.none + 16 * PG,
				       PROT_NONE,
				       SC_REGION_ANON | SC_REGION_NODATA,
				       0,
				       ""};
	r[3] = (struct sc_region_desc){
	    (uint64_t)m.prot_none, (uint64_t)m.prot_none + 4 * PG, PROT_NONE, SC_REGION_ANON, 0,
	    "[anon:prot_none]"};
	r[4] = (struct sc_region_desc){
	    st.start, st.end,	PROT_READ | PROT_WRITE, SC_REGION_ANON | SC_REGION_STACK,
	    0,	      "[stack]"};
	m.nregs = 5;
	qsort(m.regs, m.nregs, sizeof m.regs[0], cmp_desc);

	struct sc_image_thread t[2];
	init_threads(t, 2);
	struct sc_image_info info = {.generation = 7,
				     .rank = 3,
				     .nranks = 4,
				     .program = "/usr/bin/test program",
				     .hostname = "node-17",
				     .cmdline = "test program --flag",
				     .vdso_start = 0x7fff1000,
				     .vdso_end = 0x7fff5000};
	char err[512] = "";
	int rc =
	    sc_image_write(good, &info, m.regs, m.nregs, t, 2, cur_sp(), &m.stats, err, sizeof err);
	if (rc)
		fprintf(stderr, "sc_image_write: %s\n", err);
	/* keep the marker alive (and on the stack) until the image is written */
	__asm__ volatile("" : : "r"(marker) : "memory");
	return rc;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static size_t region_index(const struct sc_image *img, uint64_t start)
{
	for (size_t i = 0; i < img->hdr.n_regions; i++)
		if (img->regions[i].start == start)
			return i;
	fail_msg("no region at 0x%llx", (unsigned long long)start);
	return 0;
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct sc_image img;
	char err[512] = "";
	if (sc_image_open(good, &img, err, sizeof err))
		fail_msg("%s", err);
	struct sc_image_header *h = &img.hdr;
	assert_int_equal(h->n_regions, 5);
	assert_int_equal(h->n_threads, 2);
	assert_int_equal(h->generation, 7);
	assert_int_equal(h->rank, 3);
	assert_int_equal(h->nranks, 4);
	assert_int_equal(h->pid, getpid());
	assert_int_equal(h->vdso_start, 0x7fff1000);
	assert_string_equal(h->program, "/usr/bin/test program");
	assert_string_equal(h->hostname, "node-17");
	assert_string_equal(h->cmdline, "test program --flag");
	assert_int_equal(h->file_size, m.stats.bytes_written);
	assert_int_equal(h->data_bytes, m.stats.data_bytes);
	struct stat st;
	assert_int_equal(stat(good, &st), 0);
	assert_int_equal((uint64_t)st.st_size, h->file_size);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* anonymous: exactly the touched pages, in 4 runs; untouched pages are not stored */
	size_t a = region_index(&img, (uint64_t)m.anon);
	const struct sc_image_region *r = &img.regions[a];
	assert_int_equal(r->data_pages, sizeof touched / sizeof touched[0]);
	assert_int_equal(r->n_runs, 4);
	const struct sc_image_run *u = &img.runs[r->first_run];
	assert_int_equal(u[0].first_page, 0);
	assert_int_equal(u[0].npages, 3);
	assert_int_equal(u[1].first_page, 10);
	assert_int_equal(u[2].first_page, 20);
	assert_int_equal(u[2].npages, 2);
	assert_int_equal(u[3].first_page, 63);
	char *fresh = map_anon(64 * PG);
	if (sc_image_read_region(&img, a, fresh, err, sizeof err))
		fail_msg("%s", err);
	for (size_t p = 0; p < 64; p++) {
		int t = 0;
		for (size_t i = 0; i < sizeof touched / sizeof touched[0]; i++)
			t |= touched[i] == p;
		if (t)
			assert_memory_equal(fresh + p * PG, m.anon + p * PG, PG);
		else
			assert_true(page_is_zero(fresh + p * PG));
	}
	munmap(fresh, 64 * PG);

	/* file mapping: every page although none was touched */
	size_t f = region_index(&img, (uint64_t)m.file);
	assert_int_equal(img.regions[f].data_pages, 3);
	assert_int_equal(img.regions[f].flags, SC_REGION_FILE);
	assert_non_null(strstr(img.regions[f].name, "mapped file"));
	fresh = map_anon(3 * PG);
	assert_int_equal(sc_image_read_region(&img, f, fresh, err, sizeof err), 0);
	assert_memory_equal(fresh, m.filedata, 3 * PG);
	munmap(fresh, 3 * PG);

	/* NODATA: nothing */
	size_t n = region_index(&img, (uint64_t)m.none);
	assert_int_equal(img.regions[n].data_pages, 0);
	assert_int_equal(img.regions[n].n_runs, 0);

	/* PROT_NONE with data: saved, and its protection is PROT_NONE again */
	size_t pn = region_index(&img, (uint64_t)m.prot_none);
	assert_int_equal(img.regions[pn].data_pages, 2);
	assert_int_equal(img.regions[pn].prot, PROT_NONE);
	assert_int_equal(find_mapping((uint64_t)m.prot_none).prot, 0);
	fresh = map_anon(4 * PG);
	assert_int_equal(sc_image_read_region(&img, pn, fresh, err, sizeof err), 0);
	mprotect(m.prot_none, 4 * PG, PROT_READ);
	assert_memory_equal(fresh + PG, m.prot_none + PG, 2 * PG);
	mprotect(m.prot_none, 4 * PG, PROT_NONE);
	munmap(fresh, 4 * PG);

	/* the live stack: saved to its end, checksum of the copy, marker inside */
	size_t s = region_index(&img, m.stack_start);
	r = &img.regions[s];
	uint64_t npages = (r->end - r->start) / PG;
	/* at least the 64 KiB below live_sp (less if the stack mapping is smaller: valgrind) */
	if (r->data_pages < (npages < 16 ? npages : 16))
		fail_msg("stack region of %llu pages: only %llu saved", (unsigned long long)npages,
			 (unsigned long long)r->data_pages);
	u = &img.runs[r->first_run + r->n_runs - 1];
	assert_int_equal(u->first_page + u->npages, npages);
	fresh = map_anon(r->end - r->start);
	if (sc_image_read_region(&img, s, fresh, err, sizeof err))
		fail_msg("%s", err);
	assert_string_equal(fresh + (m.marker_addr - m.stack_start), marker_text);
	munmap(fresh, r->end - r->start);

	/* stats and the whole-file check */
	uint64_t saved = 0, total = 0;
	for (size_t i = 0; i < h->n_regions; i++) {
		saved += img.regions[i].data_pages;
		total += (img.regions[i].end - img.regions[i].start) / PG;
	}
	assert_int_equal(m.stats.pages_saved, saved);
	assert_int_equal(m.stats.pages_saved + m.stats.pages_skipped, total);
	assert_int_equal(h->data_bytes, saved * PG);
	if (sc_image_verify(&img, err, sizeof err))
		fail_msg("%s", err);
	assert_int_equal(sc_image_read_region(&img, 99, fresh, err, sizeof err), -1);
	assert_non_null(strstr(err, "no region 99"));
	sc_image_close(&img);
}

/* --- damaged images -------------------------------------------------------------------------- */

static char bad[160];

static void copy_good(void)
{
	snprintf(bad, sizeof bad, "%s/damaged.img", dir);
	int in = open(good, O_RDONLY), out = open(bad, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(in >= 0 && out >= 0);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

static void patch(uint64_t off, const void *bytes, size_t len)
{
	int fd = open(bad, O_WRONLY);
	assert_int_equal(pwrite(fd, bytes, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void get(const char *path, uint64_t off, void *bytes, size_t len)
{
	int fd = open(path, O_RDONLY);
	assert_int_equal(pread(fd, bytes, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static struct sc_image_header bad_header(void)
{
	struct sc_image_header h;
	get(bad, 0, &h, sizeof h);
	return h;
}

/* Stores h with a valid header checksum (so the reader gets past it to the field). */
static void put_header(struct sc_image_header *h)
{
	h->header_checksum = XXH3_64bits(h, offsetof(struct sc_image_header, header_checksum));
	patch(0, h, sizeof *h);
}

/* Recomputes the table checksum (after editing a table) and then the header checksum. */
static void fix_tables(void)
{
	struct sc_image_header h = bad_header();
	size_t len = h.trailer_off - h.regions_off;
	char *t = malloc(len);
	get(bad, h.regions_off, t, len);
	h.tables_checksum = XXH3_64bits(t, len);
	free(t);
	put_header(&h);
}

static void expect_open_error(const char *path, const char *what)
{
	struct sc_image img;
	char err[512] = "";
	assert_int_equal(sc_image_open(path, &img, err, sizeof err), -1);
	if (!strstr(err, path) || !strstr(err, what))
		fail_msg("message '%s' lacks '%s' or the file name", err, what);
}

static void test_flipped_data(void **state)
{
	(void)state;
	copy_good();
	char c;
	get(bad, PG + 5, &c, 1);
	c ^= 0x20;
	patch(PG + 5, &c, 1);
	struct sc_image img;
	char err[512] = "";
	assert_int_equal(sc_image_open(bad, &img, err, sizeof err), 0); /* data is not read */
	assert_int_equal(sc_image_verify(&img, err, sizeof err), -1);
	assert_non_null(strstr(err, bad));
	assert_non_null(strstr(err, "checksum mismatch"));
	/* the first region with data holds that byte: reading it back fails too */
	size_t i = 0;
	while (img.regions[i].data_pages == 0)
		i++;
	const struct sc_image_region *r = &img.regions[i];
	char *fresh = map_anon(r->end - r->start);
	assert_int_equal(sc_image_read_region(&img, i, fresh, err, sizeof err), -1);
	assert_non_null(strstr(err, "checksum mismatch"));
	munmap(fresh, r->end - r->start);
	sc_image_close(&img);
}

static void test_truncated(void **state)
{
	(void)state;
	copy_good();
	struct stat st;
	stat(bad, &st);
	assert_int_equal(truncate(bad, st.st_size - 100), 0);
	expect_open_error(bad, "truncated");
	assert_int_equal(truncate(bad, 2000), 0);
	expect_open_error(bad, "truncated: 2000 bytes");
	assert_int_equal(truncate(bad, 0), 0);
	expect_open_error(bad, "only 0 bytes");
}

static void test_magic_and_foreign(void **state)
{
	(void)state;
	copy_good();
	patch(0, "X", 1);
	expect_open_error(bad, "bad magic \"XCKPIMG1\"");
	expect_open_error("/bin/ls", "ELF");
	expect_open_error("/nonexistent/x.img", "cannot open");
	expect_open_error(dir, "not a regular file");
}

static void test_bad_version(void **state)
{
	(void)state;
	copy_good();
	struct sc_image_header h = bad_header();
	h.version = 2;
	put_header(&h);
	expect_open_error(bad, "unsupported image version 2");
}

static void test_header_checksum(void **state)
{
	(void)state;
	copy_good();
	patch(offsetof(struct sc_image_header, hostname), "X", 1);
	expect_open_error(bad, "header checksum mismatch");
}

static void test_tables_out_of_bounds(void **state)
{
	(void)state;
	copy_good();
	struct sc_image_header h = bad_header(), h0 = h;
	h.regions_off = h.file_size + 8192;
	put_header(&h);
	expect_open_error(bad, "region table");
	expect_open_error(bad, "outside the file");
	h = h0;
	h.regions_off = UINT64_MAX - 100; /* offset + size would wrap */
	put_header(&h);
	expect_open_error(bad, "outside the file");
	h = h0;
	h.n_regions = 100000; /* 32 MB of table in a small file */
	put_header(&h);
	expect_open_error(bad, "region table");
	h = h0;
	h.n_regions = SC_IMAGE_MAX_REGIONS + 1;
	put_header(&h);
	expect_open_error(bad, "exceeds the maximum");
	h = h0;
	h.data_bytes += PG;
	put_header(&h);
	expect_open_error(bad, "data_bytes");
	h = h0;
	h.runs_off += 16;
	put_header(&h);
	expect_open_error(bad, "run table offset");
}

static void edit_region(size_t i, size_t field_off, uint64_t value)
{
	struct sc_image_header h = bad_header();
	patch(h.regions_off + i * sizeof(struct sc_image_region) + field_off, &value, sizeof value);
	fix_tables();
}

static void test_overlapping_regions(void **state)
{
	(void)state;
	copy_good();
	struct sc_image_region r0;
	struct sc_image_header h = bad_header();
	get(bad, h.regions_off, &r0, sizeof r0);
	edit_region(1, offsetof(struct sc_image_region, start), r0.end - PG);
	expect_open_error(bad, "region 1");
	expect_open_error(bad, "overlaps");

	copy_good();
	edit_region(0, offsetof(struct sc_image_region, start), r0.start + 1);
	expect_open_error(bad, "not page aligned");

	copy_good();
	edit_region(0, offsetof(struct sc_image_region, data_off), r0.data_off + PG);
	expect_open_error(bad, "data offset");
}

static void test_bad_runs(void **state)
{
	(void)state;
	copy_good();
	struct sc_image_header h = bad_header();
	struct sc_image_run run = {1000000, 1};
	patch(h.runs_off, &run, sizeof run);
	fix_tables();
	expect_open_error(bad, "outside the region");

	copy_good();
	run = (struct sc_image_run){0, UINT64_MAX}; /* first + n would wrap */
	patch(h.runs_off, &run, sizeof run);
	fix_tables();
	expect_open_error(bad, "outside the region");

	/* the anonymous region has 4 runs: swap its first two */
	copy_good();
	struct sc_image img;
	char err[512];
	assert_int_equal(sc_image_open(good, &img, err, sizeof err), 0);
	const struct sc_image_region *r = &img.regions[region_index(&img, (uint64_t)m.anon)];
	uint64_t off = h.runs_off + r->first_run * sizeof(struct sc_image_run);
	struct sc_image_run two[2] = {img.runs[r->first_run + 1], img.runs[r->first_run]};
	sc_image_close(&img);
	patch(off, two, sizeof two);
	fix_tables();
	expect_open_error(bad, "out of order");

	/* a run table that does not add up to the region's pages */
	copy_good();
	run = (struct sc_image_run){0, 2};
	patch(off, &run, sizeof run);
	fix_tables();
	expect_open_error(bad, "runs hold");
}

static void test_threads(void **state)
{
	(void)state;
	copy_good();
	struct sc_image_header h = bad_header();
	h.n_threads = 0;
	put_header(&h);
	expect_open_error(bad, "n_threads 0");

	copy_good();
	uint32_t flags = SC_THREAD_CKPT;
	uint64_t flags_off = h.threads_off + sizeof(struct sc_image_thread) +
			     offsetof(struct sc_image_thread, flags);
	patch(flags_off, &flags, sizeof flags);
	fix_tables();
	expect_open_error(bad, "2 threads are flagged");

	copy_good();
	flags = 0;
	patch(h.threads_off + offsetof(struct sc_image_thread, flags), &flags, sizeof flags);
	fix_tables();
	expect_open_error(bad, "0 threads are flagged");
}

static void test_tables_checksum_and_trailer(void **state)
{
	(void)state;
	copy_good();
	struct sc_image_header h = bad_header();
	patch(h.regions_off + offsetof(struct sc_image_region, name) + 100, "Z", 1);
	expect_open_error(bad, "table checksum mismatch");

	copy_good();
	patch(h.trailer_off, "X", 1);
	expect_open_error(bad, "trailer");
}

/* --- the writer ------------------------------------------------------------------------------ */

/* A region bigger than one pagemap read (65536 pages): runs straddle that boundary, long runs
 * stream through many chunks and the writeback window. */
static void test_large_region(void **state)
{
	(void)state;
	const size_t npages = 66560, holes[] = {100, 65534, 66000};
	char *big = map_anon(npages * PG);
	for (size_t p = 0; p < npages; p++) {
		int hole = 0;
		for (size_t k = 0; k < 3; k++)
			hole |= holes[k] == p;
		if (!hole)
			memset(big + p * PG, (int)(p * 7 + 1), PG);
	}
	struct sc_region_desc d = {
	    (uint64_t)big, (uint64_t)big + npages * PG, PROT_READ | PROT_WRITE, SC_REGION_ANON, 0,
	    "big"};
	struct sc_image_thread t;
	init_threads(&t, 1);
	char path[160], err[512] = "";
	snprintf(path, sizeof path, "%s/big.img", dir);
	struct sc_image_stats stats;
	if (sc_image_write(path, NULL, &d, 1, &t, 1, 0, &stats, err, sizeof err))
		fail_msg("%s", err);
	assert_int_equal(stats.pages_saved, npages - 3);
	struct sc_image img;
	if (sc_image_open(path, &img, err, sizeof err))
		fail_msg("%s", err);
	assert_int_equal(img.hdr.n_runs_total, 4);
	assert_int_equal(img.runs[2].first_page, 65535);
	assert_int_equal(img.runs[2].npages, 66000 - 65535);
	char *fresh = map_anon(npages * PG);
	if (sc_image_read_region(&img, 0, fresh, err, sizeof err))
		fail_msg("%s", err);
	assert_true(memcmp(fresh, big, npages * PG) == 0);
	sc_image_close(&img);
	munmap(fresh, npages * PG);
	munmap(big, npages * PG);
	unlink(path);
}

/* A region containing live_sp: pages from live_sp - 64 KiB up are saved even if untouched,
 * through the bounce buffer (more than it holds). */
static void test_live_sp_region(void **state)
{
	(void)state;
	const size_t npages = 1024;
	char *r = map_anon(npages * PG);
	for (size_t p = 0; p < 10; p++)
		fill_page(r + p * PG, p, 4);
	struct sc_region_desc d = {(uint64_t)r,
				   (uint64_t)r + npages * PG,
				   PROT_READ | PROT_WRITE,
				   SC_REGION_ANON | SC_REGION_STACK,
				   0,
				   "fake stack"};
	struct sc_image_thread t;
	init_threads(&t, 1);
	char path[160], err[512] = "";
	snprintf(path, sizeof path, "%s/sp.img", dir);
	if (sc_image_write(path, NULL, &d, 1, &t, 1, d.start + 512 * PG + 100, NULL, err,
			   sizeof err))
		fail_msg("%s", err);
	struct sc_image img;
	if (sc_image_open(path, &img, err, sizeof err))
		fail_msg("%s", err);
	assert_int_equal(img.hdr.n_runs_total, 2);
	assert_int_equal(img.runs[0].npages, 10);
	assert_int_equal(img.runs[1].first_page, 512 - 16);
	assert_int_equal(img.runs[1].npages, npages - (512 - 16));
	char *fresh = map_anon(npages * PG);
	if (sc_image_read_region(&img, 0, fresh, err, sizeof err))
		fail_msg("%s", err);
	assert_memory_equal(fresh, r, npages * PG);
	sc_image_close(&img);
	munmap(fresh, npages * PG);
	munmap(r, npages * PG);
	unlink(path);
}

static void test_writer_refuses(void **state)
{
	(void)state;
	struct sc_image_thread t[2];
	init_threads(t, 2);
	char path[160], err[512] = "";
	snprintf(path, sizeof path, "%s/refused.img", dir);
	t[1].flags = SC_THREAD_CKPT;
	assert_int_equal(
	    sc_image_write(path, NULL, m.regs, m.nregs, t, 2, 0, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "SC_THREAD_CKPT"));
	t[1].flags = 0;
	t[1].ctx.rip = 0;
	assert_int_equal(
	    sc_image_write(path, NULL, m.regs, m.nregs, t, 2, 0, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "thread 1"));
	t[1].ctx.rip = 0x401000;
	struct sc_image_info info = {.rank = 4, .nranks = 4};
	assert_int_equal(
	    sc_image_write(path, &info, m.regs, m.nregs, t, 2, 0, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "rank 4 of 4"));
	struct sc_region_desc rev[2] = {m.regs[1], m.regs[0]};
	assert_int_equal(sc_image_write(path, NULL, rev, 2, t, 2, 0, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "sorted"));
	char want[128]; /* the writer's own formatter: numbers in hex and decimal */
	snprintf(want, sizeof want, "region 1 [0x%llx-0x%llx)", (unsigned long long)rev[1].start,
		 (unsigned long long)rev[1].end);
	assert_non_null(strstr(err, want));
	assert_int_equal(access(path, F_OK), -1);

	struct sc_region_desc sh = m.regs[0];
	sh.flags |= SC_REGION_SHARED;
	assert_int_equal(sc_image_write(path, NULL, &sh, 1, t, 2, 0, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "MAP_SHARED"));

	assert_int_equal(sc_image_write("/nonexistent/dir/x.img", NULL, m.regs, 1, t, 2, 0, NULL,
					err, sizeof err),
			 -1);
	assert_non_null(strstr(err, "cannot create /nonexistent/dir/x.img.tmp"));

	/* a descriptor covering unmapped memory fails cleanly, leaving no file */
	char *hole = map_anon(2 * PG);
	munmap(hole, 2 * PG);
	struct sc_region_desc un = {
	    (uint64_t)hole, (uint64_t)hole + 2 * PG, PROT_READ, SC_REGION_FILE, 0, "gone"};
	assert_int_equal(sc_image_write(path, NULL, &un, 1, t, 2, 0, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "Bad address"));
	char tmp[200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_flipped_data),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_magic_and_foreign),
	    cmocka_unit_test(test_bad_version),
	    cmocka_unit_test(test_header_checksum),
	    cmocka_unit_test(test_tables_out_of_bounds),
	    cmocka_unit_test(test_overlapping_regions),
	    cmocka_unit_test(test_bad_runs),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_tables_checksum_and_trailer),
	    cmocka_unit_test(test_large_region),
	    cmocka_unit_test(test_live_sp_region),
	    cmocka_unit_test(test_writer_refuses),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
