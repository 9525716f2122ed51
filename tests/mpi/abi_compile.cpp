// Checks include/mpi.h from C++17 (-Wall -Wextra -Werror): ABI layout and integer constants as
// static assertions, exact prototypes with decltype, C language linkage by redeclaring functions
// extern "C", and handle values at run time (reinterpret_cast is not constexpr). The idioms an
// application uses (overloading on handle types, containers of handles, a type-to-datatype
// trait, lambdas as reduction callbacks) must compile warning-free. No MPI library is linked.
#include <mpi.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

// --- Layout ----------------------------------------------------------------------------------
static_assert(MPI_VERSION == 5 && MPI_SUBVERSION == 0 && MPI_ABI_VERSION == 1, "versions");
static_assert(sizeof(MPI_Status) == 32 && std::is_standard_layout<MPI_Status>::value &&
		  std::is_trivial<MPI_Status>::value,
	      "MPI_Status is a plain 32-byte struct");
static_assert(offsetof(MPI_Status, MPI_SOURCE) == 0 && offsetof(MPI_Status, MPI_TAG) == 4 &&
		  offsetof(MPI_Status, MPI_ERROR) == 8,
	      "public status fields come first");
static_assert(std::is_same<MPI_Aint, std::intptr_t>::value, "MPI_Aint is intptr_t");
static_assert(std::is_same<MPI_Offset, std::int64_t>::value, "MPI_Offset is int64_t");
static_assert(std::is_same<MPI_Count, std::int64_t>::value, "MPI_Count is int64_t");

template <class... H> constexpr bool pointer_sized()
{
	return ((sizeof(H) == sizeof(void *) && std::is_pointer<H>::value) && ...);
}
static_assert(pointer_sized<MPI_Comm, MPI_Datatype, MPI_Errhandler, MPI_File, MPI_Group, MPI_Info,
			    MPI_Message, MPI_Op, MPI_Request, MPI_Session, MPI_Win, MPI_T_enum,
			    MPI_T_cvar_handle, MPI_T_pvar_handle, MPI_T_pvar_session,
			    MPI_T_event_registration, MPI_T_event_instance>(),
	      "every handle is a pointer");
static_assert(!std::is_same<MPI_Comm, MPI_Group>::value && !std::is_same<MPI_Op, MPI_Win>::value,
	      "handle types are distinct, so C++ can overload on them");

// --- Integer constants are constant expressions ----------------------------------------------
constexpr int wildcards[] = {MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_PROC_NULL, MPI_ROOT, MPI_UNDEFINED};
static_assert(wildcards[0] == -1 && wildcards[1] == -2 && wildcards[2] == -3 &&
		  wildcards[3] == -4 && wildcards[4] == -32766,
	      "wildcards and sentinels");
static_assert(MPI_ERR_ABI == 62 && MPI_ERR_LASTCODE == 16383 && MPI_T_ERR_INVALID == 1006,
	      "error classes");
static_assert(MPI_THREAD_MULTIPLE > MPI_THREAD_SERIALIZED && MPI_TAG_UB == 501 && MPI_IDENT == 201,
	      "assorted constants");
static_assert((MPI_MODE_CREATE | MPI_MODE_WRONLY | MPI_MODE_NOCHECK) == 1282, "OR-able modes");
static_assert(MPI_T_CB_REQUIRE_THREAD_SAFE == 0x0f && MPI_T_SOURCE_UNORDERED == 2, "MPI_T enums");
static_assert(MPI_MAX_INFO_KEY == 256 && MPI_MAX_INFO_VAL == 1024 && MPI_MAX_PSET_NAME_LEN == 1024,
	      "string sizes");

// --- Prototypes --------------------------------------------------------------------------------
#define PROTO(fn, ...) static_assert(std::is_same<decltype(fn), __VA_ARGS__>::value, #fn)
PROTO(MPI_Send, int(const void *, int, MPI_Datatype, int, int, MPI_Comm));
PROTO(PMPI_Send_c, int(const void *, MPI_Count, MPI_Datatype, int, int, MPI_Comm));
PROTO(MPI_Wait, int(MPI_Request *, MPI_Status *));
PROTO(MPI_Waitany, int(int, MPI_Request *, int *, MPI_Status *));
PROTO(MPI_Reduce, int(const void *, void *, int, MPI_Datatype, MPI_Op, int, MPI_Comm));
PROTO(MPI_Gatherv_c, int(const void *, MPI_Count, MPI_Datatype, void *, const MPI_Count *,
			 const MPI_Aint *, MPI_Datatype, int, MPI_Comm));
PROTO(MPI_Type_vector, int(int, int, int, MPI_Datatype, MPI_Datatype *));
PROTO(MPI_Type_get_envelope_c,
      int(MPI_Datatype, MPI_Count *, MPI_Count *, MPI_Count *, MPI_Count *, int *));
PROTO(MPI_Comm_set_errhandler, int(MPI_Comm, MPI_Errhandler));
PROTO(MPI_Comm_get_attr, int(MPI_Comm, int, void *, int *));
PROTO(MPI_Win_create_c, int(void *, MPI_Aint, MPI_Aint, MPI_Info, MPI_Comm, MPI_Win *));
PROTO(MPI_File_open, int(MPI_Comm, const char *, int, MPI_Info, MPI_File *));
PROTO(MPI_Session_get_nth_pset, int(MPI_Session, MPI_Info, int, int *, char *));
PROTO(MPI_Wtime, double());
PROTO(MPI_Aint_diff, MPI_Aint(MPI_Aint, MPI_Aint));
PROTO(MPI_Comm_fromint, MPI_Comm(int));
PROTO(MPI_Errhandler_toint, int(MPI_Errhandler));
PROTO(MPI_T_cvar_get_info,
      int(int, char *, int *, int *, MPI_Datatype *, MPI_T_enum *, char *, int *, int *, int *));
PROTO(PMPI_T_event_set_dropped_handler,
      int(MPI_T_event_registration, MPI_T_event_dropped_cb_function *));

// Redeclaring with C linkage is ill-formed unless mpi.h already gave them C linkage.
extern "C" int MPI_Barrier(MPI_Comm);
extern "C" int PMPI_Barrier(MPI_Comm);
extern "C" int MPI_Comm_size(MPI_Comm, int *);
extern "C" double MPI_Wtick(void);
extern "C" int MPI_T_finalize(void);

// --- Application idioms ------------------------------------------------------------------------
template <class T> MPI_Datatype datatype_of();
template <> MPI_Datatype datatype_of<int>()
{
	return MPI_INT;
}
template <> MPI_Datatype datatype_of<double>()
{
	return MPI_DOUBLE;
}
template <> MPI_Datatype datatype_of<bool>()
{
	return MPI_CXX_BOOL;
}
template <> MPI_Datatype datatype_of<std::complex<double>>()
{
	return MPI_CXX_DOUBLE_COMPLEX;
}
template <> MPI_Datatype datatype_of<std::complex<long double>>()
{
	return MPI_CXX_LONG_DOUBLE_COMPLEX;
}

static const char *kind(MPI_Comm)
{
	return "comm";
}
static const char *kind(MPI_Datatype)
{
	return "datatype";
}
static const char *kind(MPI_Op)
{
	return "op";
}

static std::intptr_t value(const void *handle)
{
	return reinterpret_cast<std::intptr_t>(handle);
}

int main()
{
	int bad = 0;
	auto expect = [&bad](const char *name, std::intptr_t got, std::intptr_t want) {
		if (got != want) {
			std::fprintf(stderr, "%s = %#lx, the ABI says %#lx\n", name,
				     static_cast<long>(got), static_cast<long>(want));
			bad++;
		}
	};
	expect("MPI_COMM_WORLD", value(MPI_COMM_WORLD), 0x101);
	expect("MPI_COMM_SELF", value(MPI_COMM_SELF), 0x102);
	expect("MPI_INT", value(MPI_INT), 0x209);
	expect("MPI_CXX_BOOL", value(datatype_of<bool>()), 0x239);
	expect("MPI_CXX_DOUBLE_COMPLEX", value(datatype_of<std::complex<double>>()), 0x217);
	expect("MPI_SUM", value(MPI_SUM), 0x21);
	expect("MPI_REQUEST_NULL", value(MPI_REQUEST_NULL), 0x180);
	expect("MPI_INFO_NULL", value(MPI_INFO_NULL), 0x130);
	expect("MPI_ERRORS_RETURN", value(MPI_ERRORS_RETURN), 0x143);
	expect("MPI_IN_PLACE", value(MPI_IN_PLACE), 1);
	expect("MPI_T_PVAR_ALL_HANDLES", value(MPI_T_PVAR_ALL_HANDLES), 1);
	expect("MPI_COMM_DUP_FN", reinterpret_cast<std::intptr_t>(MPI_COMM_DUP_FN), 1);
	expect("MPI_TYPE_NULL_COPY_FN", reinterpret_cast<std::intptr_t>(MPI_TYPE_NULL_COPY_FN), 0);

	// Containers and maps keyed by handles, overloads chosen by handle type.
	std::vector<MPI_Request> requests(4, MPI_REQUEST_NULL);
	std::vector<MPI_Status> statuses(requests.size());
	std::map<MPI_Comm, int> ranks{{MPI_COMM_WORLD, 0}, {MPI_COMM_SELF, 0}};
	std::array<MPI_Datatype, 3> types{datatype_of<int>(), datatype_of<double>(), MPI_BYTE};
	if (std::string(kind(MPI_COMM_WORLD)) != "comm" ||
	    std::string(kind(types[1])) != "datatype" || std::string(kind(MPI_MAX)) != "op" ||
	    ranks.size() != 2 || statuses.size() != 4)
		bad++;

	// A captureless lambda is a valid user reduction callback.
	MPI_User_function *absmax = [](void *in, void *inout, int *len, MPI_Datatype *) {
		auto a = static_cast<const double *>(in);
		auto b = static_cast<double *>(inout);
		for (int i = 0; i < *len; i++)
			b[i] = std::max(std::abs(a[i]), std::abs(b[i]));
	};
	double in[2] = {-3.0, 1.0}, inout[2] = {2.0, -5.0};
	int len = 2;
	MPI_Datatype dt = MPI_DOUBLE;
	absmax(in, inout, &len, &dt);
	if (inout[0] != 3.0 || inout[1] != 5.0)
		bad++;

	MPI_Status st{};
	st.MPI_SOURCE = MPI_PROC_NULL;
	st.MPI_TAG = MPI_ANY_TAG;
	if (reinterpret_cast<int *>(&st)[MPI_F_TAG] != MPI_ANY_TAG)
		bad++;

	if (bad)
		std::fprintf(stderr, "abi_compile_cxx: %d mismatches with the MPI 5.0 ABI\n", bad);
	return bad ? 1 : 0;
}
