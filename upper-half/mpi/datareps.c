/* The data representations the application registers (MPI_Register_datarep, _c): MPI keeps them
 * by name for the life of the process, so they are kept here in the order registered and a
 * restart registers them again with the new MPI, before any file is reopened (a view may name
 * one). */
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mpi_crossing.h"
#include "cut.h"

struct datarep {
	char *name;
	int large; /* MPI_Register_datarep_c */
	void *read, *write, *extent, *extra;
};

/* Written only between sc_mpi_begin and sc_mpi_leave: no checkpoint sees it half-written. */
static struct datarep *reps;
static size_t nreps, cap;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int remember(const struct datarep *r)
{
	int rc = MPI_SUCCESS;
	pthread_mutex_lock(&lock);
	if (nreps == cap) {
		size_t ncap = cap ? 2 * cap : 8;
		struct datarep *n = realloc(reps, ncap * sizeof *n);
		if (n) {
			reps = n;
			cap = ncap;
		}
	}
	char *name = strdup(r->name);
	if (nreps < cap && name) {
		reps[nreps] = *r;
		reps[nreps++].name = name;
	} else {
		free(name);
		rc = MPI_ERR_NO_MEM;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

static int do_register(const struct sc_mpi_table *tab, const struct datarep *r)
{
	int rc;
	if (r->large)
		SC_MPI_CALL(
		    rc = tab->Register_datarep_c(r->name, r->read, r->write, r->extent, r->extra));
	else
		SC_MPI_CALL(
		    rc = tab->Register_datarep(r->name, r->read, r->write, r->extent, r->extra));
	return rc;
}

static int register_datarep(int fn, const struct datarep *r)
{
	const struct sc_mpi_table *tab = sc_mpi_begin();
	int rc = do_register(tab, r);
	if (rc == 0)
		rc = remember(r);
	if (rc != 0)
		return sc_mpi_fail(fn, rc);
	sc_mpi_leave();
	return MPI_SUCCESS;
}

int PMPI_Register_datarep(const char *datarep, MPI_Datarep_conversion_function *read_conversion_fn,
			  MPI_Datarep_conversion_function *write_conversion_fn,
			  MPI_Datarep_extent_function *dtype_file_extent_fn, void *extra_state)
{
	struct datarep r = {(char *)datarep,
			    0,
			    (void *)read_conversion_fn,
			    (void *)write_conversion_fn,
			    (void *)dtype_file_extent_fn,
			    extra_state};
	return register_datarep(SC_FN_MPI_Register_datarep, &r);
}
int MPI_Register_datarep(const char *datarep, MPI_Datarep_conversion_function *read_conversion_fn,
			 MPI_Datarep_conversion_function *write_conversion_fn,
			 MPI_Datarep_extent_function *dtype_file_extent_fn, void *extra_state)
    __attribute__((weak, alias("PMPI_Register_datarep")));

int PMPI_Register_datarep_c(const char *datarep,
			    MPI_Datarep_conversion_function_c *read_conversion_fn,
			    MPI_Datarep_conversion_function_c *write_conversion_fn,
			    MPI_Datarep_extent_function *dtype_file_extent_fn, void *extra_state)
{
	struct datarep r = {(char *)datarep,
			    1,
			    (void *)read_conversion_fn,
			    (void *)write_conversion_fn,
			    (void *)dtype_file_extent_fn,
			    extra_state};
	return register_datarep(SC_FN_MPI_Register_datarep_c, &r);
}
int MPI_Register_datarep_c(const char *datarep,
			   MPI_Datarep_conversion_function_c *read_conversion_fn,
			   MPI_Datarep_conversion_function_c *write_conversion_fn,
			   MPI_Datarep_extent_function *dtype_file_extent_fn, void *extra_state)
    __attribute__((weak, alias("PMPI_Register_datarep_c")));

int sc_mpi_datareps_restore(const struct sc_mpi_table *tab, char *err, size_t errlen)
{
	for (size_t i = 0; i < nreps; i++) {
		int rc = do_register(tab, &reps[i]);
		if (rc != 0) {
			snprintf(err, errlen,
				 "registering the data representation \"%s\" again failed (MPI "
				 "error %d)",
				 reps[i].name, rc);
			return -1;
		}
	}
	return 0;
}
