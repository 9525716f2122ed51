/* `splitckpt coordinator`: parses options, picks the address to advertise and the job secret,
 * refuses to start a second coordinator for a directory whose coordinator still answers, and
 * runs the daemon (coordinator/server.c) in the foreground or detached (--daemon). */
#define _GNU_SOURCE
#include "config.h"

#include "../coordinator/manifest.h"
#include "../coordinator/server.h"
#include "cli.h"
#include "coord_start.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUB "coordinator"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: splitckpt coordinator [OPTIONS]\n"
	    "\n"
	    "Runs the checkpoint coordinator of one job. `splitckpt launch` starts one by\n"
	    "itself; run it yourself to share it or to pick its port. It writes\n"
	    "DIR/splitckpt.job (mode 0600) so `splitckpt command --ckptdir DIR` finds it.\n"
	    "\n"
	    "  --ckptdir DIR        checkpoint directory (SPLITCKPT_CHECKPOINT_DIR, default\n"
	    "                       ./" SC_DEFAULT_CKPTDIR ")\n"
	    "  --port P             TCP port, 0 = any free one (SPLITCKPT_COORD_PORT, default 0)\n"
	    "  --host ADDR          listen on ADDR only and advertise it (default: all\n"
	    "                       addresses, advertising this machine's host name)\n"
	    "  --interval S         checkpoint every S seconds, 0 = only on command\n"
	    "                       (SPLITCKPT_CHECKPOINT_INTERVAL, default 0)\n"
	    "  --keep N             keep the N newest generations, 0 = all (default 2)\n"
	    "  --daemon             run in the background, logging to DIR/coordinator.log;\n"
	    "                       returns once DIR/splitckpt.job is written\n"
	    "  --print-address      with --daemon: print HOST:PORT on stdout\n"
	    "  --exit-on-last       exit when the job's last rank has disconnected\n"
	    "  --start-timeout S    with --exit-on-last: exit if no rank connects within S\n"
	    "                       seconds, 0 = wait forever (default 300)\n"
	    "  --quiet              log only warnings and errors\n"
	    "  --help               show this help\n"
	    "\n"
	    "The secret is random unless SPLITCKPT_SECRET (64 hex digits) is set.\n");
}

/* The name other nodes should use: this host's name if it resolves, else a non-loopback
 * IPv4 address, else loopback (single-node jobs still work). */
static void advertised_host(char *out, size_t outlen)
{
	char name[256];
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	if (gethostname(name, sizeof name) == 0 && (name[sizeof name - 1] = '\0', name[0]) &&
	    getaddrinfo(name, NULL, &hints, &res) == 0) {
		freeaddrinfo(res);
		snprintf(out, outlen, "%s", name);
		return;
	}
	struct ifaddrs *ifs, *i;
	if (getifaddrs(&ifs) == 0) {
		for (i = ifs; i; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
				continue;
			struct in_addr a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
			if ((ntohl(a.s_addr) >> 24) == 127)
				continue;
			inet_ntop(AF_INET, &a, out, (socklen_t)outlen);
			freeifaddrs(ifs);
			return;
		}
		freeifaddrs(ifs);
	}
	snprintf(out, outlen, "127.0.0.1");
}

static int make_secret(char *out)
{
	const char *env = getenv("SPLITCKPT_SECRET");
	if (env && *env) {
		if (strlen(env) != SC_SECRET_LEN ||
		    strspn(env, "0123456789abcdef") != SC_SECRET_LEN) {
			sc_error(SUB, "SPLITCKPT_SECRET must be %d lowercase hex digits",
				 SC_SECRET_LEN);
			return -1;
		}
		memcpy(out, env, SC_SECRET_LEN + 1);
		return 0;
	}
	unsigned char raw[SC_SECRET_LEN / 2];
	size_t got = 0;
	while (got < sizeof raw) {
		ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			sc_error(SUB, "cannot get random bytes for the job secret: %s",
				 strerror(errno));
			return -1;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

/* Refuses when DIR already has a coordinator that answers. */
static int check_not_running(const char *dir)
{
	struct sc_jobstate js;
	struct sc_conn conn;
	struct sc_msg welcome;
	char err[1024];
	if (sc_jobstate_read(dir, &js, err, sizeof err) != 0)
		return 0;
	if (sc_coord_connect(&js, &conn, &welcome, 2000, err, sizeof err) != 0 && errno != EACCES &&
	    errno != EPROTO)
		return 0; /* stale state file from a coordinator that is gone */
	if (conn.fd >= 0)
		sc_conn_close(&conn);
	sc_error(SUB,
		 "a coordinator for %s is already running at %s:%d (pid %d); stop it with "
		 "`splitckpt command --ckptdir %s --quit`",
		 dir, js.host, js.port, js.pid, dir);
	return -1;
}

/* Forks the daemon; the parent returns once the child has written the state file. */
static int run_daemon(struct sc_coord_config *cfg, int print_address)
{
	char logpath[PATH_MAX + 32], err[1024];
	int pfd[2];
	if (sc_mkdir_parents(cfg->ckptdir, err, sizeof err)) {
		sc_error(SUB, "%s", err);
		return SC_EXIT_FAILURE;
	}
	snprintf(logpath, sizeof logpath, "%s/coordinator.log", cfg->ckptdir);
	int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0) {
		sc_error(SUB, "cannot open %s: %s", logpath, strerror(errno));
		return SC_EXIT_FAILURE;
	}
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		sc_error(SUB, "pipe: %s", strerror(errno));
		return SC_EXIT_FAILURE;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		sc_error(SUB, "fork: %s", strerror(errno));
		return SC_EXIT_FAILURE;
	}
	if (pid == 0) {
		/* First child: new session, then fork again so the daemon can never regain a
		 * controlling terminal; it is reparented when we exit. */
		close(pfd[0]);
		setsid();
		pid_t d = fork();
		if (d != 0)
			_exit(d < 0 ? 1 : 0);
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		/* Drop every other inherited descriptor (a launcher's pipes to srun, say), or the
		 * daemon would keep them open for the whole job. */
		int ready = pfd[1];
		if (ready > 3)
			close_range(3, (unsigned)ready - 1, 0);
		close_range((unsigned)ready + 1, ~0u, 0);
		if (chdir("/") != 0)
			_exit(1);
		_exit(sc_coord_serve(cfg, pfd[1]) == 0 ? 0 : 1);
	}
	close(pfd[1]);
	close(logfd);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	char line[2048];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(pfd[0], line + len, sizeof line - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (len += (size_t)n) == sizeof line - 1)
			break;
	}
	close(pfd[0]);
	line[len] = '\0';
	line[strcspn(line, "\n")] = '\0';
	if (!strncmp(line, "OK ", 3)) {
		if (print_address)
			printf("%s\n", line + 3);
		return 0;
	}
	if (!strncmp(line, "ERR ", 4))
		sc_error(SUB, "%s", line + 4);
	else
		sc_error(SUB, "the coordinator exited during startup; see %s", logpath);
	return SC_EXIT_FAILURE;
}

int cmd_coordinator(int argc, char **argv)
{
	enum {
		O_PORT = 256,
		O_HOST,
		O_DAEMON,
		O_INTERVAL,
		O_CKPTDIR,
		O_KEEP,
		O_EXIT_ON_LAST,
		O_START_TIMEOUT,
		O_QUIET,
		O_PRINT,
		O_HELP
	};
	static const struct option opts[] = {
	    {"port", required_argument, NULL, O_PORT},
	    {"host", required_argument, NULL, O_HOST},
	    {"daemon", no_argument, NULL, O_DAEMON},
	    {"interval", required_argument, NULL, O_INTERVAL},
	    {"ckptdir", required_argument, NULL, O_CKPTDIR},
	    {"keep", required_argument, NULL, O_KEEP},
	    {"exit-on-last", no_argument, NULL, O_EXIT_ON_LAST},
	    {"start-timeout", required_argument, NULL, O_START_TIMEOUT},
	    {"quiet", no_argument, NULL, O_QUIET},
	    {"print-address", no_argument, NULL, O_PRINT},
	    {"help", no_argument, NULL, O_HELP},
	    {NULL, 0, NULL, 0},
	};
	const char *port_opt = NULL, *interval_opt = NULL, *ckptdir_opt = NULL, *host = NULL;
	unsigned long keep = 2, start_timeout = 300, port = 0, interval = 0;
	int daemon = 0, exit_on_last = 0, quiet = 0, print_address = 0;
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
		switch (c) {
		case O_PORT:
			port_opt = optarg;
			break;
		case O_HOST:
			host = optarg;
			break;
		case O_DAEMON:
			daemon = 1;
			break;
		case O_INTERVAL:
			interval_opt = optarg;
			break;
		case O_CKPTDIR:
			ckptdir_opt = optarg;
			break;
		case O_KEEP:
			if (sc_parse_uint(SUB, "--keep", optarg, 1000000, &keep))
				return SC_EXIT_USAGE;
			break;
		case O_EXIT_ON_LAST:
			exit_on_last = 1;
			break;
		case O_START_TIMEOUT:
			if (sc_parse_uint(SUB, "--start-timeout", optarg, 100000000,
					  &start_timeout))
				return SC_EXIT_USAGE;
			break;
		case O_QUIET:
			quiet = 1;
			break;
		case O_PRINT:
			print_address = 1;
			break;
		case O_HELP:
			usage(stdout);
			return 0;
		case ':':
			sc_error(SUB, "option '%s' needs a value", argv[optind - 1]);
			return SC_EXIT_USAGE;
		default:
			sc_error(SUB, "unknown option '%s' (try --help)", argv[optind - 1]);
			return SC_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		sc_error(SUB, "unexpected argument '%s'", argv[optind]);
		return SC_EXIT_USAGE;
	}
	const char *p = sc_opt_env(port_opt, "SPLITCKPT_COORD_PORT", "0");
	if (sc_parse_uint(SUB, port_opt ? "--port" : "SPLITCKPT_COORD_PORT", p, 65535, &port))
		return SC_EXIT_USAGE;
	const char *iv = sc_opt_env(interval_opt, "SPLITCKPT_CHECKPOINT_INTERVAL", "0");
	if (sc_parse_uint(SUB, interval_opt ? "--interval" : "SPLITCKPT_CHECKPOINT_INTERVAL", iv,
			  10u * 365 * 24 * 3600, &interval))
		return SC_EXIT_USAGE;
	char dir[PATH_MAX], err[1024], adv[256];
	if (sc_ckptdir_resolve(ckptdir_opt, dir, sizeof dir, err, sizeof err)) {
		sc_error(SUB, "%s", err);
		return SC_EXIT_USAGE;
	}
	int wildcard = !host || !*host || !strcmp(host, "0.0.0.0") || !strcmp(host, "::");
	if (wildcard)
		advertised_host(adv, sizeof adv);
	else
		snprintf(adv, sizeof adv, "%s", host);
	struct sc_coord_config cfg = {
	    .ckptdir = dir,
	    .bind_host = host && *host ? host : NULL,
	    .port = (int)port,
	    .advertise_host = adv,
	    .interval = (unsigned)interval,
	    .keep = (unsigned)keep,
	    .exit_on_last = exit_on_last,
	    .start_timeout = (unsigned)start_timeout,
	    .quiet = quiet,
	};
	if (make_secret(cfg.secret) || check_not_running(dir))
		return SC_EXIT_FAILURE;
	if (daemon)
		return run_daemon(&cfg, print_address);
	return sc_coord_serve(&cfg, -1) == 0 ? 0 : SC_EXIT_FAILURE;
}
