/* The hand-written part of an MPI lower half that does not depend on the implementation beyond
 * its mpi.h: publishing the table into the info block (sc_lh_mpi_prepare), the service entries
 * (time-sliced waits, predefined handles), the constants among a datatype's contents, the TLS
 * donor service that gives upper-half threads a lower-half TLS block of their own, the signal
 * mask lower-half-only threads are born with (MPI_Init, the donor's threads), and (MPICH only)
 * an MPI_Finalize that cannot deadlock in MPICH 4.0's UCX endpoint closes. */
#define _GNU_SOURCE
#include "lh_backend.h"

#include <dlfcn.h>
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../sc_syscall.h"
#include "launcher_env.h"
#include "lh_mpi_hook.h"

extern const struct sc_mpi_table LH_TABLE;

uint64_t lh_slice_ns = 1000000;
__thread uint64_t lh_upper_fs;
const struct sc_mpi_upper *lh_upper;

uint64_t lh_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- MPI-IO error handlers ---------------------------------------------------------------- */

/* Threads starting I/O on one file would otherwise take each other's ERRORS_RETURN for the
 * file's handler: the set-aside is one at a time (the start is short; the I/O runs after). */
static pthread_mutex_t file_errh_lock = PTHREAD_MUTEX_INITIALIZER;

MPI_Errhandler lh_file_errh_hold(MPI_File fh)
{
	MPI_Errhandler held = MPI_ERRHANDLER_NULL;
	pthread_mutex_lock(&file_errh_lock);
	if (MPI_File_get_errhandler(fh, &held) == MPI_SUCCESS)
		MPI_File_set_errhandler(fh, MPI_ERRORS_RETURN);
	else /* no such file: MPI reports that through MPI_FILE_NULL's handler */
		held = MPI_ERRHANDLER_NULL;
	return held;
}

int lh_file_errh_release(MPI_File fh, MPI_Errhandler held, int rc)
{
	const int restore = held != MPI_ERRHANDLER_NULL;
	if (restore) {
		MPI_File_set_errhandler(fh, held);
		MPI_Errhandler_free(&held); /* our reference: the file keeps its own */
	}
	pthread_mutex_unlock(&file_errh_lock);
	if (restore && rc != MPI_SUCCESS)
		MPI_File_call_errhandler(fh, rc); /* rc stays the call's: the handler returned */
	return rc;
}

/* ---- waits ------------------------------------------------------------------------------ */

int lh_finish(MPI_Request *req, struct sc_abi_status *status, uint64_t *pend)
{
	MPI_Status s;
	int flag = 0, rc;
	struct lh_slice sl;
	s.MPI_ERROR = LH_ERROR_UNTOUCHED;
	lh_slice_start(&sl);
	do {
		rc = MPI_Test(req, &flag, status ? &s : MPI_STATUS_IGNORE);
	} while (rc == MPI_SUCCESS && !flag && !lh_slice_over(&sl));
	if (rc == MPI_SUCCESS && !flag) {
		*pend = LH_OUT_request(*req);
		return 0;
	}
	*pend = 0;
	if (rc != MPI_SUCCESS)
		return lh_err_out(rc);
	if (status)
		lh_status_out(status, &s, LH_ERROR_IF_SET);
	return 0;
}

int lh_svc_wait_slice(uint64_t *req, struct sc_abi_status *status)
{
	MPI_Request r = LH_IN_request(*req);
	int rc = lh_finish(&r, status, req);
	return *req ? SC_MPI_PENDING : rc;
}

void lh_svc_predef_fill(uint64_t *lower, uint32_t n)
{
	for (const struct lh_predef *p = lh_predef_table; p->abi; p++)
		if (p->abi < n)
			lower[p->abi] = p->lower;
}

void lh_svc_set_upper(const struct sc_mpi_upper *up)
{
	__atomic_store_n(&lh_upper, up, __ATOMIC_RELEASE);
}

/* ---- the signal mask of lower-half-only threads ------------------------------------------
 * Threads that exist only in the lower half (UCX's async thread, Open MPI's and PMIx's progress
 * threads, the TLS donor's threads) have no upper TLS: the application's handlers must not run
 * there (lower-half/trap.c forwards what still arrives). They are born with every signal blocked
 * but the synchronous ones (a fault must still kill or reach its handler), SIGSYS (the trap's)
 * and the checkpoint's suspend signal (upper-half/suspend.c signals every thread and waits for
 * an answer). Before libsplitckpt has published that signal (info->suspend_signal still 0 at
 * launch and restart), every real-time signal stays open: it is always one of those. glibc's
 * pthread_sigmask never blocks its own SIGCANCEL and SIGSETXID. */
static void lower_thread_mask(sigset_t *old)
{
	static const int open_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS};
	const volatile struct sc_lh_info *info = (const volatile struct sc_lh_info *)SC_INFO_ADDR;
	int susp = info->suspend_signal;
	sigset_t set;
	sigfillset(&set);
	for (size_t i = 0; i < sizeof open_sigs / sizeof open_sigs[0]; i++)
		sigdelset(&set, open_sigs[i]);
	if (susp > 0)
		sigdelset(&set, susp);
	else
		for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
			sigdelset(&set, sig);
	pthread_sigmask(SIG_SETMASK, &set, old);
}

/* The profiling interface, as for MPI_Finalize below: the generated shims call MPI_Init and
 * MPI_Init_thread, which resolve to these definitions in the executable. The threads MPI starts
 * there inherit the mask; the application's thread gets its own back (its signals stay pending
 * meanwhile). */
int MPI_Init(int *argc, char ***argv)
{
	sigset_t old;
	lower_thread_mask(&old);
	int rc = PMPI_Init(argc, argv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int MPI_Init_thread(int *argc, char ***argv, int required, int *provided)
{
	sigset_t old;
	lower_thread_mask(&old);
	int rc = PMPI_Init_thread(argc, argv, required, provided);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* ---- MPI_Finalize (MPICH + UCX) ------------------------------------------------------------ */
#if defined(SC_LH_MPICH)
/* MPICH 4.0's UCX finalize (ch4/netmod/ucx/ucx_init.c) closes every endpoint with
 * ucp_disconnect_nb (UCP_EP_CLOSE_MODE_FLUSH), progresses until ITS closes complete, then waits in
 * a PMI barrier without progressing UCX. Flushing a UCX TCP endpoint that ever carried an active
 * message sends a zero-length PUT and waits for the peer's ACK (uct_tcp_ep_flush, NEED_FLUSH), so
 * it needs the peer to progress. A rank whose closes were acknowledged early (its peers were
 * still progressing in an earlier call) sits in the PMI barrier, never ACKs the PUT of a peer that
 * reaches MPI_Finalize later, and both wait forever. Which rank is late is timing: nonblocking
 * collectives (the crossing's blocking ones) and two ranks per node make it likely.
 *
 * The fix, one barrier and no flush: every rank completes an MPI barrier first (every rank has
 * then completed all its receives, so no application data is still on its way: MPI requires
 * every communication to be complete before MPI_Finalize), then its endpoint closes are skipped;
 * ucp_worker_destroy, after MPICH's PMI barrier, destroys the endpoints without a flush. The
 * barrier's own last messages are small and went into the kernel (TCP) or the peer's shared
 * memory before their sends completed, so they arrive without the sender's progress. Cost: one
 * barrier (log2 N rounds), no per-rank delay. */
static int lh_finalizing;

/* The profiling interface: the generated shim calls MPI_Finalize, which resolves here first. */
int MPI_Finalize(void)
{
	MPI_Request r;
	int flag = 0;
	int rc = PMPI_Ibarrier(MPI_COMM_WORLD, &r);
	while (rc == MPI_SUCCESS && !flag)
		rc = PMPI_Test(&r, &flag, MPI_STATUS_IGNORE);
	/* No completed barrier: data may still be in flight, keep MPICH's flushing closes. */
	if (rc == MPI_SUCCESS)
		__atomic_store_n(&lh_finalizing, 1, __ATOMIC_RELAXED);
	return PMPI_Finalize();
}

/* UCX's, called by libmpich through its PLT: this executable's definition is the one the dynamic
 * linker binds (libmpich references it, so ld exports it). Outside MPI_Finalize it is UCX's. The
 * UCX types are opaque pointers here: ucs_status_ptr_t is void *, NULL being UCS_OK. */
void *ucp_disconnect_nb(void *ep);
void *ucp_disconnect_nb(void *ep)
{
	static void *(*ucx)(void *);
	/* UCS_OK: nothing to wait for; ucp_worker_destroy frees the endpoint. */
	if (__atomic_load_n(&lh_finalizing, __ATOMIC_RELAXED))
		return NULL;
	if (!ucx)
		ucx = (void *(*)(void *))dlsym(RTLD_NEXT, "ucp_disconnect_nb");
	return ucx(ep);
}
#endif

/* ---- datatype contents ------------------------------------------------------------------ */

int lh_conv_out_order(int v);
int lh_conv_out_distrib(int v);
int lh_conv_out_darg(int v);

/* Converts ints[lo, lo + n) (those below max) with conv. */
static void conv_range(int *ints, MPI_Count max, MPI_Count lo, MPI_Count n, int (*conv)(int))
{
	for (MPI_Count i = lo; i < lo + n && i < max; i++)
		ints[i] = conv(ints[i]);
}

/* The integers of a subarray or darray type (MPI 4.0 section 5.1.13: with its counts in the
 * integers, or with nc large counts apart): their distributions, distribution arguments and
 * storage order are this implementation's constants, the application must see the ABI's. */
static void contents_out(int *ints, MPI_Count max, MPI_Count ni, MPI_Count nc, int combiner)
{
	if (max > ni)
		max = ni;
	int large = nc > 0;
	if (combiner == MPI_COMBINER_SUBARRAY && max >= 1 && ints[0] >= 0) {
		MPI_Count nd = ints[0];
		conv_range(ints, max, large ? 1 : 1 + 3 * nd, 1, lh_conv_out_order);
	} else if (combiner == MPI_COMBINER_DARRAY && max >= 3 && ints[2] >= 0) {
		MPI_Count nd = ints[2], distribs = large ? 3 : 3 + nd;
		conv_range(ints, max, distribs, nd, lh_conv_out_distrib);
		conv_range(ints, max, distribs + nd, nd, lh_conv_out_darg);
		conv_range(ints, max, distribs + 3 * nd, 1, lh_conv_out_order);
	}
}

void lh_contents_out(MPI_Datatype type, int *ints, MPI_Count max, int large_form)
{
	int ni = 0, na = 0, nd = 0, combiner = MPI_UNDEFINED;
	if (!large_form) {
		if (MPI_Type_get_envelope(type, &ni, &na, &nd, &combiner) == MPI_SUCCESS)
			contents_out(ints, max, ni, 0, combiner);
		return;
	}
#ifndef LH_MISSING_MPI_Type_get_envelope_c
	MPI_Count cni = 0, cna = 0, cnc = 0, cnd = 0;
	if (MPI_Type_get_envelope_c(type, &cni, &cna, &cnc, &cnd, &combiner) == MPI_SUCCESS)
		contents_out(ints, max, cni, cnc, combiner);
#endif
}

/* ---- the TLS donor service ------------------------------------------------------------ */

/* Parked threads and the service use raw system calls: a parked thread's TLS block (errno
 * included) belongs to the upper thread it was lent to. */
static void futex_wait(uint32_t *w, uint32_t val)
{
	sc_sys4(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, 0);
}

static void futex_wake(uint32_t *w)
{
	sc_sys3(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1);
}

static struct sc_tls_service tls_svc;

struct park {
	uint64_t upper_fs;
	uint64_t fs;
	uint32_t ready;
};

static uint64_t fs_now(void)
{
	uint64_t v;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(v));
	return v;
}

static void *park_main(void *arg)
{
	struct park *p = arg;
	static uint32_t never;
	lh_upper_fs = p->upper_fs;
	p->fs = fs_now();
	__atomic_store_n(&p->ready, 1, __ATOMIC_RELEASE);
	futex_wake(&p->ready);
	for (;;) /* never touches its TLS again: an upper thread runs on it now */
		futex_wait(&never, 0);
	return NULL;
}

static uint64_t new_parked_thread(uint64_t upper_fs)
{
	struct park p = {.upper_fs = upper_fs};
	pthread_attr_t attr;
	pthread_t t;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &attr, park_main, &p);
	pthread_attr_destroy(&attr);
	if (rc)
		return 0;
	while (!__atomic_load_n(&p.ready, __ATOMIC_ACQUIRE))
		futex_wait(&p.ready, 0);
	return p.fs;
}

static void *tls_service_main(void *arg)
{
	(void)arg;
	uint32_t seen = 0;
	int narrowed = 0;
	for (;;) {
		uint32_t r;
		while ((r = __atomic_load_n(&tls_svc.req, __ATOMIC_ACQUIRE)) == seen)
			futex_wait(&tls_svc.req, seen);
		seen = r;
		/* Requests come from the upper half, whose constructor has published the suspend
		 * signal by now: keep only that one open for the parked threads. pthread_sigmask
		 * uses this thread's own TLS, which is never lent to anyone. */
		if (!narrowed) {
			lower_thread_mask(NULL);
			narrowed = 1;
		}
		tls_svc.lower_fs = new_parked_thread(tls_svc.upper_fs);
		__atomic_store_n(&tls_svc.done, r, __ATOMIC_RELEASE);
		futex_wake(&tls_svc.done);
	}
	return NULL;
}

/* ---- the hook ------------------------------------------------------------------------- */

static void die(const char *msg)
{
	fprintf(stderr, "splitckpt: MPI lower half: %s\n", msg);
	exit(1);
}

static void rank_from_env(struct sc_lh_info *info)
{
	long rank, size;
	sc_launcher_env_rank(&rank, &size);
	if (rank >= 0 && size > 0) {
		info->rank = (uint32_t)rank;
		info->nranks = (uint32_t)size;
	}
}

void sc_lh_mpi_prepare(struct sc_lh_info *info)
{
	uint64_t inst = 0;
	if (getrandom(&inst, sizeof inst, 0) != sizeof inst)
		inst = lh_now_ns() ^ ((uint64_t)getpid() << 32);
	const char *s = getenv("SPLITCKPT_MPI_SLICE_US");
	if (s && atol(s) > 0)
		lh_slice_ns = (uint64_t)atol(s) * 1000;
	rank_from_env(info);
	uint64_t fs = fs_now();
	info->mpi_table = (uint64_t)(uintptr_t)&LH_TABLE;
	info->mpi_main_fs = fs;
	info->mpi_tls_service = (uint64_t)(uintptr_t)&tls_svc;
	info->mpi_tls_upper_off = (int64_t)((uintptr_t)&lh_upper_fs - (uintptr_t)fs);
	info->mpi_instance = inst | 1;
	info->fd_tracking = 1; /* MPI opens descriptors too: trap.c tracks the application's */

	pthread_attr_t attr;
	pthread_t t;
	sigset_t old;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	lower_thread_mask(&old); /* inherited by the service and its parked threads */
	int rc = pthread_create(&t, &attr, tls_service_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		die("cannot start the TLS service thread");
	pthread_attr_destroy(&attr);
}
