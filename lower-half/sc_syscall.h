/* Raw system calls for code that must not touch libc state: the SIGSYS handler (runs with the
 * upper half's TLS installed, so glibc's errno would land in the wrong TLS), and the restore
 * path after the FS base has been switched. Return the kernel's value: -errno on failure. */
#ifndef SPLITCKPT_SC_SYSCALL_H
#define SPLITCKPT_SC_SYSCALL_H

#include <stdint.h>

static inline long sc_sys6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	long ret;
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define sc_sys0(nr) sc_sys6((nr), 0, 0, 0, 0, 0, 0)
#define sc_sys1(nr, a) sc_sys6((nr), (long)(a), 0, 0, 0, 0, 0)
#define sc_sys2(nr, a, b) sc_sys6((nr), (long)(a), (long)(b), 0, 0, 0, 0)
#define sc_sys3(nr, a, b, c) sc_sys6((nr), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sc_sys4(nr, a, b, c, d) sc_sys6((nr), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sc_sys5(nr, a, b, c, d, e)                                                                 \
	sc_sys6((nr), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/* FS base access: wrfsbase/rdfsbase when the kernel enabled FSGSBASE (AT_HWCAP2 bit 1),
 * else arch_prctl. `have_fsgsbase` is decided once at startup by the caller. */
static inline uint64_t sc_get_fs(int have_fsgsbase)
{
	uint64_t fs = 0;
	if (have_fsgsbase)
		__asm__ volatile("rdfsbase %0" : "=r"(fs));
	else
		sc_sys2(158 /* arch_prctl */, 0x1003 /* ARCH_GET_FS */, &fs);
	return fs;
}

static inline void sc_set_fs(int have_fsgsbase, uint64_t fs)
{
	if (have_fsgsbase)
		__asm__ volatile("wrfsbase %0" ::"r"(fs) : "memory");
	else
		sc_sys2(158 /* arch_prctl */, 0x1002 /* ARCH_SET_FS */, fs);
}

#endif
