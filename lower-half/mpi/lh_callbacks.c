/* Calls from MPI back into the application. MPI runs them on the thread that is inside the
 * lower half, with the lower half's TLS installed; the application's code needs its own TLS and
 * its own handles. A trampoline therefore switches FS to the upper half's TLS block of that
 * thread (lh_upper_fs, written when the thread was bound), converts the handles it passes, calls
 * the application's function and switches back. Only user reduction ops exist so far; error
 * handlers, attribute copy/delete functions and generalized requests follow the same pattern. */
#define _GNU_SOURCE
#if defined(SC_LH_MPICH)
#include "lh_mpich.h"
#elif defined(SC_LH_OPENMPI)
#include "lh_openmpi.h"
#else
#error "an MPI lower half is built with -DSC_LH_MPICH or -DSC_LH_OPENMPI"
#endif

#include <pthread.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "../sc_syscall.h"

typedef void (*upper_user_fn)(void *in, void *inout, int *len, void *datatype);

struct op_slot {
	upper_user_fn fn; /* the application's function (upper-half address) */
	MPI_Op op;	  /* the MPI op using this slot, once created */
	int used;
};

static struct op_slot op_slots[LH_MAX_USER_OPS];
static pthread_mutex_t op_lock = PTHREAD_MUTEX_INITIALIZER;

static void no_upper_tls(void)
{
	static const char m[] = "splitckpt: an MPI callback ran on a thread that never called MPI "
				"(asynchronous progress?): cannot enter the application\n";
	(void)!write(2, m, sizeof m - 1);
	abort();
}

static void call_user_op(int slot, void *in, void *inout, int *len, MPI_Datatype *dt)
{
	static int have_fsgsbase = -1;
	if (have_fsgsbase < 0)
		have_fsgsbase = (getauxval(AT_HWCAP2) & 2) != 0;
	uint64_t ufs = lh_upper_fs;
	if (!ufs || !lh_upper)
		no_upper_tls();
	upper_user_fn fn = op_slots[slot].fn;
	uint64_t lfs;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(lfs));
	/* From here to the switch back: no access to the lower half's TLS (no errno, no libc). */
	sc_set_fs(have_fsgsbase, ufs);
	void *vdt =
	    (void *)(uintptr_t)lh_upper->vh_from_lower(SC_VK_DATATYPE, LH_OUT_datatype(*dt));
	fn(in, inout, len, &vdt);
	sc_set_fs(have_fsgsbase, lfs);
}

/* LH_MAX_USER_OPS (256) trampolines tramp_aXXXX, each passing its own slot number. */
#define T1(n, i)                                                                                   \
	static void tramp_##n(void *a, void *b, int *l, MPI_Datatype *d)                           \
	{                                                                                          \
		call_user_op((i), a, b, l, d);                                                     \
	}
#define T4(n, i) T1(n##0, 4 * (i)) T1(n##1, 4 * (i) + 1) T1(n##2, 4 * (i) + 2) T1(n##3, 4 * (i) + 3)
#define T16(n, i)                                                                                  \
	T4(n##0, 4 * (i)) T4(n##1, 4 * (i) + 1) T4(n##2, 4 * (i) + 2) T4(n##3, 4 * (i) + 3)
#define T64(n, i)                                                                                  \
	T16(n##0, 4 * (i)) T16(n##1, 4 * (i) + 1) T16(n##2, 4 * (i) + 2) T16(n##3, 4 * (i) + 3)
T64(a0, 0)
T64(a1, 1)
T64(a2, 2)
T64(a3, 3)

#define P1(n) tramp_##n,
#define P4(n) P1(n##0) P1(n##1) P1(n##2) P1(n##3)
#define P16(n) P4(n##0) P4(n##1) P4(n##2) P4(n##3)
#define P64(n) P16(n##0) P16(n##1) P16(n##2) P16(n##3)
static MPI_User_function *const tramps[LH_MAX_USER_OPS] = {P64(a0) P64(a1) P64(a2) P64(a3)};

int lh_cb_user_op_get(void *upper_fn)
{
	int slot = -1;
	pthread_mutex_lock(&op_lock);
	for (int i = 0; i < LH_MAX_USER_OPS; i++)
		if (!op_slots[i].used) {
			op_slots[i].used = 1;
			op_slots[i].fn = (upper_user_fn)upper_fn;
			op_slots[i].op = MPI_OP_NULL;
			slot = i;
			break;
		}
	pthread_mutex_unlock(&op_lock);
	return slot;
}

MPI_User_function *lh_cb_user_op_fn(int slot)
{
	return tramps[slot];
}

void lh_cb_user_op_done(int slot, int rc, MPI_Op op)
{
	pthread_mutex_lock(&op_lock);
	if (rc == MPI_SUCCESS)
		op_slots[slot].op = op;
	else
		op_slots[slot].used = 0;
	pthread_mutex_unlock(&op_lock);
}

void lh_on_free_op(MPI_Op op)
{
	pthread_mutex_lock(&op_lock);
	for (int i = 0; i < LH_MAX_USER_OPS; i++)
		if (op_slots[i].used && op_slots[i].op == op)
			op_slots[i].used = 0;
	pthread_mutex_unlock(&op_lock);
}

/* ---- communicator error handlers ----------------------------------------------------------
 * MPI calls the handler on the thread whose call failed (inside the lower half, lh_upper_fs
 * set), with the implementation's communicator and error code: the trampoline converts both
 * (the code while still on the lower TLS: lh_err_out may call MPI) and enters the application.
 * Slots are never reused: a freed error handler may still be attached to a communicator. */
#define LH_MAX_ERRH 64
int lh_cb_comm_errh_get(void *upper_fn);
MPI_Comm_errhandler_function *lh_cb_comm_errh_fn(int slot);
void lh_cb_comm_errh_done(int slot, int rc, MPI_Errhandler eh);
typedef void (*upper_errh_fn)(void *comm, int *code, ...);
static upper_errh_fn errh_fns[LH_MAX_ERRH];
static int errh_next;

static void call_comm_errh(int slot, MPI_Comm *comm, int *code)
{
	static int have_fsgsbase = -1;
	if (have_fsgsbase < 0)
		have_fsgsbase = (getauxval(AT_HWCAP2) & 2) != 0;
	uint64_t ufs = lh_upper_fs;
	if (!ufs || !lh_upper)
		no_upper_tls();
	int abi = lh_err_out(*code);
	uint64_t lc = LH_OUT_comm(*comm), lfs;
	upper_errh_fn fn = errh_fns[slot];
	__asm__ volatile("mov %%fs:0, %0" : "=r"(lfs));
	sc_set_fs(have_fsgsbase, ufs); /* no lower TLS from here to the switch back */
	void *vc = (void *)(uintptr_t)lh_upper->vh_from_lower(SC_VK_COMM, lc);
	fn(&vc, &abi);
	sc_set_fs(have_fsgsbase, lfs);
}

#define E1(n, i)                                                                                   \
	static void errh_##n(MPI_Comm *c, int *e, ...)                                             \
	{                                                                                          \
		call_comm_errh((i), c, e);                                                         \
	}
#define E4(n, i) E1(n##0, 4 * (i)) E1(n##1, 4 * (i) + 1) E1(n##2, 4 * (i) + 2) E1(n##3, 4 * (i) + 3)
#define E16(n, i)                                                                                  \
	E4(n##0, 4 * (i)) E4(n##1, 4 * (i) + 1) E4(n##2, 4 * (i) + 2) E4(n##3, 4 * (i) + 3)
E16(e0, 0)
E16(e1, 1)
E16(e2, 2)
E16(e3, 3)
#define Q1(n) errh_##n,
#define Q4(n) Q1(n##0) Q1(n##1) Q1(n##2) Q1(n##3)
#define Q16(n) Q4(n##0) Q4(n##1) Q4(n##2) Q4(n##3)
static MPI_Comm_errhandler_function *const errh_tramps[LH_MAX_ERRH] = {Q16(e0) Q16(e1) Q16(e2)
									   Q16(e3)};

int lh_cb_comm_errh_get(void *upper_fn)
{
	pthread_mutex_lock(&op_lock);
	int slot = errh_next < LH_MAX_ERRH ? errh_next++ : -1;
	if (slot >= 0)
		errh_fns[slot] = (upper_errh_fn)upper_fn;
	pthread_mutex_unlock(&op_lock);
	return slot;
}

MPI_Comm_errhandler_function *lh_cb_comm_errh_fn(int slot)
{
	return errh_tramps[slot];
}

void lh_cb_comm_errh_done(int slot, int rc, MPI_Errhandler eh)
{
	(void)slot, (void)rc, (void)eh; /* kept even on failure: slots are never reused */
}

/* ---- communicator attribute callbacks ---------------------------------------------------
 * MPI hands the copy and delete functions the keyval's extra_state, so no slots are needed:
 * the shim gives MPI two fixed trampolines and, as extra_state, a record of the application's
 * functions and extra_state (kept for the life of the process: a keyval freed while attributes
 * still use it must keep working). The ABI's predefined functions (0: MPI_COMM_NULL_COPY_FN /
 * MPI_COMM_NULL_DELETE_FN, 1: MPI_COMM_DUP_FN) map to the implementation's own. */
typedef int (*upper_copy_fn)(void *oldcomm, int keyval, void *extra, void *in, void *out,
			     int *flag);
typedef int (*upper_delete_fn)(void *comm, int keyval, void *val, void *extra);
struct keyval_rec {
	upper_copy_fn copy;
	upper_delete_fn del;
	void *extra;
};

int lh_Comm_create_keyval(void *comm_copy_attr_fn, void *comm_delete_attr_fn, int *comm_keyval,
			  void *extra_state);

/* Enters the application with its TLS and its handle for comm; returns what fn returned. */
static int enter_attr_cb(MPI_Comm comm, int keyval, struct keyval_rec *kv, void *a, void *b,
			 int *flag, int is_copy)
{
	static int have_fsgsbase = -1;
	if (have_fsgsbase < 0)
		have_fsgsbase = (getauxval(AT_HWCAP2) & 2) != 0;
	uint64_t ufs = lh_upper_fs, lfs, lc = LH_OUT_comm(comm);
	if (!ufs || !lh_upper)
		no_upper_tls();
	__asm__ volatile("mov %%fs:0, %0" : "=r"(lfs));
	sc_set_fs(have_fsgsbase, ufs); /* no lower TLS from here to the switch back */
	void *vc = (void *)(uintptr_t)lh_upper->vh_from_lower(SC_VK_COMM, lc);
	int rc = is_copy ? kv->copy(vc, keyval, kv->extra, a, b, flag)
			 : kv->del(vc, keyval, a, kv->extra);
	sc_set_fs(have_fsgsbase, lfs);
	return rc;
}

static int copy_tramp(MPI_Comm oldcomm, int keyval, void *extra, void *in, void *out, int *flag)
{
	int rc = enter_attr_cb(oldcomm, keyval, extra, in, out, flag, 1);
	return rc ? lh_err_in(rc) : MPI_SUCCESS; /* the application's code is an ABI one */
}

static int delete_tramp(MPI_Comm comm, int keyval, void *val, void *extra)
{
	int rc = enter_attr_cb(comm, keyval, extra, val, NULL, NULL, 0);
	return rc ? lh_err_in(rc) : MPI_SUCCESS;
}

int lh_Comm_create_keyval(void *comm_copy_attr_fn, void *comm_delete_attr_fn, int *comm_keyval,
			  void *extra_state)
{
	uintptr_t c = (uintptr_t)comm_copy_attr_fn, d = (uintptr_t)comm_delete_attr_fn;
	MPI_Comm_copy_attr_function *copy = c == 0   ? MPI_COMM_NULL_COPY_FN
					    : c == 1 ? MPI_COMM_DUP_FN
						     : copy_tramp;
	MPI_Comm_delete_attr_function *del = d == 0 ? MPI_COMM_NULL_DELETE_FN : delete_tramp;
	void *extra = extra_state;
	if (c > 1 || d != 0) { /* an application function: the trampolines need the record */
		struct keyval_rec *kv = malloc(sizeof *kv);
		if (!kv)
			return SC_MPI_E_NOMEM;
		kv->copy = (upper_copy_fn)comm_copy_attr_fn;
		kv->del = (upper_delete_fn)comm_delete_attr_fn;
		kv->extra = extra_state;
		extra = kv;
	}
	int rc = MPI_Comm_create_keyval(copy, del, comm_keyval, extra);
	if (rc != MPI_SUCCESS && extra != extra_state)
		free(extra);
	return lh_err_out(rc);
}
