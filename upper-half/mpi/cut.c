/* The collective clock and the quiesce of a checkpoint (MANA's "collective clock", see
 * ../shared/reference/mpi-cr-lessons.md): every communicator counts the collectives begun on it;
 * at a checkpoint the ranks report their counts through the coordinator, which sends back the
 * per-communicator maximum as a target; ranks behind run on (point-to-point included) until they
 * reach it, and no collective starts beyond it, so no rank is left inside a collective. Also the
 * registry of threads that call MPI and the gate where they wait while a checkpoint holds MPI. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <mpi.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdarg.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../ckpt_mpi.h"
#include "../mpi_crossing.h"

volatile int sc_mpi_ckpt_pending;
struct sc_comm_cut sc_cut_world, sc_cut_self;
uint64_t *sc_mpi_sent;
uint64_t sc_mpi_recv_started;
int sc_mpi_multi;
uint64_t sc_mpi_private_comm, sc_mpi_world_group;
int sc_mpi_world_rank, sc_mpi_world_size, sc_mpi_thread_level;
int sc_mpi_initialized, sc_mpi_finalized;

/* Bumped (and futex-woken) whenever the state or the targets change: the gates wait on it. */
static uint32_t cut_seq;
/* Set when this rank reports that no generalized request lives: that report may make the cut,
 * so a new request waits until the coordinator answers (new targets: another round; or the end
 * of the checkpoint). Cleared by every state but the drain's (set_state). */
static volatile int greqs_closed;
static int targets_known;
/* A fault injection for tests (SPLITCKPT_TEST_GATE_WAKE_US): a thread held at a quiesce gate
 * wakes this late once the drain has begun, so the checkpoint finds it still in that wait. */
static useconds_t gate_wake_delay_us;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sc_mpi_thread *threads;
static pthread_key_t reg_key;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;

/* ---- threads --------------------------------------------------------------------------- */

static void unregister(void *arg)
{
	struct sc_mpi_thread *t = arg;
	pthread_mutex_lock(&reg_lock);
	for (struct sc_mpi_thread **p = &threads; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			break;
		}
	t->registered = 0;
	pthread_mutex_unlock(&reg_lock);
}

static void make_key(void)
{
	pthread_key_create(&reg_key, unregister);
}

void sc_cut_register_thread(void)
{
	if (sc_mpi_thr.registered)
		return;
	/* The TLS block goes away with the thread: the key's destructor unlinks it first. */
	pthread_once(&reg_once, make_key);
	pthread_setspecific(reg_key, &sc_mpi_thr);
	pthread_mutex_lock(&reg_lock);
	sc_mpi_thr.next = threads;
	threads = &sc_mpi_thr;
	sc_mpi_thr.registered = 1;
	pthread_mutex_unlock(&reg_lock);
}

static void pause_briefly(void)
{
	struct timespec ts = {0, 100000};
	nanosleep(&ts, NULL);
}

void sc_cut_wait_threads(int drain)
{
	pthread_mutex_lock(&reg_lock);
	for (struct sc_mpi_thread *t = threads; t; t = t->next) {
		if (t == &sc_mpi_thr)
			continue;
		/* Quiesce: past stage 1 its counters are final. Drain: out of every MPI call. */
		while (drain ? t->stage != 0 : t->stage == 1)
			pause_briefly();
	}
	pthread_mutex_unlock(&reg_lock);
}

/* Every thread sees the new state before its next load of it, or has shown its stage to us:
 * the slow side of the wrappers' compiler-barrier-only fast path. */
static int state_barrier(char *err, size_t errlen)
{
	static int registered;
	if (!registered &&
	    syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0)
		registered = 1;
	if (registered && syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0)
		return 0;
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0)
		return 0;
	snprintf(err, errlen, "membarrier(2) is not available: cannot stop MPI calls safely");
	return -1;
}

static void set_state(int state)
{
	if (state != SC_CUT_DRAIN)
		__atomic_store_n(&greqs_closed, 0, __ATOMIC_SEQ_CST);
	sc_mpi_ckpt_pending = state;
	__atomic_add_fetch(&cut_seq, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &cut_seq, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

/* Waits for the next change of state or targets (or 50 ms). */
static void wait_change(uint32_t seen)
{
	struct timespec ts = {0, 50000000};
	syscall(SYS_futex, &cut_seq, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
}

/* After a wait a checkpoint may have ended in a restart: the thread's lower TLS is then the
 * old process's (unmapped, or another thread's), and its next call through the lower half must
 * not run on it. */
static void rebind_after_restart(void)
{
	if (sc_mpi_thr.instance != sc_mpi_info->mpi_instance)
		sc_mpi_bind();
}

void sc_mpi_gate(void)
{
	if (sc_mpi_thr.cut_thread)
		return;
	for (;;) {
		uint32_t seen = __atomic_load_n(&cut_seq, __ATOMIC_SEQ_CST);
		sc_mpi_thr.stage = 0;
		if (sc_mpi_ckpt_pending >= SC_CUT_DRAIN)
			wait_change(seen);
		sc_mpi_thr.stage = 1;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (sc_mpi_ckpt_pending < SC_CUT_DRAIN)
			break;
	}
	rebind_after_restart();
}

static int behind(void);

/* A PSCW epoch open (its peer's matching call is behind, pscw.c), or a generalized request the
 * application has yet to complete and free: not a cut yet, and nothing for the coordinator to
 * raise. */
static int must_end_first(void)
{
	return __atomic_load_n(&sc_mpi_pscw_open, __ATOMIC_SEQ_CST) > 0 ||
	       __atomic_load_n(&sc_mpi_greqs_live, __ATOMIC_SEQ_CST) > 0;
}

volatile int sc_mpi_excl_locks;
volatile int sc_mpi_greqs_live;

void sc_mpi_greq_enter(void)
{
	for (;;) {
		/* Against report_threads, which sets greqs_closed and then reads the count (both
		 * sequentially consistent): it sees this request, or this thread sees it closed. */
		__atomic_add_fetch(&sc_mpi_greqs_live, 1, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&greqs_closed, __ATOMIC_SEQ_CST) || sc_mpi_thr.stage != 0)
			return; /* (inside a call, as from a callback: the hold waits for it) */
		__atomic_sub_fetch(&sc_mpi_greqs_live, 1, __ATOMIC_SEQ_CST);
		uint32_t seen = __atomic_load_n(&cut_seq, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&greqs_closed, __ATOMIC_SEQ_CST))
			wait_change(seen);
	}
}

void sc_mpi_greq_gone(void)
{
	__atomic_sub_fetch(&sc_mpi_greqs_live, 1, __ATOMIC_SEQ_CST);
}

/* Whether a thread may go on during a quiesce: past the collective (or the PSCW epoch) counted
 * in every clock of cs[0..n), which all must be behind their targets; *held: one that is not.
 * n == 0: an exclusive lock, which may be taken only while this rank is behind some target. */
static int may_pass(struct sc_comm_cut *const *cs, int n, struct sc_comm_cut **held)
{
	if (n == 0)
		return behind();
	*held = cs[0];
	if (!targets_known)
		return 0;
	for (int i = 0; i < n; i++)
		if (cs[i]->coll >= cs[i]->target) {
			*held = cs[i];
			return 0;
		}
	return 1;
}

/* Where a quiesce holds what may not start before the cut (may_pass). */
static void quiesce_gate(struct sc_comm_cut *const *cs, int n)
{
	if (sc_mpi_thr.cut_thread)
		return;
	for (;;) {
		uint32_t seen = __atomic_load_n(&cut_seq, __ATOMIC_SEQ_CST);
		int state = sc_mpi_ckpt_pending;
		struct sc_comm_cut *held = NULL;
		if (state == SC_CUT_NONE || (state == SC_CUT_QUIESCE && may_pass(cs, n, &held))) {
			/* The wait below may have lasted through a drain, a checkpoint and a
			 * restart, which leaves the state at none: not through sc_mpi_gate. */
			rebind_after_restart();
			return;
		}
		if (state >= SC_CUT_DRAIN) {
			sc_mpi_gate();
			continue;
		}
		sc_mpi_thr.gated_on = held;
		sc_mpi_thr.stage = 0;
		wait_change(seen);
		if (gate_wake_delay_us && sc_mpi_ckpt_pending >= SC_CUT_DRAIN)
			usleep(gate_wake_delay_us);
		sc_mpi_thr.stage = 1;
		sc_mpi_thr.gated_on = NULL;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
}

void sc_mpi_lock_gate(void)
{
	quiesce_gate(NULL, 0);
}

void sc_mpi_coll_gate(struct sc_comm_cut *c)
{
	quiesce_gate(&c, 1);
}

void sc_mpi_clocks_gate(struct sc_comm_cut *const *cs, int n)
{
	if (n > 0)
		quiesce_gate(cs, n);
}

/* ---- MPI_Init ------------------------------------------------------------------------- */

void sc_cut_after_init(void)
{
	const struct sc_mpi_table *tab = sc_mpi_tab;
	uint64_t world = sc_vh_lower(MPI_COMM_WORLD);
	uint64_t self = sc_vh_lower(MPI_COMM_SELF);
	int rc = 0;
	SC_MPI_CALL(rc |= tab->Comm_rank(world, &sc_mpi_world_rank));
	SC_MPI_CALL(rc |= tab->Comm_size(world, &sc_mpi_world_size));
	SC_MPI_CALL(rc |= tab->Query_thread(&sc_mpi_thread_level));
	SC_MPI_CALL(rc |= tab->Comm_group(world, &sc_mpi_world_group));
	SC_MPI_CALL(rc |= tab->Comm_dup(world, &sc_mpi_private_comm));
	if (rc || sc_cut_comm_tables(&sc_cut_world, world) ||
	    sc_cut_comm_tables(&sc_cut_self, self)) {
		static const char m[] = "splitckpt: cannot set up MPI checkpoints\n";
		(void)!write(2, m, sizeof m - 1);
		abort();
	}
	const char *delay = getenv("SPLITCKPT_TEST_GATE_WAKE_US");
	gate_wake_delay_us = delay ? (useconds_t)strtoul(delay, NULL, 10) : 0;
	sc_mpi_multi = sc_mpi_thread_level == 4096; /* MPI_THREAD_MULTIPLE */
	sc_cut_world.id = (uintptr_t)MPI_COMM_WORLD;
	sc_cut_self.id =
	    sc_cut_mix((uintptr_t)MPI_COMM_SELF, (uint64_t)sc_mpi_world_rank); /* its own */
	if (!sc_mpi_sent) {
		sc_mpi_sent = calloc((size_t)sc_mpi_world_size, sizeof *sc_mpi_sent);
		if (!sc_mpi_sent)
			abort();
	}
	sc_mpi_initialized = 1;
}

/* ---- the quiesce -------------------------------------------------------------------------- */

/* The targets of the current quiesce, sorted by id. Creations on application threads look
 * them up while the checkpoint thread replaces them: both under targets_lock. */
static struct target {
	uint64_t id, count;
} * targets;
static size_t ntargets, targets_cap;
static pthread_mutex_t targets_lock = PTHREAD_MUTEX_INITIALIZER;

static int by_id(const void *a, const void *b)
{
	uint64_t x = ((const struct target *)a)->id, y = ((const struct target *)b)->id;
	return x < y ? -1 : x > y;
}

uint64_t sc_cut_target_of(uint64_t id)
{
	if (!targets_known)
		return 0;
	struct target key = {.id = id};
	pthread_mutex_lock(&targets_lock);
	const struct target *t = bsearch(&key, targets, ntargets, sizeof *t, by_id);
	uint64_t count = t ? t->count : 0;
	pthread_mutex_unlock(&targets_lock);
	return count;
}

/* This rank's report of a quiesce round, kept until the next round: as long as the clocks
 * need (the checkpoint thread sends it in as many messages as it takes). */
struct report {
	char *out;
	size_t len, cap;
	int overflow; /* out of memory */
};

/* Appends one line (at most 63 bytes) to r. */
static void __attribute__((format(printf, 2, 3))) report(struct report *r, const char *fmt, ...)
{
	if (r->cap - r->len < 64) {
		size_t cap = r->cap ? 2 * r->cap : 4096;
		char *o = realloc(r->out, cap);
		if (!o) {
			r->overflow = 1;
			return;
		}
		r->out = o;
		r->cap = cap;
	}
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(r->out + r->len, 64, fmt, ap);
	va_end(ap);
	if (n > 0 && n < 64)
		r->len += (size_t)n;
}

/* "+" when a thread is inside the creation of a communicator (the coordinator takes another
 * round, until the new communicator can be reported); "?ID" for each communicator where a
 * thread waits at its target (raised while some rank's creation cannot finish). */
static void report_threads(struct report *r)
{
	int creating = 0;
	pthread_mutex_lock(&reg_lock);
	for (struct sc_mpi_thread *t = threads; t; t = t->next) {
		const struct sc_comm_cut *c = t->gated_on;
		creating |= t->creating;
		if (t != &sc_mpi_thr && c && c->coll >= c->target)
			report(r, "?%llx\n", (unsigned long long)c->id);
	}
	pthread_mutex_unlock(&reg_lock);
	/* an exclusive lock held or being acquired: not a cut yet either */
	if (creating || __atomic_load_n(&sc_mpi_excl_locks, __ATOMIC_SEQ_CST) > 0)
		report(r, "+\n");
	__atomic_store_n(&greqs_closed, 1, __ATOMIC_SEQ_CST);
	if (must_end_first()) {
		__atomic_store_n(&greqs_closed, 0, __ATOMIC_SEQ_CST);
		report(r, "*\n");
	}
}

static void report_clock(struct sc_comm_cut *c, void *r)
{
	report(r, "%llx %llx\n", (unsigned long long)c->id, (unsigned long long)c->coll);
}

static void set_target(struct sc_comm_cut *c, void *arg)
{
	(void)arg;
	c->target = sc_cut_target_of(c->id);
}

static void behind_clock(struct sc_comm_cut *c, void *arg)
{
	if (c->coll < c->target)
		*(int *)arg = 1;
}

/* Whether every application thread that calls MPI waits at a collective whose target it has
 * reached (none computes, none is inside MPI): a rank behind on another communicator then cannot
 * get there without passing one of those collectives. Reports the communicators in r. */
static int stuck(struct report *r)
{
	int n = 0, all = 1;
	pthread_mutex_lock(&reg_lock);
	for (struct sc_mpi_thread *t = threads; t && all; t = t->next) {
		if (t == &sc_mpi_thr)
			continue;
		const struct sc_comm_cut *c = t->gated_on;
		if (!c || c->coll < c->target)
			all = 0;
		n++;
	}
	for (struct sc_mpi_thread *t = threads; t && all && n; t = t->next) {
		const struct sc_comm_cut *c = t->gated_on;
		if (t == &sc_mpi_thr || !c)
			continue;
		report(r, "!%llx\n", (unsigned long long)c->id);
	}
	pthread_mutex_unlock(&reg_lock);
	return all && n;
}

static void add_count(struct sc_comm_cut *c, void *arg)
{
	*(uint64_t *)arg += c->coll;
}

/* The sum of every clock: it moves while the application makes progress. */
static uint64_t clocks_sum(void)
{
	uint64_t sum = 0;
	sc_cut_foreach_clock(add_count, &sum);
	return sum;
}

#define NO_PROGRESS_NS 50000000ull /* 50 ms */

/* Behind a target, or holding an exclusive lock, a PSCW epoch or a generalized request (which
 * must end before the cut). */
static int behind(void)
{
	int b = __atomic_load_n(&sc_mpi_excl_locks, __ATOMIC_SEQ_CST) > 0 || must_end_first();
	sc_cut_foreach_clock(behind_clock, &b);
	return b;
}

static int parse_targets_locked(const char *text, char *err, size_t errlen)
{
	ntargets = 0;
	for (const char *p = text; *p;) {
		char *end;
		unsigned long long id = strtoull(p, &end, 16);
		if (end == p || *end != ' ')
			goto bad;
		p = end + 1;
		unsigned long long n = strtoull(p, &end, 16);
		if (end == p || (*end != '\n' && *end))
			goto bad;
		if (ntargets == targets_cap) {
			size_t cap = targets_cap ? 2 * targets_cap : 64;
			struct target *t = realloc(targets, cap * sizeof *t);
			if (!t) {
				snprintf(err, errlen, "out of memory for %zu collective targets",
					 cap);
				return -1;
			}
			targets = t;
			targets_cap = cap;
		}
		targets[ntargets++] = (struct target){id, n};
		p = *end ? end + 1 : end;
	}
	qsort(targets, ntargets, sizeof *targets, by_id);
	return 0;
bad:
	snprintf(err, errlen, "malformed collective targets from the coordinator");
	return -1;
}

static int parse_targets(const char *text, char *err, size_t errlen)
{
	pthread_mutex_lock(&targets_lock);
	int rc = parse_targets_locked(text, err, errlen);
	pthread_mutex_unlock(&targets_lock);
	return rc;
}

int sc_cut_quiesce(const char *text, const char **out, char *err, size_t errlen)
{
	static struct report r;
	r.len = 0;
	r.overflow = 0;
	*out = "";
	if (sc_mpi_finalized)
		return 0;
	if (!sc_mpi_initialized) {
		/* A thread may be inside MPI_Init, in the lower half, with no cut to protect it. */
		snprintf(err, errlen,
			 "MPI is not initialized on this rank yet (before or inside MPI_Init): "
			 "checkpoint again once it is");
		return -1;
	}
	if (!text[0]) { /* the first round: stop collectives, then read the clocks */
		targets_known = 0;
		set_state(SC_CUT_QUIESCE);
		if (state_barrier(err, errlen))
			return -1;
	} else {
		if (parse_targets(text, err, errlen))
			return -1;
		targets_known = 1;
		sc_cut_foreach_clock(set_target, NULL);
		set_state(SC_CUT_QUIESCE); /* wakes the gates: targets are known */
	}
	/* The application runs on until it reaches every target, or until it cannot without
	 * passing a collective held at its target: then this rank says which (a "!ID" line) and
	 * the coordinator raises those targets for everyone (MANA's overshoot). Twice in a row,
	 * so that a gate still waking up for the new targets does not count. A thread may also
	 * wait inside a collective for a peer that a gate holds until the next round (which needs
	 * this rank's report): when no clock moved for NO_PROGRESS_NS, this rank reports too. */
	uint64_t moved = clocks_sum(), moved_at = sc_cut_now_ns();
	for (int seen_stuck = 0; text[0] && behind();) {
		size_t mark = r.len;
		if (stuck(&r)) {
			if (++seen_stuck == 2)
				break;
			r.len = mark;
		} else {
			seen_stuck = 0;
		}
		uint64_t sum = clocks_sum(), t = sc_cut_now_ns();
		if (sum != moved) {
			moved = sum;
			moved_at = t;
		} else if (t - moved_at > NO_PROGRESS_NS) {
			break;
		}
		pause_briefly();
	}
	sc_cut_wait_threads(0);
	report_threads(&r);
	sc_cut_foreach_clock(report_clock, &r);
	if (r.overflow) {
		snprintf(err, errlen, "out of memory for the collective clocks (%zu bytes)", r.cap);
		return -1;
	}
	*out = r.out ? r.out : "";
	return 0;
}

void sc_cut_resume(void)
{
	targets_known = 0;
	set_state(SC_CUT_NONE);
}

const struct sc_mpi_table *sc_cut_table(void)
{
	sc_mpi_thr.cut_thread = 1;
	if (sc_mpi_thr.instance != sc_mpi_info->mpi_instance)
		sc_mpi_bind();
	return sc_mpi_tab;
}

/* Where the cut starts: states are set by the checkpoint thread only. */
int sc_cut_hold(char *err, size_t errlen)
{
	set_state(SC_CUT_DRAIN);
	if (state_barrier(err, errlen))
		return -1;
	sc_cut_wait_threads(1);
	return 0;
}

static const char *impl(void)
{
	return sc_mpi_tab ? sc_mpi_tab->svc.impl : NULL;
}

static const struct sc_mpi_ckpt_ops ops = {
    .quiesce = sc_cut_quiesce,
    .drain = sc_cut_drain,
    .resume = sc_cut_resume,
    .restart = sc_cut_restart,
    .impl = impl,
};

__attribute__((weak)) void sc_ckpt_register_mpi(const struct sc_mpi_ckpt_ops *o);

__attribute__((constructor)) static void register_ops(void)
{
	if (sc_ckpt_register_mpi)
		sc_ckpt_register_mpi(&ops);
}
