/* The coordinator daemon's entry point, called by `splitckpt coordinator` once it has parsed
 * its options (and, for --daemon, detached). One coordinator serves one job. */
#ifndef SPLITCKPT_SERVER_H
#define SPLITCKPT_SERVER_H

#include "coord_client.h"

struct sc_coord_config {
	const char *ckptdir;	    /* absolute; created if missing */
	const char *bind_host;	    /* address to listen on; NULL or "" = all addresses */
	int port;		    /* 0 = an ephemeral port */
	const char *advertise_host; /* what the state file tells clients to connect to */
	char secret[SC_SECRET_LEN + 1];
	unsigned interval;	/* seconds between automatic checkpoints, 0 = manual only */
	unsigned keep;		/* committed generations kept, 0 = all */
	int exit_on_last;	/* end when the job's last rank has gone */
	unsigned start_timeout; /* with exit_on_last: s to wait for a first rank, 0 = forever */
	int quiet;		/* log warnings and errors only */
};

/* Prepares the checkpoint directory, listens, writes DIR/splitckpt.job, then serves until
 * QUIT, SIGTERM/SIGINT/SIGHUP or (exit_on_last) the end of the job; the state file is removed
 * on the way out. If ready_fd >= 0, "OK host:port\n" or "ERR message\n" is written to it once
 * the state file exists (or setup failed) and it is closed. Logs go to stderr with timestamps.
 * Returns 0, or 1 when setup failed. */
int sc_coord_serve(const struct sc_coord_config *cfg, int ready_fd);

struct sc_textbuf;
struct sc_gen_entry;
/* The text of LIST (a table, or one JSON object with "generations"); the CLI uses it too,
 * to list a directory whose job has ended. */
void sc_format_generations(struct sc_textbuf *tb, const char *ckptdir, const struct sc_gen_entry *v,
			   size_t n, int json);

#endif
