/* Unit tests of the checkpoint image reader (upper-half/image_read.c): copies of the good image
 * of test_image_fixture.h damaged in every way the reader must reject (flipped data, truncation,
 * foreign files, bad header fields, offsets, regions, runs, threads, checksums and trailer), each
 * with a precise message naming the file. */
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

#include "test_image_fixture.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
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
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
