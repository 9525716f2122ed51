/* The checkpoint state machine: a list of phases, each sent to every rank and ended by a
 * barrier (every rank's PHASE_ACK), then the commit of the generation. Any failed ACK or lost
 * rank aborts: gen-N.tmp is removed, ranks get CKPT_DONE status -1 and the job goes on.
 * An MPI job's cut comes first: QUIESCE (repeated until the collective counts agree, see
 * cut_agree.c) and DRAIN, both while the application's threads run. */
#define _GNU_SOURCE
#include "config.h"

#include "server_internal.h"
#include "signals.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* One phase of a checkpoint. Both hooks are optional. */
struct phase_step {
	uint32_t phase; /* enum sc_phase */
	/* runs once before the phase message goes out; -1 with err aborts the checkpoint */
	int (*prepare)(struct coord *c, char *err, size_t errlen);
	/* the per-rank text of the phase message; -1 aborts */
	int (*rank_text)(struct coord *c, uint32_t rank, char *out, size_t outlen);
};

static int prepare_write(struct coord *c, char *err, size_t errlen)
{
	/* An abort cannot always remove gen-N.tmp: a slow rank may still have been writing into
	 * it. Every rank has acknowledged this checkpoint's earlier phases, so none is writing
	 * an old image any more: now leftovers can go. */
	unsigned removed;
	if (sc_ckptdir_remove_tmp(c->cfg->ckptdir, &removed, err, errlen) != 0)
		coord_log(c, 1, "%s", err);
	else if (removed)
		coord_log(c, 0, "removed %u unfinished generation(s) of aborted checkpoints",
			  removed);
	return sc_gen_begin(c->cfg->ckptdir, c->ck.gen, err, errlen);
}

static int image_path_text(struct coord *c, uint32_t rank, char *out, size_t outlen)
{
	return sc_gen_tmp_image_path(c->cfg->ckptdir, c->ck.gen, rank, out, outlen);
}

static int prepare_quiesce(struct coord *c, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	agree_reset(&c->ck);
	return 0;
}

/* The order of a checkpoint. The MPI cut needs the application's threads running (ranks behind
 * catch up, messages are received); WRITE stays last, since its ACK bytes are the image sizes
 * and the commit follows it. */
static const struct phase_step phase_steps[] = {
    {SC_PHASE_QUIESCE, prepare_quiesce, NULL}, /* text: the targets (enter_step) */
    {SC_PHASE_DRAIN, NULL, NULL},
    {SC_PHASE_SUSPEND, NULL, NULL},
    {SC_PHASE_WRITE, prepare_write, image_path_text},
};
/* How long a pending end request (--on-signal) waits before it tries again. */
#define END_RETRY_MS 2000

#define NSTEPS (sizeof phase_steps / sizeof phase_steps[0])

const char *ckpt_phase_now(const struct coord *c)
{
	return c->ck.active ? sc_phase_name(phase_steps[c->ck.step].phase) : "none";
}

static void finish_waiters(struct coord *c, int ok, uint64_t gen, const char *why)
{
	for (size_t i = 0; i < c->ck.nwaiters; i++) {
		struct client *cl = client_by_id(c, c->ck.waiters[i].client_id);
		if (cl)
			cmd_reply_ckpt_result(c, cl, c->ck.waiters[i].json, ok, gen, why);
	}
	c->ck.nwaiters = 0;
}

/* Sends m to every connected rank. Ranks are re-read each time, because a failed send only
 * marks a client broken; nothing is freed under this loop. */
static void to_all_ranks(struct coord *c, const struct sc_msg *m)
{
	for (uint32_t r = 0; r < c->nranks_expected; r++)
		if (c->by_rank[r])
			client_send(c, c->by_rank[r], m);
}

void ckpt_abort(struct coord *c, const char *why)
{
	if (!c->ck.active)
		return;
	uint64_t gen = c->ck.gen;
	c->ck.active = 0;
	char err[1024];
	if (sc_gen_abort(c->cfg->ckptdir, gen, err, sizeof err) != 0)
		coord_log(c, 1, "%s", err);
	snprintf(c->last_failure, sizeof c->last_failure, "generation %" PRIu64 ": %s", gen, why);
	coord_log(c, 1, "checkpoint of generation %" PRIu64 " aborted: %s", gen, why);
	if (c->end_pending) {
		coord_log(c, 1, "the job must still end with a checkpoint (%s): retrying in %d s",
			  c->end_why, END_RETRY_MS / 1000);
		c->end_retry_ms = sc_now_ms() + END_RETRY_MS;
	}
	struct sc_msg m = {.type = SC_MSG_CKPT_DONE, .gen = gen, .status = -1};
	snprintf(m.text, sizeof m.text, "%s", why);
	to_all_ranks(c, &m);
	finish_waiters(c, 0, gen, why);
	coord_rearm_interval(c);
}

static void enter_step(struct coord *c, int again)
{
	const struct phase_step *s = &phase_steps[c->ck.step];
	char err[1024];
	if (!again)
		c->ck.step_start_ns = sc_now_ns();
	if (!again && s->prepare && s->prepare(c, err, sizeof err) != 0) {
		ckpt_abort(c, err);
		return;
	}
	c->ck.acks = 0;
	for (uint32_t r = 0; r < c->nranks_expected; r++)
		if (c->by_rank[r]) {
			c->by_rank[r]->acked = 0;
			c->by_rank[r]->ack_text.len = 0;
			c->by_rank[r]->ack_text.oom = 0;
		}
	struct sc_msg m = {.type = SC_MSG_CKPT_PHASE, .gen = c->ck.gen, .phase = s->phase};
	if (c->ck.kill)
		m.flags |= SC_FLAG_KILL;
	for (uint32_t r = 0; c->ck.active && r < c->nranks_expected; r++) {
		if (!c->by_rank[r])
			continue;
		if (s->phase == SC_PHASE_QUIESCE) { /* the rank acts on the whole text */
			client_send_text(c, c->by_rank[r], &m, sc_tb_str(&c->ck.targets));
			continue;
		}
		if (s->rank_text && s->rank_text(c, r, m.text, sizeof m.text) != 0) {
			ckpt_abort(c, "image path too long for the protocol");
			return;
		}
		client_send(c, c->by_rank[r], &m);
	}
}

static void commit(struct coord *c)
{
	struct checkpoint *ck = &c->ck;
	struct sc_gen_entry e = {.gen = ck->gen, .nranks = c->nranks_expected};
	char path[PATH_MAX], why[PATH_MAX + 256];
	for (uint32_t r = 0; r < c->nranks_expected; r++) {
		struct stat st;
		/* A rank that says "written" must have left its image where it was told. */
		if (sc_gen_tmp_image_path(c->cfg->ckptdir, ck->gen, r, path, sizeof path) != 0 ||
		    stat(path, &st) != 0) {
			snprintf(why, sizeof why, "rank %u reported its image written but %s is %s",
				 r, path, strerror(errno));
			ckpt_abort(c, why);
			return;
		}
		e.bytes += c->by_rank[r]->ack_bytes;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	e.created_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	snprintf(e.program, sizeof e.program, "%s", ck->program[0] ? ck->program : "-");
	snprintf(e.how, sizeof e.how, "%s", ck->how);
	/* what MANIFEST records is what the log and the command report: the commit itself (a
	 * rename and two fsyncs) is left out of both */
	e.took_ns = (uint64_t)(sc_now_ns() - ck->start_ns);
	if (sc_gen_commit(c->cfg->ckptdir, &e, why, sizeof why) != 0) {
		ckpt_abort(c, why);
		return;
	}
	uint64_t nanos = e.took_ns;
	ck->active = 0;
	int ends_request = ck->kill && c->end_pending;
	if (ck->kill)
		c->end_pending = 0;
	c->last_gen = e.gen;
	c->last_bytes = e.bytes;
	c->last_nanos = nanos;
	char steps[256];
	size_t len = 0;
	for (size_t i = 0; i < NSTEPS && len < sizeof steps; i++)
		len += (size_t)snprintf(steps + len, sizeof steps - len, "%s%s %.1f ms",
					i ? ", " : "", sc_phase_name(phase_steps[i].phase),
					(double)ck->step_ns[i] / 1e6);
	coord_log(c, 0,
		  "generation %" PRIu64 " committed: %" PRIu64
		  " bytes from %u ranks in %.3f s (%s; %u quiesce round(s))%s",
		  e.gen, e.bytes, e.nranks, (double)nanos / 1e9, steps, ck->rounds + 1,
		  ck->kill ? "; ranks told to exit" : "");
	if (ends_request)
		coord_log(c, 0, "the job ends as asked: %s", c->end_why);
	unsigned removed;
	if (sc_manifest_gc(c->cfg->ckptdir, c->cfg->keep, &removed, why, sizeof why) != 0)
		coord_log(c, 1, "garbage collection: %s", why);
	else if (removed)
		coord_log(c, 0, "removed %u old generation(s), keeping %u", removed, c->cfg->keep);

	struct sc_msg m = {.type = SC_MSG_CKPT_DONE,
			   .gen = e.gen,
			   .status = 0,
			   .bytes = e.bytes,
			   .nanos = nanos,
			   .flags = ck->kill ? SC_FLAG_KILL : 0};
	snprintf(m.text, sizeof m.text, "%s; %u quiesce round(s)", steps, ck->rounds + 1);
	to_all_ranks(c, &m);
	finish_waiters(c, 1, e.gen, NULL);
	coord_rearm_interval(c);
}

int ckpt_add_waiter(struct coord *c, uint64_t waiter_id, int json, char *err, size_t errlen)
{
	struct checkpoint *ck = &c->ck;
	if (ck->nwaiters == ck->capwaiters) {
		size_t cap = ck->capwaiters * 2 + 4;
		struct waiter *w = reallocarray(ck->waiters, cap, sizeof *w);
		if (!w) {
			snprintf(err, errlen, "coordinator out of memory");
			return -1;
		}
		ck->waiters = w;
		ck->capwaiters = cap;
	}
	ck->waiters[ck->nwaiters++] = (struct waiter){.client_id = waiter_id, .json = json};
	return 0;
}

uint64_t ckpt_start(struct coord *c, int kill, const char *why, uint64_t waiter_id, int json,
		    char *err, size_t errlen)
{
	struct checkpoint *ck = &c->ck;
	if (ck->active) {
		snprintf(err, errlen, "a checkpoint (generation %" PRIu64 ") is already running",
			 ck->gen);
		return 0;
	}
	if (c->ranks_connected == 0) {
		snprintf(err, errlen, "no ranks connected");
		return 0;
	}
	if (c->ranks_connected < c->nranks_expected) {
		snprintf(err, errlen, "only %u of %u ranks are connected", c->ranks_connected,
			 c->nranks_expected);
		return 0;
	}
	if (waiter_id && ckpt_add_waiter(c, waiter_id, json, err, errlen))
		return 0;
	ck->active = 1;
	ck->gen = c->next_gen++;
	ck->step = 0;
	ck->kill = kill;
	ck->end_signo = 0;
	snprintf(ck->how, sizeof ck->how, "%s", kill ? "end-command" : "command");
	ck->start_ns = sc_now_ns();
	ck->program[0] = '\0';
	c->next_interval_ms = 0; /* re-armed when this checkpoint ends */
	coord_log(c, 0, "checkpoint of generation %" PRIu64 " started (%s%s)", ck->gen, why,
		  kill ? ", ranks exit after it" : "");
	uint64_t gen = ck->gen;
	enter_step(c, 0);
	return gen;
}

void ckpt_on_ack(struct coord *c, struct client *cl, const struct sc_msg *m)
{
	struct checkpoint *ck = &c->ck;
	if (!ck->active || m->gen != ck->gen) {
		/* e.g. a rank still answering a checkpoint that another rank made fail */
		coord_log(c, 0,
			  "rank %u: acknowledgement for inactive generation %" PRIu64 " ignored",
			  cl->rank, m->gen);
		return;
	}
	const struct phase_step *s = &phase_steps[ck->step];
	if (m->phase != s->phase || cl->acked) {
		coord_log(c, 1, "rank %u acknowledged phase %s %sduring phase %s; ignored",
			  cl->rank, sc_phase_name(m->phase), cl->acked ? "twice " : "",
			  sc_phase_name(s->phase));
		return;
	}
	if (m->status != 0) {
		char reason[SC_MSG_TEXT], why[SC_MSG_TEXT + 512];
		/* The rank's text goes to logs and terminals: keep it printable. */
		size_t i = 0;
		for (; m->text[i] && i + 1 < sizeof reason; i++)
			reason[i] = (m->text[i] >= 0x20 && m->text[i] < 0x7f) ? m->text[i] : '?';
		reason[i] = '\0';
		snprintf(why, sizeof why, "rank %u (pid %u on %s) failed in phase %s: %s", cl->rank,
			 cl->pid, cl->host, sc_phase_name(s->phase),
			 reason[0] ? reason : "no reason given");
		ckpt_abort(c, why);
		return;
	}
	if (s->phase == SC_PHASE_QUIESCE) {
		/* A report in several messages: merged once it is whole. */
		struct sc_textbuf *t = &cl->ack_text;
		if ((m->flags & SC_FLAG_MORE) || t->len) {
			sc_tb_append(t, m->text, strlen(m->text));
			if (t->oom || t->len > SC_QUIESCE_REPORT_MAX) {
				char why[256];
				snprintf(why, sizeof why,
					 "rank %u: collective counts too large (%zu bytes)",
					 cl->rank, t->len);
				ckpt_abort(c, why);
				return;
			}
			if (m->flags & SC_FLAG_MORE)
				return;
		}
		char err[256];
		int rc = agree_add(ck, t->len ? sc_tb_str(t) : m->text, err, sizeof err);
		t->len = 0;
		if (rc != 0) {
			char why[512];
			snprintf(why, sizeof why, "rank %u: %s", cl->rank, err);
			ckpt_abort(c, why);
			return;
		}
	}
	cl->acked = 1;
	ck->acks++;
	if (s->phase == SC_PHASE_WRITE) {
		cl->ack_bytes = m->bytes;
		if (m->text[0] && (!ck->program[0] || cl->rank == 0)) {
			size_t i = 0;
			for (; m->text[i] && i + 1 < sizeof ck->program; i++)
				ck->program[i] =
				    (m->text[i] >= 0x20 && m->text[i] != 0x7f) ? m->text[i] : '?';
			ck->program[i] = '\0';
		}
	}
	if (ck->acks < c->nranks_expected)
		return;
	if (s->phase == SC_PHASE_QUIESCE) {
		char err[256];
		int r = agree_next(ck, err, sizeof err);
		if (r < 0) {
			ckpt_abort(c, err);
			return;
		}
		if (r == 0) { /* the ranks behind catch up: another round with the targets */
			enter_step(c, 1);
			return;
		}
		coord_log(c, 0, "generation %" PRIu64 ": collective counts agree after %u round(s)",
			  ck->gen, ck->rounds + 1);
	}
	ck->step_ns[ck->step] = sc_now_ns() - ck->step_start_ns;
	if (ck->step + 1 < NSTEPS) {
		ck->step++;
		enter_step(c, 0);
	} else {
		commit(c);
	}
}

void ckpt_on_rank_gone(struct coord *c, struct client *cl)
{
	if (!c->ck.active)
		return;
	char why[512];
	snprintf(why, sizeof why, "rank %u (pid %u on %s) disconnected during phase %s", cl->rank,
		 cl->pid, cl->host, ckpt_phase_now(c));
	ckpt_abort(c, why);
}

void ckpt_on_timer(struct coord *c, int64_t now_ms)
{
	(void)now_ms;
	char err[256];
	if (ckpt_start(c, 0, "interval", 0, 0, err, sizeof err) == 0) {
		coord_log(c, 0, "interval checkpoint skipped: %s", err);
		coord_rearm_interval(c);
		return;
	}
	snprintf(c->ck.how, sizeof c->ck.how, "interval");
}

/* MANIFEST's word for a checkpoint that ends the job as asked: end-USR1, or end. */
static void end_how(struct coord *c)
{
	char name[32];
	if (c->end_signo > 0)
		snprintf(c->ck.how, sizeof c->ck.how, "end-%s",
			 sc_signal_name(c->end_signo, name, sizeof name));
	else
		snprintf(c->ck.how, sizeof c->ck.how, "end");
}

void ckpt_end_retry(struct coord *c)
{
	char err[256], why[256];
	c->end_retry_ms = 0;
	if (!c->end_pending || c->ck.active)
		return;
	snprintf(why, sizeof why, "to end the job: %s", c->end_why);
	if (ckpt_start(c, 1, why, 0, 0, err, sizeof err) == 0) {
		coord_log(c, 1, "cannot end the job with a checkpoint yet (%s); retrying in %d s",
			  err, END_RETRY_MS / 1000);
		c->end_retry_ms = sc_now_ms() + END_RETRY_MS;
		return;
	}
	c->ck.end_signo = c->end_signo;
	end_how(c);
}

void ckpt_request_end(struct coord *c, int signo, const char *who)
{
	char name[32];
	if (signo > 0)
		snprintf(c->end_why, sizeof c->end_why, "signal %s (%d) from %s",
			 sc_signal_name(signo, name, sizeof name), signo, who);
	else
		snprintf(c->end_why, sizeof c->end_why, "requested by %s", who);
	c->end_signo = signo;
	c->end_pending = 1;
	if (c->ck.active) {
		if (!c->ck.kill)
			coord_log(c, 0,
				  "%s: the running checkpoint of generation %" PRIu64
				  " will end the job",
				  c->end_why, c->ck.gen);
		c->ck.kill = 1;
		c->ck.end_signo = signo;
		end_how(c);
		return;
	}
	ckpt_end_retry(c);
}
