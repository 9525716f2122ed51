/* libsplitckpt_mpi's hand-written part of the crossing: finding the lower half's table, binding
 * threads to lower-half TLS blocks (the main thread takes the lower main thread's, any other
 * borrows one from the lower half's TLS donor service), and the slow paths the generated
 * wrappers leave to it: time-sliced waits, the pre-collective barrier and error reporting. */
#define _GNU_SOURCE
#include "mpi_crossing.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

__thread struct sc_mpi_thread sc_mpi_thr __attribute__((tls_model("initial-exec")));
const struct sc_mpi_table *sc_mpi_tab;
/* Outside splitckpt: an instance no thread is bound to and no table, so the first MPI call
 * reaches sc_mpi_bind, which reports the error. */
static const struct sc_lh_info no_lower_half = {.mpi_instance = 1};
const volatile struct sc_lh_info *sc_mpi_info = &no_lower_half;
int sc_mpi_fsgsbase;

static uint64_t bound_instance; /* the instance whose table and handles are loaded */
static pthread_mutex_t bind_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	char m[512];
	int n = snprintf(m, sizeof m, "splitckpt: ");
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(m + n, sizeof m - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof m - 2)
		n = (int)sizeof m - 2;
	m[n++] = '\n';
	(void)!write(2, m, (size_t)n);
}

__attribute__((constructor)) static void sc_mpi_init_lib(void)
{
	const struct sc_lh_info *info = (const struct sc_lh_info *)getauxval(AT_SPLITCKPT);
	if (info && info->magic == SC_INFO_MAGIC && info->version == SC_INFO_VERSION)
		sc_mpi_info = info;
	sc_mpi_fsgsbase = (getauxval(AT_HWCAP2) & 2) != 0;
}

static uint64_t upper_vh_from_lower(uint32_t kind, uint64_t lower)
{
	return sc_vh_from_lower(kind, lower);
}
static const struct sc_mpi_upper upper_hooks = {.vh_from_lower = upper_vh_from_lower};

/* Once per lower-half instance (at the first MPI call, again after a restart). */
static void bind_process(uint64_t inst)
{
	const struct sc_mpi_table *tab =
	    (const struct sc_mpi_table *)(uintptr_t)sc_mpi_info->mpi_table;
	if (tab->svc.list_hash != SC_MPI_LIST_HASH || tab->svc.nfuncs != SC_MPI_NFUNCS ||
	    tab->svc.table_size != sizeof(struct sc_mpi_table)) {
		say("the MPI lower half (%s) was built from another function list than "
		    "libsplitckpt_mpi: reinstall splitckpt or rebuild the program",
		    tab->svc.impl);
		_exit(1);
	}
	sc_vh_load_predef(tab->svc.predef_fill);
	sc_mpi_tab = tab;
	__atomic_store_n(&bound_instance, inst, __ATOMIC_RELEASE);
}

/* A lower-half TLS block of its own for a thread other than the main thread. Raw futexes
 * only: see struct sc_tls_service. */
static uint64_t borrow_tls(uint64_t upper_fs)
{
	struct sc_tls_service *s = (struct sc_tls_service *)(uintptr_t)sc_mpi_info->mpi_tls_service;
	while (__atomic_exchange_n(&s->lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
	s->upper_fs = upper_fs;
	uint32_t r = __atomic_add_fetch(&s->req, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &s->req, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	uint32_t d;
	while ((d = __atomic_load_n(&s->done, __ATOMIC_ACQUIRE)) != r)
		syscall(SYS_futex, &s->done, FUTEX_WAIT_PRIVATE, d, NULL, NULL, 0);
	uint64_t fs = s->lower_fs;
	__atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
	return fs;
}

void sc_mpi_bind(void)
{
	/* Called before a call's window opens, or from a gate inside one: the calls below must
	 * not leave the thread's stage (cut.c) changed. */
	const int stage = sc_mpi_thr.stage;
	uint64_t inst = sc_mpi_info->mpi_instance;
	if (!inst || !sc_mpi_info->mpi_table) {
		say("this program was built with splitckpt-mpicc and needs an MPI lower half: run "
		    "it as `splitckpt launch PROGRAM` (e.g. mpiexec -n 2 splitckpt launch ./prog)");
		_exit(1);
	}
	if (__atomic_load_n(&bound_instance, __ATOMIC_ACQUIRE) != inst) {
		pthread_mutex_lock(&bind_lock);
		if (bound_instance != inst)
			bind_process(inst);
		pthread_mutex_unlock(&bind_lock);
	}
	uint64_t ufs = sc_mpi_fs_now(), lfs;
	if (syscall(SYS_gettid) == getpid()) {
		lfs = sc_mpi_info->mpi_main_fs; /* the kernel main thread: the lower main TLS */
	} else if (!(lfs = borrow_tls(ufs))) {
		say("cannot create a lower-half thread for this thread's MPI calls");
		_exit(1);
	}
	/* Callbacks from MPI on this thread switch back to this upper TLS block. */
	*(volatile uint64_t *)(uintptr_t)(lfs + (uint64_t)sc_mpi_info->mpi_tls_upper_off) = ufs;
	sc_mpi_thr.lower_fs = lfs;
	/* The upper hooks: set after the table, before the first call that may call back. */
	SC_MPI_CALL(sc_mpi_tab->svc.set_upper(&upper_hooks));
	sc_mpi_thr.instance = inst;
	sc_cut_register_thread();
	sc_mpi_thr.stage = stage;
}

__attribute__((noinline, cold)) void sc_mpi_unmaps_flush(void)
{
	const struct sc_mpi_table *tab = sc_mpi_tab;
	const int stage = sc_mpi_thr.stage; /* as in sc_mpi_bind */
	SC_MPI_CALL(tab->svc.unmaps_flush());
	sc_mpi_thr.stage = stage;
}

int sc_mpi_slice_done(int fn)
{
	(void)fn;
	sc_mpi_acks_poll(); /* what a Wait may wait for (mpi/ssend.c) */
	/* Outside the lower half between two slices: while a checkpoint holds MPI the thread
	 * parks here (not when a callback's call is nested in an outer one). */
	if (__builtin_expect(sc_mpi_ckpt_pending >= SC_CUT_DRAIN, 0) && !sc_mpi_thr.nest) {
		uint64_t inst = sc_mpi_thr.instance;
		unsigned drains = sc_mpi_drains;
		sc_mpi_gate();
		/* A restart while parked: the caller's lower handles are the old instance's; a
		 * drain that changed what MPI holds: they may be stale, and a probe must see the
		 * drained messages (its drained hook runs at the start). */
		if (sc_mpi_thr.instance != inst || sc_mpi_drains != drains)
			return 0;
	}
	return 1;
}

int sc_mpi_finish(int fn, int via_fn, uint64_t pend, struct sc_abi_status *status, int nargs,
		  const uint64_t *args)
{
	/* A request object like the application's own: the drain tests it, a restart posts it
	 * again (its lower handle changes) or completes it with the status the drain saw. */
	void *req = sc_vh_req_new(pend, (uint16_t)via_fn, nargs, args);
	struct sc_vobj *o = req;
	if (sc_mpi_fn_request[via_fn] & SC_REQ_SYNC)
		sc_mpi_sync_posted(req);
	int rc;
	for (;;) {
		sc_mpi_slice_done(fn);
		const struct sc_mpi_table *tab = sc_mpi_tab;
		uint64_t l = o->lower;
		SC_MPI_CALL(rc = tab->svc.wait_slice(&l, status));
		if (rc != SC_MPI_PENDING)
			break;
		o->lower = l;
	}
	sc_vh_req_drop(req);
	return rc;
}

int sc_mpi_sync(int fn)
{
	const void *world = (const void *)(uintptr_t)SC_ABI_COMM_WORLD_VH;
	sc_mpi_count_coll(world);
	const struct sc_mpi_table *tab = sc_mpi_tab;
	uint64_t req = 0;
	int rc;
	SC_MPI_CALL(rc = tab->Ibarrier(sc_vh_lower(world), &req));
	if (rc == 0 && req != sc_vh_predef[sc_vk_null[SC_VK_REQUEST]]) {
		uint64_t rec = SC_ABI_COMM_WORLD_VH;
		rc = sc_mpi_finish(fn, SC_FN_MPI_Ibarrier, req, NULL, 1, &rec);
	}
	return rc;
}

int sc_mpi_peers(uint64_t lower_comm)
{
	const struct sc_mpi_table *tab = sc_mpi_tab;
	int inter = 0, n = 0, rc;
	SC_MPI_CALL(rc = tab->Comm_test_inter(lower_comm, &inter));
	if (rc == 0 && inter)
		SC_MPI_CALL(rc = tab->Comm_remote_size(lower_comm, &n));
	else if (rc == 0)
		SC_MPI_CALL(rc = tab->Comm_size(lower_comm, &n));
	return rc == 0 ? n : 0;
}

int sc_mpi_root_peers(uint64_t lower_comm, int root)
{
	const struct sc_mpi_table *tab = sc_mpi_tab;
	int inter = 0, me = -1, rc;
	SC_MPI_CALL(rc = tab->Comm_test_inter(lower_comm, &inter));
	if (rc == 0 && inter)
		return root == SC_ABI_ROOT_RANK ? sc_mpi_peers(lower_comm) : 0;
	if (rc == 0)
		SC_MPI_CALL(rc = tab->Comm_rank(lower_comm, &me));
	return rc == 0 && me == root ? sc_mpi_peers(lower_comm) : 0;
}

int sc_mpi_degree(uint64_t lower_comm, int out)
{
	const struct sc_mpi_table *tab = sc_mpi_tab;
	int topo = SC_ABI_UNDEFINED, n = 0, in_n = 0, out_n = 0, weighted = 0, me = 0, rc;
	SC_MPI_CALL(rc = tab->Topo_test(lower_comm, &topo));
	if (rc != 0)
		return 0;
	if (topo == SC_ABI_CART) {
		SC_MPI_CALL(rc = tab->Cartdim_get(lower_comm, &n));
		return rc == 0 ? 2 * n : 0; /* both directions of every dimension */
	}
	if (topo == SC_ABI_GRAPH) {
		SC_MPI_CALL(rc = tab->Comm_rank(lower_comm, &me));
		if (rc == 0)
			SC_MPI_CALL(rc = tab->Graph_neighbors_count(lower_comm, me, &n));
		return rc == 0 ? n : 0;
	}
	if (topo == SC_ABI_DIST_GRAPH) {
		SC_MPI_CALL(
		    rc = tab->Dist_graph_neighbors_count(lower_comm, &in_n, &out_n, &weighted));
		return rc != 0 ? 0 : out ? out_n : in_n;
	}
	return 0;
}

int sc_mpi_fail(int fn, int rc)
{
	sc_mpi_thr.creating = 0;
	sc_mpi_leave();
	const char *name = fn >= 0 && fn < SC_MPI_NFUNCS ? sc_mpi_fn_names[fn] : "?";
	switch (rc) {
	case SC_MPI_E_UNIMPL:
		say("%s is not implemented by the %s lower half", name,
		    sc_mpi_tab ? sc_mpi_tab->svc.impl : "MPI");
		return SC_ABI_ERR_UNSUPPORTED_OPERATION;
	case SC_MPI_E_NOMEM:
		say("%s: out of memory for a temporary array", name);
		return SC_ABI_ERR_NO_MEM;
	case SC_MPI_E_SLOTS:
		say("%s: the crossing's trampolines for callbacks of this kind are all taken (one "
		    "per distinct function: 64 error handler, 256 operation functions)",
		    name);
		return SC_ABI_ERR_NO_MEM;
	case SC_MPI_PENDING:
		return SC_ABI_ERR_INTERN; /* never returned to a caller that does not loop */
	default:
		return rc;
	}
}

void sc_mpi_after_init(void)
{
	sc_cut_after_init();
	sc_mpi_main_thread_is_caller();
}

void sc_mpi_after_finalize(void)
{
	sc_mpi_finalized = 1;
	if (!sc_mpi_world_under || sc_mpi_app_init)
		sc_mpi_app_finalized = 1; /* not the finalize beneath sessions (sessions.c) */
}
