/* The coordinator's connections: accepting, non-blocking buffered frame I/O, HELLO
 * authentication (constant-time secret check, rank/nranks validation), the rank table and
 * dispatching of each received message. A failed send only marks a client broken; the event
 * loop (server.c) disconnects it, so the state machine can iterate ranks while sending. */
#define _GNU_SOURCE
#include "config.h"

#include "server_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define OUTPUT_LIMIT (16u << 20) /* a client that reads nothing is dropped past this */

/* Copies untrusted text for logs and status: printable ASCII only. */
static void sanitize(char *dst, size_t dstlen, const char *src)
{
	size_t i = 0;
	for (; src[i] && i + 1 < dstlen; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

struct client *client_by_id(struct coord *c, uint64_t id)
{
	for (size_t i = 0; i < c->nclients; i++)
		if (c->clients[i]->id == id && !c->clients[i]->dead)
			return c->clients[i];
	return NULL;
}

void client_gone(struct coord *c, struct client *cl, const char *why)
{
	if (cl->dead)
		return;
	cl->dead = 1;
	close(cl->fd);
	cl->fd = -1;
	if (cl->watch && --c->watches == 0 && c->ranks_connected == 0)
		c->last_rank_gone_ms = sc_now_ms();
	if (cl->kind != CLIENT_RANK)
		return;
	coord_log(c, 0, "rank %u (pid %u on %s) disconnected: %s", cl->rank, cl->pid, cl->host,
		  why);
	c->by_rank[cl->rank] = NULL;
	c->ranks_connected--;
	ckpt_on_rank_gone(c, cl);
	if (c->ranks_connected == 0) {
		if (c->watches == 0)
			c->last_rank_gone_ms = sc_now_ms();
		/* The job is over (or restarting): a new job may bring another rank count. */
		free(c->by_rank);
		c->by_rank = NULL;
		c->nranks_expected = 0;
	}
}

/* Writes as much queued output as the socket takes. 0, or -1 when the client was dropped. */
int client_flush(struct client *cl)
{
	size_t off = 0;
	while (off < cl->outlen) {
		ssize_t n = send(cl->fd, cl->out + off, cl->outlen - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		cl->broken = 1;
		return -1;
	}
	memmove(cl->out, cl->out + off, cl->outlen - off);
	cl->outlen -= off;
	return 0;
}

struct to_client {
	struct coord *c;
	struct client *cl;
};

static void send_to_client(void *ctx, const struct sc_msg *m)
{
	const struct to_client *t = ctx;
	client_send(t->c, t->cl, m);
}

void client_send_text(struct coord *c, struct client *cl, struct sc_msg *m, const char *text)
{
	struct to_client t = {c, cl};
	sc_msg_send_text(m, text, send_to_client, &t);
}

void client_send(struct coord *c, struct client *cl, const struct sc_msg *m)
{
	if (cl->dead || cl->broken)
		return;
	unsigned char frame[SC_FRAME_MAX];
	size_t len = sc_msg_encode(m, frame, sizeof frame);
	if (len == 0) {
		coord_log(c, 1, "internal error: %s message not encodable",
			  sc_msg_type_name(m->type));
		return;
	}
	if (cl->outlen + len > OUTPUT_LIMIT) {
		coord_log(c, 1, "client %s reads nothing (%zu bytes queued); dropping it", cl->peer,
			  cl->outlen);
		cl->broken = 1;
		return;
	}
	if (cl->outlen + len > cl->outcap) {
		size_t cap = cl->outcap ? cl->outcap : 8192;
		while (cap < cl->outlen + len)
			cap *= 2;
		unsigned char *p = realloc(cl->out, cap);
		if (!p) {
			cl->broken = 1;
			return;
		}
		cl->out = p;
		cl->outcap = cap;
	}
	memcpy(cl->out + cl->outlen, frame, len);
	cl->outlen += len;
	client_flush(cl);
}

static void refuse(struct coord *c, struct client *cl, const char *why)
{
	struct sc_msg m = {.type = SC_MSG_REFUSED};
	snprintf(m.text, sizeof m.text, "%s", why);
	coord_log(c, 1, "refused %s: %s", cl->peer, why);
	client_send(c, cl, &m);
	cl->closing = 1; /* closed by the loop once REFUSED has left */
}

static void welcome(struct coord *c, struct client *cl)
{
	struct sc_msg w = {.type = SC_MSG_WELCOME, .gen = c->last_gen, .value = c->interval};
	snprintf(w.text, sizeof w.text, "%s", c->cfg->ckptdir);
	client_send(c, cl, &w);
}

static void on_hello(struct coord *c, struct client *cl, const struct sc_msg *m)
{
	if (m->type != SC_MSG_HELLO) {
		refuse(c, cl, "expected HELLO as the first message");
		return;
	}
	if (!sc_secret_equal(m->secret, c->cfg->secret)) {
		refuse(c, cl, "wrong secret");
		return;
	}
	char why[512];
	if (m->role == SC_ROLE_COMMAND) {
		cl->kind = CLIENT_COMMAND;
		if ((m->flags & SC_FLAG_ATTACH) && job_gone(c)) {
			/* a restart found this coordinator in its last seconds: it stays */
			coord_log(c, 0, "a launch or restart attached: waiting for its ranks");
			c->ranks_ever = 0;
			c->start_ms = sc_now_ms();
		}
		if (m->flags & SC_FLAG_WATCH) {
			cl->watch = 1;
			c->watches++;
			c->ranks_ever = 1;
		}
		welcome(c, cl);
		return;
	}
	if (m->role != SC_ROLE_RANK) {
		snprintf(why, sizeof why, "unknown role %u", m->role);
		refuse(c, cl, why);
		return;
	}
	if (m->nranks == 0 || m->nranks > SC_MAX_RANKS || m->rank >= m->nranks) {
		snprintf(why, sizeof why, "invalid rank %u of %u", m->rank, m->nranks);
		refuse(c, cl, why);
		return;
	}
	if (c->nranks_expected && m->nranks != c->nranks_expected) {
		snprintf(why, sizeof why, "this job has %u ranks but rank %u says %u",
			 c->nranks_expected, m->rank, m->nranks);
		refuse(c, cl, why);
		return;
	}
	if (!c->nranks_expected) {
		c->by_rank = calloc(m->nranks, sizeof *c->by_rank);
		if (!c->by_rank) {
			refuse(c, cl, "coordinator out of memory");
			return;
		}
		c->nranks_expected = m->nranks;
	}
	struct client *old = c->by_rank[m->rank];
	char host[sizeof old->host];
	sanitize(host, sizeof host, m->text[0] ? m->text : cl->peer);
	if (old && old->pid == m->pid && !strcmp(old->host, host)) {
		/* The same process again: it exec'ed a new program (the old connection was closed
		 * on exec, but its EOF may not have been read yet). The old one is stale. */
		client_gone(c, old, "the process exec'ed a new program");
		old = NULL;
		if (!c->nranks_expected) { /* client_gone reset the job's rank table */
			c->by_rank = calloc(m->nranks, sizeof *c->by_rank);
			if (!c->by_rank) {
				refuse(c, cl, "coordinator out of memory");
				return;
			}
			c->nranks_expected = m->nranks;
		}
	}
	if (old) {
		snprintf(why, sizeof why, "rank %u is already connected (pid %u on %s)", m->rank,
			 old->pid, old->host);
		refuse(c, cl, why);
		return;
	}
	cl->kind = CLIENT_RANK;
	cl->rank = m->rank;
	cl->nranks = m->nranks;
	cl->pid = m->pid;
	sanitize(cl->host, sizeof cl->host, m->text[0] ? m->text : cl->peer);
	c->by_rank[cl->rank] = cl;
	c->ranks_connected++;
	c->ranks_ever = 1;
	coord_log(c, 0, "rank %u of %u connected (pid %u on %s), %u of %u ranks present", cl->rank,
		  cl->nranks, cl->pid, cl->host, c->ranks_connected, c->nranks_expected);
	welcome(c, cl);
}

/* Once every rank of a restarted job is back, the launcher it was restarted under is the one
 * a later plain `splitckpt restart` uses (manifest.h). */
static void all_restarted(struct coord *c)
{
	for (uint32_t r = 0; r < c->nranks_expected; r++)
		if (!c->by_rank[r] || !c->by_rank[r]->restarted)
			return;
	char err[PATH_MAX + 128];
	if (sc_launcher_promote(c->cfg->ckptdir, err, sizeof err))
		coord_log(c, 1, "%s", err);
}

static void on_rank_message(struct coord *c, struct client *cl, const struct sc_msg *m)
{
	switch (m->type) {
	case SC_MSG_PHASE_ACK:
		ckpt_on_ack(c, cl, m);
		break;
	case SC_MSG_RESTARTED:
		cl->restarted = 1;
		cl->restarted_gen = m->gen;
		c->restarts++;
		coord_log(c, 0, "rank %u (pid %u on %s) restarted from generation %" PRIu64,
			  cl->rank, cl->pid, cl->host, m->gen);
		all_restarted(c);
		break;
	case SC_MSG_EXITING:
		coord_log(c, 0, "rank %u (pid %u on %s) is exiting with status %d", cl->rank,
			  cl->pid, cl->host, m->status);
		break;
	case SC_MSG_END_REQUEST: {
		char who[320];
		snprintf(who, sizeof who, "rank %u (pid %u on %s)", cl->rank, cl->pid, cl->host);
		ckpt_request_end(c, m->value < 65 ? (int)m->value : 0, who);
		break;
	}
	default:
		coord_log(c, 1, "rank %u sent an unexpected %s; ignored", cl->rank,
			  sc_msg_type_name(m->type));
	}
}

static void dispatch(struct coord *c, struct client *cl, const struct sc_msg *m)
{
	switch (cl->kind) {
	case CLIENT_NEW:
		on_hello(c, cl, m);
		break;
	case CLIENT_RANK:
		on_rank_message(c, cl, m);
		break;
	case CLIENT_COMMAND:
		if (m->type == SC_MSG_COMMAND)
			cmd_handle(c, cl, m);
		else
			coord_log(c, 1, "command client %s sent an unexpected %s; ignored",
				  cl->peer, sc_msg_type_name(m->type));
		break;
	}
}

void client_read(struct coord *c, struct client *cl)
{
	for (;;) {
		ssize_t n = recv(cl->fd, cl->in + cl->inlen, sizeof cl->in - cl->inlen, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			client_gone(c, cl, n == 0 ? "connection closed" : strerror(errno));
			return;
		}
		cl->inlen += (size_t)n;
		size_t off = 0;
		while (!cl->dead && !cl->closing) {
			struct sc_msg m;
			size_t used;
			char err[256];
			int r = sc_frame_decode(cl->in + off, cl->inlen - off, &m, &used, err,
						sizeof err);
			if (r < 0) {
				coord_log(c, 1, "%s: %s; closing the connection", cl->peer, err);
				client_gone(c, cl, err);
				return;
			}
			if (r == 0)
				break;
			off += used;
			dispatch(c, cl, &m);
		}
		if (cl->dead || cl->closing)
			return;
		memmove(cl->in, cl->in + off, cl->inlen - off);
		cl->inlen -= off;
	}
}

void accept_clients(struct coord *c, int lfd)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
			    errno == ENOBUFS) {
				coord_log(c, 1, "cannot accept connections: %s", strerror(errno));
				c->listen_paused_until_ms = sc_now_ms() + 1000;
			}
			return; /* EAGAIN, or a connection that died before we got to it */
		}
		if (c->nclients == c->capclients) {
			size_t cap = c->capclients * 2 + 16;
			struct client **grown = reallocarray(c->clients, cap, sizeof *grown);
			if (grown) {
				c->clients = grown;
				c->capclients = cap;
			}
		}
		struct client *cl = c->nclients < c->capclients ? calloc(1, sizeof *cl) : NULL;
		if (!cl) {
			coord_log(c, 1, "out of memory accepting a connection");
			close(fd);
			return;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
		cl->id = ++c->next_client_id;
		cl->fd = fd;
		cl->kind = CLIENT_NEW;
		cl->hello_deadline_ms = sc_now_ms() + HELLO_TIMEOUT_MS;
		char host[64], serv[16]; /* numeric: INET6_ADDRSTRLEN and a port fit */
		if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, serv, sizeof serv,
				NI_NUMERICHOST | NI_NUMERICSERV) == 0)
			snprintf(cl->peer, sizeof cl->peer, "%s:%s", host, serv);
		else
			snprintf(cl->peer, sizeof cl->peer, "(unknown peer)");
		c->clients[c->nclients++] = cl;
	}
}

/* Disconnects clients whose send failed and refused clients whose REFUSED has left. */
void reap_clients(struct coord *c)
{
	for (size_t i = 0; i < c->nclients; i++) {
		struct client *cl = c->clients[i];
		if (cl->dead)
			continue;
		if (cl->broken)
			client_gone(c, cl, "cannot send to it (connection lost or not reading)");
		else if (cl->closing && cl->outlen == 0)
			client_gone(c, cl, "refused");
	}
}

void sweep_dead_clients(struct coord *c)
{
	size_t j = 0;
	for (size_t i = 0; i < c->nclients; i++) {
		struct client *cl = c->clients[i];
		if (cl->dead) {
			free(cl->out);
			sc_tb_free(&cl->ack_text);
			free(cl);
		} else {
			c->clients[j++] = cl;
		}
	}
	c->nclients = j;
}
