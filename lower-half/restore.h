/* Restart of an upper half from its image (see restore.c). */
#ifndef SPLITCKPT_RESTORE_H
#define SPLITCKPT_RESTORE_H

#include <stddef.h>

#include "../upper-half/image.h"
#include "lh_abi.h"

/* Checks the vdso block matches the image's and maps every region back with its contents and
 * protection. The arena and the vdso slot must be set up. Returns 0 or -1 with err. */
int sc_restore_memory(struct sc_image *img, const struct sc_lh_info *info, char *err,
		      size_t errlen);

/* Recreates every saved thread but the checkpoint thread, then continues the checkpoint
 * thread's saved context on the calling thread. The seccomp trap must be installed. */
void sc_restore_threads_and_jump(const struct sc_image_thread *threads, size_t n, int have_fsgsbase)
    __attribute__((noreturn));

#endif
