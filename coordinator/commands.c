/* The coordinator's answers to `splitckpt command`: CHECKPOINT, BCHECKPOINT, KCHECKPOINT,
 * STATUS, LIST, INTERVAL, KILL and QUIT. Every reply is human text, or exactly one JSON object
 * (always with "ok") when the command carries SC_FLAG_JSON; long replies span several REPLY
 * messages chained with SC_FLAG_MORE. */
#define _GNU_SOURCE
#include "config.h"

#include "server_internal.h"
#include "textbuf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LIST_MAX 4096 /* generations shown by LIST (MANIFEST holds --keep of them) */
#define INTERVAL_MAX (10u * 365 * 24 * 3600)

void cmd_reply(struct coord *c, struct client *cl, int status, uint64_t gen, const char *text)
{
	struct sc_msg m = {.type = SC_MSG_REPLY, .status = status, .gen = gen};
	client_send_text(c, cl, &m, text);
}

/* A failure reply: {"ok":false,"error":...} or the message itself. */
static void reply_error(struct coord *c, struct client *cl, int json, uint64_t gen, const char *why)
{
	struct sc_textbuf tb;
	sc_tb_init(&tb);
	if (json) {
		sc_tb_printf(&tb, "{\"ok\":false,\"error\":");
		sc_tb_json_str(&tb, why);
		sc_tb_printf(&tb, "}");
	}
	cmd_reply(c, cl, -1, gen, json ? sc_tb_str(&tb) : why);
	sc_tb_free(&tb);
}

static void reply_tb(struct coord *c, struct client *cl, uint64_t gen, struct sc_textbuf *tb,
		     int json)
{
	if (tb->oom)
		reply_error(c, cl, json, gen, "coordinator out of memory");
	else
		cmd_reply(c, cl, 0, gen, sc_tb_str(tb));
	sc_tb_free(tb);
}

void cmd_reply_ckpt_result(struct coord *c, struct client *cl, int json, int ok, uint64_t gen,
			   const char *why)
{
	if (!ok) {
		char text[SC_MSG_TEXT];
		snprintf(text, sizeof text, "checkpoint of generation %" PRIu64 " failed: %s", gen,
			 why);
		reply_error(c, cl, json, gen, json ? why : text);
		return;
	}
	struct sc_textbuf tb;
	sc_tb_init(&tb);
	int kill = c->ck.kill;
	if (json)
		sc_tb_printf(&tb,
			     "{\"ok\":true,\"gen\":%" PRIu64 ",\"nranks\":%u,\"bytes\":%" PRIu64
			     ",\"nanos\":%" PRIu64 ",\"path\":",
			     gen, c->nranks_expected, c->last_bytes, c->last_nanos);
	char dir[PATH_MAX];
	sc_gen_dir_path(c->cfg->ckptdir, gen, 0, dir, sizeof dir);
	if (json) {
		sc_tb_json_str(&tb, dir);
		sc_tb_printf(&tb, ",\"killed\":%s}", kill ? "true" : "false");
	} else {
		sc_tb_printf(&tb,
			     "generation %" PRIu64 " committed: %" PRIu64 " bytes in %.3f s (%s)%s",
			     gen, c->last_bytes, (double)c->last_nanos / 1e9, dir,
			     kill ? "; ranks told to exit" : "");
	}
	reply_tb(c, cl, gen, &tb, json);
}

static void json_rank(struct sc_textbuf *tb, const struct client *r, int first)
{
	sc_tb_printf(tb, "%s{\"rank\":%u,\"pid\":%u,\"host\":", first ? "" : ",", r->rank, r->pid);
	sc_tb_json_str(tb, r->host);
	if (r->restarted)
		sc_tb_printf(tb, ",\"restarted_from\":%" PRIu64 "}", r->restarted_gen);
	else
		sc_tb_printf(tb, ",\"restarted_from\":null}");
}

static void status_json(struct coord *c, struct sc_textbuf *tb)
{
	sc_tb_printf(tb, "{\"ok\":true,\"coordinator\":{\"host\":");
	sc_tb_json_str(tb, c->cfg->advertise_host);
	sc_tb_printf(tb, ",\"port\":%d,\"pid\":%d},\"ckptdir\":", c->port, (int)getpid());
	sc_tb_json_str(tb, c->cfg->ckptdir);
	sc_tb_printf(tb, ",\"ranks_connected\":%u,\"ranks_expected\":%u,\"state\":\"%s\"",
		     c->ranks_connected, c->nranks_expected,
		     c->ck.active ? "checkpointing" : "idle");
	if (c->ck.active)
		sc_tb_printf(tb,
			     ",\"checkpoint\":{\"gen\":%" PRIu64 ",\"phase\":\"%s\",\"acks\":%u}",
			     c->ck.gen, ckpt_phase_now(c), c->ck.acks);
	else
		sc_tb_printf(tb, ",\"checkpoint\":null");
	if (c->last_gen)
		sc_tb_printf(tb, ",\"last_gen\":%" PRIu64, c->last_gen);
	else
		sc_tb_printf(tb, ",\"last_gen\":null");
	sc_tb_printf(tb, ",\"interval\":%u,\"keep\":%u,\"restarts\":%" PRIu64 ",\"last_failure\":",
		     c->interval, c->cfg->keep, c->restarts);
	if (c->last_failure[0])
		sc_tb_json_str(tb, c->last_failure);
	else
		sc_tb_printf(tb, "null");
	sc_tb_printf(tb, ",\"ranks\":[");
	int first = 1;
	for (uint32_t r = 0; r < c->nranks_expected; r++)
		if (c->by_rank[r]) {
			json_rank(tb, c->by_rank[r], first);
			first = 0;
		}
	sc_tb_printf(tb, "]}");
}

static void status_text(struct coord *c, struct sc_textbuf *tb)
{
	sc_tb_printf(tb, "coordinator:      %s:%d (pid %d)\n", c->cfg->advertise_host, c->port,
		     (int)getpid());
	sc_tb_printf(tb, "checkpoint dir:   %s\n", c->cfg->ckptdir);
	if (c->nranks_expected)
		sc_tb_printf(tb, "ranks:            %u of %u connected\n", c->ranks_connected,
			     c->nranks_expected);
	else
		sc_tb_printf(tb, "ranks:            none connected\n");
	if (c->ck.active)
		sc_tb_printf(tb,
			     "state:            checkpointing generation %" PRIu64
			     " (phase %s, %u of %u acknowledged)\n",
			     c->ck.gen, ckpt_phase_now(c), c->ck.acks, c->nranks_expected);
	else
		sc_tb_printf(tb, "state:            idle\n");
	if (c->last_gen && c->last_nanos)
		sc_tb_printf(
		    tb, "last committed:   generation %" PRIu64 " (%" PRIu64 " bytes in %.2f s)\n",
		    c->last_gen, c->last_bytes, (double)c->last_nanos / 1e9);
	else if (c->last_gen)
		sc_tb_printf(tb, "last committed:   generation %" PRIu64 "\n", c->last_gen);
	else
		sc_tb_printf(tb, "last committed:   none\n");
	if (c->end_pending)
		sc_tb_printf(tb, "ending:           with a checkpoint, %s\n", c->end_why);
	if (c->interval)
		sc_tb_printf(tb, "interval:         %u s\n", c->interval);
	else
		sc_tb_printf(tb, "interval:         off (manual checkpoints only)\n");
	sc_tb_printf(tb, "keep:             %u generation(s)%s\n", c->cfg->keep,
		     c->cfg->keep ? "" : " (0 = all)");
	if (c->last_failure[0])
		sc_tb_printf(tb, "last failure:     %s\n", c->last_failure);
	for (uint32_t r = 0; r < c->nranks_expected; r++) {
		const struct client *cl = c->by_rank[r];
		if (!cl)
			continue;
		sc_tb_printf(tb, "rank %-5u        pid %u on %s", cl->rank, cl->pid, cl->host);
		if (cl->restarted)
			sc_tb_printf(tb, " (restarted from generation %" PRIu64 ")",
				     cl->restarted_gen);
		sc_tb_printf(tb, "\n");
	}
	if (tb->len && tb->data[tb->len - 1] == '\n')
		tb->data[--tb->len] = '\0';
}

void sc_format_generations(struct sc_textbuf *tb, const char *ckptdir, const struct sc_gen_entry *v,
			   size_t n, int json)
{
	if (json) {
		sc_tb_printf(tb, "{\"ok\":true,\"ckptdir\":");
		sc_tb_json_str(tb, ckptdir);
		sc_tb_printf(tb, ",\"generations\":[");
	} else if (n == 0) {
		sc_tb_printf(tb, "no checkpoint in %s", ckptdir);
	} else {
		sc_tb_printf(tb, "%-8s %7s %14s  %-19s %8s  %-28s %s", "GEN", "RANKS", "BYTES",
			     "CREATED", "TOOK", "HOW", "PROGRAM");
	}
	for (size_t i = 0; i < n; i++) {
		char dir[PATH_MAX];
		sc_gen_dir_path(ckptdir, v[i].gen, 0, dir, sizeof dir);
		if (json) {
			sc_tb_printf(tb,
				     "%s{\"gen\":%" PRIu64 ",\"nranks\":%u,\"bytes\":%" PRIu64
				     ",\"created_ns\":%" PRIu64 ",\"took_ns\":%" PRIu64 ",\"how\":",
				     i ? "," : "", v[i].gen, v[i].nranks, v[i].bytes,
				     v[i].created_ns, v[i].took_ns);
			sc_tb_json_str(tb, v[i].how);
			sc_tb_printf(tb, ",\"program\":");
			sc_tb_json_str(tb, v[i].program);
			sc_tb_printf(tb, ",\"path\":");
			sc_tb_json_str(tb, dir);
			sc_tb_printf(tb, "}");
		} else {
			time_t t = (time_t)(v[i].created_ns / 1000000000u);
			struct tm tm;
			char when[32];
			localtime_r(&t, &tm);
			strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
			char took[24], how[64];
			if (v[i].took_ns)
				snprintf(took, sizeof took, "%.2f s", (double)v[i].took_ns / 1e9);
			else
				snprintf(took, sizeof took, "-");
			sc_tb_printf(tb, "\n%-8" PRIu64 " %7u %14" PRIu64 "  %-19s %8s  %-28s %s",
				     v[i].gen, v[i].nranks, v[i].bytes, when, took,
				     sc_ckpt_how_text(v[i].how, how, sizeof how), v[i].program);
		}
	}
	if (json)
		sc_tb_printf(tb, "]}");
}

static void list_generations(struct coord *c, struct client *cl, int json)
{
	char err[1024];
	size_t n = 0;
	struct sc_gen_entry *v = calloc(LIST_MAX, sizeof *v);
	if (!v) {
		reply_error(c, cl, json, 0, "coordinator out of memory");
		return;
	}
	if (sc_manifest_load(c->cfg->ckptdir, v, LIST_MAX, &n, err, sizeof err) < 0) {
		reply_error(c, cl, json, 0, err);
		free(v);
		return;
	}
	struct sc_textbuf tb;
	sc_tb_init(&tb);
	sc_format_generations(&tb, c->cfg->ckptdir, v, n, json);
	free(v);
	reply_tb(c, cl, c->last_gen, &tb, json);
}

static void send_kill_to_ranks(struct coord *c)
{
	struct sc_msg m = {.type = SC_MSG_KILL};
	for (uint32_t r = 0; r < c->nranks_expected; r++)
		if (c->by_rank[r])
			client_send(c, c->by_rank[r], &m);
}

/* A plain success: human text, or {"ok":true,"message":...<extra>}. */
static void reply_ok(struct coord *c, struct client *cl, int json, uint64_t gen, const char *msg,
		     const char *extra_json)
{
	struct sc_textbuf tb;
	sc_tb_init(&tb);
	if (json) {
		sc_tb_printf(&tb, "{\"ok\":true,\"message\":");
		sc_tb_json_str(&tb, msg);
		sc_tb_printf(&tb, "%s}", extra_json ? extra_json : "");
	} else {
		sc_tb_printf(&tb, "%s", msg);
	}
	reply_tb(c, cl, gen, &tb, json);
}

void cmd_handle(struct coord *c, struct client *cl, const struct sc_msg *m)
{
	int json = (m->flags & SC_FLAG_JSON) != 0;
	if ((m->value == SC_CMD_STATUS || m->value == SC_CMD_LIST) && m->value2 == 1)
		json = 1;
	char err[1024], msg[1024], extra[256];
	uint64_t gen;
	struct sc_textbuf tb;
	switch (m->value) {
	case SC_CMD_CHECKPOINT:
		gen = ckpt_start(c, 0, "requested by a command", 0, 0, err, sizeof err);
		if (!gen) {
			reply_error(c, cl, json, 0, err);
			break;
		}
		snprintf(msg, sizeof msg, "checkpoint of generation %" PRIu64 " started", gen);
		snprintf(extra, sizeof extra, ",\"gen\":%" PRIu64, gen);
		reply_ok(c, cl, json, gen, msg, extra);
		break;
	case SC_CMD_BCHECKPOINT:
	case SC_CMD_KCHECKPOINT: {
		int kill = m->value == SC_CMD_KCHECKPOINT;
		if (kill && c->ck.active) {
			/* The state the job ends with may as well be the one being saved. */
			if (ckpt_add_waiter(c, cl->id, json, err, sizeof err)) {
				reply_error(c, cl, json, 0, err);
				break;
			}
			if (!c->ck.kill)
				coord_log(c, 0,
					  "checkpoint-and-kill requested by a command: the running "
					  "checkpoint of generation %" PRIu64 " will end the job",
					  c->ck.gen);
			c->ck.kill = 1;
			snprintf(c->ck.how, sizeof c->ck.how, "end-command");
			break;
		}
		if (!ckpt_start(c, kill,
				kill ? "checkpoint-and-kill requested by a command"
				     : "blocking checkpoint requested by a command",
				cl->id, json, err, sizeof err))
			reply_error(c, cl, json, 0, err);
		break; /* otherwise the reply comes when the checkpoint ends */
	}
	case SC_CMD_END: {
		char who[160];
		snprintf(who, sizeof who, "the job's launch process (%s)", cl->peer);
		ckpt_request_end(c, m->value2 < 65 ? (int)m->value2 : 0, who);
		if (c->ck.active && c->ck.kill)
			snprintf(msg, sizeof msg,
				 "the checkpoint of generation %" PRIu64 " will end the job",
				 c->ck.gen);
		else
			snprintf(msg, sizeof msg,
				 "the job will end with a checkpoint as soon as one can be taken");
		reply_ok(c, cl, json, c->ck.active ? c->ck.gen : 0, msg, NULL);
		break;
	}
	case SC_CMD_STATUS:
		sc_tb_init(&tb);
		if (json)
			status_json(c, &tb);
		else
			status_text(c, &tb);
		reply_tb(c, cl, c->last_gen, &tb, json);
		break;
	case SC_CMD_LIST:
		list_generations(c, cl, json);
		break;
	case SC_CMD_INTERVAL:
		if (m->value2 > INTERVAL_MAX) {
			snprintf(err, sizeof err, "interval %" PRIu64 " s is longer than %u s",
				 m->value2, INTERVAL_MAX);
			reply_error(c, cl, json, 0, err);
			break;
		}
		c->interval = (unsigned)m->value2;
		if (!c->ck.active)
			coord_rearm_interval(c);
		if (c->interval)
			snprintf(msg, sizeof msg, "checkpoint interval set to %u s", c->interval);
		else
			snprintf(msg, sizeof msg, "interval checkpoints off (manual only)");
		coord_log(c, 0, "%s", msg);
		snprintf(extra, sizeof extra, ",\"interval\":%u", c->interval);
		reply_ok(c, cl, json, 0, msg, extra);
		break;
	case SC_CMD_KILL:
	case SC_CMD_QUIT: {
		int quit = m->value == SC_CMD_QUIT;
		uint32_t n = c->ranks_connected;
		if (!quit && n == 0) {
			reply_error(c, cl, json, 0, "no ranks connected");
			break;
		}
		send_kill_to_ranks(c);
		coord_log(c, 0, "%s: told %u rank(s) to exit", quit ? "QUIT" : "KILL", n);
		if (quit) {
			snprintf(msg, sizeof msg, "coordinator exiting; told %u rank(s) to exit",
				 n);
			c->quit = 1;
		} else {
			snprintf(msg, sizeof msg, "told %u rank(s) to exit", n);
		}
		snprintf(extra, sizeof extra, ",\"ranks\":%u", n);
		reply_ok(c, cl, json, 0, msg, extra);
		break;
	}
	case SC_CMD_ABANDON: {
		/* The job cannot restart (a missing or damaged image): the other ranks would
		 * wait for it, and a coordinator started for this restart for ranks that never
		 * come (--start-timeout). */
		uint32_t n = c->ranks_connected;
		send_kill_to_ranks(c);
		coord_log(c, 1, "rank %" PRIu64 " refused to restart; told %u rank(s) to exit%s",
			  m->value2, n, c->cfg->exit_on_last ? "; exiting" : "");
		snprintf(c->last_failure, sizeof c->last_failure,
			 "rank %" PRIu64 " refused to restart (see its error)", m->value2);
		if (c->cfg->exit_on_last)
			c->quit = 1;
		reply_ok(c, cl, json, 0, "job abandoned", "");
		break;
	}
	default:
		snprintf(err, sizeof err, "unknown command %" PRIu64, m->value);
		reply_error(c, cl, json, 0, err);
	}
}
