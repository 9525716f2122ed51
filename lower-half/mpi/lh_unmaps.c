/* Tells the MPI library's registration caches about upper-half memory that was released: the
 * lower half's service svc.unmaps_flush reports the ranges the SIGSYS handler logged (struct
 * sc_unmap_log in lh_abi.h) to UCX through ucm_vm_munmap, and, with SPLITCKPT_DEBUG_UNMAPS=1,
 * counts what UCX's event handlers received for the arena (struct sc_unmap_dbg, for tests). */
#define _GNU_SOURCE
#include "lh_backend.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../arena.h"

/* UCX's memory-event API (libucm, ucm/api/ucm.h), looked up at run time: a lower half whose MPI
 * does not use UCX has nothing to tell, and the build needs no UCX headers. Every release of
 * upper-half memory is invisible to libucm's hooks, which patch the lower half's libc only. */
typedef void (*ucm_vm_munmap_fn)(void *addr, size_t length);
struct ucm_vm_event { /* the vm_unmapped member of ucm_event_t (a union) */
	void *address;
	size_t size;
};
typedef void (*ucm_cb_fn)(int type, struct ucm_vm_event *event, void *arg);
typedef signed char (*ucm_set_event_handler_fn)(int events, int prio, ucm_cb_fn cb, void *arg);
#define UCM_VM_UNMAPPED (1 << 17) /* UCM_EVENT_VM_UNMAPPED */
#define UCM_NO_INSTALL (1 << 24)  /* UCM_EVENT_FLAG_NO_INSTALL: add a handler, no new hooks */

static ucm_vm_munmap_fn vm_munmap;
static int ucm_absent; /* MPI is initialized and still no libucm: it will not come */

static struct sc_unmap_dbg dbg;

/* SPLITCKPT_DEBUG_UNMAPS=1: a handler of our own among UCX's (its rcache, memtype cache), so a
 * test sees what they would see. Only arena addresses count: the lower half never releases
 * arena memory through its libc, so those events can only come from the flush. */
static void dbg_event(int type, struct ucm_vm_event *ev, void *arg)
{
	(void)type;
	(void)arg;
	uint64_t a = (uint64_t)(uintptr_t)ev->address, e = a + ev->size;
	if (e <= SC_ARENA_BASE || a >= SC_ARENA_END)
		return;
	uint64_t i = __atomic_fetch_add(&dbg.events, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&dbg.bytes, ev->size, __ATOMIC_RELAXED);
	dbg.last[i % SC_UNMAP_DBG_SIZE].start = a;
	__atomic_store_n(&dbg.last[i % SC_UNMAP_DBG_SIZE].end, e, __ATOMIC_RELEASE);
}

static void dbg_install(void)
{
	const char *d = getenv("SPLITCKPT_DEBUG_UNMAPS");
	if (!d || strcmp(d, "1"))
		return;
	ucm_set_event_handler_fn set =
	    (ucm_set_event_handler_fn)dlsym(RTLD_DEFAULT, "ucm_set_event_handler");
	if (!set || set(UCM_VM_UNMAPPED | UCM_NO_INSTALL, 0, dbg_event, NULL) != 0) {
		fprintf(stderr, "splitckpt: SPLITCKPT_DEBUG_UNMAPS: cannot add a UCX memory event "
				"handler (UCX_MEM_EVENTS=no?)\n");
		return;
	}
	__atomic_store_n(&sc_arena_info()->unmaps.dbg, (uint64_t)(uintptr_t)&dbg, __ATOMIC_RELEASE);
}

/* ucm_vm_munmap, once found. Before MPI_Init an MPI that loads UCX as a plugin (Open MPI's pml
 * ucx) may not have it yet: the lookup is repeated until MPI is initialized. */
static ucm_vm_munmap_fn ucm_fn(void)
{
	ucm_vm_munmap_fn f = __atomic_load_n(&vm_munmap, __ATOMIC_ACQUIRE);
	if (f || __atomic_load_n(&ucm_absent, __ATOMIC_RELAXED))
		return f;
	int init = 0;
	MPI_Initialized(&init);
	f = (ucm_vm_munmap_fn)dlsym(RTLD_DEFAULT, "ucm_vm_munmap");
	if (!f) {
		if (init)
			__atomic_store_n(&ucm_absent, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	static int once;
	if (!__atomic_exchange_n(&once, 1, __ATOMIC_ACQ_REL))
		dbg_install();
	__atomic_store_n(&vm_munmap, f, __ATOMIC_RELEASE);
	return f;
}

/* Called by the upper half (sc_mpi_begin) when unmaps.seq != unmaps.flushed. Threads may race
 * here: each reports what it saw, and `flushed` only grows, past a ticket only after that
 * ticket's range was reported, so every range is reported at least once before an MPI call
 * that checked `flushed` proceeds (twice is harmless: an invalidation of nothing). */
void lh_svc_unmaps_flush(void)
{
	struct sc_unmap_log *u = &sc_arena_info()->unmaps;
	uint64_t done = __atomic_load_n(&u->flushed, __ATOMIC_ACQUIRE);
	uint64_t seq = __atomic_load_n(&u->seq, __ATOMIC_ACQUIRE);
	if (done == seq)
		return; /* another thread flushed meanwhile */
	ucm_vm_munmap_fn f = ucm_fn();
	int overflow = seq - done > SC_UNMAP_LOG_SIZE;
	for (uint64_t t = done; f && !overflow && t < seq; t++) {
		struct sc_lh_range *s = &u->slot[t % SC_UNMAP_LOG_SIZE];
		uint64_t a = __atomic_load_n(&s->start, __ATOMIC_RELAXED);
		uint64_t e = __atomic_load_n(&s->end, __ATOMIC_RELAXED);
		/* Valid unless the writer of ticket t + SIZE may have started on this slot. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&u->seq, __ATOMIC_RELAXED) - t >= SC_UNMAP_LOG_SIZE)
			overflow = 1;
		else
			f((void *)(uintptr_t)a, e - a);
	}
	if (f && overflow) { /* fell behind the log: everything the upper half may have held */
		f((void *)SC_ALLOC_BASE, SC_ARENA_END - SC_ALLOC_BASE);
		uint64_t lo = __atomic_load_n(&u->out_lo, __ATOMIC_RELAXED);
		uint64_t hi = __atomic_load_n(&u->out_hi, __ATOMIC_RELAXED);
		if (hi > lo)
			f((void *)(uintptr_t)lo, hi - lo);
	}
	while (done < seq && !__atomic_compare_exchange_n(&u->flushed, &done, seq, 0,
							  __ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
		;
}
