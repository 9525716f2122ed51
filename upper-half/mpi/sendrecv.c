/* MPI_Sendrecv and MPI_Sendrecv_replace as the standard defines them: a nonblocking receive and
 * send and a wait for both, through the wrappers of libsplitckpt_mpi. So neither keeps its thread
 * inside MPI (a checkpoint's drain could never begin while a peer is already stopped), the
 * receive sees drained messages first, and the counters of the cut move as for any send and
 * receive. MPICH 4.0's MPI_Isendrecv cannot serve: it leaves the status's source and tag unset.
 * MPI_Isendrecv(_replace) likewise: see isendrecv() below. */
#include <mpi.h>
#include <pthread.h>
#include <stdlib.h>

int PMPI_Sendrecv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag,
		  void *recvbuf, int recvcount, MPI_Datatype recvtype, int source, int recvtag,
		  MPI_Comm comm, MPI_Status *status)
{
	MPI_Request r = MPI_REQUEST_NULL, s;
	int rc = MPI_SUCCESS;
	/* From MPI_PROC_NULL nothing arrives: the status says so (MPICH 4.0's Irecv + Wait
	 * would leave source and tag 0). */
	if (source == MPI_PROC_NULL && status != MPI_STATUS_IGNORE) {
		status->MPI_SOURCE = MPI_PROC_NULL;
		status->MPI_TAG = MPI_ANY_TAG;
		status->MPI_ERROR = MPI_SUCCESS;
		rc = PMPI_Status_set_elements(status, MPI_BYTE, 0);
	} else if (source != MPI_PROC_NULL) {
		rc = PMPI_Irecv(recvbuf, recvcount, recvtype, source, recvtag, comm, &r);
	}
	if (rc != MPI_SUCCESS)
		return rc;
	rc = PMPI_Isend(sendbuf, sendcount, sendtype, dest, sendtag, comm, &s);
	if (rc != MPI_SUCCESS) {
		if (r != MPI_REQUEST_NULL) {
			PMPI_Cancel(&r);
			PMPI_Request_free(&r);
		}
		return rc;
	}
	if (r != MPI_REQUEST_NULL)
		rc = PMPI_Wait(&r, status);
	int rs = PMPI_Wait(&s, MPI_STATUS_IGNORE);
	return rc != MPI_SUCCESS ? rc : rs;
}

int PMPI_Sendrecv_replace(void *buf, int count, MPI_Datatype datatype, int dest, int sendtag,
			  int source, int recvtag, MPI_Comm comm, MPI_Status *status)
{
	/* The outgoing data is packed first: the receive overwrites buf. */
	int size = 0, pos = 0;
	int rc = PMPI_Pack_size(count, datatype, comm, &size);
	if (rc != MPI_SUCCESS)
		return rc;
	void *tmp = malloc(size > 0 ? (size_t)size : 1);
	if (!tmp)
		return MPI_ERR_NO_MEM;
	rc = PMPI_Pack(buf, count, datatype, tmp, size, &pos, comm);
	if (rc == MPI_SUCCESS)
		rc = PMPI_Sendrecv(tmp, pos, MPI_PACKED, dest, sendtag, buf, count, datatype,
				   source, recvtag, comm, status);
	free(tmp);
	return rc;
}

/* The sends of MPI_Isendrecv(_replace), from a packed copy, until they complete. */
struct orphan {
	struct orphan *next;
	MPI_Request send;
	void *copy;
};
static struct orphan *orphans;
static pthread_mutex_t orphans_lock = PTHREAD_MUTEX_INITIALIZER;

static void reap_orphans(void)
{
	pthread_mutex_lock(&orphans_lock);
	for (struct orphan **p = &orphans; *p;) {
		struct orphan *o = *p;
		int done = 0;
		if (PMPI_Test(&o->send, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS || !done) {
			p = &o->next;
			continue;
		}
		*p = o->next;
		free(o->copy);
		free(o);
	}
	pthread_mutex_unlock(&orphans_lock);
}

/* MPI_Isendrecv(_replace) as two requests of their own kinds, which the drain and the restart
 * know (MPICH's single request hides a receive whose peer a checkpoint may stop before it
 * sends): the receive is the request the application gets, so its status is the receive's;
 * the send goes from a packed copy of the data, so the application may reuse its buffer as
 * soon as the receive completed, and is reaped by later calls once complete. */
static int isendrecv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, int dest,
		     int sendtag, void *recvbuf, int recvcount, MPI_Datatype recvtype, int source,
		     int recvtag, MPI_Comm comm, MPI_Request *request)
{
	reap_orphans();
	int size = 0, pos = 0;
	int rc = PMPI_Pack_size(sendcount, sendtype, comm, &size);
	if (rc != MPI_SUCCESS)
		return rc;
	struct orphan *o = malloc(sizeof *o);
	void *copy = malloc(size > 0 ? (size_t)size : 1);
	if (!o || !copy) {
		free(o);
		free(copy);
		return MPI_ERR_NO_MEM;
	}
	rc = PMPI_Pack(sendbuf, sendcount, sendtype, copy, size, &pos, comm);
	if (rc == MPI_SUCCESS)
		rc = PMPI_Irecv(recvbuf, recvcount, recvtype, source, recvtag, comm, request);
	if (rc == MPI_SUCCESS) {
		rc = PMPI_Isend(copy, pos, MPI_PACKED, dest, sendtag, comm, &o->send);
		if (rc != MPI_SUCCESS) {
			PMPI_Cancel(request);
			PMPI_Request_free(request);
		}
	}
	if (rc != MPI_SUCCESS) {
		free(o);
		free(copy);
		return rc;
	}
	o->copy = copy;
	pthread_mutex_lock(&orphans_lock);
	o->next = orphans;
	orphans = o;
	pthread_mutex_unlock(&orphans_lock);
	return MPI_SUCCESS;
}

int PMPI_Isendrecv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag,
		   void *recvbuf, int recvcount, MPI_Datatype recvtype, int source, int recvtag,
		   MPI_Comm comm, MPI_Request *request)
{
	return isendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount, recvtype,
			 source, recvtag, comm, request);
}

int PMPI_Isendrecv_replace(void *buf, int count, MPI_Datatype datatype, int dest, int sendtag,
			   int source, int recvtag, MPI_Comm comm, MPI_Request *request)
{
	return isendrecv(buf, count, datatype, dest, sendtag, buf, count, datatype, source, recvtag,
			 comm, request);
}

int MPI_Sendrecv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag,
		 void *recvbuf, int recvcount, MPI_Datatype recvtype, int source, int recvtag,
		 MPI_Comm comm, MPI_Status *status) __attribute__((weak, alias("PMPI_Sendrecv")));
int MPI_Sendrecv_replace(void *buf, int count, MPI_Datatype datatype, int dest, int sendtag,
			 int source, int recvtag, MPI_Comm comm, MPI_Status *status)
    __attribute__((weak, alias("PMPI_Sendrecv_replace")));
int MPI_Isendrecv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag,
		  void *recvbuf, int recvcount, MPI_Datatype recvtype, int source, int recvtag,
		  MPI_Comm comm, MPI_Request *request)
    __attribute__((weak, alias("PMPI_Isendrecv")));
int MPI_Isendrecv_replace(void *buf, int count, MPI_Datatype datatype, int dest, int sendtag,
			  int source, int recvtag, MPI_Comm comm, MPI_Request *request)
    __attribute__((weak, alias("PMPI_Isendrecv_replace")));
