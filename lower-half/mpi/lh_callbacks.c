/* Calls from MPI back into the application: user reduction ops, communicator/window/file error
 * handlers, communicator/type/window attribute copy and delete functions, generalized requests
 * (query/free/cancel), data representations' conversion and extent functions, and the
 * hand-written shims that install them (flag `custom` in mpi.list).
 * MPI runs a callback on the thread that is inside the lower half, with the lower half's TLS
 * installed; the application's code needs its own TLS and its own handles. A trampoline
 * therefore converts what it passes while still on the lower TLS, switches FS to the upper half's
 * TLS block of that thread (lh_upper_fs, written when the thread was bound), calls the
 * application's function and switches back. */
#define _GNU_SOURCE
#include "lh_backend.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "../sc_syscall.h"

static pthread_mutex_t cb_lock = PTHREAD_MUTEX_INITIALIZER;
static int have_fsgsbase = -1;

static void no_upper_tls(void)
{
	static const char m[] = "splitckpt: an MPI callback ran on a thread that never called MPI "
				"(asynchronous progress?): cannot enter the application\n";
	(void)!write(2, m, sizeof m - 1);
	abort();
}

/* Switches FS to the calling thread's upper-half TLS; returns the lower FS base to go back to.
 * From here to leave_upper: no access to the lower half's TLS (no errno, no libc). */
static inline uint64_t enter_upper(void)
{
	if (have_fsgsbase < 0)
		have_fsgsbase = (getauxval(AT_HWCAP2) & 2) != 0;
	uint64_t ufs = lh_upper_fs, lfs;
	if (!ufs || !lh_upper)
		no_upper_tls();
	__asm__ volatile("mov %%fs:0, %0" : "=r"(lfs));
	sc_set_fs(have_fsgsbase, ufs);
	return lfs;
}

static inline void leave_upper(uint64_t lfs)
{
	sc_set_fs(have_fsgsbase, lfs);
}

/* The application's handle for a lower handle; called on the upper TLS. */
static inline void *upper_handle(uint32_t kind, uint64_t lower)
{
	return (void *)(uintptr_t)lh_upper->vh_from_lower(kind, lower);
}

/* An application's return code (an ABI code) as the implementation's. */
static inline int rc_in(int rc)
{
	return rc ? lh_err_in(rc) : MPI_SUCCESS;
}

/* ---- user reduction ops ---------------------------------------------------------------- */
/* The application's function; len is an int * (MPI_Op_create) or an MPI_Count *
 * (MPI_Op_create_c): passed on as MPI gave it. */
typedef void (*upper_user_fn)(void *in, void *inout, void *len, void *datatype);

struct op_slot {
	upper_user_fn fn; /* the application's function (upper-half address) */
	MPI_Op op;	  /* the MPI op using this slot, once created */
	int used;
};

static struct op_slot op_slots[LH_MAX_USER_OPS];

static void call_user_op(int slot, void *in, void *inout, void *len, MPI_Datatype *dt)
{
	upper_user_fn fn = op_slots[slot].fn;
	uint64_t ldt = LH_OUT_datatype(*dt);
	uint64_t lfs = enter_upper();
	void *vdt = upper_handle(SC_VK_DATATYPE, ldt);
	fn(in, inout, len, &vdt);
	leave_upper(lfs);
}

/* LH_MAX_USER_OPS (256) trampolines PFX_aXXXX whose length is an L, each passing its own slot
 * number, and the table PFX_table of them. */
#define T1(pfx, L, n, i)                                                                           \
	static void pfx##_##n(void *a, void *b, L *l, MPI_Datatype *d)                             \
	{                                                                                          \
		call_user_op((i), a, b, l, d);                                                     \
	}
#define T4(p, L, n, i)                                                                             \
	T1(p, L, n##0, 4 * (i))                                                                    \
	T1(p, L, n##1, 4 * (i) + 1) T1(p, L, n##2, 4 * (i) + 2) T1(p, L, n##3, 4 * (i) + 3)
#define T16(p, L, n, i)                                                                            \
	T4(p, L, n##0, 4 * (i))                                                                    \
	T4(p, L, n##1, 4 * (i) + 1) T4(p, L, n##2, 4 * (i) + 2) T4(p, L, n##3, 4 * (i) + 3)
#define T64(p, L, n, i)                                                                            \
	T16(p, L, n##0, 4 * (i))                                                                   \
	T16(p, L, n##1, 4 * (i) + 1) T16(p, L, n##2, 4 * (i) + 2) T16(p, L, n##3, 4 * (i) + 3)
#define P1(p, n) p##_##n,
#define P4(p, n) P1(p, n##0) P1(p, n##1) P1(p, n##2) P1(p, n##3)
#define P16(p, n) P4(p, n##0) P4(p, n##1) P4(p, n##2) P4(p, n##3)
#define P64(p, n) P16(p, n##0) P16(p, n##1) P16(p, n##2) P16(p, n##3)
#define USER_OP_TRAMPS(pfx, L, FT)                                                                 \
	T64(pfx, L, a0, 0)                                                                         \
	T64(pfx, L, a1, 1)                                                                         \
	T64(pfx, L, a2, 2)                                                                         \
	T64(pfx, L, a3, 3)                                                                         \
	static FT *const pfx##_table[LH_MAX_USER_OPS] = {P64(pfx, a0) P64(pfx, a1) P64(pfx, a2)    \
							     P64(pfx, a3)};

USER_OP_TRAMPS(tramp, int, MPI_User_function)

int lh_cb_user_op_get(void *upper_fn)
{
	int slot = -1;
	pthread_mutex_lock(&cb_lock);
	for (int i = 0; i < LH_MAX_USER_OPS; i++)
		if (!op_slots[i].used) {
			op_slots[i].used = 1;
			op_slots[i].fn = (upper_user_fn)upper_fn;
			op_slots[i].op = MPI_OP_NULL;
			slot = i;
			break;
		}
	pthread_mutex_unlock(&cb_lock);
	return slot;
}

MPI_User_function *lh_cb_user_op_fn(int slot)
{
	return tramp_table[slot];
}

void lh_cb_user_op_done(int slot, int rc, MPI_Op op)
{
	pthread_mutex_lock(&cb_lock);
	if (rc == MPI_SUCCESS)
		op_slots[slot].op = op;
	else
		op_slots[slot].used = 0;
	pthread_mutex_unlock(&cb_lock);
}

#ifndef LH_MISSING_MPI_Op_create_c /* Open MPI 4.1 has no large-count operations */
/* MPI_Op_create_c: the same slots, with trampolines whose length is an MPI_Count. */
USER_OP_TRAMPS(tramp_c, MPI_Count, MPI_User_function_c)

int lh_cb_user_op_c_get(void *upper_fn)
{
	return lh_cb_user_op_get(upper_fn);
}

MPI_User_function_c *lh_cb_user_op_c_fn(int slot)
{
	return tramp_c_table[slot];
}

void lh_cb_user_op_c_done(int slot, int rc, MPI_Op op)
{
	lh_cb_user_op_done(slot, rc, op);
}
#endif

void lh_on_free_op(MPI_Op op)
{
	pthread_mutex_lock(&cb_lock);
	for (int i = 0; i < LH_MAX_USER_OPS; i++)
		if (op_slots[i].used && op_slots[i].op == op)
			op_slots[i].used = 0;
	pthread_mutex_unlock(&cb_lock);
}

/* ---- error handlers: classes comm_errh, win_errh, file_errh, session_errh --------------------
 * MPI calls the handler on the thread whose call failed (inside the lower half, lh_upper_fs
 * set), with the implementation's object and error code, and no user argument: each class has
 * LH_MAX_ERRH trampolines that know their slot. The trampoline converts the code (on the lower
 * TLS: lh_err_out may call MPI) and the object, and enters the application. Slots are never
 * freed (a freed error handler may still be attached to an object), but shared by the handlers
 * of one function: LH_MAX_ERRH distinct functions per class. */
#define LH_MAX_ERRH 64
typedef void (*upper_errh_fn)(void *obj, int *code, ...);
struct errh_class {
	upper_errh_fn fns[LH_MAX_ERRH];
	int next;
};

static void call_errh(struct errh_class *c, int slot, uint32_t kind, uint64_t lower, int *code)
{
	int abi = lh_err_out(*code);
	upper_errh_fn fn = c->fns[slot];
	uint64_t lfs = enter_upper();
	void *obj = upper_handle(kind, lower);
	fn(&obj, &abi);
	leave_upper(lfs);
}

/* One slot per function of the application: a program that makes an error handler of the same
 * function for every object it creates needs one trampoline, however many handlers. */
static int errh_get(struct errh_class *c, void *upper_fn)
{
	pthread_mutex_lock(&cb_lock);
	int slot = 0;
	while (slot < c->next && c->fns[slot] != (upper_errh_fn)upper_fn)
		slot++;
	if (slot == c->next)
		slot = c->next < LH_MAX_ERRH ? c->next++ : -1;
	if (slot >= 0)
		c->fns[slot] = (upper_errh_fn)upper_fn;
	pthread_mutex_unlock(&cb_lock);
	return slot;
}

/* The 64 trampolines CLS_tNNN of a class, and its table CLS_tramps. */
#define E1(c, T, n, i)                                                                             \
	static void c##_t##n(T *h, int *e, ...)                                                    \
	{                                                                                          \
		c##_call((i), h, e);                                                               \
	}
#define E4(c, T, n, i)                                                                             \
	E1(c, T, n##0, 4 * (i))                                                                    \
	E1(c, T, n##1, 4 * (i) + 1) E1(c, T, n##2, 4 * (i) + 2) E1(c, T, n##3, 4 * (i) + 3)
#define E16(c, T, n, i)                                                                            \
	E4(c, T, n##0, 4 * (i))                                                                    \
	E4(c, T, n##1, 4 * (i) + 1) E4(c, T, n##2, 4 * (i) + 2) E4(c, T, n##3, 4 * (i) + 3)
#define Q1(c, n) c##_t##n,
#define Q4(c, n) Q1(c, n##0) Q1(c, n##1) Q1(c, n##2) Q1(c, n##3)
#define Q16(c, n) Q4(c, n##0) Q4(c, n##1) Q4(c, n##2) Q4(c, n##3)

/* Class CLS for handles of type T (kind SC_VK, lower handle LH_OUT_x), function type FT: the
 * trampolines and lh_cb_CLS_get/_fn/_done (declared by the generated lower half). */
#define ERRH_CALL(CLS, T, VK, OUT)                                                                 \
	static struct errh_class CLS##_class;                                                      \
	static void CLS##_call(int slot, T *h, int *code)                                          \
	{                                                                                          \
		call_errh(&CLS##_class, slot, VK, OUT(*h), code);                                  \
	}
#define ERRH_TRAMPS(CLS, T) E16(CLS, T, 0, 0) E16(CLS, T, 1, 1) E16(CLS, T, 2, 2) E16(CLS, T, 3, 3)
#define ERRH_TABLE(CLS, FT)                                                                        \
	static FT *const CLS##_tramps[LH_MAX_ERRH] = {Q16(CLS, 0) Q16(CLS, 1) Q16(CLS, 2)          \
							  Q16(CLS, 3)};
#define ERRH_API(CLS, FT)                                                                          \
	int lh_cb_##CLS##_get(void *upper_fn)                                                      \
	{                                                                                          \
		return errh_get(&CLS##_class, upper_fn);                                           \
	}                                                                                          \
	FT *lh_cb_##CLS##_fn(int slot)                                                             \
	{                                                                                          \
		return CLS##_tramps[slot];                                                         \
	}                                                                                          \
	void lh_cb_##CLS##_done(int slot, int rc, MPI_Errhandler eh)                               \
	{                                                                                          \
		(void)slot, (void)rc, (void)eh; /* kept even on failure: slots are never reused */ \
	}
#define ERRH_CLASS(CLS, T, VK, OUT, FT)                                                            \
	ERRH_CALL(CLS, T, VK, OUT) ERRH_TRAMPS(CLS, T) ERRH_TABLE(CLS, FT) ERRH_API(CLS, FT)

int lh_cb_comm_errh_get(void *upper_fn);
MPI_Comm_errhandler_function *lh_cb_comm_errh_fn(int slot);
void lh_cb_comm_errh_done(int slot, int rc, MPI_Errhandler eh);
int lh_cb_win_errh_get(void *upper_fn);
MPI_Win_errhandler_function *lh_cb_win_errh_fn(int slot);
void lh_cb_win_errh_done(int slot, int rc, MPI_Errhandler eh);
int lh_cb_file_errh_get(void *upper_fn);
MPI_File_errhandler_function *lh_cb_file_errh_fn(int slot);
void lh_cb_file_errh_done(int slot, int rc, MPI_Errhandler eh);

ERRH_CLASS(comm_errh, MPI_Comm, SC_VK_COMM, LH_OUT_comm, MPI_Comm_errhandler_function)
ERRH_CLASS(win_errh, MPI_Win, SC_VK_WIN, LH_OUT_win, MPI_Win_errhandler_function)
ERRH_CLASS(file_errh, MPI_File, SC_VK_FILE, LH_OUT_file, MPI_File_errhandler_function)
#ifndef LH_MISSING_MPI_Session_create_errhandler /* Open MPI 4.1 has no sessions */
int lh_cb_session_errh_get(void *upper_fn);
MPI_Session_errhandler_function *lh_cb_session_errh_fn(int slot);
void lh_cb_session_errh_done(int slot, int rc, MPI_Errhandler eh);
ERRH_CLASS(session_errh, MPI_Session, SC_VK_SESSION, LH_OUT_session,
	   MPI_Session_errhandler_function)
#endif

/* ---- attribute callbacks of communicators, datatypes and windows ----------------------------
 * MPI hands the copy and delete functions the keyval's extra_state, so no slots are needed:
 * the shim gives MPI two fixed trampolines per object kind and, as extra_state, a record of the
 * application's functions and extra_state (kept for the life of the process: a keyval freed
 * while attributes still use it must keep working). The ABI's predefined functions (0: the
 * NULL_COPY/NULL_DELETE functions, 1: the DUP function) map to the implementation's own. */
typedef int (*upper_copy_fn)(void *old, int keyval, void *extra, void *in, void *out, int *flag);
typedef int (*upper_delete_fn)(void *obj, int keyval, void *val, void *extra);
struct keyval_rec {
	upper_copy_fn copy;
	upper_delete_fn del;
	void *extra;
};

/* Enters the application with its TLS and its handle for the object; returns its code. */
static int enter_attr_cb(uint32_t kind, uint64_t lower, int keyval, struct keyval_rec *kv, void *a,
			 void *b, int *flag, int is_copy)
{
	uint64_t lfs = enter_upper();
	void *obj = upper_handle(kind, lower);
	int rc = is_copy ? kv->copy(obj, keyval, kv->extra, a, b, flag)
			 : kv->del(obj, keyval, a, kv->extra);
	leave_upper(lfs);
	return rc;
}

/* The record for MPI's extra_state: NULL with *extra = extra_state when both functions are
 * predefined (nothing to enter), else a new record (SC_MPI_E_NOMEM if it cannot be made). */
static int keyval_extra(void *copy_fn, void *delete_fn, void *extra_state, void **extra)
{
	*extra = extra_state;
	if ((uintptr_t)copy_fn <= 1 && delete_fn == NULL)
		return 0;
	struct keyval_rec *kv = malloc(sizeof *kv);
	if (!kv)
		return SC_MPI_E_NOMEM;
	kv->copy = (upper_copy_fn)copy_fn;
	kv->del = (upper_delete_fn)delete_fn;
	kv->extra = extra_state;
	*extra = kv;
	return 0;
}

/* The trampolines and the MPI_X_create_keyval shim of one object kind X (T: its handle type,
 * VK/OUT: its SC_VK_* and LH_OUT_*, NULLCOPY/DUP/NULLDEL: the implementation's predefined
 * functions). */
#define KEYVAL_KIND(X, T, VK, OUT, NULLCOPY, DUP, NULLDEL)                                         \
	static int X##_copy_tramp(T old, int keyval, void *extra, void *in, void *out, int *flag)  \
	{                                                                                          \
		return rc_in(enter_attr_cb(VK, OUT(old), keyval, extra, in, out, flag, 1));        \
	}                                                                                          \
	static int X##_delete_tramp(T obj, int keyval, void *val, void *extra)                     \
	{                                                                                          \
		return rc_in(enter_attr_cb(VK, OUT(obj), keyval, extra, val, NULL, NULL, 0));      \
	}                                                                                          \
	int lh_##X##_create_keyval(void *copy_fn, void *delete_fn, int *keyval,                    \
				   void *extra_state);                                             \
	int lh_##X##_create_keyval(void *copy_fn, void *delete_fn, int *keyval, void *extra_state) \
	{                                                                                          \
		uintptr_t c = (uintptr_t)copy_fn;                                                  \
		MPI_##X##_copy_attr_function *copy = c == 0   ? NULLCOPY                           \
						     : c == 1 ? DUP                                \
							      : X##_copy_tramp;                    \
		MPI_##X##_delete_attr_function *del = delete_fn ? X##_delete_tramp : NULLDEL;      \
		void *extra;                                                                       \
		int rc = keyval_extra(copy_fn, delete_fn, extra_state, &extra);                    \
		if (rc)                                                                            \
			return rc;                                                                 \
		rc = MPI_##X##_create_keyval(copy, del, keyval, extra);                            \
		if (rc != MPI_SUCCESS && extra != extra_state)                                     \
			free(extra);                                                               \
		return lh_err_out(rc);                                                             \
	}

KEYVAL_KIND(Comm, MPI_Comm, SC_VK_COMM, LH_OUT_comm, MPI_COMM_NULL_COPY_FN, MPI_COMM_DUP_FN,
	    MPI_COMM_NULL_DELETE_FN)
KEYVAL_KIND(Type, MPI_Datatype, SC_VK_DATATYPE, LH_OUT_datatype, MPI_TYPE_NULL_COPY_FN,
	    MPI_TYPE_DUP_FN, MPI_TYPE_NULL_DELETE_FN)
KEYVAL_KIND(Win, MPI_Win, SC_VK_WIN, LH_OUT_win, MPI_WIN_NULL_COPY_FN, MPI_WIN_DUP_FN,
	    MPI_WIN_NULL_DELETE_FN)

/* MPI_Comm_get_attr: the values of MPI_HOST and MPI_IO are ranks, which may be the
 * implementation's MPI_PROC_NULL or MPI_ANY_SOURCE, and MPI_LASTUSEDCODE's is an error code: the
 * application must see the ABI's (kept here; the upper half copies every predefined attribute's
 * value into its own memory). */
int lh_conv_in_keyval(int v);
int lh_Comm_get_attr(uint64_t comm, int comm_keyval, void *attribute_val, int *flag);
int lh_Comm_get_attr(uint64_t comm, int comm_keyval, void *attribute_val, int *flag)
{
	static int abi_rank[2];
	int key = lh_conv_in_keyval(comm_keyval);
	int rc = MPI_Comm_get_attr(LH_IN_comm(comm), key, attribute_val, flag);
	if (rc != MPI_SUCCESS)
		return lh_err_out(rc);
	if (*flag && key == MPI_LASTUSEDCODE) {
		static int last;
		last = lh_last_used_code();
		*(int **)attribute_val = &last;
	} else if (*flag && (key == MPI_HOST || key == MPI_IO)) {
		int i = key == MPI_IO, **vp = attribute_val;
		abi_rank[i] = lh_rank_out(**vp);
		*vp = &abi_rank[i];
	}
	return 0;
}

/* MPI_Win_get_attr: MPI_WIN_CREATE_FLAVOR and MPI_WIN_MODEL point to an int holding the
 * implementation's constant; the application must see a pointer to the ABI's (kept here, one
 * slot per value, never freed). MPI_WIN_BASE (the base itself), MPI_WIN_SIZE (MPI_Aint *) and
 * MPI_WIN_DISP_UNIT (int *) need nothing. Conversions: generated from the list's win_* classes. */
int lh_conv_in_win_keyval(int v);
int lh_conv_out_win_flavor(int v);
int lh_conv_out_win_model(int v);
int lh_Win_get_attr(uint64_t win, int win_keyval, void *attribute_val, int *flag);
int lh_Win_get_attr(uint64_t win, int win_keyval, void *attribute_val, int *flag)
{
	static int abi_val[2][8];
	int key = lh_conv_in_win_keyval(win_keyval);
	int rc = MPI_Win_get_attr(LH_IN_win(win), key, attribute_val, flag);
	if (rc != MPI_SUCCESS)
		return lh_err_out(rc);
	if (*flag && (key == MPI_WIN_CREATE_FLAVOR || key == MPI_WIN_MODEL)) {
		int m = key == MPI_WIN_MODEL, **vp = attribute_val, v = **vp;
		if (v >= 0 && v < 8) {
			abi_val[m][v] = m ? lh_conv_out_win_model(v) : lh_conv_out_win_flavor(v);
			*vp = &abi_val[m][v];
		}
	}
	return 0;
}

/* ---- generalized requests ------------------------------------------------------------------
 * The three functions take extra_state: MPI gets fixed trampolines and a record of the
 * application's functions, freed after the free function ran (MPI calls it exactly once, when
 * the request is freed). The query trampoline hands the application an ABI status made from
 * MPI's and converts the application's values back (source, tag, error, and the private
 * words that MPI_Status_set_elements/_cancelled filled). */
typedef int (*upper_query_fn)(void *extra, struct sc_abi_status *status);
typedef int (*upper_gfree_fn)(void *extra);
typedef int (*upper_cancel_fn)(void *extra, int complete);
struct greq_rec {
	upper_query_fn query;
	upper_gfree_fn free;
	upper_cancel_fn cancel;
	void *extra;
};

static int greq_query(void *extra, MPI_Status *s)
{
	struct greq_rec *g = extra;
	MPI_Status ignored;
	if (s == MPI_STATUS_IGNORE) {
		memset(&ignored, 0, sizeof ignored);
		s = &ignored;
	}
	struct sc_abi_status a;
	memset(&a, 0, sizeof a); /* error: MPI_SUCCESS unless the application sets it */
	lh_status_out(&a, s, 0);
	uint64_t lfs = enter_upper();
	int rc = g->query(g->extra, &a);
	leave_upper(lfs);
	lh_status_in(s, &a);
	return rc_in(rc);
}

static int greq_free(void *extra)
{
	struct greq_rec *g = extra;
	uint64_t lfs = enter_upper();
	int rc = g->free(g->extra);
	leave_upper(lfs);
	free(g);
	return rc_in(rc);
}

static int greq_cancel(void *extra, int complete)
{
	struct greq_rec *g = extra;
	uint64_t lfs = enter_upper();
	int rc = g->cancel(g->extra, complete);
	leave_upper(lfs);
	return rc_in(rc);
}

int lh_Grequest_start(void *query_fn, void *free_fn, void *cancel_fn, void *extra_state,
		      uint64_t *request);
int lh_Grequest_start(void *query_fn, void *free_fn, void *cancel_fn, void *extra_state,
		      uint64_t *request)
{
	struct greq_rec *g = malloc(sizeof *g);
	if (!g)
		return SC_MPI_E_NOMEM;
	g->query = (upper_query_fn)query_fn;
	g->free = (upper_gfree_fn)free_fn;
	g->cancel = (upper_cancel_fn)cancel_fn;
	g->extra = extra_state;
	LH_T_request r = LH_NULL_request;
	int rc = MPI_Grequest_start(greq_query, greq_free, greq_cancel, g, &r);
	if (rc != MPI_SUCCESS) {
		free(g);
		return lh_err_out(rc);
	}
	*request = LH_OUT_request(r);
	return 0;
}

/* ---- data representations (MPI_Register_datarep, _c) --------------------------------------
 * Registered for the life of the process, so their record (the application's functions and
 * extra_state) is never freed; MPI hands it back as the functions' extra_state. */
typedef int (*upper_conv_fn)(void *userbuf, void *type, int count, void *filebuf, int64_t position,
			     void *extra);
typedef int (*upper_conv_c_fn)(void *userbuf, void *type, MPI_Count count, void *filebuf,
			       int64_t position, void *extra);
typedef int (*upper_extent_fn)(void *type, intptr_t *file_extent, void *extra);
struct datarep_rec {
	void *read, *write;
	upper_extent_fn extent;
	void *extra;
};

static int datarep_extent(MPI_Datatype type, MPI_Aint *file_extent, void *extra)
{
	struct datarep_rec *d = extra;
	uint64_t lower = LH_OUT_datatype(type), lfs = enter_upper();
	intptr_t e = 0;
	int rc = d->extent(upper_handle(SC_VK_DATATYPE, lower), &e, d->extra);
	leave_upper(lfs);
	*file_extent = (MPI_Aint)e;
	return rc_in(rc);
}

/* A record's read or write conversion (field), in both count widths. */
#define DATAREP_CONV(name, field, COUNT, FN)                                                       \
	static int name(void *userbuf, MPI_Datatype type, COUNT count, void *filebuf,              \
			MPI_Offset position, void *extra)                                          \
	{                                                                                          \
		struct datarep_rec *d = extra;                                                     \
		uint64_t lower = LH_OUT_datatype(type), lfs = enter_upper();                       \
		int rc = ((FN)d->field)(userbuf, upper_handle(SC_VK_DATATYPE, lower), count,       \
					filebuf, (int64_t)position, d->extra);                     \
		leave_upper(lfs);                                                                  \
		return rc_in(rc);                                                                  \
	}
DATAREP_CONV(datarep_read, read, int, upper_conv_fn)
DATAREP_CONV(datarep_write, write, int, upper_conv_fn)

static struct datarep_rec *datarep_rec(void *read_fn, void *write_fn, void *extent_fn,
				       void *extra_state)
{
	struct datarep_rec *d = malloc(sizeof *d);
	if (d)
		*d = (struct datarep_rec){read_fn, write_fn, (upper_extent_fn)extent_fn,
					  extra_state};
	return d;
}

/* MPI_CONVERSION_FN_NULL is a null pointer in the ABI and in both implementations. */
int lh_Register_datarep(const char *datarep, void *read_conversion_fn, void *write_conversion_fn,
			void *dtype_file_extent_fn, void *extra_state);
int lh_Register_datarep(const char *datarep, void *read_conversion_fn, void *write_conversion_fn,
			void *dtype_file_extent_fn, void *extra_state)
{
	struct datarep_rec *d =
	    datarep_rec(read_conversion_fn, write_conversion_fn, dtype_file_extent_fn, extra_state);
	if (!d)
		return SC_MPI_E_NOMEM;
	int rc = MPI_Register_datarep((char *)datarep, read_conversion_fn ? datarep_read : NULL,
				      write_conversion_fn ? datarep_write : NULL,
				      dtype_file_extent_fn ? datarep_extent : NULL, d);
	if (rc != MPI_SUCCESS)
		free(d);
	return lh_err_out(rc);
}

int lh_Register_datarep_c(const char *datarep, void *read_conversion_fn, void *write_conversion_fn,
			  void *dtype_file_extent_fn, void *extra_state);
#ifndef LH_MISSING_MPI_Register_datarep_c
DATAREP_CONV(datarep_read_c, read, MPI_Count, upper_conv_c_fn)
DATAREP_CONV(datarep_write_c, write, MPI_Count, upper_conv_c_fn)

int lh_Register_datarep_c(const char *datarep, void *read_conversion_fn, void *write_conversion_fn,
			  void *dtype_file_extent_fn, void *extra_state)
{
	struct datarep_rec *d =
	    datarep_rec(read_conversion_fn, write_conversion_fn, dtype_file_extent_fn, extra_state);
	if (!d)
		return SC_MPI_E_NOMEM;
	int rc = MPI_Register_datarep_c(datarep, read_conversion_fn ? datarep_read_c : NULL,
					write_conversion_fn ? datarep_write_c : NULL,
					dtype_file_extent_fn ? datarep_extent : NULL, d);
	if (rc != MPI_SUCCESS)
		free(d);
	return lh_err_out(rc);
}
#else
int lh_Register_datarep_c(const char *datarep, void *read_conversion_fn, void *write_conversion_fn,
			  void *dtype_file_extent_fn, void *extra_state)
{
	(void)datarep, (void)read_conversion_fn, (void)write_conversion_fn;
	(void)dtype_file_extent_fn, (void)extra_state;
	return SC_MPI_E_UNIMPL;
}
#endif
