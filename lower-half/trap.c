/* The seccomp trap between the halves: a filter raises SIGSYS for the upper half's
 * mmap-family, page-releasing madvise, signal-mask, sigaction, execve and readlink calls (only
 * for instruction pointers inside the arena, so the lower half and programs exec'ed later are
 * never trapped), and the handler emulates them: memory goes to the arena and releases to a log
 * for the MPI library (arena.c), exec relaunches through a lower half (upper_exec.c). It runs
 * with the upper half's FS base: raw system calls, no TLS. */
#define _GNU_SOURCE
#include "arena.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>

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

static long upper_sigaction(long sig, const uint64_t *act, uint64_t *old, long size)
{
	/* kernel struct sigaction: handler, flags, restorer, mask */
	if (sig == SIGSYS) {
		if (old)
			for (int i = 0; i < 4; i++)
				old[i] = 0;
		return 0;
	}
	if (!act || size != 8)
		return sc_sys4(SYS_rt_sigaction, sig, act, old, size);
	uint64_t a[4] = {act[0], act[1], act[2], act[3] & ~SIGSYS_BIT};
	return sc_sys4(SYS_rt_sigaction, sig, a, old, size);
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
		/* Report the current break and never move it: glibc's malloc then uses mmap, which
		 * lands in the arena; the lower half's brk heap stays the lower half's. The upper
		 * half never shrinks a heap with brk either: nothing for the unmap log. */
		r = sc_sys1(SYS_brk, 0);
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
		r = sc_sys6(si->si_syscall, a1, a2, a3, a4, a5, a6);
		break;
	}
	g[REG_RAX] = r;
}

int sc_arena_trap_install(char *err, size_t errlen)
{
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
	struct sock_filter f[16 + NT + NA];
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
	/* after the NR load: NT times "jeq nr -> TRAP", "jne madvise -> ALLOW", the advice load,
	 * NA times "jeq advice -> TRAP", then ALLOW, then TRAP */
	for (size_t i = 0; i < NT; i++)
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, trapped[i],
						      (uint8_t)(NT - i + 2 + NA), 0);
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
