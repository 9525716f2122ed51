/* The consistent cut of an MPI job, as the wrappers see it: per-communicator collective clocks,
 * the point-to-point counters the drain balances, and the entry points the checkpoint thread
 * calls (through struct sc_mpi_ckpt_ops). cut.c owns the gates and the quiesce, comms.c a
 * communicator's part, clocks.c those of windows and files, counters.c the counting the
 * wrappers do not inline, rma.c the RMA epochs, drain.c the drain, drain_serve.c the drained
 * messages, ssend.c synchronous sends across a drain, replay.c and comms_rebuild.c the restart
 * of MPI. */
#ifndef SPLITCKPT_MPI_CUT_H
#define SPLITCKPT_MPI_CUT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../vhandle.h"

/* A communicator's part in the cut (comms.c). `id` is the same on every member and differs
 * between communicators: derived from the creating function, the groups, and the parent's id
 * and collective count at the (collective) creation, or for creations without a collective on
 * a common parent the tag and how many came before with the same groups and tag. Ranks
 * compare clocks through the coordinator by id; a restart rebuilds in id order. */
struct sc_comm_cut {
	uint64_t id;
	uint64_t coll;	 /* collectives begun on this communicator */
	uint64_t target; /* during a quiesce: the count every member must reach */
	int size, rsize; /* local and remote group sizes (equal for intracommunicators) */
	int32_t *world;	 /* local group rank -> MPI_COMM_WORLD rank */
	int32_t *rworld; /* remote group rank -> world rank (== world for intracommunicators) */
	int inter;	 /* an intercommunicator */
	int ntopo;	 /* the topology's length (comms.c) */
	int *topo;	 /* the topology, NULL for none */
	struct sc_win_epochs *epochs; /* windows: their RMA epochs (rma.c) */
	struct sc_pscw *pscw;	      /* windows: their PSCW pair clocks (pscw.c) */
};

extern struct sc_comm_cut sc_cut_world, sc_cut_self;
extern uint64_t *sc_mpi_sent;		  /* messages sent to each world rank since MPI_Init */
extern uint64_t sc_mpi_recv_started;	  /* receives begun (or messages matched by mprobe) */
extern int sc_mpi_multi;		  /* MPI_THREAD_MULTIPLE: counters move atomically */
extern volatile uint64_t sc_mpi_ndrained; /* drained messages not yet received */
/* Drains that changed what MPI holds (took messages, replaced a request's lower handle): a
 * call parked between two slices starts over (sc_mpi_slice_done), so a probe sees the drained
 * messages and a completion call the new handles. */
extern volatile unsigned sc_mpi_drains;

#define SC_ABI_COMM_WORLD_VH 0x101
#define SC_ABI_PROC_NULL_RANK (-3)

static inline struct sc_comm_cut *sc_comm_cut_of(const void *comm)
{
	uintptr_t v = (uintptr_t)comm;
	if (v == SC_ABI_COMM_WORLD_VH)
		return &sc_cut_world;
	if (v < SC_VH_PREDEF_MAX)
		return &sc_cut_self; /* MPI_COMM_SELF; MPI rejects MPI_COMM_NULL itself */
	return ((struct sc_vobj *)v)->cut;
}

static inline void sc_cut_add(uint64_t *counter)
{
	if (__builtin_expect(sc_mpi_multi, 0))
		__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
	else
		++*counter;
}

/* A collective begins on comm: waits at the gate while a quiesce holds this communicator at its
 * target, then counts it. */
void sc_mpi_coll_gate(struct sc_comm_cut *c);
static inline void sc_mpi_count_coll(const void *comm)
{
	struct sc_comm_cut *c = sc_comm_cut_of(comm);
	if (__builtin_expect(!c, 0))
		return;
	if (__builtin_expect(sc_mpi_ckpt_pending != 0, 0))
		sc_mpi_coll_gate(c);
	sc_cut_add(&c->coll);
}

/* The counter a send to dest on comm moves (NULL: none, for MPI_PROC_NULL; an invalid rank is
 * MPI's error to report). */
static inline uint64_t *sc_mpi_sent_to(const void *comm, int dest)
{
	struct sc_comm_cut *c = sc_comm_cut_of(comm);
	if (__builtin_expect(!c || dest < 0 || dest >= c->rsize || !sc_mpi_sent, 0))
		return NULL;
	return &sc_mpi_sent[c->rworld[dest]];
}

static inline void sc_mpi_count_send(const void *comm, int dest)
{
	uint64_t *sent = sc_mpi_sent_to(comm, dest);
	if (sent)
		sc_cut_add(sent);
}

/* A receive begins on comm (none from MPI_PROC_NULL, none on a communicator without a cut:
 * one to processes outside the job, whose sends no drain counts). */
static inline void sc_mpi_count_recv(const void *comm, int source)
{
	if (source != SC_ABI_PROC_NULL_RANK && sc_comm_cut_of(comm))
		sc_cut_add(&sc_mpi_recv_started);
}

/* Synchronous sends (ssend.c): MPI_Issend, the request of a blocking MPI_Ssend and MPI_Start
 * of MPI_Ssend_init register theirs; while any is registered, every send tells (a receiver
 * finds a drained synchronous message by the sends that came after it). Requests waiting for
 * a receiver's acknowledgement complete in sc_mpi_sync_poll, which completion calls run first.
 */
extern volatile int sc_mpi_sync_live, sc_mpi_acks_waiting;
void sc_mpi_sync_posted(void *request);
void sc_mpi_sync_follow(const void *comm, int dest, int tag);
void sc_mpi_sync_poll(void);
static inline void sc_mpi_sync_note(const void *comm, int dest, int tag)
{
	if (__builtin_expect(sc_mpi_sync_live != 0, 0))
		sc_mpi_sync_follow(comm, dest, tag);
}
static inline void sc_mpi_acks_poll(void)
{
	if (__builtin_expect(sc_mpi_acks_waiting != 0, 0))
		sc_mpi_sync_poll();
}

/* A send or receive counted above failed (rc): no longer counted if it moved no message. */
void sc_mpi_uncount_recv(const void *comm, int source, int rc);
void sc_mpi_uncount_send(const void *comm, int dest, int rc);

/* MPI_(I)mprobe matched a message (lower handle; the NULL and NO_PROC messages are none). */
void sc_mpi_count_match(const void *comm, uint64_t lower_message);
/* ... and made its handle: the status is kept (cut_status) for a drain, which receives a
 * message still in MPI into upper-half memory (drain.c, sc_drained_hold). */
void sc_mpi_message_matched(void *message, const struct sc_abi_status *st);
/* MPI_Start on a persistent request: counts it as a send or a receive. */
void sc_mpi_count_start(void *request);
/* After MPI_Cancel: waits until the request completed (locally) and takes a cancelled send or
 * receive back from the counters (counters.c). */
int sc_mpi_count_cancel(void *request);
/* A persistent request answered without MPI: parked behind a completed generalized request
 * with status st (vhandle.h, SC_VOBJ_PARKED); unparked (the answer freed, the request's own
 * lower handle back) before it starts again or is freed. In an MPI call's window. */
int sc_mpi_park(struct sc_vobj *o, const struct sc_abi_status *st);
int sc_mpi_unpark(void *request);

uint64_t sc_cut_mix(uint64_t h, uint64_t v); /* a step of the ids' hash */
/* Windows and files have clocks of their own for their collectives (fences, collective I/O,
 * their frees), with ids from the communicator they were made on (clocks.c). A freed one's clock
 * lingers in the cut until the next drain, so that members that have not freed it yet catch up
 * (a restart would otherwise make it again on those alone). */
void sc_mpi_clock_created(void *h, const void *comm, int fn);
void sc_mpi_linger(void *h);
void sc_cut_forget_lingering(void); /* the drain: every member reached every target */
/* Calls fn for every clock: MPI_COMM_WORLD's, MPI_COMM_SELF's, those of live communicators,
 * windows and files, and the lingering ones (clocks.c). */
void sc_cut_foreach_clock(void (*fn)(struct sc_comm_cut *c, void *arg), void *arg);
/* RMA epochs (rma.c): kept after each synchronization call (fn: SC_FN_MPI_Win_fence, _lock,
 * _unlock, _lock_all, _unlock_all; a, b, c: its int arguments in order); completed by the
 * drain; opened again on a window a restart made (sc_mpi_rma_reopen, in its window). */
struct sc_win_epochs;
void sc_mpi_rma_epoch(int fn, void *win, int a, int b, int c);
/* Before and (failed) after the lower call of an epoch function (a: its first int argument):
 * an exclusive MPI_Win_lock waits at sc_mpi_lock_gate and counts in sc_mpi_excl_locks until
 * its MPI_Win_unlock. */
void sc_mpi_rma_enter(int fn, int a);
void sc_mpi_rma_failed(int fn, int a);
extern volatile int sc_mpi_excl_locks;
/* While a quiesce is pending, a new exclusive lock waits until this rank is behind a target
 * (it must run on) or the checkpoint is over (cut.c). */
void sc_mpi_lock_gate(void);
void sc_mpi_epochs_free(struct sc_win_epochs *e);
/* Waits while a quiesce holds a call that counts in every clock of cs[0..n) (a PSCW epoch: one
 * per peer) until each is behind its target, or the checkpoint is over (cut.c). */
void sc_mpi_clocks_gate(struct sc_comm_cut *const *cs, int n);
/* General active target synchronization (pscw.c). Each (origin, target) pair of a window has a
 * clock: the target's posts exposing its window to the origin, the origin's starts of an
 * access epoch to the target, so the k-th post and the k-th start meet at count k. No PSCW
 * epoch is open at a cut: an open one keeps the quiesce going (sc_mpi_pscw_open, "*" in the
 * report), the matching call of a peer behind may still begin, a new epoch waits (the gate).
 * MPI_Win_post and MPI_Win_start count before the lower call (MPI_Win_start may wait inside it
 * for the posts), sc_mpi_pscw_failed takes a failed one back; MPI_Win_complete, MPI_Win_wait
 * and MPI_Win_test with its flag set end an epoch. */
extern volatile int sc_mpi_pscw_open;
/* Generalized requests alive (MPI_Grequest_start until freed): only the application completes
 * one and MPI keeps its state, so a quiesce goes on until there is none ("*", cut.c).
 * sc_mpi_greq_enter counts one before MPI_Grequest_start, waiting while this rank's last report
 * (which said there was none) may be the cut's; sc_mpi_greq_gone when it is freed or failed. */
extern volatile int sc_mpi_greqs_live;
void sc_mpi_greq_enter(void);
void sc_mpi_greq_gone(void);
int sc_mpi_pscw_begin(int fn, void *group, void *win);
void sc_mpi_pscw_failed(int fn, void *win);
void sc_mpi_pscw_end(int fn, void *win, int done);
void sc_mpi_pscw_foreach_clock(struct sc_comm_cut *win_clock,
			       void (*fn)(struct sc_comm_cut *c, void *arg), void *arg);
void sc_mpi_pscw_free(struct sc_pscw *p);
int sc_mpi_rma_drain(char *err, size_t errlen);
int sc_mpi_rma_reopen(struct sc_vobj *o);
/* Frees a communicator's part (NULL: nothing). */
void sc_cut_free(struct sc_comm_cut *c);
/* A communicator was created by fn from parent (both application handles). */
void sc_mpi_comm_created(void *comm, const void *parent, int fn);

/* User keyvals (attrs.c): the application keeps the value MPI first gave; after a restart
 * made them again, sc_mpi_keyval_lower translates (one load while none moved). */
enum { SC_KV_COMM, SC_KV_TYPE, SC_KV_WIN };
extern int sc_mpi_keyvals_moved;
int sc_mpi_keyval_lookup(int kind, int app);
static inline int sc_mpi_keyval_lower(int kind, int app)
{
	return __builtin_expect(sc_mpi_keyvals_moved, 0) ? sc_mpi_keyval_lookup(kind, app) : app;
}
/* MPI_X_create_keyval: the keyval's record first (sc_mpi_keyval_begin), whose functions
 * (sc_mpi_keyval_copy_fn, _delete_fn) and address (as extra_state) go to MPI; then, once MPI
 * made *keyval, sc_mpi_keyval_created (may give the application another value after a
 * restart), or sc_mpi_keyval_abort if MPI failed. MPI_X_free_keyval freed the application's
 * `app`. */
void *sc_mpi_keyval_begin(int kind, void *copy_fn, void *delete_fn, void *extra);
void *sc_mpi_keyval_copy_fn(const void *kv);
void *sc_mpi_keyval_delete_fn(const void *kv);
void sc_mpi_keyval_created(void *kv, int *keyval);
void sc_mpi_keyval_abort(void *kv);
void sc_mpi_keyval_freed(int kind, int app);
/* At a checkpoint (drain): every attribute of a user keyval into upper-half memory; at a
 * restart, after every object is rebuilt: the keyvals and those attributes again. */
int sc_mpi_attrs_save(char *err, size_t errlen);
/* MPI_Comm_get_attr found a predefined attribute: *(int **)attribute_val is repointed from the
 * lower half's memory to a copy in the upper half's, which a restart keeps. */
void sc_mpi_comm_attr(int keyval, void *attribute_val, const int *flag);
int sc_mpi_attrs_restore(char *err, size_t errlen);

/* Open MPI files (files.c): each one's file pointers at a checkpoint, and back there at a
 * restart (after the files are reopened and their views set again). A call on the shared file
 * pointer marks its file (sc_mpi_file_shared_used): only such files have their shared pointer
 * saved, since asking MPI for it makes ROMIO create its hidden pointer file. */
int sc_mpi_files_save(char *err, size_t errlen);
int sc_mpi_files_restore(char *err, size_t errlen);
void sc_mpi_file_shared_used(void *file);

/* The buffer of buffered sends (bsend_buffer.c), attached again at a restart. */
int sc_mpi_bsend_buffer_restore(char *err, size_t errlen);

/* Info objects (infos.c): every info's keys and values at a checkpoint (a freed one's that a
 * record keeps when MPI_Info_free frees it), and the same again on one a restart made (in its
 * window). */
void sc_mpi_info_freeing(void *info);
int sc_mpi_infos_save(char *err, size_t errlen);
int sc_mpi_info_restore(const struct sc_vobj *info);

/* Windows of MPI_Win_allocate (winmem.c): their memory (NULL for any other window), and
 * MPI_Win_get_attr's predefined values repointed to upper-half copies (MPI_WIN_CREATE_FLAVOR
 * made "allocated" or "shared" again). */
void *sc_mpi_win_memory(const void *win);
void sc_mpi_win_attr(const void *win, int keyval, void *attribute_val, const int *flag);
/* MPI_Win_free succeeded on win (still valid), whose sc_mpi_win_memory was memory: frees it,
 * or unmaps the memory of a window of MPI_Win_allocate_shared. */
void sc_mpi_win_freed(const void *win, void *memory);

/* Windows of MPI_Win_allocate_shared (winshared.c): one's memory is gone (the window, or the
 * record of an allocation that failed); at a restart, after the communicators are made again
 * and before the windows are, their memory shared again between the processes. */
void sc_mpi_win_shared_freed(const void *win);
int sc_mpi_win_shared_restore(char *err, size_t errlen);

/* ---- what the checkpoint thread calls (ckpt_mpi.h) -------------------------------------- */
/* Phase quiesce: with targets == "" starts the cut and reports this rank's collective counts in
 * *out ("ID COUNT" lines, hex; valid until the next call); otherwise takes the targets ("ID
 * COUNT" lines), waits until the application reached them, and reports the counts again. */
int sc_cut_quiesce(const char *targets, const char **out, char *err, size_t errlen);
/* Phase drain: stops every MPI call, receives every message in flight into upper-half memory
 * and completes what can complete. */
int sc_cut_drain(char *err, size_t errlen);
void sc_cut_resume(void);
/* After a restart: the application's error classes, codes and strings added to the new MPI in
 * their order, with their values (errcodes.c). */
int sc_mpi_errcodes_restore(const struct sc_mpi_table *tab, char *err, size_t errlen);
/* ... and the data representations registered, in their order (datareps.c). */
int sc_mpi_datareps_restore(const struct sc_mpi_table *tab, char *err, size_t errlen);
/* After a restart: a new MPI instance, every object rebuilt behind its handle (replay.c). */
int sc_cut_restart(char *err, size_t errlen);
/* The restart's first step (comms_rebuild.c): every communicator any rank holds, made again by
 * all its members from its groups and topology, in id order; those this rank holds set behind
 * their handles, the others freed. */
int sc_mpi_comms_rebuild(char *err, size_t errlen);
/* Later, with the info objects rebuilt: the info of each communicator's creation
 * (MPI_Comm_dup_with_info, MPI_Comm_split_type) set on it again. */
int sc_mpi_comms_hints(char *err, size_t errlen);

/* ---- shared by cut.c, drain.c, replay.c and the crossing ------------------------------- */
static inline uint64_t sc_cut_now_ns(void) /* CLOCK_MONOTONIC, for stall and progress limits */
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
/* The calling thread calls MPI: the cut must know where it is (sc_mpi_thr.stage). */
void sc_cut_register_thread(void);
/* After MPI_Init (and again after a restart's): world tables, the cut's own communicator. */
void sc_cut_after_init(void);
struct sc_mpi_table;
/* Binds the checkpoint thread to the lower half without entering a call's window. */
const struct sc_mpi_table *sc_cut_table(void);
/* Waits until no registered thread is at a stage in [lo, 2]: lo = 1 before reading counters,
 * lo = 2 (any MPI call) before the drain. */
void sc_cut_wait_threads(int lo);
/* The quiesce's target for communicator id (0 when none is known yet). */
uint64_t sc_cut_target_of(uint64_t id);
/* Stops every MPI call of the application (state SC_CUT_DRAIN) and waits until none is inside
 * one. */
int sc_cut_hold(char *err, size_t errlen);
extern uint64_t sc_mpi_private_comm; /* lower handle: the cut's own duplicate of WORLD */
extern uint64_t sc_mpi_world_group;  /* lower handle: WORLD's group (rank translation) */
extern int sc_mpi_world_rank, sc_mpi_world_size, sc_mpi_thread_level;
extern int sc_mpi_initialized, sc_mpi_finalized;
/* The application thread in MPI_Init is MPI's main thread (thread_main.c). */
void sc_mpi_main_thread_is_caller(void);
/* Fills c's world-rank tables for lower communicator `lower` (cut.c). */
int sc_cut_comm_tables(struct sc_comm_cut *c, uint64_t lower);
/* A lower request that is complete with status *st (an MPI generalized request), for requests
 * that a drain completed or a drained message satisfies; sc_mpi_status_request with complete 0
 * leaves it for MPI_Grequest_complete. */
int sc_mpi_completed_request(const struct sc_abi_status *st, uint64_t *lower);
int sc_mpi_status_request(const struct sc_abi_status *st, int complete, uint64_t *lower);
/* MPI's empty status (MPI 4.1 section 3.7.3): source MPI_ANY_SOURCE, tag MPI_ANY_TAG, no error,
 * and the private words zero, which every lower half reads as count 0, not cancelled. */
static inline void sc_mpi_empty_status(struct sc_abi_status *st)
{
	*st = (struct sc_abi_status){.source = SC_ABI_ANY_SOURCE, .tag = SC_ABI_ANY_TAG};
}
/* Lengths of arrays a creation record copies (replay.c): the sum of n counts (MPI_Dist_graph_
 * create's edges), the dimensions of a Cartesian communicator (MPI_Cart_sub's remain_dims). In
 * the creating call's window. */
long sc_mpi_sum(const int *counts, int n);
int sc_mpi_cartdim(const void *comm);

#endif
