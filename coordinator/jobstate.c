/* The job state file DIR/splitckpt.job: how commands and restarts find a running coordinator.
 * It holds the job's secret, so it is written atomically with mode 0600 and a reader refuses
 * a file that others could have read or planted (wrong owner, group/other bits, not regular). */
#define _GNU_SOURCE
#include "config.h"

#include "coord_client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JOBSTATE_NAME "splitckpt.job"
#define JOBSTATE_MAX_BYTES 4096

static int valid_host(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n >= sizeof((struct sc_jobstate *)0)->host)
		return 0;
	/* host names, IPv4 and IPv6 literals (with a %zone) */
	for (size_t i = 0; i < n; i++) {
		char ch = h[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || strchr(".-_:%", ch)))
			return 0;
	}
	return 1;
}

static int valid_secret(const char *s)
{
	if (strlen(s) != SC_SECRET_LEN)
		return 0;
	for (size_t i = 0; i < SC_SECRET_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Strict decimal in [lo, hi]; 0 on success. */
static int parse_int(const char *s, long lo, long hi, int *out)
{
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static int state_path(const char *ckptdir, char *out, size_t outlen, char *err, size_t errlen)
{
	int n = snprintf(out, outlen, "%s/" JOBSTATE_NAME, ckptdir);
	if (n < 0 || (size_t)n >= outlen) {
		snprintf(err, errlen, "checkpoint directory path too long: %s", ckptdir);
		return -1;
	}
	return 0;
}

/* Parses the file's text; err names the file and the line. */
static int parse_state(const char *path, char *text, struct sc_jobstate *js, char *err,
		       size_t errlen)
{
	int seen_host = 0, seen_port = 0, seen_secret = 0, seen_pid = 0;
	int lineno = 0;
	char *save = NULL;
	memset(js, 0, sizeof *js);
	/* strtok_r would merge empty lines, which is harmless here; they are skipped anyway. */
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		char *eq = strchr(line, '=');
		if (!eq) {
			snprintf(err, errlen, "%s is malformed: line %d has no key=value", path,
				 lineno);
			return -1;
		}
		*eq = '\0';
		const char *key = line, *val = eq + 1;
		int bad = 0, *seen = NULL;
		if (!strcmp(key, "host")) {
			seen = &seen_host;
			bad = !valid_host(val);
			if (!bad)
				snprintf(js->host, sizeof js->host, "%s", val);
		} else if (!strcmp(key, "port")) {
			seen = &seen_port;
			bad = parse_int(val, 1, 65535, &js->port) != 0;
		} else if (!strcmp(key, "secret")) {
			seen = &seen_secret;
			bad = !valid_secret(val);
			if (!bad)
				memcpy(js->secret, val, SC_SECRET_LEN + 1);
		} else if (!strcmp(key, "pid")) {
			seen = &seen_pid;
			bad = parse_int(val, 1, INT_MAX, &js->pid) != 0;
		} else {
			snprintf(err, errlen, "%s is malformed: unknown key '%.64s' on line %d",
				 path, key, lineno);
			return -1;
		}
		if (bad) {
			snprintf(err, errlen, "%s is malformed: bad %s value on line %d", path, key,
				 lineno);
			return -1;
		}
		if ((*seen)++) {
			snprintf(err, errlen, "%s is malformed: %s given twice (line %d)", path,
				 key, lineno);
			return -1;
		}
	}
	const char *missing = !seen_host     ? "host"
			      : !seen_port   ? "port"
			      : !seen_secret ? "secret"
			      : !seen_pid    ? "pid"
					     : NULL;
	if (missing) {
		snprintf(err, errlen, "%s is malformed: no %s line", path, missing);
		return -1;
	}
	return 0;
}

int sc_jobstate_read(const char *ckptdir, struct sc_jobstate *js, char *err, size_t errlen)
{
	char path[PATH_MAX];
	if (state_path(ckptdir, path, sizeof path, err, errlen))
		return -1;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			snprintf(err, errlen, "no job found in %s: %s does not exist", ckptdir,
				 path);
		else if (e == ELOOP)
			snprintf(err, errlen, "%s is a symbolic link; refusing to use it", path);
		else
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	struct stat st;
	char text[JOBSTATE_MAX_BYTES + 1];
	ssize_t len = 0;
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		goto fail;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "%s belongs to uid %u, not to you (uid %u); refusing to use it", path,
			 (unsigned)st.st_uid, (unsigned)geteuid());
		goto fail;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen,
			 "%s has mode %04o; it holds the job's secret and must be 0600 "
			 "(chmod 600 it if you trust its content)",
			 path, (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if (st.st_size > JOBSTATE_MAX_BYTES) {
		snprintf(err, errlen, "%s is malformed: larger than %d bytes", path,
			 JOBSTATE_MAX_BYTES);
		goto fail;
	}
	while (len < JOBSTATE_MAX_BYTES) {
		ssize_t n = read(fd, text + len, (size_t)(JOBSTATE_MAX_BYTES - len));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	text[len] = '\0';
	if ((size_t)len != strlen(text)) {
		snprintf(err, errlen, "%s is malformed: contains a NUL byte", path);
		errno = EINVAL;
		return -1;
	}
	if (parse_state(path, text, js, err, errlen)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
fail:
	close(fd);
	errno = EINVAL;
	return -1;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

int sc_jobstate_write(const char *ckptdir, const struct sc_jobstate *js, char *err, size_t errlen)
{
	if (!valid_host(js->host) || js->port < 1 || js->port > 65535 ||
	    !valid_secret(js->secret) || js->pid < 1) {
		snprintf(err, errlen, "refusing to write an invalid job state (host '%s', port %d)",
			 js->host, js->port);
		return -1;
	}
	char path[PATH_MAX], tmp[PATH_MAX + 32], text[JOBSTATE_MAX_BYTES];
	if (state_path(ckptdir, path, sizeof path, err, errlen))
		return -1;
	snprintf(tmp, sizeof tmp, "%s/.%s.%d.tmp", ckptdir, JOBSTATE_NAME, (int)getpid());
	int len = snprintf(text, sizeof text,
			   "# splitckpt job state: how `splitckpt command` reaches this job's "
			   "coordinator. Private (mode 0600).\n"
			   "host=%s\nport=%d\nsecret=%s\npid=%d\n",
			   js->host, js->port, js->secret, js->pid);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	/* The umask cannot widen 0600, but an inherited ACL default could; pin the mode. */
	errno = 0;
	if (fchmod(fd, 0600) != 0 || write(fd, text, (size_t)len) != len || fsync(fd) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno ? errno : EIO));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot install %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (fsync_dir(ckptdir) != 0) {
		snprintf(err, errlen, "cannot sync directory %s: %s", ckptdir, strerror(errno));
		return -1;
	}
	return 0;
}
