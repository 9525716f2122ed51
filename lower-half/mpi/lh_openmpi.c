/* Open MPI settings of the Open MPI lower half, applied before anything can call MPI_Init:
 * MCA parameters (through the environment, which Open MPI reads at MPI_Init) that switch off
 * what interferes with two programs sharing one process. A user's own value is kept. */
#define _GNU_SOURCE
#include <stdlib.h>

/* A constructor of the lower-half program: it runs in the lower half only, before main and
 * long before the application's MPI_Init crosses into this half. */
__attribute__((constructor)) static void lh_openmpi_defaults(void)
{
	/* The memory patcher rewrites mmap/munmap/madvise/brk entry points so that registration
	 * caches (openib, ucx) see unmaps. The upper half routes its mmaps through the arena
	 * allocator and must not find libc patched behind it; vader/tcp need no registration cache.
	 */
	setenv("OMPI_MCA_memory", "^patcher", 0);
	/* Open MPI installs SIGABRT/SIGBUS/SIGFPE/SIGSEGV handlers that print a backtrace. Signals
	 * are process-wide: such a handler would also run for faults of the upper half, on the
	 * upper half's TLS, and replace the application's own handlers. Empty: install none. */
	setenv("OMPI_MCA_opal_signal", "", 0);
}
