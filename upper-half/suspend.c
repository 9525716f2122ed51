/* Suspending the application's threads for a checkpoint. The checkpoint thread sends each
 * thread a signal; the handler records the thread's TLS base and a resume context and waits on
 * a futex. At restart the lower half recreates each thread straight into that context, so the
 * handler returns through sigreturn with the thread's full interrupted register state. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../lower-half/sc_syscall.h"
#include "runtime.h"

struct slot {
	int tid;
	uint64_t fs;
	uint64_t ctid;
	struct sc_ctx ctx;
};

static struct slot *slots;	      /* SC_MAX_THREADS, in upper memory: saved with the image */
static int *acked_tids;		      /* tids that answered the current round */
static volatile int nslots;	      /* threads parked in the handler */
static volatile int nacked;	      /* answers: parked, or "not an upper-half thread" */
static volatile uint32_t resume_word; /* bumped to release parked threads */

static void futex_wait(volatile uint32_t *w, uint32_t val)
{
	sc_sys4(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, 0);
}

static void futex_wake_all(volatile uint32_t *w)
{
	sc_sys3(SYS_futex, w, FUTEX_WAKE_PRIVATE, INT_MAX);
}

static int is_upper_fs(uint64_t fs)
{
	return fs >= SC_ARENA_BASE && fs < SC_ARENA_END;
}

static void suspend_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	/* Only our own tgkill counts; anything else sending this signal is ignored. */
	if (si->si_code != SI_TKILL || si->si_pid != getpid())
		return;
	int saved_errno = errno;
	int tid = (int)sc_sys0(SYS_gettid);
	uint64_t fs = sc_get_fs(sc_rt.have_fsgsbase);
	if (!is_upper_fs(fs)) { /* a lower-half thread (MPI progress...): not ours to stop */
		acked_tids[__atomic_fetch_add(&nacked, 1, __ATOMIC_ACQ_REL)] = tid;
		return;
	}
	uint32_t epoch = __atomic_load_n(&resume_word, __ATOMIC_ACQUIRE);
	int i = __atomic_fetch_add(&nslots, 1, __ATOMIC_ACQ_REL);
	struct slot *s = &slots[i];
	s->tid = tid;
	s->fs = fs;
	s->ctid = 0;
	sc_sys2(SYS_prctl, PR_GET_TID_ADDRESS, &s->ctid);
	if (sc_ctx_save(&s->ctx) == 0)
		acked_tids[__atomic_fetch_add(&nacked, 1, __ATOMIC_ACQ_REL)] = tid;
	/* Both after suspension and after a restart: wait until the checkpoint thread lets go. */
	while (__atomic_load_n(&resume_word, __ATOMIC_ACQUIRE) == epoch)
		futex_wait(&resume_word, epoch);
	errno = saved_errno;
}

int sc_suspend_init(char *err, size_t errlen)
{
	size_t len = SC_MAX_THREADS * (sizeof *slots + sizeof *acked_tids);
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "cannot allocate the thread table: %s", strerror(errno));
		return -1;
	}
	slots = m;
	acked_tids = (int *)(slots + SC_MAX_THREADS);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = suspend_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	sigdelset(&sa.sa_mask, SIGSEGV);
	sigdelset(&sa.sa_mask, SIGBUS);
	sigdelset(&sa.sa_mask, SIGILL);
	sigdelset(&sa.sa_mask, SIGFPE);
	sigdelset(&sa.sa_mask, SIGSYS);
	if (sigaction(sc_rt.suspend_signal, &sa, NULL)) {
		snprintf(err, errlen, "cannot install the suspend handler for signal %d: %s",
			 sc_rt.suspend_signal, strerror(errno));
		return -1;
	}
	return 0;
}

static int was_signaled(const int *tids, int n, int tid)
{
	for (int i = 0; i < n; i++)
		if (tids[i] == tid)
			return 1;
	return 0;
}

int sc_list_tids(int *tids, int max, char *err, size_t errlen)
{
	int dfd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(err, errlen, "cannot list threads: /proc/self/task: %s", strerror(errno));
		return -1;
	}
	char buf[4096];
	int count = 0;
	long n;
	while ((n = sc_sys3(SYS_getdents64, dfd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			off += d->d_reclen;
			int tid = 0;
			for (const char *p = d->d_name; *p >= '0' && *p <= '9'; p++)
				tid = tid * 10 + (*p - '0');
			if (tid <= 0) /* "." and ".." */
				continue;
			if (count >= max) {
				close(dfd);
				snprintf(err, errlen, "more than %d threads", max);
				return -1;
			}
			tids[count++] = tid;
		}
	}
	close(dfd);
	return count;
}

/* Signals every thread listed in /proc/self/task that has not been signaled yet. Returns how
 * many were signaled now, or -1. */
static int signal_new_threads(int *signaled, int *nsignaled, int self, char *err, size_t errlen)
{
	static int tids[SC_MAX_THREADS + 1]; /* only the checkpoint thread runs this */
	int n = sc_list_tids(tids, SC_MAX_THREADS + 1, err, errlen);
	if (n < 0)
		return -1;
	int fresh = 0;
	pid_t pid = getpid();
	for (int i = 0; i < n; i++) {
		int tid = tids[i];
		if (tid == self || was_signaled(signaled, *nsignaled, tid))
			continue;
		if (*nsignaled >= SC_MAX_THREADS) {
			snprintf(err, errlen, "more than %d threads", SC_MAX_THREADS);
			return -1;
		}
		if (sc_sys3(SYS_tgkill, pid, tid, sc_rt.suspend_signal) == 0) {
			signaled[(*nsignaled)++] = tid;
			fresh++;
		}
	}
	return fresh;
}

/* Waits until every signaled thread answered; a thread that exited meanwhile counts as done. */
static int wait_for_answers(const int *signaled, int nsignaled, char *err, size_t errlen)
{
	pid_t pid = getpid();
	for (int round = 0;; round++) {
		int answered = __atomic_load_n(&nacked, __ATOMIC_ACQUIRE);
		int gone = 0;
		if (answered < nsignaled && round % 100 == 99) {
			for (int i = 0; i < nsignaled; i++)
				if (!was_signaled(acked_tids, answered, signaled[i]) &&
				    sc_sys3(SYS_tgkill, pid, signaled[i], 0) == -ESRCH)
					gone++;
		}
		if (answered + gone >= nsignaled)
			return 0;
		if (round >= 30000) { /* 30 s */
			for (int i = 0; i < nsignaled; i++)
				if (!was_signaled(acked_tids, answered, signaled[i])) {
					snprintf(err, errlen,
						 "thread %d does not stop for the checkpoint (is "
						 "signal %d blocked in it?)",
						 signaled[i], sc_rt.suspend_signal);
					break;
				}
			return -1;
		}
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
}

int sc_suspend_all(char *err, size_t errlen)
{
	static int signaled[SC_MAX_THREADS];
	int nsignaled = 0, self = (int)sc_sys0(SYS_gettid);
	__atomic_store_n(&nslots, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&nacked, 0, __ATOMIC_RELEASE);
	/* Threads can create threads until they are stopped: repeat until a round finds none. */
	for (int round = 0; round < 1000; round++) {
		int fresh = signal_new_threads(signaled, &nsignaled, self, err, errlen);
		if (fresh < 0 || wait_for_answers(signaled, nsignaled, err, errlen)) {
			sc_resume_all();
			return -1;
		}
		if (fresh == 0)
			return 0;
	}
	sc_resume_all();
	snprintf(err, errlen, "threads keep appearing; cannot stop them all");
	return -1;
}

void sc_resume_all(void)
{
	__atomic_add_fetch(&resume_word, 1, __ATOMIC_ACQ_REL);
	futex_wake_all(&resume_word);
}

size_t sc_suspended_threads(struct sc_image_thread *out, size_t max)
{
	size_t n = (size_t)__atomic_load_n(&nslots, __ATOMIC_ACQUIRE);
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof out[i]);
		out[i].tid = (uint32_t)slots[i].tid;
		out[i].fs_base = slots[i].fs;
		out[i].clear_child_tid = slots[i].ctid;
		out[i].ctx = slots[i].ctx;
	}
	return n;
}

int sc_thread_new_tid(int old_tid)
{
	int n = __atomic_load_n(&nslots, __ATOMIC_ACQUIRE);
	for (int i = 0; i < n; i++)
		if (slots[i].tid == old_tid && slots[i].ctid)
			return *(volatile int *)slots[i].ctid; /* CLONE_PARENT_SETTID wrote it */
	return -1;
}
