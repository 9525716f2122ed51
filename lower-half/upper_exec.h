/* The upper half's execve and readlink("/proc/self/exe"), emulated in the SIGSYS handler
 * (see upper_exec.c). Both return the kernel's value: -errno on failure. */
#ifndef SPLITCKPT_UPPER_EXEC_H
#define SPLITCKPT_UPPER_EXEC_H

#include "lh_abi.h"

long sc_upper_execve(const struct sc_lh_info *info, const char *path, char *const argv[],
		     char *const envp[]);
long sc_upper_readlinkat(const struct sc_lh_info *info, long dirfd, const char *path, char *buf,
			 long size);

#endif
