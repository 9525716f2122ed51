/* How the CLI finds a job's coordinator (options, environment, DIR/splitckpt.job), starts one
 * for launch/restart when none answers (serialised by a lock file, since every rank of an
 * `srun splitckpt launch` tries at once), and sends it one-shot commands. */
#define _GNU_SOURCE
#include "config.h"

#include "coord_start.h"

#include "../coordinator/manifest.h"
#include "../coordinator/textbuf.h"
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 5000
#define LOCK_WAIT_S 60	/* how long a launcher waits for another one to start the coordinator */
#define LOCK_STALE_S 30 /* a lock this old belongs to a launcher that died */

static int parse_port(const char *what, const char *s, int *port, char *err, size_t errlen)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > 65535 || !isdigit((unsigned char)*s)) {
		snprintf(err, errlen, "%s: '%s' is not a port number (1-65535)", what, s);
		return -1;
	}
	*port = (int)v;
	return 0;
}

/* The port from the option (if > 0) or SPLITCKPT_COORD_PORT; 0 when neither. */
static int resolve_port(int opt_port, int *port, char *err, size_t errlen)
{
	*port = opt_port > 0 ? opt_port : 0;
	const char *env = getenv("SPLITCKPT_COORD_PORT");
	if (!*port && env && *env && parse_port("SPLITCKPT_COORD_PORT", env, port, err, errlen))
		return -1;
	return 0;
}

/* SPLITCKPT_SECRET into secret when set; 1 if used, 0 if unset, -1 if malformed. */
static int env_secret(char *secret, char *err, size_t errlen)
{
	const char *s = getenv("SPLITCKPT_SECRET");
	if (!s || !*s)
		return 0;
	size_t n = strlen(s);
	if (n != SC_SECRET_LEN || strspn(s, "0123456789abcdef") != n) {
		snprintf(err, errlen, "SPLITCKPT_SECRET must be %d lowercase hex digits",
			 SC_SECRET_LEN);
		return -1;
	}
	memcpy(secret, s, n + 1);
	return 1;
}

int sc_coord_target(const char *ckptdir_abs, const char *host, int port, struct sc_jobstate *js,
		    char *err, size_t errlen)
{
	char ferr[1024];
	struct sc_jobstate file;
	host = sc_opt_env(host, "SPLITCKPT_COORD_HOST", NULL);
	if (resolve_port(port, &port, err, errlen))
		return -1;
	int have_file = sc_jobstate_read(ckptdir_abs, &file, ferr, sizeof ferr) == 0;
	int file_errno = errno;
	memset(js, 0, sizeof *js);
	int have_env = env_secret(js->secret, err, errlen);
	if (have_env < 0)
		return -1;
	if (!host && !port) {
		if (!have_file) {
			snprintf(err, errlen, "%s", ferr);
			errno = file_errno; /* ENOENT: no job in this directory */
			return -1;
		}
		char secret[sizeof js->secret];
		memcpy(secret, js->secret, sizeof secret);
		*js = file;
		if (have_env)
			memcpy(js->secret, secret, sizeof secret);
		return 0;
	}
	/* Explicit address: options and environment fill what they give, the file the rest. */
	if (!host)
		host = have_file ? file.host : "localhost";
	if (!port) {
		if (!have_file) {
			snprintf(err, errlen,
				 "--coord-host needs --coord-port (or SPLITCKPT_COORD_PORT): %s",
				 ferr);
			return -1;
		}
		port = file.port;
	}
	if (snprintf(js->host, sizeof js->host, "%s", host) >= (int)sizeof js->host) {
		snprintf(err, errlen, "coordinator host name too long");
		return -1;
	}
	js->port = port;
	if (have_file && !strcmp(file.host, js->host) && file.port == port)
		js->pid = file.pid;
	if (!have_env) {
		if (!have_file) {
			snprintf(err, errlen,
				 "no secret for the coordinator at %s:%d: set SPLITCKPT_SECRET or "
				 "use the --ckptdir of its job (%s)",
				 host, port, ferr);
			return -1;
		}
		memcpy(js->secret, file.secret, sizeof js->secret);
	}
	return 0;
}

static int connect_as(const struct sc_jobstate *js, uint32_t flags, struct sc_conn *conn,
		      struct sc_msg *welcome, int timeout_ms, char *err, size_t errlen)
{
	struct sc_msg hello;
	char why[1024], prefix[300];
	memset(&hello, 0, sizeof hello);
	hello.role = SC_ROLE_COMMAND;
	hello.flags = flags;
	hello.pid = (uint32_t)getpid();
	gethostname(hello.text, 256);
	if (sc_conn_open(conn, js->host, js->port, js->secret, &hello, welcome, timeout_ms, why,
			 sizeof why) == 0)
		return 0;
	int e = errno;
	snprintf(prefix, sizeof prefix, "%s:%d: ", js->host, js->port);
	const char *reason = strstr(why, prefix);
	reason = reason ? reason + strlen(prefix) : why;
	switch (e) {
	case EACCES:
		snprintf(err, errlen,
			 "coordinator at %s:%d refused the connection: %s (the secret comes from "
			 "SPLITCKPT_SECRET or the job's splitckpt.job)",
			 js->host, js->port, welcome->text);
		break;
	case EPROTO:
	case EINVAL:
		snprintf(err, errlen, "%s", why);
		break;
	default: {
		char lower[1024];
		snprintf(lower, sizeof lower, "%s", reason);
		lower[0] = (char)tolower((unsigned char)lower[0]);
		snprintf(err, errlen, "coordinator at %s:%d is not reachable: %s%s", js->host,
			 js->port, lower, e == ECONNREFUSED ? " (job ended?)" : "");
	}
	}
	errno = e;
	return -1;
}

int sc_coord_request(const struct sc_jobstate *js, uint32_t cmd, uint64_t arg, uint32_t flags,
		     int timeout_ms, struct sc_textbuf *reply, int *status, uint64_t *gen,
		     char *err, size_t errlen)
{
	struct sc_msg m;
	struct sc_conn conn;
	if (sc_coord_connect(js, &conn, &m, CONNECT_TIMEOUT_MS, err, errlen))
		return -1;
	memset(&m, 0, sizeof m);
	m.type = SC_MSG_COMMAND;
	m.value = cmd;
	m.value2 = arg;
	m.flags = flags;
	if (sc_conn_send(&conn, &m) != 0) {
		snprintf(err, errlen, "cannot send the command to the coordinator at %s:%d: %s",
			 js->host, js->port, strerror(errno));
		sc_conn_close(&conn);
		return -1;
	}
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int left = -1;
		if (timeout_ms >= 0) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			long spent = (now.tv_sec - start.tv_sec) * 1000 +
				     (now.tv_nsec - start.tv_nsec) / 1000000;
			left = spent >= timeout_ms ? 0 : timeout_ms - (int)spent;
		}
		char why[512];
		int r = sc_conn_recv(&conn, &m, left, why, sizeof why);
		if (r <= 0) {
			if (r == 0)
				snprintf(err, errlen,
					 "no reply from the coordinator at %s:%d within %d s",
					 js->host, js->port, timeout_ms / 1000);
			else
				snprintf(
				    err, errlen,
				    "no reply from the coordinator at %s:%d: %s (did it exit?)",
				    js->host, js->port, why);
			sc_conn_close(&conn);
			return -1;
		}
		if (m.type != SC_MSG_REPLY)
			continue; /* nothing else is meant for a command client */
		sc_tb_append(reply, m.text, strlen(m.text));
		if (!(m.flags & SC_FLAG_MORE))
			break;
	}
	sc_conn_close(&conn);
	if (reply->oom) {
		snprintf(err, errlen, "out of memory reading the reply");
		return -1;
	}
	*status = m.status;
	*gen = m.gen;
	return 0;
}

/* Tells the coordinator the wanted interval if it differs from what WELCOME said. */
static int apply_interval(const struct sc_coord_opts *o, const struct sc_jobstate *js,
			  uint64_t current, char *err, size_t errlen)
{
	if (o->interval < 0 || current == (uint64_t)o->interval)
		return 0;
	struct sc_textbuf tb;
	int status;
	uint64_t gen;
	sc_tb_init(&tb);
	int r = sc_coord_request(js, SC_CMD_INTERVAL, (uint64_t)o->interval, 0, 30000, &tb, &status,
				 &gen, err, errlen);
	if (r == 0 && status != 0) {
		snprintf(err, errlen, "cannot set the checkpoint interval: %s", sc_tb_str(&tb));
		r = -1;
	}
	sc_tb_free(&tb);
	return r;
}

int sc_coord_connect(const struct sc_jobstate *js, struct sc_conn *conn, struct sc_msg *welcome,
		     int timeout_ms, char *err, size_t errlen)
{
	return connect_as(js, 0, conn, welcome, timeout_ms, err, errlen);
}

/* Connects as a launch or restart that will use this coordinator (SC_FLAG_ATTACH). */
static int attach(const struct sc_jobstate *js, struct sc_conn *conn, struct sc_msg *welcome,
		  char *err, size_t errlen)
{
	return connect_as(js, SC_FLAG_ATTACH, conn, welcome, CONNECT_TIMEOUT_MS, err, errlen);
}

/* Is the coordinator of DIR/splitckpt.job alive? 1 yes (js, *interval filled), 0 no (none or
 * stale), -1 it answers but cannot be used (err says why). */
static int probe_existing(const char *dir, int want_port, struct sc_jobstate *js,
			  uint64_t *interval, char *err, size_t errlen)
{
	struct sc_msg welcome;
	char why[1024];
	if (sc_jobstate_read(dir, js, why, sizeof why) != 0)
		return 0; /* missing, or unusable: a new coordinator replaces it */
	int have_env = env_secret(js->secret, err, errlen);
	if (have_env < 0)
		return -1;
	struct sc_conn conn;
	if (attach(js, &conn, &welcome, why, sizeof why) != 0) {
		if (errno == EACCES || errno == EPROTO) {
			snprintf(err, errlen, "%s", why);
			return -1;
		}
		return 0; /* the coordinator that wrote it is gone */
	}
	sc_conn_close(&conn);
	if (want_port && js->port != want_port) {
		snprintf(err, errlen,
			 "a coordinator for %s already runs at %s:%d, not at port %d "
			 "(stop it with `splitckpt command --ckptdir %s --quit`)",
			 dir, js->host, js->port, want_port, dir);
		return -1;
	}
	*interval = welcome.value;
	return 1;
}

static int start_coordinator(const char *dir, const struct sc_coord_opts *o, int port, char *err,
			     size_t errlen)
{
	char self[PATH_MAX], keep[32], interval[32], portstr[16];
	if (sc_self_exe(self, sizeof self) != 0) {
		snprintf(err, errlen, "cannot find the splitckpt executable: %s", strerror(errno));
		return -1;
	}
	const char *argv[16];
	int n = 0;
	argv[n++] = self;
	argv[n++] = "coordinator";
	argv[n++] = "--daemon";
	argv[n++] = "--exit-on-last";
	argv[n++] = "--ckptdir";
	argv[n++] = dir;
	snprintf(keep, sizeof keep, "%u", o->keep);
	argv[n++] = "--keep";
	argv[n++] = keep;
	if (o->interval >= 0) {
		snprintf(interval, sizeof interval, "%ld", o->interval);
		argv[n++] = "--interval";
		argv[n++] = interval;
	}
	if (port) {
		snprintf(portstr, sizeof portstr, "%d", port);
		argv[n++] = "--port";
		argv[n++] = portstr;
	}
	if (o->quiet)
		argv[n++] = "--quiet";
	argv[n] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot start a coordinator: fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		execv(self, (char *const *)argv);
		fprintf(stderr, "splitckpt: cannot run %s: %s\n", self, strerror(errno));
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			snprintf(err, errlen, "cannot start a coordinator: waitpid: %s",
				 strerror(errno));
			return -1;
		}
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(err, errlen,
			 "could not start a coordinator for %s (see the message above and "
			 "%s/coordinator.log)",
			 dir, dir);
		return -1;
	}
	return 0;
}

int sc_coord_ensure(const struct sc_coord_opts *o, struct sc_jobstate *js, int *started, char *err,
		    size_t errlen)
{
	char dir[PATH_MAX], lock[PATH_MAX + 32];
	*started = 0;
	if (sc_ckptdir_resolve(o->ckptdir, dir, sizeof dir, err, errlen))
		return -1;
	const char *host = sc_opt_env(o->coord_host, "SPLITCKPT_COORD_HOST", NULL);
	int port;
	if (resolve_port(o->coord_port, &port, err, errlen))
		return -1;
	uint64_t interval = 0;
	if (host) {
		struct sc_msg welcome;
		struct sc_conn conn;
		if (sc_coord_target(dir, host, port, js, err, errlen) ||
		    attach(js, &conn, &welcome, err, errlen))
			return -1;
		sc_conn_close(&conn);
		return apply_interval(o, js, welcome.value, err, errlen);
	}
	if (sc_mkdir_parents(dir, err, errlen))
		return -1;
	snprintf(lock, sizeof lock, "%s/splitckpt.job.lock", dir);
	time_t give_up = time(NULL) + LOCK_WAIT_S;
	for (;;) {
		int r = probe_existing(dir, port, js, &interval, err, errlen);
		if (r != 0)
			return r < 0 ? -1 : apply_interval(o, js, interval, err, errlen);
		int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dprintf(fd, "%d\n", (int)getpid());
			close(fd);
			/* Another launcher may have finished starting one just before we locked. */
			r = probe_existing(dir, port, js, &interval, err, errlen);
			if (r == 0 && start_coordinator(dir, o, port, err, errlen) == 0) {
				r = sc_jobstate_read(dir, js, err, errlen) == 0 ? 2 : -1;
				if (r == 2 && env_secret(js->secret, err, errlen) < 0)
					r = -1;
			} else if (r == 0) {
				r = -1;
			}
			unlink(lock);
			if (r == 1)
				return apply_interval(o, js, interval, err, errlen);
			*started = r == 2;
			return r == 2 ? 0 : -1;
		}
		if (errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", lock, strerror(errno));
			return -1;
		}
		struct stat st;
		if (stat(lock, &st) == 0 && time(NULL) - st.st_mtime > LOCK_STALE_S)
			unlink(lock); /* its launcher died while starting a coordinator */
		if (time(NULL) > give_up) {
			snprintf(err, errlen,
				 "timed out waiting for another launcher to start the coordinator "
				 "(remove %s if no launcher is running)",
				 lock);
			return -1;
		}
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}
