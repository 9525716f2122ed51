/* What every MPI lower half shares, whatever the implementation: the conversions of ABI values
 * that the implementation's own mpi.h names (wildcards, thread levels, MPI_IN_PLACE, statuses,
 * error codes), bounded test loops, temporary arrays and callback trampolines. Included by a
 * backend header (lh_mpich.h, lh_openmpi.h) after it has defined the LH_* handle vocabulary. */
#ifndef SPLITCKPT_LH_MPI_H
#define SPLITCKPT_LH_MPI_H

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "../lh_abi.h"
#include "sc_mpi_abi.h"
#include "sc_mpi_table.h"

/* ---- generated tables (gen.py lower) ------------------------------------------------------ */
struct lh_predef {
	uint32_t abi;  /* ABI handle value (< 1024) */
	uint32_t kind; /* SC_VK_* */
	uint64_t lower;
};
struct lh_errclass {
	int abi, lower;
};
extern const struct lh_predef lh_predef_table[];
extern const struct lh_errclass lh_errclass_table[];

/* ---- wildcards and sentinels ---------------------------------------------------------------- */
static inline int lh_rank_in(int r)
{
	if (__builtin_expect(r >= 0, 1))
		return r;
	return r == SC_ABI_ANY_SOURCE  ? MPI_ANY_SOURCE
	       : r == SC_ABI_PROC_NULL ? MPI_PROC_NULL
	       : r == SC_ABI_ROOT      ? MPI_ROOT
				       : r;
}
static inline int lh_rank_out(int r)
{
	if (__builtin_expect(r >= 0, 1))
		return r;
	return r == MPI_ANY_SOURCE  ? SC_ABI_ANY_SOURCE
	       : r == MPI_PROC_NULL ? SC_ABI_PROC_NULL
	       : r == MPI_ROOT	    ? SC_ABI_ROOT
	       : r == MPI_UNDEFINED ? SC_ABI_UNDEFINED
				    : r;
}
static inline int lh_tag_in(int t)
{
	return t == SC_ABI_ANY_TAG ? MPI_ANY_TAG : t;
}
static inline int lh_tag_out(int t)
{
	return t == MPI_ANY_TAG ? SC_ABI_ANY_TAG : t;
}
static inline int lh_undefined_in(int v)
{
	return v == SC_ABI_UNDEFINED ? MPI_UNDEFINED : v;
}
static inline int lh_undefined_out(int v)
{
	return v == MPI_UNDEFINED ? SC_ABI_UNDEFINED : v;
}
static inline int lh_thread_level_in(int l)
{
	return l >= SC_ABI_THREAD_MULTIPLE     ? MPI_THREAD_MULTIPLE
	       : l >= SC_ABI_THREAD_SERIALIZED ? MPI_THREAD_SERIALIZED
	       : l >= SC_ABI_THREAD_FUNNELED   ? MPI_THREAD_FUNNELED
					       : MPI_THREAD_SINGLE;
}
static inline int lh_thread_level_out(int l)
{
	return l == MPI_THREAD_MULTIPLE	    ? SC_ABI_THREAD_MULTIPLE
	       : l == MPI_THREAD_SERIALIZED ? SC_ABI_THREAD_SERIALIZED
	       : l == MPI_THREAD_FUNNELED   ? SC_ABI_THREAD_FUNNELED
					    : SC_ABI_THREAD_SINGLE;
}
/* MPI_BOTTOM is 0 in the ABI and in both implementations; MPI_IN_PLACE is (void *)1 in the
 * ABI. A real buffer can never be at address 1. */
#define LH_BUF(p) ((p) == SC_ABI_IN_PLACE ? MPI_IN_PLACE : (p))

/* ---- error codes (lh_errcodes.c)
 * ------------------------------------------------------------------ */
int lh_err_out_slow(int rc);
static inline int lh_err_out(int rc)
{
	return __builtin_expect(rc == MPI_SUCCESS, 1) ? 0 : lh_err_out_slow(rc);
}
int lh_err_in(int abi_code); /* an ABI code or class -> the implementation's code */
int lh_class_out(int cls);   /* the implementation's class -> ABI class */
int lh_last_used_code(void); /* MPI_LASTUSEDCODE's value in the ABI */

/* MPI_Type_get_contents(_c) (the list's `contents` flag): a subarray's or darray's constants in
 * the integers converted to the ABI's (lh_mpi.c). */
void lh_contents_out(MPI_Datatype type, int *ints, MPI_Count max, int large_form);

/* ---- statuses ---------------------------------------------------------------------------- */
/* The implementation's private status fields travel in internal[]: a backend whose status does
 * not fit whole (Open MPI's) defines LH_STATUS_SAVE/LH_STATUS_LOAD to keep only those. */
#ifndef LH_STATUS_SAVE
#define LH_STATUS_SAVE(internal, s) memcpy((internal), (s), sizeof *(s))
#define LH_STATUS_LOAD(s, internal) memcpy((s), (internal), sizeof *(s))
#endif
/* with_error: LH_ERROR_COPY for multiple-completion calls that returned MPI_ERR_IN_STATUS;
 * LH_ERROR_IF_SET where MPI sets the field only in some cases (an empty status), which the
 * caller marks LH_ERROR_UNTOUCHED before the call; otherwise (LH_ERROR_KEEP, 0) the field is not
 * the implementation's to report and stays as the caller left it. */
#define LH_ERROR_UNTOUCHED (INT_MIN + 0x5c)
enum { LH_ERROR_KEEP, LH_ERROR_COPY, LH_ERROR_IF_SET };
static inline void lh_status_out(struct sc_abi_status *a, const MPI_Status *s, int with_error)
{
	a->source = lh_rank_out(s->MPI_SOURCE);
	a->tag = lh_tag_out(s->MPI_TAG);
	if (with_error == LH_ERROR_COPY ||
	    (with_error == LH_ERROR_IF_SET && s->MPI_ERROR != LH_ERROR_UNTOUCHED))
		a->error = lh_err_out(s->MPI_ERROR);
	LH_STATUS_SAVE(a->internal, s);
}
static inline void lh_status_in(MPI_Status *s, const struct sc_abi_status *a)
{
	LH_STATUS_LOAD(s, a->internal);
	s->MPI_SOURCE = lh_rank_in(a->source);
	s->MPI_TAG = lh_tag_in(a->tag);
	s->MPI_ERROR = lh_err_in(a->error);
}

/* The status of a completed operation with MPI_PROC_NULL: no data, source MPI_PROC_NULL. */
static inline void lh_status_proc_null(struct sc_abi_status *a)
{
	MPI_Status s;
	memset(&s, 0, sizeof s);
	s.MPI_SOURCE = MPI_PROC_NULL;
	s.MPI_TAG = MPI_ANY_TAG;
	lh_status_out(a, &s, 0);
}

/* ---- bounded test loops ------------------------------------------------------------------- */
/* A blocking call tests for at most one slice (SPLITCKPT_MPI_SLICE_US, default 1000 us) before
 * it returns to the upper half, which checks for a pending checkpoint and calls again. The clock
 * is read only every 64 tests so that the loop costs what MPI_Test costs. */
extern uint64_t lh_slice_ns;
struct lh_slice {
	uint64_t deadline;
	uint32_t n;
};
uint64_t lh_now_ns(void);
static inline void lh_slice_start(struct lh_slice *s)
{
	s->deadline = 0;
	s->n = 0;
}
static inline int lh_slice_over(struct lh_slice *s)
{
	if (++s->n & 63)
		return 0;
	uint64_t now = lh_now_ns();
	if (!s->deadline)
		s->deadline = now + lh_slice_ns;
	return now >= s->deadline;
}
/* Tests a request begun by a via= shim for one slice. Done: returns 0 or an ABI error, status
 * converted, *pend = 0. Otherwise *pend = the request and the upper half continues with
 * svc.wait_slice. */
int lh_finish(MPI_Request *req, struct sc_abi_status *status, uint64_t *pend);

/* MPICH 4.0.2's nonblocking MPI-IO calls (MPI_File_iread_at...), and so the blocking ones a
 * via= shim runs as them, call the file's error handler twice for one failure: the shims start
 * them with the handler set aside (lh_file_errh_hold) and call it once themselves
 * (lh_file_errh_release, which returns rc). */
MPI_Errhandler lh_file_errh_hold(MPI_File fh);
int lh_file_errh_release(MPI_File fh, MPI_Errhandler held, int rc);

/* ---- temporary arrays ------------------------------------------------------------------ */
/* n elements of elem bytes: small if they fit, else malloc'ed (NULL: out of memory or a count
 * no array can have). n is 64-bit: the large-count (_c) functions' counts are MPI_Count. */
static inline void *lh_tmp(void *small, size_t small_size, int64_t n, size_t elem)
{
	if (n <= 0 || (uint64_t)n * elem <= small_size)
		return small;
	if ((uint64_t)n > SIZE_MAX / elem)
		return NULL;
	return malloc((size_t)n * elem);
}
static inline void lh_tmp_free(void *small, void *p)
{
	if (p != small)
		free(p);
}

/* ---- callbacks (lh_callbacks.c) ---------------------------------------------------------- */
/* User reduction operations: MPI calls an MPI_User_function without any user argument, so each
 * user op gets one of LH_MAX_USER_OPS trampolines that knows its slot. */
#define LH_MAX_USER_OPS 256
int lh_cb_user_op_get(void *upper_fn); /* slot, or -1 if all are taken */
MPI_User_function *lh_cb_user_op_fn(int slot);
void lh_cb_user_op_done(int slot, int rc, MPI_Op op); /* after MPI_Op_create */
void lh_on_free_op(MPI_Op op); /* after MPI_Op_free: the slot is free again */
/* Kinds whose freeing needs no lower-half bookkeeping. */
#define lh_on_free_comm(h) ((void)(h))
#define lh_on_free_group(h) ((void)(h))
#define lh_on_free_datatype(h) ((void)(h))
#define lh_on_free_request(h) ((void)(h))
#define lh_on_free_info(h) ((void)(h))
#define lh_on_free_errhandler(h) ((void)(h))
#define lh_on_free_message(h) ((void)(h))
#define lh_on_free_file(h) ((void)(h))
#define lh_on_free_win(h) ((void)(h))
#define lh_on_free_session(h) ((void)(h))

/* The upper half's FS base of the thread that is using this lower TLS block: written by the
 * upper half when it binds a thread, read by callbacks to switch back. */
extern __thread uint64_t lh_upper_fs;
extern const struct sc_mpi_upper *lh_upper;

/* ---- the service entries and the hook in lh_main.c --------------------------------------- */
int lh_svc_wait_slice(uint64_t *req, struct sc_abi_status *status);
void lh_svc_predef_fill(uint64_t *lower, uint32_t n);
void lh_svc_set_upper(const struct sc_mpi_upper *up);
void lh_svc_unmaps_flush(void); /* lh_unmaps.c */
#define LH_SERVICE_INIT                                                                            \
	{                                                                                          \
		.list_hash = SC_MPI_LIST_HASH, .nfuncs = SC_MPI_NFUNCS,                            \
		.table_size = sizeof(struct sc_mpi_table), .impl = LH_IMPL_NAME,                   \
		.wait_slice = lh_svc_wait_slice, .predef_fill = lh_svc_predef_fill,                \
		.set_upper = lh_svc_set_upper, .unmaps_flush = lh_svc_unmaps_flush,                \
	}

#endif
