/* Virtual MPI handles of the upper half. A predefined handle is its small ABI value and maps
 * through sc_vh_predef[] (filled from the lower half, again after every restart); any other
 * handle points to a struct sc_vobj in upper-half memory, which a checkpoint saves and a restart
 * restores at the same address, so the application's handles never change. Each object keeps
 * the lower handle it stands for and how it was created, so a restart can replay its creation. */
#ifndef SPLITCKPT_VHANDLE_H
#define SPLITCKPT_VHANDLE_H

#include <stdint.h>

#include "sc_mpi_abi.h"

#define SC_VH_PREDEF_MAX 1024 /* every predefined ABI handle is below this */
#define SC_VH_MAX_ARGS 12     /* recorded creation arguments (MPI_Isendrecv has 11) */

enum {
	SC_VOBJ_LIVE = 1,  /* the application holds it */
	SC_VOBJ_FREED = 2, /* freed by the application, kept because a record names it */
	/* requests: complete when a checkpoint drained, status in cut_status (upper-half/mpi) */
	SC_VOBJ_CUTDONE = 4,
	SC_VOBJ_STARTED = 8, /* a persistent request started at least once */
	/* a persistent request answered from a checkpoint: `lower` is a completed generalized
	 * request with the answer's status, `parked` the request's own lower handle, which comes
	 * back when the application's completion call consumes the answer (sc_vh_req_update) */
	SC_VOBJ_PARKED = 16,
	/* a window of MPI_Win_allocate: MPI_Win_create of upper-half memory (mpi/winmem.c) */
	SC_VOBJ_WIN_MEMORY = 32,
	/* a message handle of MPI_(I)mprobe for a drained message (mpi/drain_serve.c): its lower
	 * value is that message in upper-half memory, not an MPI handle */
	SC_VOBJ_DRAINED_MSG = 64,
	/* a message handle MPI_Mrecv/MPI_Imrecv took (the call may still run): nothing to rebuild
	 */
	SC_VOBJ_TAKEN = 128,
	/* requests of synchronous sends (mpi/ssend.c): registered there, forgotten when freed */
	SC_VOBJ_SYNC = 256,
	/* ... whose message a checkpoint drained at the receiver: `lower` is a generalized request
	 * the receiver's acknowledgement completes (status in cut_status) */
	SC_VOBJ_ACKWAIT = 512,
	/* a persistent request whose record keeps its objects and copies (sc_vh_req_new_kept) */
	SC_VOBJ_KEPT = 1024,
	/* a file whose shared file pointer some call used (mpi/files.c saves the pointer) */
	SC_VOBJ_SHARED_FP = 2048,
	/* a file opened with MPI_MODE_EXCL, whose record a checkpoint changed to reopen it */
	SC_VOBJ_OPENED_EXCL = 4096,
	/* a window of MPI_Win_allocate_shared (mpi/winshared.c) */
	SC_VOBJ_WIN_SHARED = 8192,
};

struct sc_vobj {
	uint64_t lower; /* first field: translating a handle is one load */
	uint32_t kind;	/* SC_VK_* */
	uint32_t flags; /* SC_VOBJ_* */
	/* The creation record: the creating function (SC_FN_*) and its input arguments, virtual
	 * handles included as the application passed them (bit i of refmask: args[i] is a handle
	 * whose object this record keeps alive). Replayed in creation order at restart. */
	uint16_t fn;
	uint16_t refmask;
	uint8_t nargs;
	uint32_t refs; /* the application's reference + records naming this object */
	/* handles MPI gave the application again for this object ({existing}:
	 * MPI_Comm_get_errhandler, a type of MPI_Type_get_contents), each freed by the application
	 * on its own: the object is freed for the application with the last of them */
	uint32_t extra_handles;
	/* its integer value (MPI_X_toint, MPI_X_c2f) once asked for, 0 before (handle_ints.c) */
	uint32_t fint;
	uint64_t args[SC_VH_MAX_ARGS];
	struct sc_vobj *prev, *next; /* all objects but requests, in creation order */
	struct sc_vobj *hnext;	     /* reverse (lower -> virtual) hash chain */
	uint16_t ownmask; /* bit i: args[i] points to a copy this record owns (freed with it) */
	/* bit i: args[i] is a copy of an array of handles (sc_vh_copy_handles) the record owns;
	 * each handle in it is kept alive as a bit of refmask keeps one */
	uint16_t harrmask;
	/* Communicators: their part in the checkpoint's cut (upper-half/mpi/cut.h). */
	struct sc_comm_cut *cut;
	/* Requests a checkpoint found complete: the status MPI gave (SC_VOBJ_CUTDONE). */
	struct sc_abi_status cut_status;
	uint64_t parked; /* SC_VOBJ_PARKED */
	uint64_t seq;	 /* SC_VOBJ_KEPT: creation order (a restart makes them again in it) */
};

extern uint64_t sc_vh_predef[SC_VH_PREDEF_MAX];
extern const uint64_t sc_vk_null[]; /* ABI NULL handle per kind (generated) */

/* The lower handle of a virtual handle of any kind: O(1), one load either way. */
static inline uint64_t sc_vh_lower(const void *h)
{
	uintptr_t v = (uintptr_t)h;
	if (v < SC_VH_PREDEF_MAX)
		return sc_vh_predef[v];
	return ((const struct sc_vobj *)v)->lower;
}

/* An object with an integer value (o->fint) goes away: its integer names nothing any more
 * (upper-half/mpi/handle_ints.c). */
void sc_vh_fint_forget(struct sc_vobj *o);

/* Loads the predefined table of a (new) lower half; rebuilds the reverse map. */
void sc_vh_load_predef(void (*fill)(uint64_t *lower, uint32_t n));

/* A new object for `lower` created by `fn` with `nargs` recorded arguments (refmask bits 0-15:
 * arguments that are handles whose objects the record keeps alive; bits 16-31: arguments that
 * are copies made by sc_vh_copy, which the record owns; bits 32-47: copies of handle arrays,
 * sc_vh_copy_handles); returns the application's handle: the kind's ABI NULL if the lower half
 * returned its NULL. Never fails (aborts with a message when out of memory: the handle would
 * otherwise leak in MPI). */
void *sc_vh_new(uint32_t kind, uint64_t lower, uint16_t fn, int nargs, const uint64_t *args,
		uint64_t refmask);
void sc_vh_set_lower(void *h, uint64_t lower);
/* The application freed h (a no-op for predefined handles). */
void sc_vh_free(uint32_t kind, void *h);
/* The application's handle for a lower handle (callbacks, functions returning existing
 * objects): the ABI constant, a live object, or NULL of the kind if unknown. */
uint64_t sc_vh_from_lower(uint32_t kind, uint64_t lower);
/* A handle a call returned that may name an object the application already holds
 * (MPI_Comm_get_errhandler...): that handle, or else a new object recorded as made by fn. */
void *sc_vh_existing(uint32_t kind, uint64_t lower, uint16_t fn);
/* A handle MPI gives again for the same arguments and never frees (MPI_Type_create_f90_*): the
 * object made the first time (its record kept, this call's copies freed), or a new one. */
void *sc_vh_cached(uint32_t kind, uint64_t lower, uint16_t fn, int nargs, const uint64_t *args,
		   uint64_t refmask);

/* ---- requests: short-lived, allocated without locks from per-thread lists ------------------ */
void *sc_vh_req_new(uint64_t lower, uint16_t fn, int nargs, const uint64_t *args);
/* A persistent request, which a restart makes again from its record: the record keeps the
 * objects it names alive and owns its copies (refmask as sc_vh_new's) until the request is
 * freed, and the request is numbered in creation order (seq). */
void *sc_vh_req_new_kept(uint64_t lower, uint16_t fn, int nargs, const uint64_t *args,
			 uint64_t refmask);
/* After a call that may have completed *slot: lower is what the lower half left in its place. */
void sc_vh_req_update(void **slot, uint64_t lower);
void sc_vh_req_arr_update(void **arr, const uint64_t *lower, int n);
/* Calls fn for every live request (checkpoint drain; all user threads quiesced). */
void sc_vh_req_foreach(void (*fn)(struct sc_vobj *o, void *arg), void *arg);

/* ---- arrays of handles ------------------------------------------------------------------- */
/* The lower handles of h[0..n), in `small` when n <= nsmall, else in malloc'd memory (NULL if
 * that fails). sc_vh_arr_done releases it. */
uint64_t *sc_vh_arr_lower(uint64_t *small, int nsmall, void *const *h, int n);
void sc_vh_arr_done(uint64_t *small, uint64_t *p);
/* Room for n lower handles a call returns (small when n <= nsmall; NULL: out of memory). */
uint64_t *sc_vh_arr_tmp(uint64_t *small, int nsmall, int n);

/* Objects (not requests) in creation order, for replay and for tests. */
struct sc_vobj *sc_vh_first(void);
/* Calls fn for every live object of `kind` (not requests), in creation order, under the lock
 * that creations take: the list cannot change meanwhile. */
void sc_vh_foreach(uint32_t kind, void (*fn)(struct sc_vobj *o, void *arg), void *arg);
/* A copy of n bytes at p that a creation record keeps (NULL p or n <= 0: NULL); recorded with
 * bit i of the record's ownmask so it is freed with the record. Aborts when out of memory. */
uint64_t sc_vh_copy(const void *p, long n);
/* MPI_Mrecv/MPI_Imrecv took the message behind h (SC_VOBJ_TAKEN). */
static inline void sc_vh_message_taken(void *h)
{
	if ((uintptr_t)h >= SC_VH_PREDEF_MAX)
		((struct sc_vobj *)h)->flags |= SC_VOBJ_TAKEN;
}
/* A copy of n weights of a graph topology for a record (owned as sc_vh_copy's); the ABI's
 * sentinel addresses MPI_UNWEIGHTED and MPI_WEIGHTS_EMPTY stay as they are. */
uint64_t sc_vh_copy_weights(const int *w, long n);
/* A copy of an array of n handles for a record (refmask bit 32 + i: the record owns it and
 * keeps each handle's object alive); 0 for none. sc_vh_lower_handles: the array in the current
 * lower half's handles, for a replay (malloc'd, NULL for none; *n its length). */
uint64_t sc_vh_copy_handles(void *const *h, long n);
uint64_t *sc_vh_lower_handles(uint64_t copy, long *n);
/* A setter (MPI_Comm_set_errhandler...) succeeded on the object args[0] (a handle, predefined
 * ones included): keeps its record, replacing the one of the same function on the same
 * object, so a restart can repeat it (refmask as for sc_vh_new, without the target). Records
 * of an object go when it does. sc_vh_sets_first: the records in call order. */
void sc_vh_record_set(uint16_t fn, int nargs, const uint64_t *args, uint64_t refmask);
/* The same for a call whose effects add up (MPI_Win_attach: every region stays attached): the
 * record is kept beside the others, until sc_vh_record_drop takes the first record of fn whose
 * object is target and second argument arg1 (MPI_Win_detach of that region). */
void sc_vh_record_add(uint16_t fn, int nargs, const uint64_t *args, uint64_t refmask);
void sc_vh_record_drop(uint16_t fn, uint64_t target, uint64_t arg1);
struct sc_vobj *sc_vh_sets_first(void);
/* Argument i of the last record of setter fn on target: 1 and *arg set, or 0 if none. */
int sc_vh_set_arg(uint16_t fn, uint64_t target, int i, uint64_t *arg);
/* Forgets a request object without asking MPI (its lower request is gone or was replaced). */
void sc_vh_req_drop(void *h);
/* A request of a synchronous send is released (mpi/ssend.c). */
void sc_mpi_sync_forget(struct sc_vobj *o);
/* A parked request's answer was taken: a persistent request that MPI cannot complete while
 * inactive gets a new completed answer (mpi/drain_serve.c); -1 for the others. */
int sc_mpi_answer_inactive(struct sc_vobj *o);

#endif
