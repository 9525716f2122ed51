/* The seccomp trap between the halves: a filter raises SIGSYS for the upper half's
 * mmap-family, page-releasing madvise, signal-mask, sigaction, execve and readlink calls (only
 * for instruction pointers inside the arena, so the lower half and programs exec'ed later are
 * never trapped), and the handler emulates them: memory goes to the arena and releases to a log
 * for the MPI library (arena.c), exec relaunches through a lower half (upper_exec.c). It runs
 * with the upper half's FS base: raw system calls, no TLS. In an MPI split process the upper
 * half's signal handlers are installed behind a trampoline that gives them the upper TLS. */
#define _GNU_SOURCE
#include "arena.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>

#include "lh_abi.h"
#include "sc_syscall.h"
#include "upper_exec.h"

/* SIGSYS must never be blocked in a thread that runs upper-half code: the kernel resets the
 * handler of a blocked forced signal to SIG_DFL and the process dies. So the upper half's
 * masks (sigprocmask, and the masks of its signal handlers) never include SIGSYS, and it cannot
 * install its own SIGSYS handler (we pretend it worked). Its thread masks never block the
 * checkpoint's suspend signal either: threads that block everything (glibc's timer helper,
 * many worker pools) must still stop for a checkpoint. */
#define SIGSYS_BIT (1ULL << (SIGSYS - 1))

/* The thread's mask lives in the signal frame while we emulate: sigreturn installs uc_sigmask,
 * so changing the real mask here would be undone. Apply the call to the frame's copy. */
static long upper_sigprocmask(ucontext_t *uc, long how, const uint64_t *set, uint64_t *old,
			      long size)
{
	if (size != 8)
		return -EINVAL;
	uint64_t *mask = (uint64_t *)&uc->uc_sigmask;
	uint64_t cur = *mask, req = set ? *set : 0;
	if (set) {
		if (how == SIG_BLOCK)
			cur |= req;
		else if (how == SIG_UNBLOCK)
			cur &= ~req;
		else if (how == SIG_SETMASK)
			cur = req;
		else
			return -EINVAL;
	}
	if (old)
		*old = *mask;
	uint64_t never = SIGSYS_BIT | (1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1));
	int susp = sc_arena_info()->suspend_signal;
	if (susp > 0 && susp <= 64)
		never |= 1ULL << (susp - 1);
	*mask = cur & ~never;
	return 0;
}

/* ---- the upper half's signal handlers in an MPI split process -----------------------------
 * A thread of the upper half spends most of an MPI-heavy run inside the lower half, with the FS
 * base of a lower-half TLS block (mpi_crossing.h, SC_MPI_CALL); a signal arriving then would
 * run the application's handler on the wrong TLS (errno, __thread variables and the
 * stack-protector canary of the lower libc). So the kernel gets a trampoline of ours instead
 * of each real handler, and we keep the application's handler per signal. The trampoline
 * switches to the thread's upper TLS (the slot at mpi_tls_upper_off, written when the thread
 * bound) for the handler's duration. It is lower-half code (not trapped) and runs with either
 * TLS: raw system calls, no TLS access besides that slot, built without stack protector. */
static int tramp_fsgsbase; /* decided at install time, read by the trampoline */

/* The application's last disposition per signal (handler and flags) as it set it. The kernel
 * stays the authority on whether a handler is installed: the record is reported only while the
 * kernel's disposition is the trampoline. SA_RESETHAND: the kernel resets its disposition to
 * SIG_DFL at delivery (the trampoline still runs once, with the record); from then on queries
 * see SIG_DFL and deliveries never reach the trampoline, so the record counts as reset too, and
 * the next sigaction replaces it. */
static struct {
	uint64_t handler, flags;
} app_sa[65];

static int sync_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGTRAP;
}

/* A signal reached a thread that exists only in the lower half (MPI's progress threads, the
 * TLS donor's threads): it has no upper TLS, and application code must never run on it. Such
 * threads are born with the application's signals blocked (lower-half/mpi/lh_mpi.c), but not
 * all of them: the donor's service thread started at a restart cannot know the suspend signal
 * and leaves every real-time signal open; a thread an MPI library starts after MPI_Init inherits
 * the application thread's mask. */
static void not_for_this_thread(int sig, siginfo_t *si, ucontext_t *uc)
{
	/* Sent to this very thread: the lower half's own business, not the program's. */
	if (si->si_code == SI_TKILL)
		return;
	if (si->si_code > 0 && sync_signal(sig)) {
		/* A fault of lower-half code: as with no handler, the default action (the faulting
		 * instruction runs again after we return and the process dies with the signal). */
		uint64_t dfl[4] = {0, 0, 0, 0};
		sc_sys4(SYS_rt_sigaction, sig, dfl, 0, 8);
		return;
	}
	/* From now on this thread blocks the signal (sigreturn installs the frame's mask), so
	 * the kernel picks an application thread next time. */
	*(uint64_t *)&uc->uc_sigmask |= 1ULL << (sig - 1);
	/* Process-directed (kill, a timer, a job script's signal): the kernel gave it to us because
	 * the thread it tries first, the main thread, had another signal pending or the signal
	 * blocked. Hand it to the main thread: it always is an application thread, and a
	 * thread-directed signal cannot bounce back here, as kill() again could. With its siginfo
	 * when the kernel lets a thread queue it to another (si_code < 0: sigqueue, timers, I/O;
	 * a POSIX timer's requeue cookie cleared so the timer is not re-armed twice), else by
	 * tgkill (kill's SI_USER, the kernel's SI_KERNEL become SI_TKILL). If the main thread
	 * blocks the signal, it waits there rather than in another application thread. */
	long pid = sc_sys0(SYS_getpid);
	if (sc_sys0(SYS_gettid) == pid)
		return;
	if (si->si_code < 0) {
		siginfo_t q = *si;
		/* the kernel's _sys_private: the int after si_value, at offset 32 */
		if (q.si_code == SI_TIMER)
			((int *)&q)[8] = 0;
		if (sc_sys4(SYS_rt_tgsigqueueinfo, pid, pid, sig, &q) == 0)
			return;
	}
	sc_sys3(SYS_tgkill, pid, pid, sig);
}

static void upper_handler_tramp(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	if (sig <= 0 || sig > 64)
		return;
	uint64_t h = __atomic_load_n(&app_sa[sig].handler, __ATOMIC_ACQUIRE);
	uint64_t flags = __atomic_load_n(&app_sa[sig].flags, __ATOMIC_RELAXED);
	if (h <= 1) /* SIG_DFL or SIG_IGN set while this delivery was under way */
		return;
	const volatile struct sc_lh_info *info = (const volatile struct sc_lh_info *)SC_INFO_ADDR;
	uint64_t fs = sc_get_fs(tramp_fsgsbase), ufs = 0;
	int on_lower = fs < SC_ARENA_BASE || fs >= SC_ARENA_END; /* upper TCBs are arena memory */
	if (on_lower) {
		int64_t off = info->mpi_tls_upper_off;
		if (off)
			ufs = *(volatile uint64_t *)(uintptr_t)(fs + (uint64_t)off);
		if (!ufs) {
			not_for_this_thread(sig, si, uc);
			return;
		}
		/* The thread was interrupted inside the lower half. The checkpoint must not suspend
		 * it in the handler: the saved stack would return into this instance's lower half,
		 * gone after a restart. Blocked until the handler returns (sigreturn then restores
		 * the interrupted mask, and the suspend handler finds the lower TLS: not ours). */
		int susp = info->suspend_signal;
		if (susp > 0 && susp <= 64) {
			uint64_t set = 1ULL << (susp - 1);
			sc_sys4(SYS_rt_sigprocmask, SIG_BLOCK, &set, 0, 8);
		}
		sc_set_fs(tramp_fsgsbase, ufs);
	}
	if (flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))(uintptr_t)h)(sig, si, uc);
	else
		((void (*)(int))(uintptr_t)h)(sig);
	if (on_lower)
		sc_set_fs(tramp_fsgsbase, fs);
}

/* Whether signal `sig` gets the trampoline: only with an MPI lower half (the serial one never
 * runs upper threads on a lower TLS), and never for our suspend signal, whose handler must see
 * the lower TLS to leave threads inside the lower half alone (upper-half/suspend.c). */
static int wrapped(long sig)
{
	const struct sc_lh_info *info = sc_arena_info();
	return info->mpi_tls_upper_off != 0 && sig > 0 && sig <= 64 && sig != info->suspend_signal;
}

static long upper_sigaction(long sig, const uint64_t *act, uint64_t *old, long size)
{
	/* kernel struct sigaction: handler, flags, restorer, mask */
	if (sig == SIGSYS) {
		if (old)
			for (int i = 0; i < 4; i++)
				old[i] = 0;
		return 0;
	}
	if (size != 8)
		return sc_sys4(SYS_rt_sigaction, sig, act, old, size);
	int wrap = wrapped(sig);
	/* What the application set before, for `old` (read before a new record replaces it). */
	uint64_t prev_h = 0, prev_f = 0;
	if (wrap) {
		prev_h = __atomic_load_n(&app_sa[sig].handler, __ATOMIC_ACQUIRE);
		prev_f = __atomic_load_n(&app_sa[sig].flags, __ATOMIC_RELAXED);
	}
	long r;
	if (!act) {
		r = sc_sys4(SYS_rt_sigaction, sig, 0, old, size);
	} else {
		uint64_t a[4] = {act[0], act[1], act[2], act[3] & ~SIGSYS_BIT};
		if (wrap) {
			/* Recorded first: a delivery racing with the change finds the handler. */
			__atomic_store_n(&app_sa[sig].flags, act[1], __ATOMIC_RELAXED);
			__atomic_store_n(&app_sa[sig].handler, act[0], __ATOMIC_RELEASE);
		}
		if (wrap && act[0] > 1) { /* a real handler, not SIG_DFL or SIG_IGN */
			/* Same flags (SA_RESTART, SA_ONSTACK, SA_NODEFER, SA_RESETHAND act on the
			 * trampoline as on the handler), mask and restorer (the application libc's,
			 * returning through rt_sigreturn, untrapped). The trampoline takes the
			 * siginfo form and calls the handler in the form the application chose. */
			a[0] = (uint64_t)(uintptr_t)upper_handler_tramp;
			a[1] |= SA_SIGINFO;
		}
		r = sc_sys4(SYS_rt_sigaction, sig, a, old, size);
		if (r && wrap) { /* refused (SIGKILL, SIGSTOP): the old record stands */
			__atomic_store_n(&app_sa[sig].flags, prev_f, __ATOMIC_RELAXED);
			__atomic_store_n(&app_sa[sig].handler, prev_h, __ATOMIC_RELEASE);
		}
	}
	if (r || !old || !wrap)
		return r;
	/* Report what the application set: the trampoline is ours (the mask and restorer were
	 * passed through as they were); after an SA_RESETHAND reset the kernel kept our flags. */
	if (old[0] == (uint64_t)(uintptr_t)upper_handler_tramp) {
		old[0] = prev_h;
		old[1] = prev_f;
	} else if (old[0] == 0 && prev_h > 1 && (prev_f & SA_RESETHAND)) {
		old[1] = prev_f;
	}
	return r;
}

/* ---- descriptors of the upper half (MPI split processes: sc_lh_info.fd_tracking) ------- */

static void fd_mark(long fd, int upper)
{
	if (fd < 0 || fd >= SC_UPPER_FDS)
		return;
	uint64_t *w = &sc_arena_info()->upper_fds[fd / 64], bit = 1ULL << (fd % 64);
	if (upper)
		__atomic_fetch_or(w, bit, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(w, ~bit, __ATOMIC_RELAXED);
}

/* Runs a descriptor-creating or -closing system call of the upper half and records which
 * descriptors it now owns. */
static long fd_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	long r = sc_sys6(nr, a1, a2, a3, a4, a5, a6);
	switch (nr) {
	case SYS_close:
		if (r == 0 || r == -EINTR) /* closed either way */
			fd_mark(a1, 0);
		break;
	case SYS_close_range:
		if (r == 0 && !(a3 & CLOSE_RANGE_CLOEXEC))
			for (long fd = a1; fd <= a2 && fd < SC_UPPER_FDS; fd++)
				fd_mark(fd, 0);
		break;
	case SYS_pipe:
	case SYS_pipe2:
		if (r == 0) {
			fd_mark(((int *)a1)[0], 1);
			fd_mark(((int *)a1)[1], 1);
		}
		break;
	case SYS_socketpair:
		if (r == 0) {
			fd_mark(((int *)a4)[0], 1);
			fd_mark(((int *)a4)[1], 1);
		}
		break;
	case SYS_fcntl:
		if (a2 == F_DUPFD || a2 == F_DUPFD_CLOEXEC)
			fd_mark(r, 1);
		break;
	default:
		fd_mark(r, 1); /* the call returns the new descriptor */
		break;
	}
	return r;
}

static const int fd_calls[] = {SYS_open,
			       SYS_openat,
			       SYS_openat2,
			       SYS_creat,
			       SYS_close,
			       SYS_close_range,
			       SYS_dup,
			       SYS_dup2,
			       SYS_dup3,
			       SYS_fcntl,
			       SYS_socket,
			       SYS_socketpair,
			       SYS_accept,
			       SYS_accept4,
			       SYS_pipe,
			       SYS_pipe2,
			       SYS_eventfd,
			       SYS_eventfd2,
			       SYS_epoll_create,
			       SYS_epoll_create1,
			       SYS_timerfd_create,
			       SYS_signalfd,
			       SYS_signalfd4,
			       SYS_inotify_init,
			       SYS_inotify_init1,
			       SYS_memfd_create,
			       SYS_pidfd_open,
			       SYS_userfaultfd,
			       SYS_open_by_handle_at};
enum { NFD = sizeof fd_calls / sizeof fd_calls[0] };

static int is_fd_call(long nr)
{
	for (size_t i = 0; i < NFD; i++)
		if (fd_calls[i] == nr)
			return 1;
	return 0;
}

static void sigsys_handler(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	long a1 = g[REG_RDI], a2 = g[REG_RSI], a3 = g[REG_RDX], a4 = g[REG_R10], a5 = g[REG_R8],
	     a6 = g[REG_R9];
	long r;
	switch (si->si_syscall) {
	case SYS_mmap:
		r = sc_arena_mmap(a1, a2, a3, a4, a5, a6);
		break;
	case SYS_munmap:
		r = sc_arena_munmap(a1, a2);
		break;
	case SYS_mremap:
		r = sc_arena_mremap(a1, a2, a3, a4, a5);
		break;
	case SYS_madvise: /* only the advices that release pages reach here */
		r = sc_arena_madvise(a1, a2, a3);
		break;
	case SYS_brk:
		/* Never move the break, and answer 0: below any address asked for, so every brk
		 * of the upper half fails (glibc's malloc then uses mmap, which lands in the
		 * arena) and the process's brk heap stays the lower half's. Answering the real
		 * break was wrong twice over: once the lower half's malloc had grown it past the
		 * address an upper sbrk asked for, that sbrk "succeeded" with lower-half memory
		 * no image saves; and a restored libc whose cached break is the old process's
		 * succeeded whenever the new process's break lay higher (ASLR), then wrote to
		 * unmapped memory. glibc's sbrk(0) reports NULL. Nothing for the unmap log. */
		r = 0;
		break;
	case SYS_execve:
		r = sc_upper_execve(sc_arena_info(), (const char *)a1, (char *const *)a2,
				    (char *const *)a3, *(uint64_t *)&uc->uc_sigmask);
		break;
	case SYS_execveat:
		/* Only the forms that name a file the way execve does can be relaunched. */
		if ((a1 == AT_FDCWD || (a2 && *(const char *)a2 == '/')) && !(a5 & AT_EMPTY_PATH))
			r = sc_upper_execve(sc_arena_info(), (const char *)a2, (char *const *)a3,
					    (char *const *)a4, *(uint64_t *)&uc->uc_sigmask);
		else
			r = sc_sys5(SYS_execveat, a1, a2, a3, a4, a5);
		break;
	case SYS_readlink:
		r = sc_upper_readlinkat(sc_arena_info(), AT_FDCWD, (const char *)a1, (char *)a2,
					a3);
		break;
	case SYS_readlinkat:
		r = sc_upper_readlinkat(sc_arena_info(), a1, (const char *)a2, (char *)a3, a4);
		break;
	case SYS_rt_sigaction:
		r = upper_sigaction(a1, (const uint64_t *)a2, (uint64_t *)a3, a4);
		break;
	case SYS_rt_sigprocmask:
		r = upper_sigprocmask(uc, a1, (const uint64_t *)a2, (uint64_t *)a3, a4);
		break;
	default:
		if (is_fd_call(si->si_syscall))
			r = fd_syscall(si->si_syscall, a1, a2, a3, a4, a5, a6);
		else
			r = sc_sys6(si->si_syscall, a1, a2, a3, a4, a5, a6);
		break;
	}
	g[REG_RAX] = r;
}

int sc_arena_trap_install(char *err, size_t errlen)
{
	tramp_fsgsbase = (getauxval(AT_HWCAP2) & 2) != 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	/* Block everything while emulating so a checkpoint signal can never suspend a thread that
	 * holds the table lock. */
	sigfillset(&sa.sa_mask);
	sigset_t sys;
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	if (sigaction(SIGSYS, &sa, NULL) || sigprocmask(SIG_UNBLOCK, &sys, NULL)) {
		snprintf(err, errlen, "cannot install the SIGSYS handler: %s", strerror(errno));
		return -1;
	}
	enum {
		IP_HI = offsetof(struct seccomp_data, instruction_pointer) + 4,
		NR = offsetof(struct seccomp_data, nr),
		ARCH = offsetof(struct seccomp_data, arch),
		ADVICE = offsetof(struct seccomp_data, args[2]), /* an int: the low word */
	};
	/* System calls of the upper half that are emulated. */
	static const int trapped[] = {
	    SYS_mmap,	  SYS_munmap,	SYS_mremap,	SYS_brk,	  SYS_execve,
	    SYS_execveat, SYS_readlink, SYS_readlinkat, SYS_rt_sigaction, SYS_rt_sigprocmask};
	enum { NT = sizeof trapped / sizeof trapped[0] };
	/* madvise only with the advices that release pages (the MPI library's registration caches
	 * must hear of those, arena.c): glibc's thread arenas shrink with MADV_DONTNEED, other
	 * allocators use MADV_FREE. Every other advice stays untrapped and free. */
	static const int released[] = {MADV_DONTNEED, MADV_FREE, MADV_REMOVE, MADV_DONTNEED_LOCKED};
	enum { NA = sizeof released / sizeof released[0] };
	/* An MPI split process also traps the upper half's descriptor calls (fd_syscall). */
	const size_t nfd = sc_arena_info()->fd_tracking ? NFD : 0;
	struct sock_filter f[16 + NT + NFD + NA];
	size_t n = 0;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARCH);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	/* only instruction pointers inside the arena (the upper half) are considered */
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, IP_HI);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, SC_ARENA_IP_HI_LO, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, SC_ARENA_IP_HI_HI, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR);
	/* after the NR load: NT + nfd times "jeq nr -> TRAP", "jne madvise -> ALLOW", the advice
	 * load, NA times "jeq advice -> TRAP", then ALLOW, then TRAP */
	for (size_t i = 0; i < NT; i++)
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, trapped[i],
						      (uint8_t)(NT - i + nfd + 2 + NA), 0);
	for (size_t i = 0; i < nfd; i++)
		f[n++] =
		    (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)fd_calls[i],
						 (uint8_t)(nfd - i + 2 + NA), 0);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_madvise, 0,
					      (uint8_t)(1 + NA));
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ADVICE);
	for (size_t i = 0; i < NA; i++)
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						      (uint32_t)released[i], (uint8_t)(NA - i), 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
	struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		snprintf(err, errlen, "cannot install the seccomp filter: %s", strerror(errno));
		return -1;
	}
	return 0;
}
