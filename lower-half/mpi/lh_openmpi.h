/* The Open MPI 4.1 conversion backend of the lower half: Open MPI handles are pointers to
 * objects inside libmpi (MPI_COMM_WORLD is &ompi_mpi_comm_world), so a handle crosses as its
 * address and predefined ones are taken from the mpi.h macros (relocated at load time, never
 * hard-coded); its status layout; and the MPI 4.0 functions it lacks. Same LH_* names as
 * lh_mpich.h; everything else is shared (lh_mpi.h) or generated (gen.py lower openmpi). */
#ifndef SPLITCKPT_LH_OPENMPI_H
#define SPLITCKPT_LH_OPENMPI_H

#include <mpi.h>
#include <stdint.h>
#include <string.h>

#define LH_STR2(x) #x
#define LH_STR(x) LH_STR2(x)
#define LH_IMPL_NAME                                                                               \
	"Open MPI " LH_STR(OMPI_MAJOR_VERSION) "." LH_STR(OMPI_MINOR_VERSION) "." LH_STR(          \
	    OMPI_RELEASE_VERSION)
#define LH_TABLE lh_openmpi_table /* generated: lh_openmpi_gen.c */

/* MPI 4.0 split types Open MPI 4.1 lacks: values it rejects as an invalid split type. */
#define MPI_COMM_TYPE_HW_UNGUIDED (-10222)
#define MPI_COMM_TYPE_HW_GUIDED (-10223)

/* Every handle is a pointer; NULL is never a valid Open MPI handle (even MPI_COMM_NULL is the
 * address of an object), which is why an unknown predefined handle maps to 0. */
#define LH_PTR_HANDLE(kind, T)                                                                     \
	typedef T LH_T_##kind;                                                                     \
	static inline T LH_IN_##kind(uint64_t v)                                                   \
	{                                                                                          \
		return (T)(uintptr_t)v;                                                            \
	}
LH_PTR_HANDLE(comm, MPI_Comm)
LH_PTR_HANDLE(group, MPI_Group)
LH_PTR_HANDLE(datatype, MPI_Datatype)
LH_PTR_HANDLE(op, MPI_Op)
LH_PTR_HANDLE(request, MPI_Request)
LH_PTR_HANDLE(info, MPI_Info)
LH_PTR_HANDLE(errhandler, MPI_Errhandler)
LH_PTR_HANDLE(message, MPI_Message)
LH_PTR_HANDLE(win, MPI_Win)
LH_PTR_HANDLE(file, MPI_File)
/* Open MPI 4.1 has no sessions: the type only exists so that the (missing, see below) session
 * shims compile; no handle of this kind is ever produced. */
LH_PTR_HANDLE(session, void *)
/* Macros, not functions: the generated predefined-handle table uses them in initializers (the
 * address of a libmpi object is a link-time constant resolved by the dynamic loader). */
#define LH_OUT_comm(h) ((uint64_t)(uintptr_t)(h))
#define LH_OUT_group(h) ((uint64_t)(uintptr_t)(h))
#define LH_OUT_datatype(h) ((uint64_t)(uintptr_t)(h))
#define LH_OUT_op(h) ((uint64_t)(uintptr_t)(h))
#define LH_OUT_request(h) ((uint64_t)(uintptr_t)(h))
#define LH_OUT_info(h) ((uint64_t)(uintptr_t)(h))
#define LH_OUT_errhandler(h) ((uint64_t)(uintptr_t)(h))
#define LH_OUT_message(h) ((uint64_t)(uintptr_t)(h))
#define LH_OUT_win(h) ((uint64_t)(uintptr_t)(h))
#define LH_OUT_file(h) ((uint64_t)(uintptr_t)(h))
#define LH_OUT_session(h) ((uint64_t)(uintptr_t)(h))
#define LH_NULL_comm MPI_COMM_NULL
#define LH_NULL_group MPI_GROUP_NULL
#define LH_NULL_datatype MPI_DATATYPE_NULL
#define LH_NULL_op MPI_OP_NULL
#define LH_NULL_request MPI_REQUEST_NULL
#define LH_NULL_info MPI_INFO_NULL
#define LH_NULL_errhandler MPI_ERRHANDLER_NULL
#define LH_NULL_message MPI_MESSAGE_NULL
#define LH_NULL_win MPI_WIN_NULL
#define LH_NULL_file MPI_FILE_NULL
#define LH_NULL_session ((void *)0)

/* Open MPI's MPI_Status is 24 bytes: the three public fields, then int _cancelled and size_t
 * _ucount. It does not fit the ABI's internal[5] whole, but the public fields already have ABI
 * slots, so only the two private ones are kept: _cancelled in internal[0], _ucount in
 * internal[1..2] (MPI_Get_count/MPI_Test_cancelled need nothing else). */
_Static_assert(sizeof(MPI_Status) == 3 * sizeof(int) + sizeof(int) + sizeof(size_t) ||
		   sizeof(MPI_Status) == 3 * sizeof(int) + 2 * sizeof(size_t),
	       "unexpected Open MPI status layout");
#define LH_STATUS_SAVE(internal, s)                                                                \
	do {                                                                                       \
		(internal)[0] = (s)->_cancelled;                                                   \
		memcpy(&(internal)[1], &(s)->_ucount, sizeof(s)->_ucount);                         \
	} while (0)
#define LH_STATUS_LOAD(s, internal)                                                                \
	do {                                                                                       \
		(s)->_cancelled = (internal)[0];                                                   \
		memcpy(&(s)->_ucount, &(internal)[1], sizeof(s)->_ucount);                         \
	} while (0)

/* MPI 4.0 functions Open MPI 4.1 lacks: the generated shims report them as not implemented. */
#include "lh_openmpi_missing.h"

#include "lh_mpi.h"

#endif
