/* Unit tests of the checkpoint image writer (upper-half/image_write.c, image_scan.c): which pages
 * the good image of test_image_fixture.h holds and that they read back byte for byte, regions
 * bigger than a pagemap read, a region holding live_sp, file mappings past their file's end and
 * without read permission, and the arguments it refuses. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_image_fixture.h"

static int page_is_zero(const char *p)
{
	for (size_t k = 0; k < PG; k++)
		if (p[k])
			return 0;
	return 1;
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

	/* a descriptor covering unmapped memory fails cleanly, leaving no file (below
	 * vm.mmap_min_addr: a freed hole could be mapped again meanwhile, by the sanitizers) */
	struct sc_region_desc un = {2 * PG, 4 * PG, PROT_READ, SC_REGION_FILE, 0, "gone"};
	assert_int_equal(sc_image_write(path, NULL, &un, 1, t, 2, 0, NULL, err, sizeof err), -1);
	if (!strstr(err, "is not mapped"))
		fail_msg("%s", err);
	char tmp[200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(access(path, F_OK), -1);
}

/* Private file mappings the process cannot read everywhere: one reaching 3 pages past its
 * 1.5-page file (those fault: saved are the 2 pages within, the rest comes back as zeros), and a
 * library's PROT_NONE gap (past the file too: only touched pages count, none here). */
static void test_file_past_eof(void **state)
{
	(void)state;
	char fpath[160], path[160], err[512] = "";
	snprintf(fpath, sizeof fpath, "%s/short", dir);
	snprintf(path, sizeof path, "%s/past-eof.img", dir);
	FILE *f = fopen(fpath, "w");
	assert_non_null(f);
	for (size_t i = 0; i < PG + PG / 2; i++)
		fputc('a' + (int)(i % 26), f);
	assert_int_equal(fclose(f), 0);
	int fd = open(fpath, O_RDONLY);
	assert_true(fd >= 0);
	char *ro = mmap(NULL, 5 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
	char *gap = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE, fd, 0);
	close(fd);
	assert_true(ro != MAP_FAILED && gap != MAP_FAILED);
	struct sc_region_desc d[2] = {
	    {(uint64_t)ro, (uint64_t)ro + 5 * PG, PROT_READ, SC_REGION_FILE, 0, fpath},
	    {(uint64_t)gap, (uint64_t)gap + 4 * PG, PROT_NONE, SC_REGION_FILE, 0, fpath}};
	if (d[1].start < d[0].start) { /* the writer wants them sorted */
		struct sc_region_desc x = d[0];
		d[0] = d[1];
		d[1] = x;
	}
	struct sc_image_thread t[2];
	init_threads(t, 2);
	if (sc_image_write(path, NULL, d, 2, t, 2, 0, NULL, err, sizeof err))
		fail_msg("%s", err);
	struct sc_image img;
	if (sc_image_open(path, &img, err, sizeof err))
		fail_msg("%s", err);
	size_t r = region_index(&img, (uint64_t)ro), g = region_index(&img, (uint64_t)gap);
	assert_int_equal(img.regions[r].data_pages, 2);
	assert_int_equal(img.regions[g].data_pages, 0);
	char *fresh = map_anon(5 * PG);
	if (sc_image_read_region(&img, r, fresh, err, sizeof err))
		fail_msg("%s", err);
	assert_memory_equal(fresh, ro, PG + PG / 2);
	for (size_t p = 2; p < 5; p++)
		assert_true(page_is_zero(fresh + p * PG));
	sc_image_close(&img);
	munmap(fresh, 5 * PG);
	munmap(ro, 5 * PG);
	munmap(gap, 4 * PG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),	   cmocka_unit_test(test_large_region),
	    cmocka_unit_test(test_live_sp_region), cmocka_unit_test(test_writer_refuses),
	    cmocka_unit_test(test_file_past_eof),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
