/* Handles as integers: MPI 5.0's MPI_X_toint/fromint and the Fortran MPI_X_c2f/f2c (MPI_Fint is
 * an int), answered in the upper half. A predefined handle is its own ABI value (all are below
 * SC_VH_PREDEF_MAX); an object's integer is SC_VH_PREDEF_MAX + a slot of a table this file owns,
 * given on first use and kept in the object (sc_vobj.fint) until the object is freed, so the
 * same object always gives the same integer, also after a restart (the table is upper-half
 * memory and the handles do not change). Also MPI_Status_c2f/f2c and MPI_Abi_get_version. */
#define _GNU_SOURCE
#include <mpi.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "../mpi_crossing.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct sc_vobj **slots;		      /* slot -> object; NULL: free */
static uint32_t nslots, capslots, first_free; /* first_free: a hint, no slot below is free */

static void oom(void)
{
	static const char m[] = "splitckpt: out of memory for a handle's integer value\n";
	(void)!write(2, m, sizeof m - 1);
	abort();
}

static int to_int(const void *h)
{
	uintptr_t v = (uintptr_t)h;
	if (v < SC_VH_PREDEF_MAX)
		return (int)v;
	struct sc_vobj *o = (struct sc_vobj *)v;
	pthread_mutex_lock(&lock);
	if (!o->fint) {
		uint32_t i = first_free;
		while (i < nslots && slots[i])
			i++;
		if (i == nslots) {
			if (nslots == capslots) {
				uint32_t cap = capslots ? 2 * capslots : 256;
				if (cap > (uint32_t)(0x7fffffff - SC_VH_PREDEF_MAX))
					oom(); /* no int left to give */
				struct sc_vobj **n = realloc(slots, sizeof *n * cap);
				if (!n)
					oom();
				slots = n;
				capslots = cap;
			}
			nslots++;
		}
		slots[i] = o;
		first_free = i + 1;
		o->fint = SC_VH_PREDEF_MAX + i;
	}
	int f = (int)o->fint;
	pthread_mutex_unlock(&lock);
	return f;
}

/* The handle of kind `kind` an integer names; the kind's NULL handle for an integer that names
 * no live object of that kind (as MPI makes no promise for it, the NULL handle is the safe
 * answer: any use of it fails with a clear error). */
static void *from_int(uint32_t kind, int f)
{
	if (f >= 0 && f < SC_VH_PREDEF_MAX)
		return (void *)(uintptr_t)f;
	void *h = (void *)(uintptr_t)sc_vk_null[kind];
	pthread_mutex_lock(&lock);
	uint32_t i = (uint32_t)f - SC_VH_PREDEF_MAX;
	if (f >= SC_VH_PREDEF_MAX && i < nslots && slots[i] && slots[i]->kind == kind)
		h = slots[i];
	pthread_mutex_unlock(&lock);
	return h;
}

void sc_vh_fint_forget(struct sc_vobj *o)
{
	pthread_mutex_lock(&lock);
	uint32_t i = o->fint - SC_VH_PREDEF_MAX;
	if (i < nslots && slots[i] == o) {
		slots[i] = NULL;
		if (i < first_free)
			first_free = i;
	}
	o->fint = 0;
	pthread_mutex_unlock(&lock);
}

/* Each kind's four functions (and their PMPI_ names). */
#define SC_HANDLE_INTS(Name, Type, KIND)                                                           \
	int PMPI_##Name##_toint(Type h)                                                            \
	{                                                                                          \
		return to_int(h);                                                                  \
	}                                                                                          \
	Type PMPI_##Name##_fromint(int f)                                                          \
	{                                                                                          \
		return (Type)from_int(KIND, f);                                                    \
	}                                                                                          \
	MPI_Fint PMPI_##Name##_c2f(Type h)                                                         \
	{                                                                                          \
		return to_int(h);                                                                  \
	}                                                                                          \
	Type PMPI_##Name##_f2c(MPI_Fint f)                                                         \
	{                                                                                          \
		return (Type)from_int(KIND, f);                                                    \
	}                                                                                          \
	int MPI_##Name##_toint(Type h) __attribute__((weak, alias("PMPI_" #Name "_toint")));       \
	Type MPI_##Name##_fromint(int f) __attribute__((weak, alias("PMPI_" #Name "_fromint")));   \
	MPI_Fint MPI_##Name##_c2f(Type h) __attribute__((weak, alias("PMPI_" #Name "_c2f")));      \
	Type MPI_##Name##_f2c(MPI_Fint f) __attribute__((weak, alias("PMPI_" #Name "_f2c")));

SC_HANDLE_INTS(Comm, MPI_Comm, SC_VK_COMM)
SC_HANDLE_INTS(Errhandler, MPI_Errhandler, SC_VK_ERRHANDLER)
SC_HANDLE_INTS(File, MPI_File, SC_VK_FILE)
SC_HANDLE_INTS(Group, MPI_Group, SC_VK_GROUP)
SC_HANDLE_INTS(Info, MPI_Info, SC_VK_INFO)
SC_HANDLE_INTS(Message, MPI_Message, SC_VK_MESSAGE)
SC_HANDLE_INTS(Op, MPI_Op, SC_VK_OP)
SC_HANDLE_INTS(Request, MPI_Request, SC_VK_REQUEST)
SC_HANDLE_INTS(Session, MPI_Session, SC_VK_SESSION)
SC_HANDLE_INTS(Type, MPI_Datatype, SC_VK_DATATYPE)
SC_HANDLE_INTS(Win, MPI_Win, SC_VK_WIN)

/* A Fortran status is the C one's eight ints in the same order (MPI_F_SOURCE, _TAG, _ERROR are
 * 0, 1, 2 in the ABI, as in struct MPI_Status). */
_Static_assert(sizeof(MPI_Status) == MPI_F_STATUS_SIZE * sizeof(MPI_Fint) && MPI_F_SOURCE == 0 &&
		   MPI_F_TAG == 1 && MPI_F_ERROR == 2,
	       "MPI_Status and the Fortran status differ");

int PMPI_Status_c2f(const MPI_Status *c_status, MPI_Fint *f_status)
{
	if (c_status == MPI_STATUS_IGNORE || c_status == MPI_STATUSES_IGNORE || !f_status)
		return MPI_ERR_ARG;
	__builtin_memcpy(f_status, c_status, sizeof *c_status);
	return MPI_SUCCESS;
}

int PMPI_Status_f2c(const MPI_Fint *f_status, MPI_Status *c_status)
{
	if (!f_status || c_status == MPI_STATUS_IGNORE || c_status == MPI_STATUSES_IGNORE)
		return MPI_ERR_ARG;
	__builtin_memcpy(c_status, f_status, sizeof *c_status);
	return MPI_SUCCESS;
}

int MPI_Status_c2f(const MPI_Status *c_status, MPI_Fint *f_status)
    __attribute__((weak, alias("PMPI_Status_c2f")));
int MPI_Status_f2c(const MPI_Fint *f_status, MPI_Status *c_status)
    __attribute__((weak, alias("PMPI_Status_f2c")));

/* The version of the standard ABI the application was built against (our mpi.h). */
int PMPI_Abi_get_version(int *abi_major, int *abi_minor)
{
	*abi_major = MPI_ABI_VERSION;
	*abi_minor = MPI_ABI_SUBVERSION;
	return MPI_SUCCESS;
}
int MPI_Abi_get_version(int *abi_major, int *abi_minor)
    __attribute__((weak, alias("PMPI_Abi_get_version")));
