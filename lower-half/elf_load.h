/* Mapping an ELF executable (the upper half's program or its interpreter) the way the kernel's
 * binfmt_elf does, so the lower half can act as the kernel loader for the upper half. The file
 * is untrusted input: every header field is checked before it is used. */
#ifndef SPLITCKPT_ELF_LOAD_H
#define SPLITCKPT_ELF_LOAD_H

#include <stddef.h>
#include <stdint.h>

struct sc_elf_image {
	uint64_t base;	/* load bias (0 for ET_EXEC) */
	uint64_t entry; /* e_entry + base */
	uint64_t phdr;	/* address of the program headers in memory (for AT_PHDR), 0 if unmapped */
	uint32_t phent, phnum;
	uint64_t lo, hi;  /* page-aligned span of all PT_LOAD segments as mapped */
	int is_pie;	  /* ET_DYN */
	int exec_stack;	  /* PT_GNU_STACK asks for an executable stack (PF_X) */
	char interp[256]; /* PT_INTERP path, "" for a static executable */
};

/* Chooses where a position-independent image of `len` bytes goes: returns a page-aligned
 * address where the caller guarantees [addr, addr+len) may be mapped with MAP_FIXED, or 0. The
 * address must be a multiple of `align` (a power of two >= the page size). */
typedef uint64_t (*sc_place_fn)(uint64_t len, uint64_t align, void *arg);

/* Maps the ELF file at `path`: ET_DYN at an address chosen by `place`, ET_EXEC at its own
 * addresses (never over an existing mapping). All of [lo, hi) belongs to the image afterwards:
 * holes between segments stay reserved PROT_NONE. Returns 0, or -1 with a message naming the
 * file in `err`; on failure nothing of the image stays mapped (a range obtained from `place` is
 * given back as it was: unmapped, or an inaccessible reservation if something was there). */
int sc_elf_map(const char *path, sc_place_fn place, void *arg, struct sc_elf_image *out, char *err,
	       size_t errlen);

#endif
