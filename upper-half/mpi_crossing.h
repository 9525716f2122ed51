/* The upper half's side of an MPI call (libsplitckpt_mpi): binding a thread to a lower-half TLS
 * block, switching the FS base around the call through the lower half's table, the slow paths
 * (time-sliced waits, errors) and the checkpoint bookkeeping hooks. The generated wrappers
 * (wrappers/gen.py upper) are written in terms of this header. */
#ifndef SPLITCKPT_MPI_CROSSING_H
#define SPLITCKPT_MPI_CROSSING_H

#include <stdint.h>

#include "../lower-half/lh_abi.h"
#include "../lower-half/mpi/sc_mpi_abi.h"
#include "sc_mpi_table.h"
#include "vhandle.h"

/* Per thread: the lower-half TLS block this thread uses inside the lower half, and the
 * lower-half instance it belongs to (a restart starts a new instance: everything rebinds).
 * `stage` tells the checkpoint thread where the thread is (upper-half/mpi/cut.c): 0 outside any
 * MPI call, 1 inside a wrapper before its counters moved (the cut waits until it leaves that
 * stage), 2 counters final or inside the lower half. `nest` counts wrappers entered again from
 * an MPI callback while the thread is inside a call. */
struct sc_mpi_thread {
	uint64_t instance;
	uint64_t lower_fs;
	volatile int stage;
	int nest;
	struct sc_mpi_thread *next; /* the registry of threads that called MPI (cut.c) */
	int registered;
	int cut_thread; /* the checkpoint thread: never waits at the gates it closes */
	/* struct sc_comm_cut * whose quiesce target holds this thread at a collective (cut.c) */
	void *volatile gated_on;
	/* inside a call that makes a communicator, until its part in the cut exists: peers may
	 * count collectives on it before this rank can report it (cut.c) */
	volatile int creating;
};
extern __thread struct sc_mpi_thread sc_mpi_thr __attribute__((tls_model("initial-exec")));

extern const struct sc_mpi_table *sc_mpi_tab;
extern const volatile struct sc_lh_info *sc_mpi_info; /* a zeroed block outside splitckpt */
extern int sc_mpi_fsgsbase;
extern const char *const sc_mpi_fn_names[SC_MPI_NFUNCS];
/* The request each function makes, from the list's flags (generated): a send (p2p_send), a
 * receive from a source (p2p_recv, not a matched message's), a collective (collective),
 * persistent (an _init function: counted when started), synchronous (flag ssend). 0: none of
 * these. A persistent collective counts in the clock of the communicator its record holds at
 * index sc_mpi_fn_coll_comm[fn] - 1. */
#define SC_REQ_SEND 1u
#define SC_REQ_RECV 2u
#define SC_REQ_PERSISTENT 4u
#define SC_REQ_SYNC 8u
#define SC_REQ_COLL 16u
extern const uint8_t sc_mpi_fn_request[SC_MPI_NFUNCS];
extern const uint8_t sc_mpi_fn_coll_comm[SC_MPI_NFUNCS];

/* Binds the calling thread (and, once per lower-half instance, the process) to the lower half.
 * Exits with a message when the program runs without an MPI lower half. */
void sc_mpi_bind(void);

/* Upper-half memory was released since the last MPI call (sc_lh_info.unmaps): has the lower half
 * tell the MPI library's registration caches before this call may use the addresses again. */
void sc_mpi_unmaps_flush(void);

/* Checkpoint state (cut.c): 0 none, SC_CUT_QUIESCE while ranks agree on collective counts
 * (point-to-point runs on, collectives stop at their targets), SC_CUT_DRAIN from the drain until
 * the checkpoint ends (every call waits). Read at every call; written by the checkpoint thread. */
enum { SC_CUT_NONE = 0, SC_CUT_QUIESCE = 1, SC_CUT_DRAIN = 2 };
extern volatile int sc_mpi_ckpt_pending;
/* Waits while a checkpoint holds MPI (state SC_CUT_DRAIN); the thread's stage is 0 meanwhile. */
void sc_mpi_gate(void);

static inline void sc_mpi_enter(void)
{
	if (__builtin_expect(sc_mpi_thr.stage != 0, 0)) {
		sc_mpi_thr.nest++; /* a wrapper called from a callback inside a call */
		return;
	}
	sc_mpi_thr.stage = 1;
	/* Against the checkpoint thread's store of the state and its membarrier (cut.c): either
	 * this load sees the new state, or the checkpoint thread sees stage 1 and waits. */
	__asm__ volatile("" ::: "memory");
	if (__builtin_expect(sc_mpi_ckpt_pending >= SC_CUT_DRAIN, 0))
		sc_mpi_gate();
}

static inline void sc_mpi_leave(void)
{
	if (__builtin_expect(sc_mpi_thr.nest != 0, 0)) {
		sc_mpi_thr.nest--;
		return;
	}
	__asm__ volatile("" ::: "memory");
	sc_mpi_thr.stage = 0;
}

/* Per call: the thread is bound to this lower-half instance, no release of upper-half memory
 * is still unknown to the MPI library (one more compare: two words of one cache line), and the
 * call has entered its window (sc_mpi_enter; every wrapper ends with sc_mpi_leave, or with
 * sc_mpi_fail, which leaves too). */
static inline const struct sc_mpi_table *sc_mpi_begin(void)
{
	if (__builtin_expect(sc_mpi_thr.instance != sc_mpi_info->mpi_instance, 0))
		sc_mpi_bind();
	if (__builtin_expect(sc_mpi_info->unmaps.seq != sc_mpi_info->unmaps.flushed, 0))
		sc_mpi_unmaps_flush();
	sc_mpi_enter();
	return sc_mpi_tab;
}

/* The current FS base: glibc keeps the TCB's own address in its first word, so this is one
 * load instead of rdfsbase. */
static inline uint64_t sc_mpi_fs_now(void)
{
	uint64_t v;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(v));
	return v;
}

static inline void sc_mpi_setfs(uint64_t fs)
{
	if (__builtin_expect(sc_mpi_fsgsbase, 1)) {
		__asm__ volatile("wrfsbase %0" ::"r"(fs) : "memory");
	} else {
		long ret;
		__asm__ volatile("syscall"
				 : "=a"(ret)
				 : "a"(158 /* arch_prctl */), "D"(0x1002 /* ARCH_SET_FS */), "S"(fs)
				 : "rcx", "r11", "memory");
		(void)ret;
	}
}

/* Runs `stmt` (a call through the table, whose arguments are all locals) with the thread's
 * lower-half TLS installed. The trap: between the two switches nothing may touch the upper
 * half's TLS (no errno, no __thread variable, no stack-protector canary), which is why the
 * upper FS base is read into a local first and libsplitckpt_mpi is built without
 * -fstack-protector. Signals arriving in between reach the application's handlers through a
 * lower-half trampoline that switches to the upper TLS (lower-half/trap.c; wrappers/README.md,
 * "Traps"). */
#define SC_MPI_CALL(stmt)                                                                          \
	do {                                                                                       \
		const uint64_t sc__ufs = sc_mpi_fs_now();                                          \
		sc_mpi_thr.stage = 2;                                                              \
		sc_mpi_setfs(sc_mpi_thr.lower_fs);                                                 \
		stmt;                                                                              \
		sc_mpi_setfs(sc__ufs);                                                             \
	} while (0)

/* ---- slow paths (mpi_crossing.c) ------------------------------------------------------- */
/* A via= call did not complete within its first slice: wait for the lower request `pend` of
 * via_fn (its recorded arguments args[0..nargs)) slice by slice, through a request object that a
 * checkpoint drains and a restart posts again. */
int sc_mpi_finish(int fn, int via_fn, uint64_t pend, struct sc_abi_status *status, int nargs,
		  const uint64_t *args);
/* Between two slices of a poll= call; returns 1 (continue). Parks the thread while a checkpoint
 * holds MPI. */
int sc_mpi_slice_done(int fn);
/* MPI_Finalize's counted MPI_Ibarrier on MPI_COMM_WORLD, waited for in slices. */
int sc_mpi_sync(int fn);
/* The number of processes a communicator exchanges with (remote size of an intercomm): the
 * length of per-process handle arrays (MPI_Alltoallw's datatypes). */
int sc_mpi_peers(uint64_t lower_comm);
/* The length of a per-process array significant only at the root (MPI_Gatherv_init's
 * recvcounts), for a record's copy: the peers at the root, 0 elsewhere, where the application
 * may pass anything. root is the application's (ABI) value. */
int sc_mpi_root_peers(uint64_t lower_comm, int root);
/* The number of neighbours of a communicator with a topology that its neighbourhood
 * collectives receive from (out = 0: the sources) or send to (out = 1: the destinations); 0
 * without a topology (MPI reports that error). */
int sc_mpi_degree(uint64_t lower_comm, int out);
#define SC_ABI_ROOT_RANK (-4) /* the standard ABI's MPI_ROOT (checked in counters.c) */
/* An error or special code from the lower half -> the ABI error code to return; leaves the
 * call's window. */
int sc_mpi_fail(int fn, int rc);
void sc_mpi_after_init(void);
void sc_mpi_after_finalize(void);
/* Sessions (upper-half/mpi/sessions.c). sc_mpi_world_under: MPI was initialized beneath the
 * application's sessions (it had not called MPI_Init); sc_mpi_app_init / _finalized: the
 * application's own MPI_Init and MPI_Finalize (what MPI_Initialized / MPI_Finalized answer). */
extern int sc_mpi_world_under, sc_mpi_app_init, sc_mpi_app_finalized;
/* MPI_Init(_thread) of the application: the world model begins (sc_mpi_after_app_init), or,
 * initialized beneath sessions already, is only taken on (sc_mpi_init_over: leaves the call). */
void sc_mpi_after_app_init(void);
int sc_mpi_init_over(int *provided);
/* MPI_Session_init: MPI beneath first if it is not initialized (0 or an MPI error); then the
 * new session counts. */
int sc_mpi_sessions_world(void);
void sc_mpi_session_made(void);
/* MPI_(Inter)comm_create_from_group(s) made comm with errhandler: a setter record of it. */
void sc_mpi_comm_errh_record(void *comm, void *errhandler);

#include "mpi/cut.h"

#endif
