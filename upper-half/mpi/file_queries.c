/* MPI-IO queries whose answer a restart would change if MPI gave it alone: the access mode of a
 * file created with MPI_MODE_EXCL (a restart reopens it without: files.c), and the types of a
 * file's view, which MPI hands back as new duplicates of the types the view was set with: such
 * a duplicate is recorded as an MPI_Type_dup of the application's type, so a restart makes it
 * again like any other type. */
#include <mpi.h>
#include <stdint.h>

#include "../mpi_crossing.h"

int PMPI_File_get_amode(MPI_File fh, int *amode)
{
	const struct sc_mpi_table *tab = sc_mpi_begin();
	int rc;
	SC_MPI_CALL(rc = tab->File_get_amode(sc_vh_lower(fh), amode));
	if (rc != 0)
		return sc_mpi_fail(SC_FN_MPI_File_get_amode, rc);
	if ((uintptr_t)fh >= SC_VH_PREDEF_MAX &&
	    (((const struct sc_vobj *)fh)->flags & SC_VOBJ_OPENED_EXCL))
		*amode |= MPI_MODE_EXCL;
	sc_mpi_leave();
	return MPI_SUCCESS;
}
int MPI_File_get_amode(MPI_File fh, int *amode) __attribute__((weak, alias("PMPI_File_get_amode")));

/* arg: the type's place in MPI_File_set_view's record (fh, disp, etype, filetype, ...) */
static MPI_Datatype view_type(MPI_File fh, uint64_t lower, int arg)
{
	uint64_t set = 0;
	if (sc_vh_from_lower(SC_VK_DATATYPE, lower) == sc_vk_null[SC_VK_DATATYPE] &&
	    sc_vh_set_arg(SC_FN_MPI_File_set_view, (uint64_t)(uintptr_t)fh, arg, &set))
		return sc_vh_new(SC_VK_DATATYPE, lower, SC_FN_MPI_Type_dup, 1, &set, 1);
	return sc_vh_existing(SC_VK_DATATYPE, lower, SC_FN_MPI_File_get_view);
}

int PMPI_File_get_view(MPI_File fh, MPI_Offset *disp, MPI_Datatype *etype, MPI_Datatype *filetype,
		       char *datarep)
{
	const struct sc_mpi_table *tab = sc_mpi_begin();
	uint64_t l_etype = 0, l_filetype = 0;
	int rc;
	SC_MPI_CALL(rc = tab->File_get_view(sc_vh_lower(fh), disp, &l_etype, &l_filetype, datarep));
	if (rc != 0)
		return sc_mpi_fail(SC_FN_MPI_File_get_view, rc);
	*etype = view_type(fh, l_etype, 2);
	*filetype = view_type(fh, l_filetype, 3);
	sc_mpi_leave();
	return MPI_SUCCESS;
}
int MPI_File_get_view(MPI_File fh, MPI_Offset *disp, MPI_Datatype *etype, MPI_Datatype *filetype,
		      char *datarep) __attribute__((weak, alias("PMPI_File_get_view")));
