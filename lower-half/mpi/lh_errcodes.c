/* Error codes between the ABI and the implementation: the standard classes (a generated table),
 * the detailed codes an implementation returns (kept in a ring, so that MPI_Error_string can
 * still describe them), and the classes and codes the application adds (MPI_Add_error_class/
 * code), which cross as SC_ABI_USERCODE_BASE + the order in which they were added: the same
 * values under any MPI, and again after a restart that adds them in the same order. */
#define _GNU_SOURCE
#include "lh_backend.h"

#include <pthread.h>

/* Detailed implementation codes (MPICH encodes where an error arose in the code). */
static int err_ring[SC_ERRCODE_RING];
static uint32_t err_next;

/* The implementation's value of each added class or code, in the order added, and its ABI
 * class (itself for a class). Entries are written before n_user counts them (release), so a
 * reader never sees an unwritten one. */
static int user_lower[SC_USERCODE_MAX];
static int user_class[SC_USERCODE_MAX];
static int n_user;
static pthread_mutex_t user_lock = PTHREAD_MUTEX_INITIALIZER;

static int user_out(int lower)
{
	int n = __atomic_load_n(&n_user, __ATOMIC_ACQUIRE);
	for (int i = 0; i < n; i++)
		if (user_lower[i] == lower)
			return SC_ABI_USERCODE_BASE + i;
	return -1;
}

int lh_class_out(int cls)
{
	for (const struct lh_errclass *e = lh_errclass_table; e->abi >= 0; e++)
		if (e->lower == cls)
			return e->abi;
	int user = user_out(cls);
	return user >= 0 ? user : SC_ABI_ERR_OTHER;
}

int lh_err_out_slow(int rc)
{
	int user = user_out(rc);
	if (user >= 0)
		return user;
	int cls;
	if (MPI_Error_class(rc, &cls) != MPI_SUCCESS)
		cls = MPI_ERR_OTHER;
	int abi = lh_class_out(cls);
	if (rc == cls)
		return abi;
	uint32_t i = __atomic_fetch_add(&err_next, 1, __ATOMIC_RELAXED) % SC_ERRCODE_RING;
	err_ring[i] = rc;
	return SC_ABI_ERRCODE_BASE + (int)i;
}

int lh_err_in(int abi)
{
	if (abi == 0)
		return MPI_SUCCESS;
	if (abi >= SC_ABI_ERRCODE_BASE && abi < SC_ABI_ERRCODE_BASE + SC_ERRCODE_RING)
		return err_ring[abi - SC_ABI_ERRCODE_BASE];
	if (abi >= SC_ABI_USERCODE_BASE &&
	    abi < SC_ABI_USERCODE_BASE + __atomic_load_n(&n_user, __ATOMIC_ACQUIRE))
		return user_lower[abi - SC_ABI_USERCODE_BASE];
	for (const struct lh_errclass *e = lh_errclass_table; e->abi >= 0; e++)
		if (e->abi == abi)
			return e->lower;
	return abi; /* no code of ours: MPI says what is wrong with it */
}

int lh_last_used_code(void)
{
	int n = __atomic_load_n(&n_user, __ATOMIC_ACQUIRE);
	return n ? SC_ABI_USERCODE_BASE + n - 1 : SC_ABI_ERR_LASTCODE;
}

/* MPI_Add_error_class, or MPI_Add_error_code of the ABI class cls. */
static int add_user(int is_code, int cls, int *abi)
{
	int lower = 0, rc;
	pthread_mutex_lock(&user_lock); /* the order of the values is the order of the calls */
	if (n_user == SC_USERCODE_MAX) {
		pthread_mutex_unlock(&user_lock);
		return SC_ABI_ERR_NO_MEM; /* the ABI range of added codes is full */
	}
	rc = !is_code ? MPI_Add_error_class(&lower) : MPI_Add_error_code(lh_err_in(cls), &lower);
	if (rc == MPI_SUCCESS) {
		user_lower[n_user] = lower;
		*abi = SC_ABI_USERCODE_BASE + n_user;
		user_class[n_user] = is_code ? cls : *abi;
		__atomic_store_n(&n_user, n_user + 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&user_lock);
	return lh_err_out(rc);
}

int lh_Add_error_class(int *errorclass);
int lh_Add_error_class(int *errorclass)
{
	return add_user(0, 0, errorclass);
}

int lh_Add_error_code(int errorclass, int *errorcode);
int lh_Add_error_code(int errorclass, int *errorcode)
{
	return add_user(1, errorclass, errorcode);
}

/* Answered from the table for what the application added: the same under any MPI (Open MPI
 * 4.1.4 calls an added class MPI_ERR_UNKNOWN). */
int lh_Error_class(int errorcode, int *errorclass);
int lh_Error_class(int errorcode, int *errorclass)
{
	int user = errorcode - SC_ABI_USERCODE_BASE;
	if (user >= 0 && user < __atomic_load_n(&n_user, __ATOMIC_ACQUIRE)) {
		*errorclass = user_class[user];
		return MPI_SUCCESS;
	}
	int cls = 0, rc = MPI_Error_class(lh_err_in(errorcode), &cls);
	if (rc != MPI_SUCCESS)
		return lh_err_out(rc);
	*errorclass = lh_class_out(cls);
	return MPI_SUCCESS;
}
