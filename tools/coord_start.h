/* Finding (or starting) a job's coordinator from the CLI, and one-shot commands to it. Used by
 * `splitckpt launch`, `restart` and `command`.
 *
 * Which coordinator, and which secret:
 *  - --coord-host H (or SPLITCKPT_COORD_HOST): the coordinator at H:P must already run; P is
 *    --coord-port / SPLITCKPT_COORD_PORT, else the port in DIR/splitckpt.job.
 *  - otherwise DIR/splitckpt.job names it; with --coord-port P it must be at port P, and if
 *    none answers, launch/restart start one listening on P.
 *  - the secret is SPLITCKPT_SECRET (64 hex digits) when set, else the one in
 *    DIR/splitckpt.job (a coordinator started with `splitckpt coordinator --ckptdir DIR`
 *    writes it there, so pointing --ckptdir at the same directory is enough). */
#ifndef SPLITCKPT_COORD_START_H
#define SPLITCKPT_COORD_START_H

#include "../coordinator/coord_client.h"

#include <stddef.h>
#include <stdint.h>

struct sc_textbuf;

struct sc_coord_opts {
	const char *ckptdir;	/* --ckptdir (NULL: SPLITCKPT_CHECKPOINT_DIR, then the default) */
	const char *coord_host; /* --coord-host (NULL: SPLITCKPT_COORD_HOST) */
	int coord_port;		/* --coord-port, 0 = unset (then SPLITCKPT_COORD_PORT) */
	long interval;		/* --interval seconds, -1 = unset (keep the coordinator's) */
	unsigned keep;		/* --keep for a coordinator started here (0 = keep all) */
	int quiet;		/* pass --quiet to a coordinator started here */
};

/* Makes sure the job has a coordinator and fills *js with how to reach it (host, port, secret,
 * pid). Uses the one named by the options or DIR/splitckpt.job if it answers, else starts
 * `splitckpt coordinator --daemon --exit-on-last` for DIR (*started = 1). When two launchers
 * race (e.g. every rank of `srun splitckpt launch`), a lock file DIR/splitckpt.job.lock lets
 * one start it and the others use it. Sends INTERVAL if o->interval differs from the running
 * coordinator's. Returns 0, or -1 with err saying what failed. */
int sc_coord_ensure(const struct sc_coord_opts *o, struct sc_jobstate *js, int *started, char *err,
		    size_t errlen);

/* Resolves the coordinator of ckptdir_abs / host / port (see above) without starting one.
 * port 0 = unset. -1 with err ("no job found in DIR: DIR/splitckpt.job does not exist", ...). */
int sc_coord_target(const char *ckptdir_abs, const char *host, int port, struct sc_jobstate *js,
		    char *err, size_t errlen);

/* Connects as a command client. On failure err reads "coordinator at H:P is not reachable:
 * connection refused (job ended?)", "coordinator at H:P refused the connection: wrong secret
 * ...", etc. */
int sc_coord_connect(const struct sc_jobstate *js, struct sc_conn *conn, struct sc_msg *welcome,
		     int timeout_ms, char *err, size_t errlen);

/* Sends one COMMAND (cmd = enum sc_command, arg = value2, flags e.g. SC_FLAG_JSON) and
 * collects the whole reply text into *reply (REPLY messages chained by SC_FLAG_MORE).
 * timeout_ms bounds the wait for the reply (-1 = forever). Returns 0 with *status (0 / -1 as
 * the coordinator answered) and *gen, or -1 with err when no reply could be had. */
int sc_coord_request(const struct sc_jobstate *js, uint32_t cmd, uint64_t arg, uint32_t flags,
		     int timeout_ms, struct sc_textbuf *reply, int *status, uint64_t *gen,
		     char *err, size_t errlen);

#endif
