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
 * lower-half instance it belongs to (a restart starts a new instance: everything rebinds). */
struct sc_mpi_thread {
	uint64_t instance;
	uint64_t lower_fs;
};
extern __thread struct sc_mpi_thread sc_mpi_thr __attribute__((tls_model("initial-exec")));

extern const struct sc_mpi_table *sc_mpi_tab;
extern const volatile struct sc_lh_info *sc_mpi_info; /* a zeroed block outside splitckpt */
extern int sc_mpi_fsgsbase;
extern const char *const sc_mpi_fn_names[SC_MPI_NFUNCS];

/* Binds the calling thread (and, once per lower-half instance, the process) to the lower half.
 * Exits with a message when the program runs without an MPI lower half. */
void sc_mpi_bind(void);

/* Upper-half memory was released since the last MPI call (sc_lh_info.unmaps): has the lower half
 * tell the MPI library's registration caches before this call may use the addresses again. */
void sc_mpi_unmaps_flush(void);

/* Per call: the thread is bound to this lower-half instance, and no release of upper-half memory
 * is still unknown to the MPI library (one more compare: two words of one cache line). */
static inline const struct sc_mpi_table *sc_mpi_begin(void)
{
	if (__builtin_expect(sc_mpi_thr.instance != sc_mpi_info->mpi_instance, 0))
		sc_mpi_bind();
	if (__builtin_expect(sc_mpi_info->unmaps.seq != sc_mpi_info->unmaps.flushed, 0))
		sc_mpi_unmaps_flush();
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
		sc_mpi_setfs(sc_mpi_thr.lower_fs);                                                 \
		stmt;                                                                              \
		sc_mpi_setfs(sc__ufs);                                                             \
	} while (0)

/* ---- slow paths (mpi_crossing.c) ------------------------------------------------------- */
/* A via= call did not complete within its first slice: wait for *pend slice by slice. */
int sc_mpi_finish(int fn, uint64_t *pend, struct sc_abi_status *status);
/* Between two slices of a poll= call; returns 1 (continue). The checkpoint engine will park
 * the thread here when a checkpoint is pending. */
int sc_mpi_slice_done(int fn);
/* The nonblocking barrier run before a `sync` collective. */
int sc_mpi_sync(int fn, uint64_t lower_comm);
/* The number of processes a communicator exchanges with (remote size of an intercomm): the
 * length of per-process handle arrays (MPI_Alltoallw's datatypes). */
int sc_mpi_peers(uint64_t lower_comm);
/* An error or special code from the lower half -> the ABI error code to return. */
int sc_mpi_fail(int fn, int rc);
void sc_mpi_after_init(void);
void sc_mpi_after_finalize(void);

/* The checkpoint engine's view of a thread that is waiting in a slice loop. */
struct sc_mpi_pending {
	int fn;
	uint64_t lower_req;
	struct sc_mpi_pending *outer;
};
extern __thread struct sc_mpi_pending *sc_mpi_waiting __attribute__((tls_model("initial-exec")));
/* Set by the checkpoint thread when a checkpoint wants MPI quiet; read between slices only. */
extern volatile int sc_mpi_ckpt_pending;

/* ---- checkpoint bookkeeping hooks ------------------------------------------------------ */
/* Where the collective clock and the point-to-point counters of the drain will count (next
 * issue). Empty for now: the fast path must stay one crossing. */
#define SC_HOOK_COLLECTIVE(fn, comm) ((void)0)
#define SC_HOOK_P2P_SEND(fn, comm) ((void)0)
#define SC_HOOK_P2P_RECV(fn, comm) ((void)0)

#endif
