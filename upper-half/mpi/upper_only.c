/* The MPI functions answered in the upper half without crossing (the list's `upper` lines):
 * MPI_Get_version (the ABI's), MPI_Pcontrol, address arithmetic, MPI 4.1's accessors of a
 * status's public fields, and the extent queries removed in MPI 3.0, which are the MPI-2
 * MPI_Type_get_extent in parts; all but the version compute what MPICH does. The older names that
 * are plain renames are generated (the list's `alias` lines). */
#include <mpi.h>
#include <stdint.h>

/* The version of the interface the application sees: the standard ABI's of our mpi.h (MPI 5.0),
 * so that what a program tests at compile time (MPI_VERSION) and at run time agree, and the
 * same under every MPI beneath. Callable before MPI_Init, as the standard allows. */
int PMPI_Get_version(int *version, int *subversion)
{
	*version = MPI_VERSION;
	*subversion = MPI_SUBVERSION;
	return MPI_SUCCESS;
}
int MPI_Get_version(int *version, int *subversion) __attribute__((weak, alias("PMPI_Get_version")));

/* The profiling interface's hook: MPICH's does nothing, and a tool intercepts MPI_Pcontrol. */
int PMPI_Pcontrol(const int level, ...)
{
	(void)level;
	return MPI_SUCCESS;
}
int MPI_Pcontrol(const int level, ...) __attribute__((weak, alias("PMPI_Pcontrol")));

/* MPI 4.1's accessors of the public fields of a status (the ABI's struct, whichever MPI runs
 * beneath: no crossing). */
#define STATUS_FIELD(Name, field)                                                                  \
	int PMPI_Status_get_##Name(const MPI_Status *status, int *value)                           \
	{                                                                                          \
		*value = status->field;                                                            \
		return MPI_SUCCESS;                                                                \
	}                                                                                          \
	int MPI_Status_get_##Name(const MPI_Status *status, int *value)                            \
	    __attribute__((weak, alias("PMPI_Status_get_" #Name)));                                \
	int PMPI_Status_set_##Name(MPI_Status *status, int value)                                  \
	{                                                                                          \
		status->field = value;                                                             \
		return MPI_SUCCESS;                                                                \
	}                                                                                          \
	int MPI_Status_set_##Name(MPI_Status *status, int value)                                   \
	    __attribute__((weak, alias("PMPI_Status_set_" #Name)));
STATUS_FIELD(source, MPI_SOURCE)
STATUS_FIELD(tag, MPI_TAG)
STATUS_FIELD(error, MPI_ERROR)

/* Addresses are plain integers in a flat address space; unsigned, so a wrap is defined. */
MPI_Aint PMPI_Aint_add(MPI_Aint base, MPI_Aint disp)
{
	return (MPI_Aint)((uintptr_t)base + (uintptr_t)disp);
}
MPI_Aint MPI_Aint_add(MPI_Aint base, MPI_Aint disp) __attribute__((weak, alias("PMPI_Aint_add")));

MPI_Aint PMPI_Aint_diff(MPI_Aint addr1, MPI_Aint addr2)
{
	return (MPI_Aint)((uintptr_t)addr1 - (uintptr_t)addr2);
}
MPI_Aint MPI_Aint_diff(MPI_Aint addr1, MPI_Aint addr2)
    __attribute__((weak, alias("PMPI_Aint_diff")));

int PMPI_Type_extent(MPI_Datatype datatype, MPI_Aint *extent)
{
	MPI_Aint lb;
	return PMPI_Type_get_extent(datatype, &lb, extent);
}
int MPI_Type_extent(MPI_Datatype datatype, MPI_Aint *extent)
    __attribute__((weak, alias("PMPI_Type_extent")));

int PMPI_Type_lb(MPI_Datatype datatype, MPI_Aint *displacement)
{
	MPI_Aint extent;
	return PMPI_Type_get_extent(datatype, displacement, &extent);
}
int MPI_Type_lb(MPI_Datatype datatype, MPI_Aint *displacement)
    __attribute__((weak, alias("PMPI_Type_lb")));

/* The upper bound is lb + extent (MPI 4.1 section 5.1.7), what MPICH keeps as the type's ub. */
int PMPI_Type_ub(MPI_Datatype datatype, MPI_Aint *displacement)
{
	MPI_Aint lb, extent;
	int rc = PMPI_Type_get_extent(datatype, &lb, &extent);
	if (rc == MPI_SUCCESS)
		*displacement = lb + extent;
	return rc;
}
int MPI_Type_ub(MPI_Datatype datatype, MPI_Aint *displacement)
    __attribute__((weak, alias("PMPI_Type_ub")));
