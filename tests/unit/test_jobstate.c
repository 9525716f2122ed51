/* Unit tests of the job state file DIR/splitckpt.job (coordinator/jobstate.c): round trip,
 * mode 0600, a missing file, files others could read or own, symlinks, and every kind of
 * malformed content, each rejected with a message naming the file and the problem. */
#define _GNU_SOURCE
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "coordinator/coord_client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char dir[PATH_MAX], path[PATH_MAX + 32];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/sc-test-jobstate-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/splitckpt.job", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *text, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void expect_rejected(const char *needle)
{
	struct sc_jobstate js;
	char err[1024] = "";
	assert_int_equal(sc_jobstate_read(dir, &js, err, sizeof err), -1);
	if (!strstr(err, path) || !strstr(err, needle))
		fail_msg("error '%s' should name %s and say '%s'", err, path, needle);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct sc_jobstate in = {.host = "node-17.cluster", .port = 40123, .pid = 999}, out;
	memcpy(in.secret, SECRET, sizeof SECRET);
	char err[1024];
	assert_int_equal(sc_jobstate_write(dir, &in, err, sizeof err), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(sc_jobstate_read(dir, &out, err, sizeof err), 0);
	assert_string_equal(out.host, in.host);
	assert_int_equal(out.port, in.port);
	assert_string_equal(out.secret, SECRET);
	assert_int_equal(out.pid, 999);
	/* no temporary file left behind */
	char tmp[PATH_MAX + 64];
	snprintf(tmp, sizeof tmp, "%s/.splitckpt.job.%d.tmp", dir, (int)getpid());
	assert_int_equal(access(tmp, F_OK), -1);
	/* rewriting replaces it */
	in.port = 1;
	assert_int_equal(sc_jobstate_write(dir, &in, err, sizeof err), 0);
	assert_int_equal(sc_jobstate_read(dir, &out, err, sizeof err), 0);
	assert_int_equal(out.port, 1);
	/* IPv6 literal hosts are fine */
	snprintf(in.host, sizeof in.host, "fe80::1%%eth0");
	assert_int_equal(sc_jobstate_write(dir, &in, err, sizeof err), 0);
	assert_int_equal(sc_jobstate_read(dir, &out, err, sizeof err), 0);
	assert_string_equal(out.host, "fe80::1%eth0");
}

static void test_write_rejects_invalid(void **state)
{
	(void)state;
	struct sc_jobstate in = {.host = "h", .port = 0, .pid = 1};
	char err[1024];
	memcpy(in.secret, SECRET, sizeof SECRET);
	assert_int_equal(sc_jobstate_write(dir, &in, err, sizeof err), -1);
	in.port = 5;
	snprintf(in.secret, sizeof in.secret, "short");
	assert_int_equal(sc_jobstate_write(dir, &in, err, sizeof err), -1);
	memcpy(in.secret, SECRET, sizeof SECRET);
	snprintf(in.host, sizeof in.host, "bad host\nport=1");
	assert_int_equal(sc_jobstate_write(dir, &in, err, sizeof err), -1);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(sc_jobstate_write("/nonexistent/dir", &in, err, sizeof err), -1);
}

static void test_missing(void **state)
{
	(void)state;
	struct sc_jobstate js;
	char err[1024], want[2 * PATH_MAX + 64];
	assert_int_equal(sc_jobstate_read(dir, &js, err, sizeof err), -1);
	assert_int_equal(errno, ENOENT);
	snprintf(want, sizeof want, "no job found in %s: %s does not exist", dir, path);
	assert_string_equal(err, want);
}

static void test_bad_mode(void **state)
{
	(void)state;
	write_file("host=h\nport=1\nsecret=" SECRET "\npid=1\n", 0644);
	expect_rejected("mode 0644");
	write_file("host=h\nport=1\nsecret=" SECRET "\npid=1\n", 0640);
	expect_rejected("must be 0600");
}

static void test_wrong_owner(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* only root can give a file away */
	write_file("host=h\nport=1\nsecret=" SECRET "\npid=1\n", 0600);
	assert_int_equal(chown(path, 12345, 12345), 0);
	expect_rejected("belongs to uid 12345");
}

static void test_not_regular(void **state)
{
	(void)state;
	char target[PATH_MAX + 32];
	snprintf(target, sizeof target, "%s/real", dir);
	int fd = open(target, O_WRONLY | O_CREAT, 0600);
	close(fd);
	assert_int_equal(symlink(target, path), 0);
	expect_rejected("symbolic link");
	unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	expect_rejected("not a regular file");
	rmdir(path);
}

static void test_malformed(void **state)
{
	(void)state;
	static const struct {
		const char *text, *needle;
	} cases[] = {
	    {"hello world\n", "line 1 has no key=value"},
	    {"\x7f"
	     "ELF\x02\x01\x01",
	     "no key=value"},
	    {"", "no host line"},
	    {"host=h\nport=1\npid=1\n", "no secret line"},
	    {"host=h\nport=70000\nsecret=" SECRET "\npid=1\n", "bad port value on line 2"},
	    {"host=h\nport=-1\nsecret=" SECRET "\npid=1\n", "bad port value"},
	    {"host=h\nport=12x\nsecret=" SECRET "\npid=1\n", "bad port value"},
	    {"host=h\nport=1\nsecret=XYZ\npid=1\n", "bad secret value on line 3"},
	    {"host=h\nport=1\nsecret=" SECRET "0\npid=1\n", "bad secret value"},
	    {"host=h\nport=1\nsecret=" SECRET "\npid=0\n", "bad pid value"},
	    {"host=a b\nport=1\nsecret=" SECRET "\npid=1\n", "bad host value on line 1"},
	    {"host=\nport=1\nsecret=" SECRET "\npid=1\n", "bad host value"},
	    {"host=h\nhost=g\nport=1\nsecret=" SECRET "\npid=1\n", "host given twice"},
	    {"host=h\nport=1\nsecret=" SECRET "\npid=1\ncolour=red\n", "unknown key 'colour'"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		write_file(cases[i].text, 0600);
		expect_rejected(cases[i].needle);
	}
	/* a NUL byte inside */
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_int_equal(write(fd, "host=h\0\nport=1\n", 15), 15);
	close(fd);
	expect_rejected("NUL");
	/* far too large to be a state file */
	char *big = malloc(10000);
	memset(big, '#', 9999);
	big[9999] = '\0';
	write_file(big, 0600);
	free(big);
	expect_rejected("larger than");
	/* comments and blank lines are fine */
	write_file("# comment\n\nhost=h\nport=1\nsecret=" SECRET "\npid=1\n", 0600);
	struct sc_jobstate js;
	char err[1024];
	assert_int_equal(sc_jobstate_read(dir, &js, err, sizeof err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_rejects_invalid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_owner, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_regular, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
