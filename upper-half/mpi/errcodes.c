/* The error classes, codes and strings the application adds (MPI_Add_error_class/code/string):
 * kept here in the order added, so that a restart adds them to the new MPI in the same order,
 * which gives them the same ABI values (lower-half/mpi/lh_errcodes.c numbers them so), with
 * each code's last string. */
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mpi_crossing.h"
#include "cut.h"

struct added {
	int value;   /* the ABI class or code */
	int is_code; /* MPI_Add_error_code (of class cls) or MPI_Add_error_class */
	int cls;
	char *string; /* MPI_Add_error_string's last, or NULL */
};

/* Written only between sc_mpi_begin and sc_mpi_leave: no checkpoint sees it half-written. */
static struct added *added;
static size_t nadded, cap;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int remember(int is_code, int cls, int value)
{
	pthread_mutex_lock(&lock);
	if (nadded == cap) {
		size_t ncap = cap ? 2 * cap : 16;
		struct added *n = realloc(added, ncap * sizeof *n);
		if (!n) {
			pthread_mutex_unlock(&lock);
			return MPI_ERR_NO_MEM;
		}
		added = n;
		cap = ncap;
	}
	added[nadded++] = (struct added){.value = value, .is_code = is_code, .cls = cls};
	pthread_mutex_unlock(&lock);
	return MPI_SUCCESS;
}

/* MPI_Add_error_class (is_code 0) or MPI_Add_error_code (of class cls). */
static int add(int fn, int is_code, int cls, int *value)
{
	const struct sc_mpi_table *tab = sc_mpi_begin();
	int rc;
	if (is_code)
		SC_MPI_CALL(rc = tab->Add_error_code(cls, value));
	else
		SC_MPI_CALL(rc = tab->Add_error_class(value));
	if (rc == 0)
		rc = remember(is_code, cls, *value);
	if (rc != 0)
		return sc_mpi_fail(fn, rc);
	sc_mpi_leave();
	return MPI_SUCCESS;
}

int PMPI_Add_error_class(int *errorclass)
{
	return add(SC_FN_MPI_Add_error_class, 0, 0, errorclass);
}
int MPI_Add_error_class(int *errorclass) __attribute__((weak, alias("PMPI_Add_error_class")));

int PMPI_Add_error_code(int errorclass, int *errorcode)
{
	return add(SC_FN_MPI_Add_error_code, 1, errorclass, errorcode);
}
int MPI_Add_error_code(int errorclass, int *errorcode)
    __attribute__((weak, alias("PMPI_Add_error_code")));

int PMPI_Add_error_string(int errorcode, const char *string)
{
	const struct sc_mpi_table *tab = sc_mpi_begin();
	int rc;
	SC_MPI_CALL(rc = tab->Add_error_string(errorcode, string));
	pthread_mutex_lock(&lock);
	for (size_t i = 0; rc == 0 && i < nadded; i++) {
		if (added[i].value != errorcode)
			continue;
		char *copy = strdup(string);
		if (!copy) {
			rc = MPI_ERR_NO_MEM;
			break;
		}
		free(added[i].string);
		added[i].string = copy;
	}
	pthread_mutex_unlock(&lock);
	if (rc != 0)
		return sc_mpi_fail(SC_FN_MPI_Add_error_string, rc);
	sc_mpi_leave();
	return MPI_SUCCESS;
}
int MPI_Add_error_string(int errorcode, const char *string)
    __attribute__((weak, alias("PMPI_Add_error_string")));

int sc_mpi_errcodes_restore(const struct sc_mpi_table *tab, char *err, size_t errlen)
{
	for (size_t i = 0; i < nadded; i++) {
		const struct added *a = &added[i];
		int value = -1, rc;
		if (a->is_code)
			SC_MPI_CALL(rc = tab->Add_error_code(a->cls, &value));
		else
			SC_MPI_CALL(rc = tab->Add_error_class(&value));
		if (rc == 0 && value != a->value) {
			snprintf(
			    err, errlen,
			    "the new MPI numbered the error %s %d as %d: added classes and codes "
			    "would change meaning",
			    a->is_code ? "code" : "class", a->value, value);
			return -1;
		}
		if (rc == 0 && a->string)
			SC_MPI_CALL(rc = tab->Add_error_string(a->value, a->string));
		if (rc != 0) {
			snprintf(err, errlen, "adding the error %s %d again failed (MPI error %d)",
				 a->is_code ? "code" : "class", a->value, rc);
			return -1;
		}
	}
	return 0;
}
