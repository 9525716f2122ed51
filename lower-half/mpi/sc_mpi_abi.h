/* The MPI crossing's contract between the halves, besides the generated function table
 * (sc_mpi_table.h): the MPI standard ABI's status layout and the few ABI constants the lower
 * half converts by hand, the special return codes, and the hand-written service entries.
 * Both halves include it; it uses no MPI header (each half has its own, incompatible one). */
#ifndef SPLITCKPT_SC_MPI_ABI_H
#define SPLITCKPT_SC_MPI_ABI_H

#include <stdint.h>

/* MPI_Status of the standard ABI. The implementation's own status is kept, bit for bit, in
 * internal[] so that MPI_Get_count/MPI_Test_cancelled on a returned status work (MPICH's is 20
 * bytes: count_lo, count_hi_and_cancelled, source, tag, error; only the first two are needed). */
struct sc_abi_status {
	int source, tag, error;
	int internal[5];
};

/* ABI constants converted by the lower half (checked against mpi.h by the upper half). */
#define SC_ABI_ANY_SOURCE (-1)
#define SC_ABI_ANY_TAG (-2)
#define SC_ABI_PROC_NULL (-3)
#define SC_ABI_ROOT (-4)
#define SC_ABI_UNDEFINED (-32766)
#define SC_ABI_CART 211 /* MPI_Topo_test's answers */
#define SC_ABI_GRAPH 212
#define SC_ABI_DIST_GRAPH 213
#define SC_ABI_IN_PLACE ((void *)1)
#define SC_ABI_THREAD_SINGLE 0
#define SC_ABI_THREAD_FUNNELED 1024
#define SC_ABI_THREAD_SERIALIZED 2048
#define SC_ABI_THREAD_MULTIPLE 4096
#define SC_ABI_ERR_IN_STATUS 19
#define SC_ABI_ERR_OTHER 16
#define SC_ABI_ERR_INTERN 17
#define SC_ABI_ERR_NO_MEM 39
#define SC_ABI_ERR_UNSUPPORTED_OPERATION 55
#define SC_ABI_ERR_LASTCODE 0x3fff

/* Error codes an implementation returns that are not plain classes cross as
 * SC_ABI_ERRCODE_BASE + slot of a ring in the lower half that remembers the original code
 * (for MPI_Error_string/MPI_Error_class); the ring holds the last SC_ERRCODE_RING codes. */
#define SC_ABI_ERRCODE_BASE 0x10000
#define SC_ERRCODE_RING 1024

/* The classes and codes an application adds (MPI_Add_error_class/code) are
 * SC_ABI_USERCODE_BASE + the order in which it added them, at most SC_USERCODE_MAX. */
#define SC_ABI_USERCODE_BASE (SC_ABI_ERR_LASTCODE + 1)
#define SC_USERCODE_MAX 4096

/* Return codes of table functions that are not MPI errors (never seen by applications). */
#define SC_MPI_PENDING 0x7ffffff0  /* the time slice ended before completion: call again */
#define SC_MPI_E_UNIMPL 0x7ffffff1 /* this lower half does not implement the function */
#define SC_MPI_E_NOMEM 0x7ffffff2  /* the crossing could not allocate a temporary array */
#define SC_MPI_E_SLOTS 0x7ffffff3  /* every trampoline of a callback class is taken */

/* Upper-half functions the lower half calls from callbacks (after switching FS back to the
 * upper half's TLS). Registered once per lower-half instance with svc.set_upper. */
struct sc_mpi_upper {
	/* The application's handle (ABI constant or virtual) for a lower handle of kind SC_VK_*. */
	uint64_t (*vh_from_lower)(uint32_t kind, uint64_t lower);
};

/* The hand-written entries at the start of every lower half's table. */
struct sc_mpi_service {
	uint64_t list_hash; /* SC_MPI_LIST_HASH of the list the lower half was generated from */
	uint32_t nfuncs;
	uint32_t table_size; /* sizeof(struct sc_mpi_table) */
	const char *impl;    /* "MPICH 4.0.2": for messages */
	/* Continues a blocking call that became a pending request (via= functions): tests it for
	 * one time slice. 0 or an ABI error when done (status filled unless NULL, *req zeroed),
	 * SC_MPI_PENDING when the slice ended first. */
	int (*wait_slice)(uint64_t *req, struct sc_abi_status *status);
	/* Fills lower[v] for every predefined ABI handle value v < n it knows; others stay 0. */
	void (*predef_fill)(uint64_t *lower, uint32_t n);
	void (*set_upper)(const struct sc_mpi_upper *up);
	/* Reports the upper-half ranges released since the last flush (sc_lh_info.unmaps) to the
	 * MPI library's registration caches; called when unmaps.seq != unmaps.flushed. */
	void (*unmaps_flush)(void);
};

/* The TLS donor service (lower-half memory; its address is in sc_lh_info.mpi_tls_service).
 * A thread of the upper half that calls MPI needs a TLS block of the lower half's libc of its
 * own. It asks with raw system calls only (it has no lower TLS yet): take `lock`, store its
 * upper FS base in `upper_fs`, bump `req` and futex-wake it, futex-wait until `done` == `req`,
 * read `lower_fs`, release `lock`. The service thread answers with the FS base of a new
 * lower-half thread that parks forever, after storing upper_fs in that TLS block for callbacks.*/
struct sc_tls_service {
	uint32_t lock;
	uint32_t req;
	uint32_t done;
	uint32_t pad;
	uint64_t upper_fs;
	uint64_t lower_fs; /* 0: the service could not create a thread */
};

#endif
