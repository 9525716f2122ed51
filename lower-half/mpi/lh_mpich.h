/* The MPICH conversion backend of the lower half: how an MPICH handle travels as the uint64_t
 * lower handle of the table, MPICH's status layout, and the functions MPICH 4.0 lacks. The
 * Open MPI backend (lh_openmpi.h) provides the same LH_* names; everything else is shared
 * (lh_mpi.h) or generated (gen.py lower). */
#ifndef SPLITCKPT_LH_MPICH_H
#define SPLITCKPT_LH_MPICH_H

#include <mpi.h>
#include <string.h>

#define LH_IMPL_NAME "MPICH " MPICH_VERSION
#define LH_TABLE lh_mpich_table /* generated: lh_mpich_gen.c */

/* MPICH handles are 32-bit ints (MPI_File is a pointer); they cross zero-extended. Handle 0
 * is never valid in MPICH, which is why an unknown predefined handle maps to 0. */
#define LH_INT_HANDLE(kind, T)                                                                     \
	typedef T LH_T_##kind;                                                                     \
	static inline T LH_IN_##kind(uint64_t v)                                                   \
	{                                                                                          \
		return (T)(int32_t)(uint32_t)v;                                                    \
	}
LH_INT_HANDLE(comm, MPI_Comm)
LH_INT_HANDLE(group, MPI_Group)
LH_INT_HANDLE(datatype, MPI_Datatype)
LH_INT_HANDLE(op, MPI_Op)
LH_INT_HANDLE(request, MPI_Request)
LH_INT_HANDLE(info, MPI_Info)
LH_INT_HANDLE(errhandler, MPI_Errhandler)
LH_INT_HANDLE(message, MPI_Message)
LH_INT_HANDLE(win, MPI_Win)
LH_INT_HANDLE(session, MPI_Session)
typedef MPI_File LH_T_file;
static inline MPI_File LH_IN_file(uint64_t v)
{
	return (MPI_File)(uintptr_t)v;
}
/* Macros, not functions: the generated predefined-handle table uses them in initializers. */
#define LH_OUT_comm(h) ((uint64_t)(uint32_t)(h))
#define LH_OUT_group(h) ((uint64_t)(uint32_t)(h))
#define LH_OUT_datatype(h) ((uint64_t)(uint32_t)(h))
#define LH_OUT_op(h) ((uint64_t)(uint32_t)(h))
#define LH_OUT_request(h) ((uint64_t)(uint32_t)(h))
#define LH_OUT_info(h) ((uint64_t)(uint32_t)(h))
#define LH_OUT_errhandler(h) ((uint64_t)(uint32_t)(h))
#define LH_OUT_message(h) ((uint64_t)(uint32_t)(h))
#define LH_OUT_win(h) ((uint64_t)(uint32_t)(h))
#define LH_OUT_session(h) ((uint64_t)(uint32_t)(h))
#define LH_OUT_file(h) ((uint64_t)(uintptr_t)(h))
#define LH_NULL_comm MPI_COMM_NULL
#define LH_NULL_group MPI_GROUP_NULL
#define LH_NULL_datatype MPI_DATATYPE_NULL
#define LH_NULL_op MPI_OP_NULL
#define LH_NULL_request MPI_REQUEST_NULL
#define LH_NULL_info MPI_INFO_NULL
#define LH_NULL_errhandler MPI_ERRHANDLER_NULL
#define LH_NULL_message MPI_MESSAGE_NULL
#define LH_NULL_win MPI_WIN_NULL
#define LH_NULL_session MPI_SESSION_NULL
#define LH_NULL_file MPI_FILE_NULL

/* MPICH's MPI_Status is 20 bytes; all of it is kept in the ABI status's internal[5]. */
_Static_assert(sizeof(MPI_Status) <= 5 * sizeof(int), "MPICH status does not fit internal[5]");

/* Functions of the list that MPICH 4.0 does not have: define LH_MISSING_MPI_X here and the
 * generated shim reports "not implemented" instead. (None in the current list.) */

#include "lh_mpi.h"

#endif
