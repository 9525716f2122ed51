/* The upper half's execve and readlink("/proc/self/exe"), emulated in the SIGSYS handler
 * (see upper_exec.c). Both return the kernel's value: -errno on failure. */
#ifndef SPLITCKPT_UPPER_EXEC_H
#define SPLITCKPT_UPPER_EXEC_H

#include "lh_abi.h"

/* `caller_mask` is the signal mask of the thread that called execve (the SIGSYS handler runs
 * with everything blocked, and the mask survives exec). */
long sc_upper_execve(const struct sc_lh_info *info, const char *path, char *const argv[],
		     char *const envp[], uint64_t caller_mask);
long sc_upper_readlinkat(const struct sc_lh_info *info, long dirfd, const char *path, char *buf,
			 long size);

#endif
