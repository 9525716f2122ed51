/* Relocation of the kernel's vvar/vdso block into the arena's fixed slot (see vdso.c). */
#ifndef SPLITCKPT_VDSO_H
#define SPLITCKPT_VDSO_H

#include <stddef.h>
#include <stdint.h>

struct sc_vdso_layout {
	uint64_t start, end; /* the whole [vvar..vdso] block, now at SC_VDSO_SLOT */
	uint64_t ehdr;	     /* the vdso's ELF header (AT_SYSINFO_EHDR for the upper half) */
};

/* Moves the block to SC_VDSO_SLOT (the arena must already be reserved) and rebases the lower
 * half's glibc. All zero in *out when the kernel gives no vdso. Returns 0 or -1 with err. */
int sc_vdso_relocate(struct sc_vdso_layout *out, char *err, size_t errlen);

#endif
