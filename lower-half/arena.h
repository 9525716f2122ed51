/* The upper half's address space, owned by the lower half: the arena reservation, the table of
 * ranges handed to the upper half, and the seccomp trap that routes the upper half's
 * mmap/munmap/mremap/brk into the arena. */
#ifndef SPLITCKPT_ARENA_H
#define SPLITCKPT_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "lh_abi.h"

/* Reserves the whole arena (PROT_NONE, no memory committed) and maps the info block at
 * SC_INFO_ADDR. Returns the info block, or NULL with err set (e.g. the range is taken). */
struct sc_lh_info *sc_arena_init(char *err, size_t errlen);

/* Picks a free, `align`-aligned range of len bytes in the arena and marks it used; returns its
 * address or 0. Used by the ELF loader's placement callback and for the upper stack. */
uint64_t sc_arena_take(uint64_t len, uint64_t align);

/* Marks [start, end) used (restore maps regions back at their saved addresses). Returns 0, or
 * -1 if the range is outside the allocatable part of the arena. */
int sc_arena_claim(uint64_t start, uint64_t end);

/* Records an upper-half mapping outside the arena (a non-PIE executable's segments). */
int sc_arena_add_fixed(uint64_t start, uint64_t end);

/* The info block set up by sc_arena_init. */
struct sc_lh_info *sc_arena_info(void);

/* The upper half's mmap, munmap and mremap, placed in the arena (called by the SIGSYS handler;
 * return the kernel's value, -errno on failure). */
long sc_arena_mmap(uint64_t addr, uint64_t len, long prot, long flags, long fd, long off);
long sc_arena_munmap(uint64_t addr, uint64_t len);
long sc_arena_mremap(uint64_t old, uint64_t oldlen, uint64_t newlen, long flags, uint64_t newaddr);
/* madvise as the kernel does it, recording a range whose pages an advice releases in the info
 * block's log (struct sc_unmap_log); sc_arena_madvise_releases says which advices do. */
long sc_arena_madvise(uint64_t addr, uint64_t len, long advice);
int sc_arena_madvise_releases(long advice);

/* (trap.c) Installs the SIGSYS handler and the seccomp filter. From then on the upper half's
 * mmap-family calls (instruction pointer inside the arena) are placed in the arena, and it
 * cannot move its heap with brk (glibc's malloc then falls back to mmap). Irreversible and
 * inherited by children; harmless after exec because the filter only matches arena IPs. */
int sc_arena_trap_install(char *err, size_t errlen);

#endif
