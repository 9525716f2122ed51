/* Unit tests of the checkpoint directory (coordinator/manifest.c): path formats, a missing
 * MANIFEST, begin/commit/abort, garbage collection, clean-up after crashes, generation
 * numbering, and corrupt MANIFEST lines rejected with the file and line named. */
#define _GNU_SOURCE
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "coordinator/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[PATH_MAX];
static struct sc_gen_entry v[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/sc-test-manifest-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int exists(const char *fmt, ...)
{
	char p[PATH_MAX * 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p, sizeof p, fmt, ap);
	va_end(ap);
	return access(p, F_OK) == 0;
}

static void put_file(const char *name, const char *text)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* begin + one image per rank + commit */
static void make_gen(uint64_t gen, uint32_t nranks)
{
	char err[1024], p[PATH_MAX];
	assert_int_equal(sc_gen_begin(dir, gen, err, sizeof err), 0);
	for (uint32_t r = 0; r < nranks; r++) {
		assert_int_equal(sc_gen_tmp_image_path(dir, gen, r, p, sizeof p), 0);
		FILE *f = fopen(p, "w");
		assert_non_null(f);
		fputs("image", f);
		fclose(f);
	}
	struct sc_gen_entry e = {
	    .gen = gen, .nranks = nranks, .created_ns = 1000 + gen, .bytes = 5u * nranks};
	snprintf(e.program, sizeof e.program, "/usr/bin/app --size %u", (unsigned)gen);
	if (sc_gen_commit(dir, &e, err, sizeof err) != 0)
		fail_msg("commit: %s", err);
}

static void test_paths(void **state)
{
	(void)state;
	char p[PATH_MAX];
	assert_int_equal(sc_gen_image_path("/ck", 7, 3, p, sizeof p), 0);
	assert_string_equal(p, "/ck/gen-000007/rank-00003.img");
	assert_int_equal(sc_gen_tmp_image_path("/ck", 123456, 99999, p, sizeof p), 0);
	assert_string_equal(p, "/ck/gen-123456.tmp/rank-99999.img");
	assert_int_equal(sc_gen_image_path("/ck", 1234567, 100000, p, sizeof p), 0);
	assert_string_equal(p, "/ck/gen-1234567/rank-100000.img");
	assert_int_equal(sc_gen_dir_path("/ck", 1, 1, p, sizeof p), 0);
	assert_string_equal(p, "/ck/gen-000001.tmp");
	assert_int_equal(sc_gen_image_path("/ck", 7, 3, p, 10), -1);
}

static void test_missing(void **state)
{
	(void)state;
	size_t n = 99;
	char err[1024];
	assert_int_equal(sc_manifest_load(dir, v, 64, &n, err, sizeof err), SC_MANIFEST_MISSING);
	assert_int_equal(n, 0);
	uint64_t last, next;
	unsigned stale;
	assert_int_equal(sc_ckptdir_prepare(dir, &last, &next, &stale, err, sizeof err), 0);
	assert_true(last == 0 && next == 1 && stale == 0);
}

static void test_prepare_creates_dir(void **state)
{
	(void)state;
	char sub[PATH_MAX + 16], err[1024];
	snprintf(sub, sizeof sub, "%s/a/b/c", dir);
	uint64_t last, next;
	unsigned stale;
	assert_int_equal(sc_ckptdir_prepare(sub, &last, &next, &stale, err, sizeof err), 0);
	struct stat st;
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	put_file("file", "x");
	snprintf(sub, sizeof sub, "%s/file", dir);
	assert_int_equal(sc_ckptdir_prepare(sub, &last, &next, &stale, err, sizeof err), -1);
}

static void test_commit_and_load(void **state)
{
	(void)state;
	make_gen(1, 2);
	make_gen(2, 2);
	size_t n;
	char err[1024];
	assert_int_equal(sc_manifest_load(dir, v, 64, &n, err, sizeof err), 0);
	assert_int_equal(n, 2);
	assert_true(v[0].gen == 1 && v[1].gen == 2);
	assert_int_equal(v[1].nranks, 2);
	assert_true(v[1].bytes == 10 && v[1].created_ns == 1002);
	assert_string_equal(v[1].program, "/usr/bin/app --size 2");
	assert_true(exists("%s/gen-000002/rank-00001.img", dir));
	assert_false(exists("%s/gen-000002.tmp", dir));
	assert_false(exists("%s/MANIFEST.tmp", dir));
	/* max smaller than the count: the newest come back */
	assert_int_equal(sc_manifest_load(dir, v, 1, &n, err, sizeof err), 0);
	assert_true(n == 1 && v[0].gen == 2);
	/* a generation not above the newest cannot be committed */
	struct sc_gen_entry e = {.gen = 2, .nranks = 1};
	assert_int_equal(sc_gen_begin(dir, 2, err, sizeof err), 0);
	assert_int_equal(sc_gen_commit(dir, &e, err, sizeof err), -1);
	assert_non_null(strstr(err, "already lists 2"));
	assert_int_equal(sc_gen_abort(dir, 2, err, sizeof err), 0);
	/* control characters in the program cannot break the line format */
	assert_int_equal(sc_gen_begin(dir, 3, err, sizeof err), 0);
	e = (struct sc_gen_entry){.gen = 3, .nranks = 1};
	snprintf(e.program, sizeof e.program, "evil\nname\t");
	assert_int_equal(sc_gen_commit(dir, &e, err, sizeof err), 0);
	assert_int_equal(sc_manifest_load(dir, v, 64, &n, err, sizeof err), 0);
	assert_string_equal(v[n - 1].program, "evil?name?");
}

static void test_commit_without_tmp_fails_cleanly(void **state)
{
	(void)state;
	make_gen(1, 1);
	struct sc_gen_entry e = {.gen = 2, .nranks = 1};
	char err[1024];
	size_t n;
	assert_int_equal(sc_gen_commit(dir, &e, err, sizeof err), -1);
	assert_int_equal(sc_manifest_load(dir, v, 64, &n, err, sizeof err), 0);
	assert_true(n == 1 && v[0].gen == 1);
}

static void test_abort(void **state)
{
	(void)state;
	make_gen(1, 1);
	char err[1024], p[PATH_MAX];
	assert_int_equal(sc_gen_begin(dir, 2, err, sizeof err), 0);
	assert_int_equal(sc_gen_tmp_image_path(dir, 2, 0, p, sizeof p), 0);
	put_file("gen-000002.tmp/rank-00000.img", "partial");
	put_file("gen-000002.tmp/rank-00001.img.part", "partial");
	assert_int_equal(sc_gen_abort(dir, 2, err, sizeof err), 0);
	assert_false(exists("%s/gen-000002.tmp", dir));
	assert_int_equal(sc_gen_abort(dir, 2, err, sizeof err), 0); /* absent is fine */
	size_t n;
	assert_int_equal(sc_manifest_load(dir, v, 64, &n, err, sizeof err), 0);
	assert_true(n == 1 && v[0].gen == 1);
}

static void test_gc(void **state)
{
	(void)state;
	char err[1024];
	unsigned removed;
	size_t n;
	for (uint64_t g = 1; g <= 4; g++)
		make_gen(g, 2);
	assert_int_equal(sc_manifest_gc(dir, 0, &removed, err, sizeof err), 0); /* keep all */
	assert_int_equal(removed, 0);
	assert_int_equal(sc_manifest_gc(dir, 2, &removed, err, sizeof err), 0);
	assert_int_equal(removed, 2);
	assert_int_equal(sc_manifest_load(dir, v, 64, &n, err, sizeof err), 0);
	assert_true(n == 2 && v[0].gen == 3 && v[1].gen == 4);
	assert_false(exists("%s/gen-000001", dir));
	assert_false(exists("%s/gen-000002", dir));
	assert_true(exists("%s/gen-000003/rank-00000.img", dir));
	assert_true(exists("%s/gen-000004/rank-00001.img", dir));
	/* a directory MANIFEST does not list (crash leftover) goes too */
	char p[PATH_MAX + 32];
	snprintf(p, sizeof p, "%s/gen-000002", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	put_file("gen-000002/rank-00000.img", "old");
	assert_int_equal(sc_manifest_gc(dir, 2, &removed, err, sizeof err), 0);
	assert_int_equal(removed, 1);
	assert_false(exists("%s/gen-000002", dir));
	/* other files are left alone */
	put_file("notes.txt", "mine");
	put_file("gen-1", "not a generation name");
	assert_int_equal(sc_manifest_gc(dir, 1, &removed, err, sizeof err), 0);
	assert_true(exists("%s/notes.txt", dir) && exists("%s/gen-1", dir));
	assert_false(exists("%s/gen-000003", dir));
}

static void test_prepare_after_crash(void **state)
{
	(void)state;
	char err[1024], p[PATH_MAX + 32];
	make_gen(1, 1);
	make_gen(2, 1);
	/* crash while writing generation 3, and between the rename of 4 and its MANIFEST */
	assert_int_equal(sc_gen_begin(dir, 3, err, sizeof err), 0);
	put_file("gen-000003.tmp/rank-00000.img", "partial");
	snprintf(p, sizeof p, "%s/gen-000004", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	put_file("MANIFEST.tmp", "half");
	uint64_t last, next;
	unsigned stale;
	assert_int_equal(sc_ckptdir_prepare(dir, &last, &next, &stale, err, sizeof err), 0);
	assert_true(last == 2);
	assert_true(next == 5); /* never reuse the leftover gen-000004 */
	assert_int_equal(stale, 1);
	assert_false(exists("%s/gen-000003.tmp", dir));
	assert_false(exists("%s/MANIFEST.tmp", dir));
	size_t n;
	assert_int_equal(sc_manifest_load(dir, v, 64, &n, err, sizeof err), 0);
	assert_true(n == 2 && v[1].gen == 2); /* the previous generation is still the latest */
}

static void expect_corrupt(const char *text, const char *needle)
{
	put_file("MANIFEST", text);
	size_t n;
	char err[1024] = "", want[PATH_MAX + 32];
	assert_int_equal(sc_manifest_load(dir, v, 64, &n, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s/MANIFEST", dir);
	if (!strstr(err, want) || !strstr(err, needle))
		fail_msg("error '%s' should name %s and say '%s'", err, want, needle);
	uint64_t last, next;
	unsigned stale;
	assert_int_equal(sc_ckptdir_prepare(dir, &last, &next, &stale, err, sizeof err), -1);
}

#define HDR "# splitckpt MANIFEST 1\n"
#define HDR2 "# splitckpt MANIFEST 2\n"

static void test_corrupt(void **state)
{
	(void)state;
	expect_corrupt("", "empty");
	expect_corrupt("gen nranks\n", "line 1 is corrupt: not a splitckpt MANIFEST");
	expect_corrupt("# splitckpt MANIFEST 3\n", "line 1");
	/* version 2: took_ns and how before the program */
	expect_corrupt(HDR2 "1 2 3 4 prog\n", "line 2 is corrupt: too few fields");
	expect_corrupt(HDR2 "1 2 3 4 5x interval prog\n", "bad duration");
	expect_corrupt(HDR2 "1 2 3 4 5 inter/val prog\n", "bad 'how' word");
	expect_corrupt(HDR2 "1 2 3 4 5 abcdefghijklmnopqrstuvwxyz prog\n", "bad 'how' word");
	expect_corrupt(HDR "1 2 3\n", "line 2 is corrupt: too few fields");
	expect_corrupt(HDR "1 2 3 4 prog\nx 2 3 4 prog\n", "line 3 is corrupt: bad generation");
	expect_corrupt(HDR "0 2 3 4 prog\n", "bad generation");
	expect_corrupt(HDR "-1 2 3 4 prog\n", "bad generation");
	expect_corrupt(HDR "1 0 3 4 prog\n", "bad rank count");
	expect_corrupt(HDR "1 4294967296 3 4 prog\n", "bad rank count");
	expect_corrupt(HDR "1 2 3x 4 prog\n", "bad creation time");
	expect_corrupt(HDR "1 2 3 99999999999999999999999 prog\n", "bad byte count");
	expect_corrupt(HDR "1 2 3 4 \n", "program name empty");
	expect_corrupt(HDR "1 2 3 4 pr\rog\n", "control character");
	expect_corrupt(HDR "1 2 3 4 prog", "line 2 is corrupt: incomplete last line");
	expect_corrupt(HDR "1 2 3 4 prog\n1 2 3 4 prog\n", "generation listed twice");
	expect_corrupt(HDR "1  2 3 4 prog\n", "bad rank count");
	put_file("MANIFEST", "");
	char p[PATH_MAX + 32];
	snprintf(p, sizeof p, "%s/MANIFEST", dir);
	FILE *f = fopen(p, "w");
	fwrite(HDR "1 2 3 4 pr\0og\n", 1, sizeof HDR + 13, f);
	fclose(f);
	size_t n;
	char err[1024];
	assert_int_equal(sc_manifest_load(dir, v, 64, &n, err, sizeof err), -1);
	assert_non_null(strstr(err, "NUL"));
}

static void test_sorted_and_comments(void **state)
{
	(void)state;
	put_file("MANIFEST", HDR "# comment\n5 1 3 4 b\n2 1 3 4 a b  c\n");
	size_t n;
	char err[1024];
	assert_int_equal(sc_manifest_load(dir, v, 64, &n, err, sizeof err), 0);
	assert_true(n == 2 && v[0].gen == 2 && v[1].gen == 5);
	assert_string_equal(v[0].program, "a b  c");
	assert_true(v[0].took_ns == 0 && !strcmp(v[0].how, "-")); /* version 1 */
	uint64_t last, next;
	unsigned stale;
	assert_int_equal(sc_ckptdir_prepare(dir, &last, &next, &stale, err, sizeof err), 0);
	assert_true(last == 5 && next == 6);
	/* version 2 */
	put_file("MANIFEST", HDR2 "3 1 3 4 1500000000 end-SIGUSR1 heat 1 2\n");
	assert_int_equal(sc_manifest_load(dir, v, 64, &n, err, sizeof err), 0);
	assert_true(n == 1 && v[0].took_ns == 1500000000);
	assert_string_equal(v[0].how, "end-SIGUSR1");
	assert_string_equal(v[0].program, "heat 1 2");
	char how[64];
	assert_string_equal(sc_ckpt_how_text(v[0].how, how, sizeof how), "SIGUSR1 (ended the job)");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paths),
	    T(test_missing),
	    T(test_prepare_creates_dir),
	    T(test_commit_and_load),
	    T(test_commit_without_tmp_fails_cleanly),
	    T(test_abort),
	    T(test_gc),
	    T(test_prepare_after_crash),
	    T(test_corrupt),
	    T(test_sorted_and_comments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
