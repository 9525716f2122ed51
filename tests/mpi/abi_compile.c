/* Checks include/mpi.h against the MPI 5.0 standard ABI from C11 (-pedantic -Werror): layout and
 * integer constants are static assertions, prototypes are matched exactly with _Generic (which
 * does not evaluate, so no MPI library is linked), and handle constants - not integer constant
 * expressions in C - are compared at run time. Exit status 0 means every fact holds. */
#include <mpi.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* --- Versions, integer types and MPI_Status layout ---------------------------------------- */
_Static_assert(MPI_VERSION == 5 && MPI_SUBVERSION == 0, "MPI 5.0");
_Static_assert(MPI_ABI_VERSION == 1 && MPI_ABI_SUBVERSION == 0, "ABI 1.0");
_Static_assert(sizeof(MPI_Aint) == 8 && sizeof(MPI_Offset) == 8 && sizeof(MPI_Count) == 8,
	       "64-bit MPI integer types");
_Static_assert(sizeof(MPI_Aint) == sizeof(void *), "MPI_Aint holds an address");
_Static_assert((MPI_Aint)-1 < 0 && (MPI_Offset)-1 < 0 && (MPI_Count)-1 < 0, "signed types");
_Static_assert(sizeof(MPI_Status) == 32, "MPI_Status is 8 ints");
_Static_assert(offsetof(MPI_Status, MPI_SOURCE) == 0, "MPI_SOURCE first");
_Static_assert(offsetof(MPI_Status, MPI_TAG) == 4, "MPI_TAG second");
_Static_assert(offsetof(MPI_Status, MPI_ERROR) == 8, "MPI_ERROR third");
_Static_assert(offsetof(MPI_Status, MPI_internal) == 12, "five private ints follow");
_Static_assert(MPI_F_STATUS_SIZE * sizeof(int) == sizeof(MPI_Status), "Fortran status size");
_Static_assert(MPI_F_SOURCE == 0 && MPI_F_TAG == 1 && MPI_F_ERROR == 2, "Fortran indices");

/* --- Every handle type is one pointer wide ------------------------------------------------ */
#define PTR_SIZED(t) _Static_assert(sizeof(t) == sizeof(void *), #t " is pointer-sized")
PTR_SIZED(MPI_Comm);
PTR_SIZED(MPI_Datatype);
PTR_SIZED(MPI_Errhandler);
PTR_SIZED(MPI_File);
PTR_SIZED(MPI_Group);
PTR_SIZED(MPI_Info);
PTR_SIZED(MPI_Message);
PTR_SIZED(MPI_Op);
PTR_SIZED(MPI_Request);
PTR_SIZED(MPI_Session);
PTR_SIZED(MPI_Win);
PTR_SIZED(MPI_T_enum);
PTR_SIZED(MPI_T_cvar_handle);
PTR_SIZED(MPI_T_pvar_handle);
PTR_SIZED(MPI_T_pvar_session);
PTR_SIZED(MPI_T_event_registration);
PTR_SIZED(MPI_T_event_instance);
_Static_assert(sizeof(MPI_T_cb_safety) == sizeof(int) && sizeof(MPI_T_source_order) == sizeof(int),
	       "MPI_T enums are int-sized");

/* --- Integer constants -------------------------------------------------------------------- */
_Static_assert(MPI_ANY_SOURCE == -1 && MPI_ANY_TAG == -2, "wildcards");
_Static_assert(MPI_PROC_NULL == -3 && MPI_ROOT == -4 && MPI_UNDEFINED == -32766, "sentinels");
_Static_assert(MPI_SUCCESS == 0 && MPI_ERR_BUFFER == 1 && MPI_ERR_TRUNCATE == 15, "errors");
_Static_assert(MPI_ERR_IN_STATUS == 19 && MPI_ERR_WIN == 56 && MPI_ERR_ABI == 62, "errors");
_Static_assert(MPI_ERR_LASTCODE == 16383 && MPI_T_ERR_PVAR_NO_ATOMIC == 1018, "error ranges");
_Static_assert(MPI_THREAD_SINGLE < MPI_THREAD_FUNNELED &&
		   MPI_THREAD_FUNNELED < MPI_THREAD_SERIALIZED &&
		   MPI_THREAD_SERIALIZED < MPI_THREAD_MULTIPLE && MPI_THREAD_MULTIPLE == 4096,
	       "thread levels are ordered");
_Static_assert(MPI_IDENT == 201 && MPI_CONGRUENT == 202 && MPI_SIMILAR == 203 && MPI_UNEQUAL == 204,
	       "comparison results");
_Static_assert(MPI_CART == 211 && MPI_GRAPH == 212 && MPI_DIST_GRAPH == 213, "topologies");
_Static_assert(MPI_COMM_TYPE_SHARED == 221 && MPI_COMM_TYPE_RESOURCE_GUIDED == 224, "split types");
_Static_assert(MPI_COMBINER_NAMED == 101 && MPI_COMBINER_VALUE_INDEX == 117, "combiners");
_Static_assert(MPI_DISTRIBUTE_BLOCK == 17 && MPI_ORDER_C == 12 && MPI_ORDER_FORTRAN == 15,
	       "arrays");
_Static_assert(MPI_TYPECLASS_INTEGER == 192 && MPI_TYPECLASS_COMPLEX == 194, "type classes");
_Static_assert(MPI_KEYVAL_INVALID == 0 && MPI_TAG_UB == 501 && MPI_IO == 502 && MPI_HOST == 503,
	       "communicator attributes");
_Static_assert(MPI_WTIME_IS_GLOBAL == 504 && MPI_UNIVERSE_SIZE == 507 && MPI_WIN_BASE == 601 &&
		   MPI_WIN_MODEL == 605,
	       "attribute keys");
_Static_assert(MPI_LOCK_EXCLUSIVE == 301 && MPI_WIN_FLAVOR_SHARED == 314 && MPI_WIN_UNIFIED == 321,
	       "window constants");
_Static_assert(MPI_SEEK_SET == 403 && MPI_T_BIND_MPI_SESSION == 12 &&
		   MPI_T_PVAR_CLASS_GENERIC == 10,
	       "file and tool constants");
_Static_assert(MPI_MAX_PROCESSOR_NAME == 256 && MPI_MAX_ERROR_STRING == 512 &&
		   MPI_MAX_LIBRARY_VERSION_STRING == 8192 && MPI_BSEND_OVERHEAD == 512,
	       "string sizes");

/* Mode bits are distinct powers of two, so any combination can be OR-ed. */
#define ALL_MODES                                                                                  \
	(MPI_MODE_APPEND | MPI_MODE_CREATE | MPI_MODE_DELETE_ON_CLOSE | MPI_MODE_EXCL |            \
	 MPI_MODE_RDONLY | MPI_MODE_RDWR | MPI_MODE_SEQUENTIAL | MPI_MODE_UNIQUE_OPEN |            \
	 MPI_MODE_WRONLY | MPI_MODE_NOCHECK | MPI_MODE_NOPRECEDE | MPI_MODE_NOPUT |                \
	 MPI_MODE_NOSTORE | MPI_MODE_NOSUCCEED)
_Static_assert(ALL_MODES == 0x7dff, "14 distinct mode bits");

/* The integer constants are preprocessor-visible, as applications test them with #if. */
#if MPI_VERSION < 4 || !defined(MPI_ANY_SOURCE) || MPI_MAX_OBJECT_NAME != 128
#error "integer constants must be macros usable in #if"
#endif

/* --- Prototypes: exact types, including const ---------------------------------------------- */
#define PROTO(fn, type) _Static_assert(_Generic(&(fn), type : 1, default : 0), #fn " prototype")
PROTO(MPI_Init, int (*)(int *, char ***));
PROTO(MPI_Init_thread, int (*)(int *, char ***, int, int *));
PROTO(MPI_Finalize, int (*)(void));
PROTO(MPI_Abort, int (*)(MPI_Comm, int));
PROTO(MPI_Wtime, double (*)(void));
PROTO(MPI_Wtick, double (*)(void));
PROTO(MPI_Pcontrol, int (*)(const int, ...));
PROTO(MPI_Comm_rank, int (*)(MPI_Comm, int *));
PROTO(MPI_Comm_split_type, int (*)(MPI_Comm, int, int, MPI_Info, MPI_Comm *));
PROTO(MPI_Send, int (*)(const void *, int, MPI_Datatype, int, int, MPI_Comm));
PROTO(MPI_Send_c, int (*)(const void *, MPI_Count, MPI_Datatype, int, int, MPI_Comm));
PROTO(PMPI_Send, int (*)(const void *, int, MPI_Datatype, int, int, MPI_Comm));
PROTO(MPI_Recv, int (*)(void *, int, MPI_Datatype, int, int, MPI_Comm, MPI_Status *));
PROTO(MPI_Isend, int (*)(const void *, int, MPI_Datatype, int, int, MPI_Comm, MPI_Request *));
PROTO(MPI_Irecv_c, int (*)(void *, MPI_Count, MPI_Datatype, int, int, MPI_Comm, MPI_Request *));
PROTO(MPI_Waitall, int (*)(int, MPI_Request[], MPI_Status[]));
PROTO(MPI_Testsome, int (*)(int, MPI_Request[], int *, int[], MPI_Status[]));
PROTO(MPI_Get_count, int (*)(const MPI_Status *, MPI_Datatype, int *));
PROTO(MPI_Get_count_c, int (*)(const MPI_Status *, MPI_Datatype, MPI_Count *));
PROTO(MPI_Mprobe, int (*)(int, int, MPI_Comm, MPI_Message *, MPI_Status *));
PROTO(MPI_Psend_init,
      int (*)(const void *, int, int, MPI_Datatype, int, int, MPI_Comm, MPI_Info, MPI_Request *));
PROTO(MPI_Allreduce, int (*)(const void *, void *, int, MPI_Datatype, MPI_Op, MPI_Comm));
PROTO(MPI_Alltoallv_c,
      int (*)(const void *, const MPI_Count[], const MPI_Aint[], MPI_Datatype, void *,
	      const MPI_Count[], const MPI_Aint[], MPI_Datatype, MPI_Comm));
PROTO(MPI_Bcast_init, int (*)(void *, int, MPI_Datatype, int, MPI_Comm, MPI_Info, MPI_Request *));
PROTO(MPI_Op_create, int (*)(MPI_User_function *, int, MPI_Op *));
PROTO(MPI_Op_create_c, int (*)(MPI_User_function_c *, int, MPI_Op *));
PROTO(MPI_Type_create_struct,
      int (*)(int, const int[], const MPI_Aint[], const MPI_Datatype[], MPI_Datatype *));
PROTO(MPI_Type_get_extent_c, int (*)(MPI_Datatype, MPI_Count *, MPI_Count *));
PROTO(MPI_Comm_create_keyval,
      int (*)(MPI_Comm_copy_attr_function *, MPI_Comm_delete_attr_function *, int *, void *));
PROTO(MPI_Comm_create_errhandler, int (*)(MPI_Comm_errhandler_function *, MPI_Errhandler *));
PROTO(MPI_Cart_create, int (*)(MPI_Comm, int, const int[], const int[], int, MPI_Comm *));
PROTO(MPI_Dist_graph_create_adjacent, int (*)(MPI_Comm, int, const int[], const int[], int,
					      const int[], const int[], MPI_Info, int, MPI_Comm *));
PROTO(MPI_Comm_spawn,
      int (*)(const char *, char *[], int, MPI_Info, int, MPI_Comm, MPI_Comm *, int[]));
PROTO(MPI_Info_get_string, int (*)(MPI_Info, const char *, int *, char *, int *));
PROTO(MPI_Win_allocate_shared, int (*)(MPI_Aint, int, MPI_Info, MPI_Comm, void *, MPI_Win *));
PROTO(MPI_File_write_at_all,
      int (*)(MPI_File, MPI_Offset, const void *, int, MPI_Datatype, MPI_Status *));
PROTO(MPI_Register_datarep_c,
      int (*)(const char *, MPI_Datarep_conversion_function_c *,
	      MPI_Datarep_conversion_function_c *, MPI_Datarep_extent_function *, void *));
PROTO(MPI_Grequest_start, int (*)(MPI_Grequest_query_function *, MPI_Grequest_free_function *,
				  MPI_Grequest_cancel_function *, void *, MPI_Request *));
PROTO(MPI_Status_set_source, int (*)(MPI_Status *, int));
PROTO(MPI_Session_init, int (*)(MPI_Info, MPI_Errhandler, MPI_Session *));
PROTO(MPI_Comm_toint, int (*)(MPI_Comm));
PROTO(MPI_Type_fromint, MPI_Datatype (*)(int));
PROTO(PMPI_Request_fromint, MPI_Request (*)(int));
PROTO(MPI_Abi_get_version, int (*)(int *, int *));
PROTO(MPI_Aint_add, MPI_Aint (*)(MPI_Aint, MPI_Aint));
PROTO(MPI_T_event_register_callback, int (*)(MPI_T_event_registration, MPI_T_cb_safety, MPI_Info,
					     void *, MPI_T_event_cb_function *));
PROTO(PMPI_T_pvar_read, int (*)(MPI_T_pvar_session, MPI_T_pvar_handle, void *));
PROTO(MPI_Keyval_create, int (*)(MPI_Copy_function *, MPI_Delete_function *, int *, void *));

/* --- Handle and pointer constants, checked at run time ------------------------------------ */
struct fact {
	const char *name;
	intptr_t got;
	intptr_t want;
};

/* clang-format off */
#define FACT(c, v) {#c, (intptr_t)(c), (v)}
static const struct fact facts[] = {
	FACT(MPI_OP_NULL, 0x20), FACT(MPI_SUM, 0x21), FACT(MPI_MAX, 0x23), FACT(MPI_MAXLOC, 0x39),
	FACT(MPI_REPLACE, 0x3c), FACT(MPI_NO_OP, 0x3d), FACT(MPI_COMM_NULL, 0x100),
	FACT(MPI_COMM_WORLD, 0x101), FACT(MPI_COMM_SELF, 0x102), FACT(MPI_GROUP_EMPTY, 0x109),
	FACT(MPI_WIN_NULL, 0x110), FACT(MPI_FILE_NULL, 0x118), FACT(MPI_SESSION_NULL, 0x120),
	FACT(MPI_MESSAGE_NO_PROC, 0x129), FACT(MPI_INFO_ENV, 0x131),
	FACT(MPI_ERRORS_ARE_FATAL, 0x141), FACT(MPI_ERRORS_RETURN, 0x143),
	FACT(MPI_REQUEST_NULL, 0x180), FACT(MPI_DATATYPE_NULL, 0x200), FACT(MPI_INT, 0x209),
	FACT(MPI_DOUBLE, 0x214), FACT(MPI_CHAR, 0x243), FACT(MPI_BYTE, 0x247), FACT(MPI_2INT, 0x22b),
	FACT(MPI_INT64_T, 0x258), FACT(MPI_CXX_BOOL, 0x239), FACT(MPI_INTEGER, 0x219),
	FACT(MPI_COMPLEX32, 0x2eb), FACT(MPI_LONG_LONG_INT, 0x20b), FACT(MPI_C_COMPLEX, 0x212),
	FACT(MPI_BOTTOM, 0), FACT(MPI_IN_PLACE, 1), FACT(MPI_BUFFER_AUTOMATIC, 2),
	FACT(MPI_STATUS_IGNORE, 0), FACT(MPI_STATUSES_IGNORE, 0), FACT(MPI_ERRCODES_IGNORE, 0),
	FACT(MPI_ARGV_NULL, 0), FACT(MPI_UNWEIGHTED, 10), FACT(MPI_WEIGHTS_EMPTY, 11),
	FACT(MPI_COMM_NULL_COPY_FN, 0), FACT(MPI_COMM_DUP_FN, 1), FACT(MPI_COMM_NULL_DELETE_FN, 0),
	FACT(MPI_TYPE_DUP_FN, 1), FACT(MPI_WIN_DUP_FN, 1), FACT(MPI_NULL_DELETE_FN, 0),
	FACT(MPI_CONVERSION_FN_NULL, 0), FACT(MPI_T_PVAR_ALL_HANDLES, 1),
	FACT(MPI_DISPLACEMENT_CURRENT, -1),
};

/* Every predefined datatype, in the ABI's order; values must be distinct and in 0x200..0x2ff. */
static const MPI_Datatype datatypes[] = {
	MPI_DATATYPE_NULL, MPI_AINT, MPI_COUNT, MPI_OFFSET, MPI_PACKED, MPI_SHORT, MPI_INT,
	MPI_LONG, MPI_LONG_LONG, MPI_UNSIGNED_SHORT, MPI_UNSIGNED, MPI_UNSIGNED_LONG,
	MPI_UNSIGNED_LONG_LONG, MPI_FLOAT, MPI_C_FLOAT_COMPLEX, MPI_CXX_FLOAT_COMPLEX, MPI_DOUBLE,
	MPI_C_DOUBLE_COMPLEX, MPI_CXX_DOUBLE_COMPLEX, MPI_LOGICAL, MPI_INTEGER, MPI_REAL,
	MPI_COMPLEX, MPI_DOUBLE_PRECISION, MPI_DOUBLE_COMPLEX, MPI_CHARACTER, MPI_LONG_DOUBLE,
	MPI_C_LONG_DOUBLE_COMPLEX, MPI_CXX_LONG_DOUBLE_COMPLEX, MPI_FLOAT_INT, MPI_DOUBLE_INT,
	MPI_LONG_INT, MPI_2INT, MPI_SHORT_INT, MPI_LONG_DOUBLE_INT, MPI_2REAL,
	MPI_2DOUBLE_PRECISION, MPI_2INTEGER, MPI_C_BOOL, MPI_CXX_BOOL, MPI_WCHAR, MPI_INT8_T,
	MPI_UINT8_T, MPI_CHAR, MPI_SIGNED_CHAR, MPI_UNSIGNED_CHAR, MPI_BYTE, MPI_INT16_T,
	MPI_UINT16_T, MPI_INT32_T, MPI_UINT32_T, MPI_INT64_T, MPI_UINT64_T, MPI_LOGICAL1,
	MPI_INTEGER1, MPI_LOGICAL2, MPI_INTEGER2, MPI_REAL2, MPI_LOGICAL4, MPI_INTEGER4, MPI_REAL4,
	MPI_COMPLEX4, MPI_LOGICAL8, MPI_INTEGER8, MPI_REAL8, MPI_COMPLEX8, MPI_LOGICAL16,
	MPI_INTEGER16, MPI_REAL16, MPI_COMPLEX16, MPI_COMPLEX32,
};

static const MPI_Op ops[] = {
	MPI_OP_NULL, MPI_SUM, MPI_MIN, MPI_MAX, MPI_PROD, MPI_BAND, MPI_BOR, MPI_BXOR, MPI_LAND,
	MPI_LOR, MPI_LXOR, MPI_MINLOC, MPI_MAXLOC, MPI_REPLACE, MPI_NO_OP,
};

/* The error classes in order: each one's value is its index. */
static const int error_classes[] = {
	MPI_SUCCESS, MPI_ERR_BUFFER, MPI_ERR_COUNT, MPI_ERR_TYPE, MPI_ERR_TAG, MPI_ERR_COMM,
	MPI_ERR_RANK, MPI_ERR_REQUEST, MPI_ERR_ROOT, MPI_ERR_GROUP, MPI_ERR_OP, MPI_ERR_TOPOLOGY,
	MPI_ERR_DIMS, MPI_ERR_ARG, MPI_ERR_UNKNOWN, MPI_ERR_TRUNCATE, MPI_ERR_OTHER, MPI_ERR_INTERN,
	MPI_ERR_PENDING, MPI_ERR_IN_STATUS, MPI_ERR_ACCESS, MPI_ERR_AMODE, MPI_ERR_ASSERT,
	MPI_ERR_BAD_FILE, MPI_ERR_BASE, MPI_ERR_CONVERSION, MPI_ERR_DISP, MPI_ERR_DUP_DATAREP,
	MPI_ERR_FILE_EXISTS, MPI_ERR_FILE_IN_USE, MPI_ERR_FILE, MPI_ERR_INFO_KEY,
	MPI_ERR_INFO_NOKEY, MPI_ERR_INFO_VALUE, MPI_ERR_INFO, MPI_ERR_IO, MPI_ERR_KEYVAL,
	MPI_ERR_LOCKTYPE, MPI_ERR_NAME, MPI_ERR_NO_MEM, MPI_ERR_NOT_SAME, MPI_ERR_NO_SPACE,
	MPI_ERR_NO_SUCH_FILE, MPI_ERR_PORT, MPI_ERR_QUOTA, MPI_ERR_READ_ONLY, MPI_ERR_RMA_ATTACH,
	MPI_ERR_RMA_CONFLICT, MPI_ERR_RMA_RANGE, MPI_ERR_RMA_SHARED, MPI_ERR_RMA_SYNC,
	MPI_ERR_SERVICE, MPI_ERR_SIZE, MPI_ERR_SPAWN, MPI_ERR_UNSUPPORTED_DATAREP,
	MPI_ERR_UNSUPPORTED_OPERATION, MPI_ERR_WIN, MPI_ERR_RMA_FLAVOR, MPI_ERR_PROC_ABORTED,
	MPI_ERR_VALUE_TOO_LARGE, MPI_ERR_SESSION, MPI_ERR_ERRHANDLER, MPI_ERR_ABI,
};
/* clang-format on */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Counts values of a handle array outside [lo, hi] or equal to an earlier one. */
static int check_handles(const char *what, const void *const *v, size_t n, intptr_t lo, intptr_t hi)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		intptr_t x = (intptr_t)v[i];
		if (x < lo || x > hi) {
			fprintf(stderr, "%s[%zu] = %#lx outside the ABI's range\n", what, i,
				(long)x);
			bad++;
		}
		for (size_t j = 0; j < i; j++)
			if (v[j] == v[i]) {
				fprintf(stderr, "%s[%zu] repeats %s[%zu]\n", what, i, what, j);
				bad++;
			}
	}
	return bad;
}

int main(void)
{
	int bad = 0;
	const void *dt[COUNT(datatypes)];
	const void *op[COUNT(ops)];

	for (size_t i = 0; i < COUNT(facts); i++)
		if (facts[i].got != facts[i].want) {
			fprintf(stderr, "%s = %#lx, the ABI says %#lx\n", facts[i].name,
				(long)facts[i].got, (long)facts[i].want);
			bad++;
		}
	for (size_t i = 0; i < COUNT(datatypes); i++)
		dt[i] = datatypes[i];
	for (size_t i = 0; i < COUNT(ops); i++)
		op[i] = ops[i];
	bad += check_handles("datatypes", dt, COUNT(datatypes), 0x200, 0x2ff);
	bad += check_handles("ops", op, COUNT(ops), 0x20, 0x3f);
	for (size_t i = 0; i < COUNT(error_classes); i++)
		if (error_classes[i] != (int)i) {
			fprintf(stderr, "error class %zu has value %d\n", i, error_classes[i]);
			bad++;
		}

	/* A status as an application fills and reads it. */
	MPI_Status st = {
	    .MPI_SOURCE = MPI_ANY_SOURCE, .MPI_TAG = MPI_ANY_TAG, .MPI_ERROR = MPI_SUCCESS};
	int *as_ints = (int *)&st;
	if (as_ints[MPI_F_SOURCE] != -1 || as_ints[MPI_F_TAG] != -2 || as_ints[MPI_F_ERROR] != 0)
		bad++;
	char name[MPI_MAX_PROCESSOR_NAME], err[MPI_MAX_ERROR_STRING], port[MPI_MAX_PORT_NAME];
	(void)name, (void)err, (void)port;

	if (bad)
		fprintf(stderr, "abi_compile: %d mismatches with the MPI 5.0 ABI\n", bad);
	return bad ? 1 : 0;
}
