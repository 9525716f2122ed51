/* The contract between the lower half (loader/restorer) and the upper half (libsplitckpt):
 * where the arena lies, the info block the lower half publishes at a fixed address, and the
 * saved-thread context layout. Both halves include this header; nothing here may use libc. */
#ifndef SPLITCKPT_LH_ABI_H
#define SPLITCKPT_LH_ABI_H

#include <stdint.h>

/* The arena: every upper-half mapping lies in [SC_ARENA_BASE, SC_ARENA_END). The range is far
 * from where the kernel places PIE binaries (0x55..), mmaps and stacks (0x7f..), so a fresh
 * lower half at restart can never occupy it. Aligned to 2^44 so a seccomp filter can test an
 * instruction pointer with one 32-bit comparison of its high word. */
#define SC_ARENA_BASE 0x100000000000UL
#define SC_ARENA_END 0x200000000000UL
#define SC_ARENA_IP_HI_LO 0x1000U /* (SC_ARENA_BASE >> 32) */
#define SC_ARENA_IP_HI_HI 0x2000U /* (SC_ARENA_END >> 32) */

/* Fixed slots at the bottom of the arena, never handed to the upper half's mmaps. */
#define SC_INFO_ADDR SC_ARENA_BASE		    /* struct sc_lh_info, lower half owned */
#define SC_INFO_SIZE 0x10000UL			    /* 64 KiB */
#define SC_VDSO_SLOT (SC_ARENA_BASE + 0x100000UL)   /* [vvar..vdso] moved here */
#define SC_VDSO_SLOT_SIZE 0x100000UL		    /* 1 MiB reserved for it */
#define SC_ALLOC_BASE (SC_ARENA_BASE + 0x1000000UL) /* upper-half mappings from here up */

/* auxv entry in the upper half's auxiliary vector whose value is SC_INFO_ADDR; its presence
 * tells libsplitckpt that it runs inside a split process. */
#define AT_SPLITCKPT 0x53434b50UL /* 'SCKP' */

#define SC_INFO_F_QUIET 1u   /* no checkpoint/restart lines on stderr */
#define SC_INFO_F_VERBOSE 2u /* every rank: each checkpoint's phases, its image, its node */

#define SC_INFO_MAGIC 0x53434b50494e464fULL /* 'SCKPINFO' */
#define SC_INFO_VERSION 2

/* Registers a thread needs to resume at a point saved by sc_ctx_save (callee-saved set). */
struct sc_ctx {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
};

/* One upper-half address range the lower half has handed out (or that the loader mapped). */
struct sc_lh_range {
	uint64_t start, end;
};

/* Upper-half address ranges whose pages were released (munmap, mremap's old range, a MAP_FIXED
 * mmap over a mapping, madvise DONTNEED/FREE/REMOVE), kept for the MPI library's registration
 * caches: those hook the lower half's libc, which the upper half's trapped calls never reach.
 * Writers: the SIGSYS handler (arena.c), serialized by ranges_lock. Ticket t is written to
 * slot[t % SC_UNMAP_LOG_SIZE], then `seq` becomes t + 1 (release). Readers take no lock: a
 * slot read is valid if `seq` read after it (acquire) is still < t + SC_UNMAP_LOG_SIZE; a reader
 * that fell further behind (overflow) reports the whole arena and [out_lo, out_hi) instead.
 * `flushed`: every ticket below it has been reported (the MPI lower half, lh_unmaps.c, advances
 * it only after reporting), so the upper half's per-call check is seq != flushed. */
#define SC_UNMAP_LOG_SIZE 64 /* a power of two */
#define SC_UPPER_FDS 65536   /* descriptors tracked for the upper half (beyond: all its) */
struct sc_unmap_log {
	uint64_t seq;
	uint64_t flushed;
	uint64_t out_lo, out_hi; /* envelope of released ranges outside the arena (0, 0: none) */
	uint64_t dbg;		 /* struct sc_unmap_dbg * with SPLITCKPT_DEBUG_UNMAPS=1, else 0 */
	uint64_t pad[3];	 /* slot[] starts on the next cache line */
	struct sc_lh_range slot[SC_UNMAP_LOG_SIZE];
};

/* SPLITCKPT_DEBUG_UNMAPS=1 (tests): the UCX VM_UNMAPPED events the MPI lower half's own ucm
 * handler received for addresses in the arena, the last SC_UNMAP_DBG_SIZE of them by range. */
#define SC_UNMAP_DBG_SIZE 1024
struct sc_unmap_dbg {
	uint64_t events; /* total; event i is in last[i % SC_UNMAP_DBG_SIZE] */
	uint64_t bytes;
	struct sc_lh_range last[SC_UNMAP_DBG_SIZE];
};

/* Published by the lower half at SC_INFO_ADDR before it enters the upper half, and rewritten
 * at every restart. The upper half reads it without calling into the lower half. */
struct sc_lh_info {
	uint64_t magic;
	uint32_t version;
	uint32_t restarted;	/* 0 at launch, 1 after a restart */
	uint64_t restart_count; /* incremented at every restart */
	uint64_t restored_generation;
	/* The allocator's table of upper-half ranges (lower-half memory, not saved by address). */
	volatile uint32_t ranges_lock; /* spinlock; held only inside the SIGSYS handler */
	uint32_t nranges;
	uint64_t ranges_addr; /* struct sc_lh_range[nranges], sorted, non-overlapping */
	uint64_t ranges_capacity;
	/* Upper-half mappings outside the arena (a non-PIE executable's segments). */
	uint32_t nfixed;
	uint32_t flags; /* SC_INFO_F_* */
	struct sc_lh_range fixed[16];
	uint64_t vdso_start, vdso_end; /* where [vvar..vdso] is now (inside SC_VDSO_SLOT) */
	/* Where the restart came from and who coordinates this job now (NUL-terminated). */
	char image_path[1024];
	char coord_host[256];
	uint32_t coord_port;
	uint32_t rank, nranks;
	int32_t rank_pid;	/* the rank's process; its forked children exec natively */
	int32_t suspend_signal; /* set by libsplitckpt: the upper half may never block it */
	int32_t end_signal;	/* --on-signal: asks for a checkpoint that ends the job (0: none) */
	char secret[72];
	char ckptdir[1024];
	/* The upper half's program, as /proc/self/exe should name it (the upper half keeps a
	 * copy and writes it back after a restart). */
	char exe_path[1024];
	/* The runtime library and lower-half binary, for re-launching on an upper-half execve. */
	char runtime_path[1024];
	char lh_path[1024];
	/* Descriptors above 2 the program inherited at launch (pipes from a job script, a make
	 * jobserver...): like stdin/stdout/stderr they are the environment's, not the program's,
	 * so a checkpoint neither saves nor refuses them. */
	uint32_t ninherited;
	uint32_t pad1;
	struct {
		int32_t fd;
		uint32_t pad;
		uint64_t dev, ino;
	} inherited[64];
	/* Filled by the lower half at restart: the checkpoint thread resumes here. */
	uint64_t ckpt_thread_fs;
	struct sc_ctx ckpt_thread_ctx;
	/* Filled by an MPI lower half (lower-half/mpi/lh_mpi.c) before it enters or restores the
	 * upper half; all zero in the serial one. The addresses are the lower half's and valid for
	 * this instance only: the upper half rebinds when mpi_instance changes (at restart). */
	uint64_t mpi_instance;	   /* nonzero, different in every lower-half instance */
	uint64_t mpi_table;	   /* const struct sc_mpi_table * (wrappers/gen.py) */
	uint64_t mpi_main_fs;	   /* FS base of the lower main thread: the process's main thread */
	uint64_t mpi_tls_service;  /* struct sc_tls_service *: TLS for other upper threads */
	int64_t mpi_tls_upper_off; /* lower FS base + this = slot for the upper FS (callbacks) */
	/* In an MPI split process the MPI library opens descriptors of its own (PMI and UCX
	 * sockets, pipes, shared-memory files) in the same table as the application's: the
	 * SIGSYS handler tracks every descriptor the upper half creates or closes (trap.c), and
	 * only those are the program's to save. fd_tracking is 0 in the serial lower half, where
	 * every descriptor is the program's. */
	uint32_t fd_tracking;
	/* Set by the upper half once a restart is complete (MPI restarted, coordinator
	 * reached): the lower half's restart watch stops (mpi/lh_restart_watch.c). */
	uint32_t restart_done;
	uint64_t upper_fds[SC_UPPER_FDS / 64]; /* bit fd: the upper half created fd */
	/* On a cache line of its own: read at every MPI call, written only on releases. */
	struct sc_unmap_log unmaps __attribute__((aligned(64)));
};

#endif
