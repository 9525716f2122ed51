/* Calls from MPI back into the application. MPI runs them on the thread that is inside the
 * lower half, with the lower half's TLS installed; the application's code needs its own TLS and
 * its own handles. A trampoline therefore switches FS to the upper half's TLS block of that
 * thread (lh_upper_fs, written when the thread was bound), converts the handles it passes, calls
 * the application's function and switches back. Only user reduction ops exist so far; error
 * handlers, attribute copy/delete functions and generalized requests follow the same pattern. */
#define _GNU_SOURCE
#if defined(SC_LH_MPICH)
#include "lh_mpich.h"
#else
#error "an MPI lower half is built with -DSC_LH_MPICH (or another backend)"
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
