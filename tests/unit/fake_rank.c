/* A stand-in for a rank's checkpoint thread, for coord-protocol.sh: speaks the rank side of the
 * coordinator protocol through the client API (HELLO, ACK every phase, write a small dummy
 * image at the WRITE path, obey CKPT_DONE/KILL) and can be told to fail or die in a phase.
 * With --watch it is a restarting rank's watch instead (lh_restart_watch.c's HELLO).
 * Exit: 85 when told to exit after a checkpoint or killed, 0 when the coordinator goes away,
 * 2 when the connection is refused, 3 when told to die, 64 on bad usage. */
#define _GNU_SOURCE
#include "config.h"

#include "coordinator/coord_client.h"
#include "coordinator/protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct opts {
	const char *ckptdir, *host, *secret, *program, *fail_phase, *fail_reason, *die_phase;
	const char *ready_file, *fail_when;
	int port;
	unsigned rank, nranks, image_bytes, delay_ms;
	long restarted;
	int watch;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: fake_rank (--ckptdir DIR | --host H --port P --secret S) [--rank R]\n"
		"       [--nranks N] [--program NAME] [--bytes N] [--delay-ms MS]\n"
		"       [--fail PHASE REASON [--fail-when FILE]] [--die PHASE] [--restarted GEN]\n"
		"       [--ready FILE] [--watch]\n");
	exit(64);
}

static void parse(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){
	    .nranks = 1, .program = "fake_rank", .image_bytes = 1000, .restarted = -1};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--watch")) { /* the one option without a value */
			o->watch = 1;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--ckptdir"))
			o->ckptdir = v;
		else if (!strcmp(a, "--host"))
			o->host = v;
		else if (!strcmp(a, "--port"))
			o->port = atoi(v);
		else if (!strcmp(a, "--secret"))
			o->secret = v;
		else if (!strcmp(a, "--rank"))
			o->rank = (unsigned)atoi(v);
		else if (!strcmp(a, "--nranks"))
			o->nranks = (unsigned)atoi(v);
		else if (!strcmp(a, "--program"))
			o->program = v;
		else if (!strcmp(a, "--bytes"))
			o->image_bytes = (unsigned)atoi(v);
		else if (!strcmp(a, "--delay-ms"))
			o->delay_ms = (unsigned)atoi(v);
		else if (!strcmp(a, "--die"))
			o->die_phase = v;
		else if (!strcmp(a, "--restarted"))
			o->restarted = atol(v);
		else if (!strcmp(a, "--ready"))
			o->ready_file = v;
		else if (!strcmp(a, "--fail-when"))
			o->fail_when = v;
		else if (!strcmp(a, "--fail") && i + 1 < argc) {
			o->fail_phase = v;
			o->fail_reason = argv[++i];
		} else
			usage();
	}
}

/* Writes the dummy image the way the real runtime must: temp name, fsync, rename. */
static int write_image(const char *path, const struct opts *o, uint64_t gen, char *why,
		       size_t whylen)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.part", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(why, whylen, "cannot create %.1000s: %s", tmp, strerror(errno));
		return -1;
	}
	char buf[1024];
	memset(buf, 'x', sizeof buf);
	int n = snprintf(buf, sizeof buf, "fake image rank %u gen %llu\n", o->rank,
			 (unsigned long long)gen);
	buf[n] = 'x';
	for (unsigned left = o->image_bytes; left > 0;) {
		unsigned chunk = left < sizeof buf ? left : (unsigned)sizeof buf;
		if (write(fd, buf, chunk) != (ssize_t)chunk) {
			snprintf(why, whylen, "cannot write %.1000s: %s", tmp, strerror(errno));
			close(fd);
			return -1;
		}
		left -= chunk;
	}
	if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
		snprintf(why, whylen, "cannot finish %.1000s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	char err[1024];
	struct sc_jobstate js = {0};
	if (o.ckptdir) {
		if (sc_jobstate_read(o.ckptdir, &js, err, sizeof err) != 0) {
			fprintf(stderr, "fake_rank: %s\n", err);
			return 2;
		}
	}
	if (o.host)
		snprintf(js.host, sizeof js.host, "%s", o.host);
	if (o.port)
		js.port = o.port;
	if (o.secret)
		snprintf(js.secret, sizeof js.secret, "%s", o.secret);

	static struct sc_msg hello, m;
	hello.role = o.watch ? SC_ROLE_COMMAND : SC_ROLE_RANK;
	hello.flags = o.watch ? SC_FLAG_WATCH : 0;
	hello.rank = o.rank;
	hello.nranks = o.nranks;
	hello.pid = (uint32_t)getpid();
	gethostname(hello.text, 256);
	struct sc_conn c;
	if (sc_conn_open(&c, js.host, js.port, js.secret, &hello, &m, 5000, err, sizeof err)) {
		fprintf(stderr, "fake_rank %u: %s\n", o.rank, err);
		return 2;
	}
	printf("rank %u: welcome, last gen %llu, interval %llu, dir %s\n", o.rank,
	       (unsigned long long)m.gen, (unsigned long long)m.value, m.text);
	if (o.restarted >= 0) {
		memset(&m, 0, sizeof m);
		m.type = SC_MSG_RESTARTED;
		m.gen = (uint64_t)o.restarted;
		sc_conn_send(&c, &m);
	}
	if (o.ready_file) {
		int fd = open(o.ready_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0)
			close(fd);
	}
	for (;;) {
		int r = sc_conn_recv(&c, &m, -1, err, sizeof err);
		if (r < 0) {
			printf("rank %u: coordinator gone: %s\n", o.rank, err);
			return 0;
		}
		if (m.type == SC_MSG_KILL) {
			printf("rank %u: killed\n", o.rank);
			return SC_EXIT_CHECKPOINTED;
		}
		if (m.type == SC_MSG_CKPT_DONE) {
			printf("rank %u: gen %llu %s %s\n", o.rank, (unsigned long long)m.gen,
			       m.status == 0 ? "committed" : "aborted:", m.status ? m.text : "");
			if (m.status == 0 && (m.flags & SC_FLAG_KILL))
				return SC_EXIT_CHECKPOINTED;
			continue;
		}
		if (m.type != SC_MSG_CKPT_PHASE) {
			printf("rank %u: unexpected %s\n", o.rank, sc_msg_type_name(m.type));
			continue;
		}
		const char *phase = sc_phase_name(m.phase);
		printf("rank %u: phase %s gen %llu %s\n", o.rank, phase, (unsigned long long)m.gen,
		       m.text);
		if (o.die_phase && !strcmp(o.die_phase, phase)) {
			printf("rank %u: dying in phase %s\n", o.rank, phase);
			return 3;
		}
		if (o.delay_ms) {
			struct timespec ts = {o.delay_ms / 1000,
					      (long)(o.delay_ms % 1000) * 1000000};
			nanosleep(&ts, NULL);
		}
		struct sc_msg ack = {.type = SC_MSG_PHASE_ACK, .gen = m.gen, .phase = m.phase};
		/* --fail-when FILE: fail only while FILE exists, so a test can make one
		 * checkpoint fail between good ones. */
		int fail = o.fail_phase && !strcmp(o.fail_phase, phase) &&
			   (!o.fail_when || access(o.fail_when, F_OK) == 0);
		if (fail) {
			ack.status = -1;
			snprintf(ack.text, sizeof ack.text, "%s", o.fail_reason);
		} else if (m.phase == SC_PHASE_WRITE) {
			if (write_image(m.text, &o, m.gen, ack.text, sizeof ack.text) != 0) {
				ack.status = -1;
			} else {
				ack.bytes = o.image_bytes;
				snprintf(ack.text, sizeof ack.text, "%s", o.program);
			}
		}
		if (sc_conn_send(&c, &ack) != 0) {
			printf("rank %u: cannot send ACK: %s\n", o.rank, strerror(errno));
			return 0;
		}
	}
}
