/* Unit tests of the /proc/<pid>/maps parser (upper-half/maps.c): single lines of every shape
 * the kernel prints plus garbage, then whole files read through buffers of several sizes so
 * that lines split at every chunk boundary, over-long lines and this process's real maps. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "upper-half/maps.h"

static int parse(const char *line, struct sc_map_entry *e)
{
	memset(e, 0x5a, sizeof *e);
	return sc_maps_parse_line(line, strlen(line), e);
}

static void test_normal(void **state)
{
	(void)state;
	struct sc_map_entry e;
	assert_int_equal(parse("00400000-00452000 r-xp 00001000 08:02 173521      "
			       "/usr/bin/dbus-daemon\n",
			       &e),
			 0);
	assert_int_equal(e.start, 0x400000);
	assert_int_equal(e.end, 0x452000);
	assert_int_equal(e.prot, PROT_READ | PROT_EXEC);
	assert_int_equal(e.shared, 0);
	assert_int_equal(e.offset, 0x1000);
	assert_int_equal(e.dev_major, 8);
	assert_int_equal(e.dev_minor, 2);
	assert_int_equal(e.inode, 173521);
	assert_string_equal(e.name, "/usr/bin/dbus-daemon");

	assert_int_equal(parse("7f2c4c000000-7f2c4c021000 rw-s 00000000 fd:01 "
			       "18446744073709551615 /dev/shm/x",
			       &e),
			 0);
	assert_int_equal(e.start, 0x7f2c4c000000ULL);
	assert_int_equal(e.prot, PROT_READ | PROT_WRITE);
	assert_int_equal(e.shared, 1);
	assert_int_equal(e.dev_major, 0xfd);
	assert_true(e.inode == UINT64_MAX);
	assert_string_equal(e.name, "/dev/shm/x");

	/* 5-level paging addresses and --- permissions */
	assert_int_equal(parse("ff0000000000000-ff0000000001000 ---p 00000000 00:00 0", &e), 0);
	assert_int_equal(e.prot, 0);
	assert_string_equal(e.name, "");
}

static void test_names(void **state)
{
	(void)state;
	struct sc_map_entry e;
	assert_int_equal(parse("7f0000001000-7f0000002000 rw-p 00000000 08:01 42    "
			       "/tmp/my dir/a  file (deleted)\n",
			       &e),
			 0);
	assert_string_equal(e.name, "/tmp/my dir/a  file (deleted)");

	const char *special[] = {"[vdso]",  "[vvar]",	  "[vvar_vclock]",	"[heap]",
				 "[stack]", "[vsyscall]", "[anon:glibc.malloc]"};
	for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
		char line[128];
		snprintf(line, sizeof line, "7ffd1000-7ffd3000 r-xp 00000000 00:00 0 %s\n",
			 special[i]);
		assert_int_equal(parse(line, &e), 0);
		assert_string_equal(e.name, special[i]);
	}
}

static void test_missing_name(void **state)
{
	(void)state;
	struct sc_map_entry e;
	assert_int_equal(parse("7f0000001000-7f0000002000 rw-p 00000000 00:00 0\n", &e), 0);
	assert_string_equal(e.name, "");
	assert_int_equal(parse("7f0000001000-7f0000002000 rw-p 00000000 00:00 0", &e), 0);
	assert_string_equal(e.name, "");
	/* padding but no name */
	assert_int_equal(parse("7f0000001000-7f0000002000 rw-p 00000000 00:00 0            \n", &e),
			 0);
	assert_string_equal(e.name, "");
}

static void test_garbage(void **state)
{
	(void)state;
	struct sc_map_entry e;
	const char *bad[] = {
	    "",
	    "\n",
	    "hello world",
	    "00400000-00452000",
	    "00400000-00452000 r-xp",
	    "00400000 00452000 r-xp 00000000 08:02 1 /x",
	    "00452000-00400000 r-xp 00000000 08:02 1 /x", /* end before start */
	    "00400000-00400000 r-xp 00000000 08:02 1 /x", /* empty */
	    "00400000-00452000 rwzp 00000000 08:02 1 /x", /* bad permission */
	    "00400000-00452000 r-xq 00000000 08:02 1 /x", /* neither p nor s */
	    "00400000-00452000 r-x 00000000 08:02 1 /x",  /* three permissions */
	    "00400000-00452000 r-xp 0000g000 08:02 1 /x", /* bad offset */
	    "00400000-00452000 r-xp 00000000 0802 1 /x",  /* bad device */
	    "00400000-00452000 r-xp 00000000 08:02 x /x", /* bad inode */
	    "00400000-00452000 r-xp 00000000 08:02 1/x",  /* name not separated */
	    "00400000-00452000 r-xp 00000000 08:02 99999999999999999999 /x", /* inode > 2^64 */
	    "10000000000000000-10000000000001000 r-xp 00000000 08:02 1 /x",  /* 17 digits */
	    "-00452000 r-xp 00000000 08:02 1 /x",
	    "00400000-00452000 r-xp 00000000 123456789:02 1 /x", /* major > 32 bits */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (parse(bad[i], &e) != -1)
			fail_msg("accepted garbage line %zu: '%s'", i, bad[i]);
	}
	/* an embedded NUL is not a valid name */
	const char nul[] = "00400000-00452000 r-xp 00000000 08:02 1 /a\0b";
	assert_int_equal(sc_maps_parse_line(nul, sizeof nul - 1, &e), -1);
}

static void test_long_name(void **state)
{
	(void)state;
	struct sc_map_entry e;
	char line[2048];
	int n = snprintf(line, sizeof line, "7f0000001000-7f0000002000 r--p 00000000 08:01 7 /");
	for (int i = 0; i < 1500; i++)
		line[n++] = (char)('a' + i % 26);
	line[n++] = '\n';
	line[n] = '\0';
	assert_int_equal(sc_maps_parse_line(line, (size_t)n, &e), 0);
	assert_int_equal(strlen(e.name), sizeof e.name - 1);
	assert_int_equal(e.name[0], '/');
	assert_int_equal(e.name[1], 'a');
}

/* --- whole files ---------------------------------------------------------------------------- */

struct collect {
	size_t n;
	struct sc_map_entry e[400];
	size_t stop_at; /* return 7 at this entry (1-based), 0 = never */
};

static int collect_cb(const struct sc_map_entry *e, void *arg)
{
	struct collect *c = arg;
	if (c->n < sizeof c->e / sizeof c->e[0])
		c->e[c->n] = *e;
	c->n++;
	return c->stop_at && c->n == c->stop_at ? 7 : 0;
}

static char *write_temp(const char *text, size_t len)
{
	char *path = strdup("/tmp/test_maps_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

/* A file of lines of many lengths (names with spaces, empty names, a long name) read with
 * buffer sizes from 4096 upwards, so every line straddles a read boundary at some size. */
static void test_chunk_boundaries(void **state)
{
	(void)state;
	static char text[200000];
	size_t len = 0, nlines = 300;
	for (size_t i = 0; i < nlines; i++) {
		char name[700];
		size_t nl = (i * 37) % 90;
		if (i == 150)
			nl = 600; /* longer than the name field: truncated */
		for (size_t k = 0; k < nl; k++)
			name[k] = k % 11 == 5 ? ' ' : (char)('A' + (i + k) % 26);
		name[nl] = '\0';
		len += (size_t)snprintf(
		    text + len, sizeof text - len, "%llx-%llx r%cxp %08zx 08:%02zx %zu %*s%s%s\n",
		    0x10000000ULL + i * 0x2000, 0x10001000ULL + i * 0x2000, i % 2 ? 'w' : '-',
		    i * 4096, i % 256, i, (int)(i % 20), "", nl ? "/" : "", name);
	}
	char *path = write_temp(text, len);
	static struct collect c;
	for (size_t buflen = 4096; buflen < 4096 + 300; buflen += 7) {
		char *buf = malloc(buflen);
		char err[256] = "";
		memset(&c, 0, sizeof c);
		assert_int_equal(
		    sc_maps_foreach(path, buf, buflen, collect_cb, &c, err, sizeof err), 0);
		assert_int_equal(c.n, nlines);
		/* every entry equals the line parsed on its own */
		const char *p = text;
		for (size_t i = 0; i < nlines; i++) {
			const char *nl = strchr(p, '\n');
			struct sc_map_entry e;
			assert_int_equal(sc_maps_parse_line(p, (size_t)(nl - p + 1), &e), 0);
			assert_int_equal(c.e[i].start, e.start);
			assert_int_equal(c.e[i].end, e.end);
			assert_int_equal(c.e[i].inode, i);
			assert_string_equal(c.e[i].name, e.name);
			p = nl + 1;
		}
		free(buf);
	}
	unlink(path);
	free(path);
}

/* A line longer than the whole buffer, then a normal one, then one without '\n' at EOF. */
static void test_line_longer_than_buffer(void **state)
{
	(void)state;
	static char text[20000];
	size_t len = (size_t)snprintf(text, sizeof text, "1000-2000 rw-p 00000000 00:00 1 /");
	memset(text + len, 'x', 9000);
	len += 9000;
	len += (size_t)snprintf(text + len, sizeof text - len,
				"\n3000-4000 r--p 00000000 00:00 2 [heap]\n"
				"5000-6000 r--p 00000000 00:00 3 /last line");
	char *path = write_temp(text, len);
	char buf[4096], err[256] = "";
	static struct collect c;
	memset(&c, 0, sizeof c);
	assert_int_equal(sc_maps_foreach(path, buf, sizeof buf, collect_cb, &c, err, sizeof err),
			 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.e[0].inode, 1);
	assert_int_equal(strlen(c.e[0].name), sizeof c.e[0].name - 1);
	assert_string_equal(c.e[1].name, "[heap]");
	assert_string_equal(c.e[2].name, "/last line");
	unlink(path);
	free(path);
}

static void test_errors(void **state)
{
	(void)state;
	const char text[] = "1000-2000 rw-p 00000000 00:00 1 /a\n"
			    "3000-4000 r--p 00000000 00:00 2\n"
			    "this is not a maps line\n"
			    "5000-6000 r--p 00000000 00:00 3\n";
	char *path = write_temp(text, sizeof text - 1);
	char buf[4096], err[256] = "";
	static struct collect c;
	memset(&c, 0, sizeof c);
	assert_int_equal(sc_maps_foreach(path, buf, sizeof buf, collect_cb, &c, err, sizeof err),
			 -1);
	assert_int_equal(c.n, 2);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "line 3"));
	assert_non_null(strstr(err, "this is not a maps line"));

	/* the callback stops the walk and its value comes back */
	memset(&c, 0, sizeof c);
	c.stop_at = 2;
	assert_int_equal(sc_maps_foreach(path, buf, sizeof buf, collect_cb, &c, err, sizeof err),
			 7);
	assert_int_equal(c.n, 2);

	/* a small buffer and a missing file */
	assert_int_equal(sc_maps_foreach(path, buf, 100, collect_cb, &c, err, sizeof err), -1);
	assert_non_null(strstr(err, "too small"));
	unlink(path);
	assert_int_equal(sc_maps_foreach(path, buf, sizeof buf, collect_cb, &c, err, sizeof err),
			 -1);
	assert_non_null(strstr(err, path));
	free(path);
}

struct find_self {
	uint64_t addr;
	int found_stack, found_text, n;
};

static int find_cb(const struct sc_map_entry *e, void *arg)
{
	struct find_self *f = arg;
	f->n++;
	if (!strcmp(e->name, "[stack]") && f->addr >= e->start && f->addr < e->end)
		f->found_stack = 1;
	if ((uint64_t)(uintptr_t)&find_cb >= e->start && (uint64_t)(uintptr_t)&find_cb < e->end &&
	    (e->prot & PROT_EXEC))
		f->found_text = 1;
	return 0;
}

static void test_proc_self(void **state)
{
	(void)state;
	int local = 0;
	struct find_self f = {.addr = (uint64_t)(uintptr_t)&local};
	char buf[4096], err[256] = "";
	assert_int_equal(
	    sc_maps_foreach("/proc/self/maps", buf, sizeof buf, find_cb, &f, err, sizeof err), 0);
	assert_true(f.n > 5);
	assert_true(f.found_text);
	/* ASan may run tests on a fake stack; the main thread's stack is then elsewhere */
	(void)f.found_stack;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normal),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_missing_name),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_long_name),
	    cmocka_unit_test(test_chunk_boundaries),
	    cmocka_unit_test(test_line_longer_than_buffer),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_proc_self),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
