/* The coordinator's wire protocol as seen by its clients: the rank runtime (libsplitckpt's
 * checkpoint thread) and the CLI (`splitckpt command`, launch, restart). One TCP connection per
 * client; the first message proves knowledge of the per-job secret.
 * Rank-runtime constraint: after sc_conn_open returns, no function here may call malloc, stdio
 * or take a lock, because they run while the application's other threads are suspended. */
#ifndef SPLITCKPT_COORD_CLIENT_H
#define SPLITCKPT_COORD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#define SC_SECRET_LEN 64 /* hex characters of the per-job secret (32 random bytes) */
#define SC_MSG_TEXT 4096 /* bytes of free text a message can carry (NUL included) */

/* Exit status of a rank ended by --kcheckpoint / --kill after a committed checkpoint. */
#define SC_EXIT_CHECKPOINTED 85

enum sc_role { SC_ROLE_RANK = 1, SC_ROLE_COMMAND = 2 };

enum sc_msg_type {
	SC_MSG_HELLO = 1,   /* client -> coord: role, rank, nranks, pid, text = hostname; secret */
	SC_MSG_WELCOME,	    /* coord -> client: gen = last committed generation, value = interval s,
			       text = checkpoint directory */
	SC_MSG_REFUSED,	    /* coord -> client: text = reason; connection is closed after it */
	SC_MSG_CKPT_PHASE,  /* coord -> rank: gen, phase (enum sc_phase), text = image path for
			       SC_PHASE_WRITE */
	SC_MSG_PHASE_ACK,   /* rank -> coord: gen, phase, status 0 / -1, bytes, nanos, text = error;
			       for a successful WRITE: bytes = image size, text = the program
			       (recorded in MANIFEST; may be empty) */
	SC_MSG_CKPT_DONE,   /* coord -> rank: gen, status 0 committed (text = its phases' times)
			       / -1 aborted (text = why),
			       flags & SC_FLAG_KILL: exit with SC_EXIT_CHECKPOINTED after it */
	SC_MSG_RESTARTED,   /* rank -> coord: gen = generation restored from */
	SC_MSG_EXITING,	    /* rank -> coord: status = exit code (sent from an atexit path) */
	SC_MSG_KILL,	    /* coord -> rank: exit now with SC_EXIT_CHECKPOINTED (no checkpoint) */
	SC_MSG_COMMAND,	    /* command -> coord: value = enum sc_command, value2 = argument */
	SC_MSG_REPLY,	    /* coord -> command: status 0 / -1, gen, text = human text or JSON */
	SC_MSG_END_REQUEST, /* rank -> coord: a signal asked to end the job with a checkpoint
			       (--on-signal); value = the signal number */
	SC_MSG_LAST = SC_MSG_END_REQUEST /* the highest type a frame may carry */
};

/* Checkpoint phases; the coordinator waits for every rank's ACK of a phase (a barrier) before it
 * sends the next. A failed ACK aborts the checkpoint (CKPT_DONE status -1): ranks resume and the
 * job goes on. An MPI job's consistent cut is made by the first two (upper-half/mpi/cut.c); a
 * rank without MPI acknowledges them at once. */
enum sc_phase {
	SC_PHASE_SUSPEND = 1, /* check resources, suspend application threads */
	SC_PHASE_WRITE = 2,   /* write the image to the given path (temp name, fsync, rename) */
	SC_PHASE_QUIESCE = 3, /* text = collective targets ("" in the first round); ACK text =
				 the rank's collective counts, both over several messages when
				 long (SC_FLAG_MORE). Repeated until they agree. */
	SC_PHASE_DRAIN = 4,   /* stop MPI calls, receive the messages in flight */
};

enum sc_command {
	SC_CMD_CHECKPOINT = 1, /* start a checkpoint, reply at once with its generation */
	SC_CMD_BCHECKPOINT,    /* reply once the checkpoint is committed (or failed) */
	SC_CMD_KCHECKPOINT,    /* checkpoint, commit, then end the job; reply after commit */
	SC_CMD_STATUS,	       /* value2 = 1 for JSON */
	SC_CMD_LIST,	       /* committed generations; value2 = 1 for JSON */
	SC_CMD_INTERVAL,       /* value2 = seconds (0 = manual only) */
	SC_CMD_KILL,	       /* end the job's ranks now */
	SC_CMD_QUIT,	       /* end the ranks and the coordinator */
	SC_CMD_ABANDON,	       /* a rank refused to restart (value2 = rank): end the ranks; a
				  coordinator that exits with the job (--exit-on-last) exits */
	SC_CMD_END,	       /* end the job with a checkpoint as soon as one can be taken
				  (value2 = the signal that asked, 0 = none): joins a running
				  checkpoint, retries until one commits; replies at once */
};

#define SC_FLAG_KILL 1u
#define SC_FLAG_JSON 2u
/* The text continues in the next message of the same kind: a REPLY (long status/list), a
 * QUIESCE phase (targets) or its ACK (counts); sc_msg_send_text sends them. */
#define SC_FLAG_MORE 4u
/* HELLO of a launch or restart whose ranks will connect: a coordinator about to exit because
 * its job's last rank left (--exit-on-last) waits for ranks again (--start-timeout). */
#define SC_FLAG_ATTACH 8u
/* HELLO of a restarting rank's watch (lower half, before MPI_Init): the rank is on its way.
 * Its connection ends with the process, so a rank killed before it connects as a rank (hydra
 * ending the job for another rank's refusal) still ends the job for --exit-on-last. */
#define SC_FLAG_WATCH 16u

struct sc_msg {
	uint32_t type; /* enum sc_msg_type */
	uint32_t flags;
	uint64_t gen;
	uint32_t phase;
	int32_t status;
	uint32_t role, rank, nranks, pid;
	uint64_t value, value2;
	uint64_t bytes, nanos;
	char secret[SC_SECRET_LEN + 1];
	char text[SC_MSG_TEXT];
};

struct sc_conn {
	int fd;
};

/* Connects to host:port, sends HELLO built from `hello` (its type is set here) with the secret,
 * and waits for WELCOME (copied to *welcome). Returns 0, or -1 with err saying what failed:
 * "cannot connect to coordinator at H:P: ...", "coordinator refused: wrong secret", ...
 * errno then tells callers which kind of failure it was: ECONNREFUSED, ETIMEDOUT,
 * EHOSTUNREACH, ENETUNREACH (nothing answers at H:P), EACCES (REFUSED), EPROTO (not a
 * coordinator / malformed answer). */
int sc_conn_open(struct sc_conn *c, const char *host, int port, const char *secret,
		 struct sc_msg *hello, struct sc_msg *welcome, int timeout_ms, char *err,
		 size_t errlen);
int sc_conn_send(struct sc_conn *c, const struct sc_msg *m);
/* Sends text with m (its other fields as the caller set them) in as many messages as it takes,
 * every one but the last flagged SC_FLAG_MORE (the receiver joins them); send(ctx, m) sends
 * one. Allocates nothing. */
void sc_msg_send_text(struct sc_msg *m, const char *text,
		      void (*send)(void *ctx, const struct sc_msg *m), void *ctx);
/* Waits up to timeout_ms (-1 = forever). Returns 1 with a message, 0 on timeout, -1 when the
 * connection is closed or a malformed frame arrived (err says which). */
int sc_conn_recv(struct sc_conn *c, struct sc_msg *m, int timeout_ms, char *err, size_t errlen);
void sc_conn_close(struct sc_conn *c);

/* The job's state file DIR/splitckpt.job (mode 0600): how `splitckpt command --ckptdir DIR`
 * finds the coordinator from another shell. */
struct sc_jobstate {
	char host[256];
	int port;
	char secret[SC_SECRET_LEN + 1];
	int pid; /* the coordinator's pid */
};
int sc_jobstate_read(const char *ckptdir, struct sc_jobstate *js, char *err, size_t errlen);
int sc_jobstate_write(const char *ckptdir, const struct sc_jobstate *js, char *err, size_t errlen);

#endif
