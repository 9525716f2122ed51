/* State shared by the coordinator's parts: the event loop and connections (server.c), the
 * checkpoint state machine (ckpt_state.c) and the command handlers (commands.c). Everything
 * runs on one thread, driven by poll(). */
#ifndef SPLITCKPT_SERVER_INTERNAL_H
#define SPLITCKPT_SERVER_INTERNAL_H

#include "coord_client.h"
#include "manifest.h"
#include "protocol.h"
#include "server.h"
#include "textbuf.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define SC_MAX_RANKS (1u << 20)
#define HELLO_TIMEOUT_MS 10000		  /* a connection must say HELLO within this */
#define SC_QUIESCE_REPORT_MAX (64u << 20) /* bytes of one rank's collective counts */

enum client_kind {
	CLIENT_NEW,    /* connected, HELLO not yet seen */
	CLIENT_RANK,   /* a rank's checkpoint thread */
	CLIENT_COMMAND /* `splitckpt command` or launch/restart */
};

struct client {
	uint64_t id; /* never reused, so a pending reply cannot reach a newer connection */
	int fd;
	enum client_kind kind;
	int dead;    /* closed; removed from the table at the end of the loop iteration */
	int broken;  /* a send failed; the loop closes it (never under a caller's feet) */
	int closing; /* close once the output is flushed (after REFUSED) */
	int watch;   /* a command connection that is a rank's restart watch */
	int64_t hello_deadline_ms;
	char peer[96]; /* remote address, for logs */
	unsigned char in[SC_FRAME_MAX];
	size_t inlen;
	unsigned char *out;
	size_t outlen, outcap;
	/* rank only */
	uint32_t rank, nranks, pid;
	char host[256];
	int restarted;
	uint64_t restarted_gen;
	int acked;		    /* acknowledged the current phase */
	struct sc_textbuf ack_text; /* a QUIESCE ACK's text so far (sent in parts: SC_FLAG_MORE) */
	uint64_t ack_bytes;
};

/* A command connection waiting for the end of a checkpoint (BCHECKPOINT / KCHECKPOINT). */
struct waiter {
	uint64_t client_id;
	int json;
};

struct checkpoint {
	int active;
	uint64_t gen;
	size_t step;	      /* index into the phase list */
	int kill;	      /* KCHECKPOINT: ranks exit after the commit */
	int end_signo;	      /* the signal that made it end the job (--on-signal), 0 if none */
	char how[SC_HOW_MAX]; /* recorded in MANIFEST (manifest.c): interval, command, end-... */
	int64_t start_ns;
	uint32_t acks;
	char program[SC_PROGRAM_MAX];
	struct waiter *waiters;
	size_t nwaiters, capwaiters;
	/* The quiesce's agreement on collective counts (cut_agree.c): this round's reports
	 * merged per communicator, and the targets sent with the current round ("" at first). */
	struct clock_entry *clocks;
	size_t nclocks, capclocks;
	uint32_t rounds;
	int creating;		   /* a rank was inside a communicator's creation: another round */
	int epochs_open;	   /* a rank had a PSCW epoch open ("*"): another round */
	struct sc_textbuf targets; /* sent in as many CKPT_PHASE messages as it takes */
	int64_t step_start_ns;	   /* when the current step began */
	int64_t step_ns[8];	   /* how long each finished step took, by index into the list */
};

struct clock_entry {
	uint64_t id, min, max;
	uint64_t raise; /* a rank held at this collective needs it: at least this target */
	int held; /* a rank waits at its target here ("?ID"): raised while a rank is creating */
};

/* cut_agree.c */
void agree_reset(struct checkpoint *ck);
/* Merges one rank's report ("ID COUNT" lines in hex); -1 with err when malformed. */
int agree_add(struct checkpoint *ck, const char *text, char *err, size_t errlen);
/* After every rank reported: 1 when all members of every communicator agree (the quiesce is
 * over), 0 when another round must go out with ck->targets, -1 with err. */
int agree_next(struct checkpoint *ck, char *err, size_t errlen);

struct coord {
	const struct sc_coord_config *cfg;
	int listen_fd[2];
	int nlisten;
	int port;
	int64_t listen_paused_until_ms; /* after EMFILE, stop accepting for a moment */
	struct client **clients;
	size_t nclients, capclients;
	uint64_t next_client_id;
	/* the job's ranks; by_rank has nranks_expected slots once the first rank said hello */
	uint32_t nranks_expected, ranks_connected;
	struct client **by_rank;
	uint32_t watches;	   /* restart watches connected (SC_FLAG_WATCH): ranks on the way */
	int ranks_ever;		   /* some rank or restart watch has connected since the start */
	int64_t last_rank_gone_ms; /* when the last rank or watch left (exit-on-last grace) */
	uint64_t restarts;
	/* checkpoints */
	uint64_t last_gen, next_gen;
	uint64_t last_bytes, last_nanos;
	unsigned interval;
	int64_t next_interval_ms; /* 0 = no timer */
	struct checkpoint ck;
	/* A signal asked to end the job with a checkpoint (--on-signal): kept until a
	 * checkpoint that ends the job commits; one that cannot start or aborts is retried. */
	int end_pending;
	int end_signo;
	char end_why[160];
	int64_t end_retry_ms; /* 0 = not waiting to retry */
	char last_failure[SC_MSG_TEXT];
	int64_t start_ms;
	int quit;
};

/* The job came (a rank or a restart watch connected) and every one of them has left. */
static inline int job_gone(const struct coord *c)
{
	return c->ranks_ever && c->ranks_connected == 0 && c->watches == 0;
}

/* clients.c */
void accept_clients(struct coord *c, int listen_fd);
/* Reads what the socket has and dispatches every complete frame. */
void client_read(struct coord *c, struct client *cl);
/* Writes queued output; -1 (and cl->broken) when the socket failed. */
int client_flush(struct client *cl);
/* Closes a client now; a rank leaves the rank table (aborting a running checkpoint). */
void client_gone(struct coord *c, struct client *cl, const char *why);
/* Disconnects broken clients and refused ones whose REFUSED has been sent. */
void reap_clients(struct coord *c);
/* Frees closed clients (end of each loop iteration, when no pointer to them is in use). */
void sweep_dead_clients(struct coord *c);

/* server.c */
int64_t sc_now_ms(void);
int64_t sc_now_ns(void);
void coord_log(struct coord *c, int warn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Queues a message on a client. A client whose output backs up or whose socket fails is
 * only marked broken here; the event loop disconnects it, so callers may iterate ranks. */
void client_send(struct coord *c, struct client *cl, const struct sc_msg *m);
/* The same, text in as many messages as it takes (sc_msg_send_text). */
void client_send_text(struct coord *c, struct client *cl, struct sc_msg *m, const char *text);
struct client *client_by_id(struct coord *c, uint64_t id);
void coord_rearm_interval(struct coord *c);

/* ckpt_state.c */
/* Starts a checkpoint (why: for the log); a waiter_id != 0 gets the result via
 * cmd_reply_ckpt_result. Returns its generation, or 0 with err saying why it cannot start. */
uint64_t ckpt_start(struct coord *c, int kill, const char *why, uint64_t waiter_id, int json,
		    char *err, size_t errlen);
/* A command waits for the end of the running checkpoint (or the one about to start). */
int ckpt_add_waiter(struct coord *c, uint64_t waiter_id, int json, char *err, size_t errlen);
void ckpt_on_ack(struct coord *c, struct client *cl, const struct sc_msg *m);
void ckpt_on_rank_gone(struct coord *c, struct client *cl);
/* Aborts the running checkpoint: removes gen-N.tmp, tells ranks and waiters why. */
void ckpt_abort(struct coord *c, const char *why);
void ckpt_on_timer(struct coord *c, int64_t now_ms);
/* A signal (signo, 0 = none) sent by `who` asks to end the job with a checkpoint: the running
 * checkpoint becomes one that ends it, or one starts now or as soon as it can. */
void ckpt_request_end(struct coord *c, int signo, const char *who);
/* The retry of a pending end request is due (server.c's timers). */
void ckpt_end_retry(struct coord *c);
const char *ckpt_phase_now(const struct coord *c);

/* commands.c */
void cmd_handle(struct coord *c, struct client *cl, const struct sc_msg *m);
/* Sends text as one or more REPLY messages (SC_FLAG_MORE on all but the last). */
void cmd_reply(struct coord *c, struct client *cl, int status, uint64_t gen, const char *text);
/* Reply to a checkpoint waiter at the end of the checkpoint. */
void cmd_reply_ckpt_result(struct coord *c, struct client *cl, int json, int ok, uint64_t gen,
			   const char *why);

#endif
