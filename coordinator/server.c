/* The coordinator's event loop: listening sockets, timers, the state file and the lifetime
 * rules (--exit-on-last, --start-timeout, QUIT, signals). Single-threaded, poll() driven;
 * connections live in clients.c, the checkpoint state machine in ckpt_state.c, commands in
 * commands.c. */
#define _GNU_SOURCE
#include "config.h"

#include "server_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FINAL_FLUSH_MS 2000

/* Set by the termination signal handler; the daemon has one coordinator per process. */
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

int64_t sc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sc_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void coord_log(struct coord *c, int warn, const char *fmt, ...)
{
	if (!warn && c->cfg->quiet)
		return;
	struct timespec ts;
	struct tm tm;
	char stamp[64];
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03ld splitckpt coordinator[%d]: %s%s\n", stamp, ts.tv_nsec / 1000000,
		(int)getpid(), warn ? "warning: " : "", msg);
	fflush(stderr);
}

void coord_rearm_interval(struct coord *c)
{
	c->next_interval_ms = c->interval ? sc_now_ms() + (int64_t)c->interval * 1000 : 0;
}

static int listen_on(struct coord *c, const char *host, char *err, size_t errlen)
{
	char portstr[16];
	snprintf(portstr, sizeof portstr, "%d", c->cfg->port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res;
	/* No address: listen on IPv6 "::" accepting IPv4 too, falling back to 0.0.0.0. */
	const char *const wildcard[] = {"::", "0.0.0.0"};
	int tries = host ? 1 : 2, last_errno = 0;
	for (int t = 0; t < tries && c->nlisten == 0; t++) {
		const char *h = host ? host : wildcard[t];
		int gai = getaddrinfo(h, portstr, &hints, &res);
		if (gai) {
			snprintf(err, errlen, "cannot listen on %s: %s", h, gai_strerror(gai));
			return -1;
		}
		for (struct addrinfo *ai = res; ai && c->nlisten == 0; ai = ai->ai_next) {
			int fd =
			    socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0) {
				last_errno = errno;
				continue;
			}
			int one = 1, zero = 0;
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
			if (ai->ai_family == AF_INET6 && !host)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
				last_errno = errno;
				close(fd);
				continue;
			}
			c->listen_fd[c->nlisten++] = fd;
		}
		freeaddrinfo(res);
	}
	if (c->nlisten == 0) {
		snprintf(err, errlen, "cannot listen on %s port %d: %s", host ? host : "*",
			 c->cfg->port, strerror(last_errno));
		return -1;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	getsockname(c->listen_fd[0], (struct sockaddr *)&ss, &sl);
	c->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

static void remove_state_file(struct coord *c)
{
	struct sc_jobstate js;
	char err[512], path[PATH_MAX + 32];
	/* Only remove the file if it is still ours: another coordinator may have replaced it. */
	if (sc_jobstate_read(c->cfg->ckptdir, &js, err, sizeof err) != 0 ||
	    js.pid != (int)getpid() || !sc_secret_equal(js.secret, c->cfg->secret))
		return;
	snprintf(path, sizeof path, "%s/splitckpt.job", c->cfg->ckptdir);
	if (unlink(path) != 0)
		coord_log(c, 1, "cannot remove %s: %s", path, strerror(errno));
}

static int setup(struct coord *c, char *err, size_t errlen)
{
	unsigned stale;
	if (sc_ckptdir_prepare(c->cfg->ckptdir, &c->last_gen, &c->next_gen, &stale, err, errlen))
		return -1;
	if (stale)
		coord_log(c, 0, "removed %u unfinished generation(s) left by a crash", stale);
	const char *bind_host = c->cfg->bind_host && *c->cfg->bind_host ? c->cfg->bind_host : NULL;
	if (listen_on(c, bind_host, err, errlen))
		return -1;
	struct sc_jobstate js = {.port = c->port, .pid = (int)getpid()};
	snprintf(js.host, sizeof js.host, "%s", c->cfg->advertise_host);
	memcpy(js.secret, c->cfg->secret, sizeof js.secret);
	return sc_jobstate_write(c->cfg->ckptdir, &js, err, errlen);
}

static void tell_ready(int fd, const char *text)
{
	if (fd < 0)
		return;
	size_t len = strlen(text);
	while (len > 0) {
		ssize_t n = write(fd, text, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		text += n;
		len -= (size_t)n;
	}
	close(fd);
}

/* Gives queued replies (e.g. the answer to QUIT) a short chance to leave before exiting. */
static void final_flush(struct coord *c)
{
	int64_t deadline = sc_now_ms() + FINAL_FLUSH_MS;
	for (;;) {
		struct pollfd pfd[64];
		int n = 0;
		for (size_t i = 0; i < c->nclients && n < 64; i++) {
			struct client *cl = c->clients[i];
			if (!cl->dead && !cl->broken && cl->outlen > 0 && client_flush(cl) == 0 &&
			    cl->outlen > 0)
				pfd[n++] = (struct pollfd){.fd = cl->fd, .events = POLLOUT};
		}
		int64_t left = deadline - sc_now_ms();
		if (n == 0 || left <= 0)
			return;
		poll(pfd, (nfds_t)n, (int)left);
	}
}

/* With --exit-on-last, how long to wait after the last rank disconnected: a rank that execs
 * another program (a #! wrapper, bash running python) reconnects from the new program. */
#define EXIT_GRACE_MS 3000

/* Poll timeout: until the next timer (interval, HELLO deadlines, start timeout). */
static int next_timeout(struct coord *c, int64_t now)
{
	int64_t next = now + 60000;
	if (c->next_interval_ms && c->next_interval_ms < next)
		next = c->next_interval_ms;
	if (c->listen_paused_until_ms && c->listen_paused_until_ms < next)
		next = c->listen_paused_until_ms;
	if (c->end_retry_ms && c->end_retry_ms < next)
		next = c->end_retry_ms;
	if (c->cfg->exit_on_last && c->cfg->start_timeout && !c->ranks_ever) {
		int64_t t = c->start_ms + (int64_t)c->cfg->start_timeout * 1000;
		if (t < next)
			next = t;
	}
	if (c->cfg->exit_on_last && job_gone(c) && c->last_rank_gone_ms + EXIT_GRACE_MS < next)
		next = c->last_rank_gone_ms + EXIT_GRACE_MS;
	for (size_t i = 0; i < c->nclients; i++)
		if (c->clients[i]->kind == CLIENT_NEW && c->clients[i]->hello_deadline_ms < next)
			next = c->clients[i]->hello_deadline_ms;
	return next > now ? (int)(next - now) : 0;
}

static void on_timers(struct coord *c)
{
	int64_t now = sc_now_ms();
	for (size_t i = 0; i < c->nclients; i++) {
		struct client *cl = c->clients[i];
		if (!cl->dead && cl->kind == CLIENT_NEW && now >= cl->hello_deadline_ms) {
			coord_log(c, 1, "%s sent no HELLO within %d s; closing", cl->peer,
				  HELLO_TIMEOUT_MS / 1000);
			client_gone(c, cl, "no HELLO");
		}
	}
	if (c->listen_paused_until_ms && now >= c->listen_paused_until_ms)
		c->listen_paused_until_ms = 0;
	if (c->next_interval_ms && now >= c->next_interval_ms)
		ckpt_on_timer(c, now);
	if (c->end_retry_ms && now >= c->end_retry_ms)
		ckpt_end_retry(c);
	if (c->cfg->exit_on_last && c->cfg->start_timeout && !c->ranks_ever &&
	    now >= c->start_ms + (int64_t)c->cfg->start_timeout * 1000) {
		coord_log(c, 0, "no rank connected within %u s; exiting", c->cfg->start_timeout);
		c->quit = 1;
	}
	if (c->cfg->exit_on_last && job_gone(c) && now >= c->last_rank_gone_ms + EXIT_GRACE_MS) {
		coord_log(c, 0, "the job's last rank has gone; exiting");
		c->quit = 1;
	}
}

static void run_loop(struct coord *c, const sigset_t *waitmask)
{
	struct pollfd *pfd = NULL;
	struct client **who = NULL;
	size_t cap = 0;
	while (!c->quit && !got_signal) {
		size_t need = (size_t)c->nlisten + c->nclients;
		if (need > cap) {
			cap = need * 2;
			struct pollfd *p = reallocarray(pfd, cap, sizeof *pfd);
			struct client **w = p ? reallocarray(who, cap, sizeof *who) : NULL;
			if (p)
				pfd = p;
			if (w)
				who = w;
			if (!p || !w) {
				coord_log(c, 1, "out of memory in the event loop; exiting");
				break;
			}
		}
		size_t n = 0;
		int64_t now = sc_now_ms();
		for (int i = 0; i < c->nlisten; i++) {
			short ev = c->listen_paused_until_ms ? 0 : POLLIN;
			who[n] = NULL;
			pfd[n++] = (struct pollfd){.fd = c->listen_fd[i], .events = ev};
		}
		for (size_t i = 0; i < c->nclients; i++) {
			struct client *cl = c->clients[i];
			short ev = (cl->closing ? 0 : POLLIN) | (cl->outlen ? POLLOUT : 0);
			who[n] = cl;
			pfd[n++] = (struct pollfd){.fd = cl->fd, .events = ev};
		}
		int t = next_timeout(c, now);
		struct timespec ts = {.tv_sec = t / 1000, .tv_nsec = (long)(t % 1000) * 1000000};
		int r = ppoll(pfd, n, &ts, waitmask);
		if (r < 0 && errno != EINTR) {
			coord_log(c, 1, "poll failed: %s; exiting", strerror(errno));
			break;
		}
		for (size_t i = 0; r > 0 && i < n; i++) {
			if (!pfd[i].revents)
				continue;
			struct client *cl = who[i];
			if (!cl) {
				accept_clients(c, pfd[i].fd);
				continue;
			}
			if (!cl->dead && (pfd[i].revents & POLLOUT))
				client_flush(cl);
			if (!cl->dead && !cl->closing &&
			    (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				client_read(c, cl);
			if (!cl->dead && cl->closing && (pfd[i].revents & (POLLHUP | POLLERR)))
				client_gone(c, cl, "hung up");
		}
		reap_clients(c);
		on_timers(c);
		sweep_dead_clients(c);
	}
	free(pfd);
	free(who);
}

int sc_coord_serve(const struct sc_coord_config *cfg, int ready_fd)
{
	struct coord c = {.cfg = cfg, .interval = cfg->interval, .start_ms = sc_now_ms()};
	char err[1024];
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Termination signals are only delivered inside ppoll, so no syscall sees EINTR and
	 * the loop notices the flag right away. */
	sigset_t block, waitmask;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGHUP);

	if (setup(&c, err, sizeof err) != 0) {
		char line[sizeof err + 8];
		snprintf(line, sizeof line, "ERR %s\n", err);
		if (ready_fd >= 0)
			coord_log(&c, 1, "cannot start: %s", err); /* into the daemon's log */
		else
			fprintf(stderr, "splitckpt coordinator: %s\n", err);
		tell_ready(ready_fd, line);
		for (int i = 0; i < c.nlisten; i++)
			close(c.listen_fd[i]);
		return 1;
	}
	coord_log(&c, 0,
		  "listening on %s:%d for %s (interval %u s, keep %u, last committed generation "
		  "%" PRIu64 ")",
		  cfg->advertise_host, c.port, cfg->ckptdir, c.interval, cfg->keep, c.last_gen);
	char line[512];
	snprintf(line, sizeof line, "OK %s:%d\n", cfg->advertise_host, c.port);
	tell_ready(ready_fd, line);
	coord_rearm_interval(&c);

	run_loop(&c, &waitmask);

	if (got_signal)
		coord_log(&c, 0, "%s received; exiting", strsignal(got_signal));
	if (c.ck.active)
		ckpt_abort(&c, "the coordinator is exiting"); /* leaves no gen-N.tmp behind */
	final_flush(&c);
	remove_state_file(&c);
	for (size_t i = 0; i < c.nclients; i++) {
		if (!c.clients[i]->dead)
			close(c.clients[i]->fd);
		free(c.clients[i]->out);
		free(c.clients[i]);
	}
	free(c.clients);
	free(c.by_rank);
	free(c.ck.waiters);
	for (int i = 0; i < c.nlisten; i++)
		close(c.listen_fd[i]);
	coord_log(&c, 0, "coordinator stopped");
	return 0;
}
