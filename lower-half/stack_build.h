/* The initial process stack for the upper half (argc, argv, envp, auxv and the strings they
 * point to, laid out as the x86-64 kernel does at execve) and the jump that enters it. */
#ifndef SPLITCKPT_STACK_BUILD_H
#define SPLITCKPT_STACK_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "elf_load.h"

struct sc_stack_spec {
	char *const *argv;		   /* at least argv[0] */
	char *const *envp;		   /* may be NULL (empty environment) */
	const struct sc_elf_image *exe;	   /* the program */
	const struct sc_elf_image *interp; /* its interpreter, NULL for a static program */
	const char *execfn;		   /* AT_EXECFN string */
	uint64_t sysinfo_ehdr;		   /* AT_SYSINFO_EHDR to give (0 = omit the entry) */
	const uint64_t *extra_auxv; /* extra (type, value) pairs, 0-terminated, may be NULL; a type
				       already in the vector gets the new value */
};

/* Builds the initial stack at the top of [lo, lo+size) exactly as the kernel does on x86-64
 * (16-byte alignment of the final rsp, argc at rsp) and returns the initial rsp, or 0 with err.
 * The auxiliary vector is the lower half's own (/proc/self/auxv) with the program's values put
 * in, pointers into the lower half's stack replaced by copies, and unknown types dropped.
 * Arguments and environment may use at most a quarter of the stack, as with execve. */
uint64_t sc_stack_build(void *lo, size_t size, const struct sc_stack_spec *spec, char *err,
			size_t errlen);

/* Sets rsp, clears rdx (no rtld_fini) and the other registers, resets the FPU/SSE control
 * state and the direction flag as a fresh process has them, and jumps to entry. */
__attribute__((noreturn)) void sc_enter(uint64_t rsp, uint64_t entry);

#endif
