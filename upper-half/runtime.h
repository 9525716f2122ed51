/* Internal interfaces of libsplitckpt, the runtime preloaded into every upper half: global
 * state, thread suspension, process state capture/restore, the region list, and the
 * checkpoint thread. */
#ifndef SPLITCKPT_RUNTIME_H
#define SPLITCKPT_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../lower-half/lh_abi.h"
#include "image.h"

#define SC_MAX_THREADS 4096
#define SC_MAX_FDS 1024
#define SC_MAX_REGIONS 65536

struct sc_runtime {
	struct sc_lh_info *info; /* published by the lower half */
	int have_fsgsbase;
	int suspend_signal;
	int quiet;
	unsigned long restart_count;
	char exe_path[1024]; /* written back into the info block after a restart */
};
extern struct sc_runtime sc_rt;

/* Saves the caller's callee-saved registers, stack pointer and return address (ctx_save.S);
 * returns 0, and 1 again when the lower half resumes the context after a restart. */
int sc_ctx_save(struct sc_ctx *ctx) __attribute__((returns_twice));

/* Writes "splitckpt: <formatted>\n" to stderr with one write(2): no stdio lock is taken, so
 * it is safe while other threads are suspended. */
void sc_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- end_signal.c: --on-signal ----------------------------------------------------------- */
/* Installs (at launch) or re-installs (at restart: the option may differ) the handler of the
 * signal that asks the job to end with a checkpoint. */
void sc_end_signal_setup(void);
/* The signal being caught (0: no --on-signal), and the one caught since the last call (0). */
int sc_end_signal_armed(void);
int sc_end_signal_take(void);

/* ---- suspend.c: stopping and resuming the application's threads -------------------------- */
int sc_suspend_init(char *err, size_t errlen);
/* Signals every other thread of the process until all upper-half threads sit in the suspend
 * handler. Returns 0, or -1 with err (then every thread suspended so far is resumed). */
int sc_suspend_all(char *err, size_t errlen);
void sc_resume_all(void);
/* The suspended threads, for the image (valid between suspend_all and resume_all). */
size_t sc_suspended_threads(struct sc_image_thread *out, size_t max);
/* After a restart, before resume_all: the new tid of the thread whose tid was old_tid at the
 * checkpoint, or -1. */
int sc_thread_new_tid(int old_tid);
/* The tids in /proc/self/task (up to max; more is an error), without allocating: getdents64,
 * as opendir would malloc. Returns their number, or -1 with a message in err. */
int sc_list_tids(int *tids, int max, char *err, size_t errlen);

/* ---- timers.c: POSIX timers, recreated with their ids at restart ------------------------- */
int sc_timers_capture(char *err, size_t errlen);
int sc_timers_restore(char *err, size_t errlen);
/* After the pending signals are read: a timer whose signal is among them is re-armed to expire
 * at once at restart (also one that fired after sc_timers_capture read it). Those signals:
 * sc_timers_refired_signals, which restore re-arms and so delivers again, with their siginfo. */
void sc_timers_pending(uint64_t pending);
uint64_t sc_timers_refired_signals(void);

/* ---- procstate.c: kernel state of the process that memory does not hold ------------------ */
int sc_procstate_init(char *err, size_t errlen);
/* Captures files, signal handlers, timers, cwd and umask, and refuses what cannot be restored
 * (sockets, pipes, ptys, children...), naming the resource in err. `own_fd` is
 * the checkpoint thread's coordinator socket. */
int sc_procstate_capture(int own_fd, char *err, size_t errlen);
/* Puts the captured state back in a restarted process. */
int sc_procstate_restore(char *err, size_t errlen);

/* ---- regions.c: which memory is the upper half's ---------------------------------------- */
int sc_regions_init(char *err, size_t errlen);
/* The upper half's regions now: the lower half's arena table intersected with the maps, plus
 * the ranges outside the arena. Refuses shared file mappings. */
int sc_regions_collect(struct sc_region_desc **out, size_t *n, char *err, size_t errlen);

/* ---- ckpt_thread.c ----------------------------------------------------------------------- */
int sc_ckpt_thread_start(char *err, size_t errlen);

#endif
