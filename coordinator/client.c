/* The client end of a coordinator connection (used by the rank runtime and the CLI): connect
 * with a timeout, prove the secret with HELLO, then exchange frames. After sc_conn_open only
 * syscalls and the allocation-free framing code run (no malloc, stdio or locks), because the
 * rank runtime calls these while the application's other threads are suspended. */
#define _GNU_SOURCE
#include "config.h"

#include "coord_client.h"
#include "protocol.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Once the first byte of a frame has arrived, the rest must follow within this time; a peer
 * that stalls mid-frame would otherwise leave the stream out of step. */
#define SC_FRAME_REST_MS 30000
/* sc_conn_send has no timeout argument: a coordinator that reads nothing for this long is
 * treated as gone. */
#define SC_SEND_TIMEOUT_MS 60000

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `events` on fd until the deadline (-1 = none). 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int t = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			t = left > 0 ? (int)(left > 1000000000 ? 1000000000 : left) : 0;
		}
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, t);
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

static int64_t deadline_after(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

static int write_all(int fd, const unsigned char *buf, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = wait_fd(fd, POLLOUT, deadline);
			if (r == 0)
				errno = ETIMEDOUT;
			if (r <= 0)
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

/* Reads exactly len bytes. 1 done, 0 timeout, -1 error or EOF (errno = ECONNRESET on EOF). */
static int read_exact(int fd, unsigned char *buf, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = recv(fd, buf, len, 0);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		int r = wait_fd(fd, POLLIN, deadline);
		if (r <= 0)
			return r;
	}
	return 1;
}

int sc_conn_send(struct sc_conn *c, const struct sc_msg *m)
{
	unsigned char frame[SC_FRAME_MAX];
	size_t len = sc_msg_encode(m, frame, sizeof frame);
	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	if (c->fd < 0) {
		errno = EBADF;
		return -1;
	}
	return write_all(c->fd, frame, len, deadline_after(SC_SEND_TIMEOUT_MS));
}

int sc_conn_recv(struct sc_conn *c, struct sc_msg *m, int timeout_ms, char *err, size_t errlen)
{
	unsigned char frame[SC_FRAME_MAX];
	if (c->fd < 0) {
		sc_errcat(err, errlen, "connection is not open", NULL);
		return -1;
	}
	int r = wait_fd(c->fd, POLLIN, deadline_after(timeout_ms));
	if (r == 0)
		return 0;
	if (r < 0) {
		sc_errcat(err, errlen, "poll: ", strerrordesc_np(errno), NULL);
		return -1;
	}
	int64_t deadline = deadline_after(SC_FRAME_REST_MS);
	size_t have = 0, need = SC_FRAME_HDR;
	for (;;) {
		r = read_exact(c->fd, frame + have, need - have, deadline);
		if (r == 0) {
			sc_errcat(err, errlen, "peer stalled in the middle of a frame", NULL);
			return -1;
		}
		if (r < 0) {
			if (errno == ECONNRESET && have == 0)
				sc_errcat(err, errlen, "connection closed by peer", NULL);
			else
				sc_errcat(err, errlen, "connection lost: ", strerrordesc_np(errno),
					  NULL);
			return -1;
		}
		have = need;
		int d = sc_frame_decode(frame, have, m, &need, err, errlen);
		if (d < 0)
			return -1;
		if (d > 0)
			return 1;
	}
}

void sc_conn_close(struct sc_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Connects one address with a timeout; returns the fd or -1 with errno set. */
static int connect_addr(const struct addrinfo *ai, int64_t deadline)
{
	int fd =
	    socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS && errno != EINTR)
			goto fail;
		int r = wait_fd(fd, POLLOUT, deadline);
		if (r == 0)
			errno = ETIMEDOUT;
		if (r <= 0)
			goto fail;
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			goto fail;
		if (soerr) {
			errno = soerr;
			goto fail;
		}
	}
	int one = 1;
	/* Small request/reply frames: do not let Nagle delay a barrier. Keepalive notices a
	 * coordinator host that vanished during a long run. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	return fd;
fail:;
	int saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* A numeric address needs no resolver. getaddrinfo allocates and takes locks even for numeric
 * hosts, and the rank runtime reconnects after a restart while the application's threads are
 * still suspended (one may hold the allocator's lock): the lower half passes numeric addresses,
 * and this path connects them without the resolver. Returns 1 with *ai filled, else 0. */
static int numeric_addr(const char *host, int port, struct sockaddr_storage *ss,
			struct addrinfo *ai)
{
	memset(ss, 0, sizeof *ss);
	memset(ai, 0, sizeof *ai);
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		ai->ai_addrlen = sizeof *in4;
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		ai->ai_addrlen = sizeof *in6;
	} else {
		return 0;
	}
	ai->ai_family = ss->ss_family;
	ai->ai_socktype = SOCK_STREAM;
	ai->ai_addr = (struct sockaddr *)ss;
	return 1;
}

int sc_conn_open(struct sc_conn *c, const char *host, int port, const char *secret,
		 struct sc_msg *hello, struct sc_msg *welcome, int timeout_ms, char *err,
		 size_t errlen)
{
	c->fd = -1;
	int64_t deadline = deadline_after(timeout_ms);
	struct sockaddr_storage ss;
	struct addrinfo numeric;
	if (numeric_addr(host, port, &ss, &numeric)) {
		c->fd = connect_addr(&numeric, deadline);
		if (c->fd < 0) {
			int e = errno;
			snprintf(err, errlen, "cannot connect to coordinator at %s:%d: %s", host,
				 port, strerrordesc_np(e));
			errno = e;
			return -1;
		}
		goto connected;
	}
	char portstr[16];
	snprintf(portstr, sizeof portstr, "%d", port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG};
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(host, portstr, &hints, &res);
	if (gai != 0) {
		snprintf(err, errlen,
			 "cannot connect to coordinator at %s:%d: cannot resolve %s: %s", host,
			 port, host, gai_strerror(gai));
		errno = EHOSTUNREACH;
		return -1;
	}
	int first_errno = 0;
	for (struct addrinfo *ai = res; ai && c->fd < 0; ai = ai->ai_next) {
		c->fd = connect_addr(ai, deadline);
		if (c->fd < 0 && !first_errno)
			first_errno = errno;
	}
	freeaddrinfo(res);
	if (c->fd < 0) {
		snprintf(err, errlen, "cannot connect to coordinator at %s:%d: %s", host, port,
			 strerrordesc_np(first_errno));
		errno = first_errno;
		return -1;
	}

connected:
	hello->type = SC_MSG_HELLO;
	snprintf(hello->secret, sizeof hello->secret, "%s", secret ? secret : "");
	unsigned char frame[SC_FRAME_MAX];
	size_t len = sc_msg_encode(hello, frame, sizeof frame);
	if (len == 0) {
		snprintf(err, errlen, "HELLO for %s:%d is not encodable (text too long?)", host,
			 port);
		errno = EINVAL;
		goto fail;
	}
	if (write_all(c->fd, frame, len, deadline) != 0) {
		snprintf(err, errlen, "cannot talk to coordinator at %s:%d: %s", host, port,
			 strerrordesc_np(errno));
		goto fail;
	}
	char why[256];
	int left = timeout_ms < 0 ? -1 : (int)(deadline > now_ms() ? deadline - now_ms() : 0);
	int r = sc_conn_recv(c, welcome, left, why, sizeof why);
	if (r == 0) {
		snprintf(err, errlen, "coordinator at %s:%d did not answer within %d ms", host,
			 port, timeout_ms);
		errno = ETIMEDOUT;
		goto fail;
	}
	if (r < 0) {
		/* closed before it answered: a coordinator on its way out, which a launch or a
		 * restart replaces (coord_start.c), unlike one that answers what it must not */
		int closed = errno == ECONNRESET;
		snprintf(err, errlen, "coordinator at %s:%d: %s", host, port, why);
		errno = closed ? ECONNRESET : EPROTO;
		goto fail;
	}
	if (welcome->type == SC_MSG_REFUSED) {
		snprintf(err, errlen, "coordinator refused: %s", welcome->text);
		errno = EACCES;
		goto fail;
	}
	if (welcome->type != SC_MSG_WELCOME) {
		snprintf(err, errlen, "coordinator at %s:%d answered HELLO with %s", host, port,
			 sc_msg_type_name(welcome->type));
		errno = EPROTO;
		goto fail;
	}
	return 0;
fail:;
	int saved = errno;
	sc_conn_close(c);
	errno = saved;
	return -1;
}
