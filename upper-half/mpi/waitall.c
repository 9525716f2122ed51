/* MPI_Waitall as MPI_Waitsome calls over the requests not yet complete. MPICH 4.0.2 has no test
 * of a whole array that serves: MPI_Testall fails over unfinished persistent collectives and
 * trips an assertion over ROMIO's I/O requests, and MPI_Request_get_status never runs the poll
 * function of ROMIO's generalized requests (a Waitall over MPI_File_iwrite requests never
 * ended). Its MPI_Waitsome reports a completed persistent collective again in every later call,
 * so each call gets only the requests it has not reported yet. MPI_Waitsome, time-sliced in the
 * lower half like every wait, completes all that are complete in one crossing: a Waitall whose
 * requests are done costs one call. A checkpoint between calls finds the completed requests
 * updated and their statuses in the application's arrays, and the loop goes on after it. */
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "../mpi_crossing.h"
#include "cut.h"

enum { PENDING, DONE, DONE_ERROR_SET }; /* per request: what Waitsome said of it */

/* Room for n of each array: in `small` (n <= SMALL) or malloc'd. */
enum { SMALL = 64 };
struct room {
	MPI_Status *st;
	MPI_Request *pend; /* the requests not reported yet ... */
	int *map;	   /* ... and their places in the application's array */
	int *idx;
	char *state;
};

static int room_get(struct room *r, struct room *small, int n)
{
	if (n <= SMALL) {
		*r = *small;
		return 1;
	}
	r->st = malloc(sizeof *r->st * (size_t)n);
	r->pend = malloc(sizeof *r->pend * (size_t)n);
	r->map = malloc(sizeof *r->map * (size_t)n);
	r->idx = malloc(sizeof *r->idx * (size_t)n);
	r->state = malloc((size_t)n);
	return r->st && r->pend && r->map && r->idx && r->state;
}

static void room_put(struct room *r, const struct room *small)
{
	if (r->st == small->st)
		return;
	free(r->st);
	free(r->pend);
	free(r->map);
	free(r->idx);
	free(r->state);
}

int PMPI_Waitall(int count, MPI_Request requests[], MPI_Status statuses[])
{
	MPI_Status st[SMALL];
	MPI_Request pend[SMALL];
	int map[SMALL], idx[SMALL];
	char state[SMALL];
	struct room small = {st, pend, map, idx, state}, r;
	if (count < 0)
		return MPI_ERR_COUNT;
	int rc = MPI_SUCCESS, errors = 0, first_error = MPI_SUCCESS, npend = 0;
	if (!room_get(&r, &small, count)) {
		rc = MPI_ERR_NO_MEM;
		goto out;
	}
	memset(r.state, PENDING, (size_t)count);
	for (int i = 0; i < count; i++)
		if (requests[i] != MPI_REQUEST_NULL) {
			r.map[npend] = i;
			r.pend[npend++] = requests[i];
		}
	while (npend > 0) {
		int n = 0;
		rc = PMPI_Waitsome(npend, r.pend, &n, r.idx, r.st);
		for (int j = 0; j < npend; j++) /* completed: freed, or inactive if persistent */
			requests[r.map[j]] = r.pend[j];
		if (rc != MPI_SUCCESS && rc != MPI_ERR_IN_STATUS)
			goto out;
		if (n == MPI_UNDEFINED)
			break; /* the rest are inactive persistent requests */
		for (int k = 0; k < n; k++) {
			const int i = r.map[r.idx[k]];
			if (rc == MPI_ERR_IN_STATUS && r.st[k].MPI_ERROR != MPI_SUCCESS &&
			    !errors++)
				first_error = r.st[k].MPI_ERROR;
			r.state[i] = rc == MPI_ERR_IN_STATUS ? DONE_ERROR_SET : DONE;
			if (statuses != MPI_STATUSES_IGNORE)
				statuses[i] = r.st[k];
		}
		int left = 0;
		for (int j = 0; j < npend; j++)
			if (r.state[r.map[j]] == PENDING) {
				r.map[left] = r.map[j];
				r.pend[left++] = r.pend[j];
			}
		npend = left;
	}
	rc = MPI_SUCCESS;
	for (int i = 0; i < count && statuses != MPI_STATUSES_IGNORE; i++) {
		if (r.state[i] == PENDING) /* null or inactive from the start */
			sc_mpi_empty_status((struct sc_abi_status *)&statuses[i]);
		else if (r.state[i] == DONE && errors)
			statuses[i].MPI_ERROR = MPI_SUCCESS;
	}
	if (errors)
		rc = statuses != MPI_STATUSES_IGNORE ? MPI_ERR_IN_STATUS : first_error;
out:
	room_put(&r, &small);
	return rc;
}

int MPI_Waitall(int count, MPI_Request requests[], MPI_Status statuses[])
    __attribute__((weak, alias("PMPI_Waitall")));
