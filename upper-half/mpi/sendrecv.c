/* MPI_Sendrecv and MPI_Sendrecv_replace as the standard defines them: a nonblocking receive and
 * send and a wait for both, through the wrappers of libsplitckpt_mpi. So neither keeps its thread
 * inside MPI (a checkpoint's drain could never begin while a peer is already stopped), the
 * receive sees drained messages first, and the counters of the cut move as for any send and
 * receive. MPICH 4.0's MPI_Isendrecv cannot serve: it leaves the status's source and tag unset.
 * MPI_Isendrecv(_replace) likewise: see isendrecv() below. The _c (large-count) forms too. */
#include <mpi.h>
#include <pthread.h>
#include <stdlib.h>

/* Both sizes of counts go through one body: `large` selects the _c functions (which a lower half
 * may lack, as Open MPI 4.1 does, so the int forms keep the int calls). */
static int irecv(void *buf, MPI_Count count, MPI_Datatype type, int source, int tag, MPI_Comm comm,
		 MPI_Request *r, int large)
{
	return large ? PMPI_Irecv_c(buf, count, type, source, tag, comm, r)
		     : PMPI_Irecv(buf, (int)count, type, source, tag, comm, r);
}

static int isend(const void *buf, MPI_Count count, MPI_Datatype type, int dest, int tag,
		 MPI_Comm comm, MPI_Request *r, int large)
{
	return large ? PMPI_Isend_c(buf, count, type, dest, tag, comm, r)
		     : PMPI_Isend(buf, (int)count, type, dest, tag, comm, r);
}

/* buf packed into a new allocation (*copy, *len bytes). */
static int pack_copy(const void *buf, MPI_Count count, MPI_Datatype type, MPI_Comm comm,
		     void **copy, MPI_Count *len, int large)
{
	int rc, size = 0, pos = 0;
	MPI_Count size_c = 0, pos_c = 0;
	rc = large ? PMPI_Pack_size_c(count, type, comm, &size_c)
		   : PMPI_Pack_size((int)count, type, comm, &size);
	if (rc != MPI_SUCCESS)
		return rc;
	if (!large)
		size_c = size;
	void *tmp = malloc(size_c > 0 ? (size_t)size_c : 1);
	if (!tmp)
		return MPI_ERR_NO_MEM;
	rc = large ? PMPI_Pack_c(buf, count, type, tmp, size_c, &pos_c, comm)
		   : PMPI_Pack(buf, (int)count, type, tmp, size, &pos, comm);
	if (rc != MPI_SUCCESS) {
		free(tmp);
		return rc;
	}
	*copy = tmp;
	*len = large ? pos_c : pos;
	return MPI_SUCCESS;
}

static int sendrecv(const void *sendbuf, MPI_Count sendcount, MPI_Datatype sendtype, int dest,
		    int sendtag, void *recvbuf, MPI_Count recvcount, MPI_Datatype recvtype,
		    int source, int recvtag, MPI_Comm comm, MPI_Status *status, int large)
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
		rc = irecv(recvbuf, recvcount, recvtype, source, recvtag, comm, &r, large);
	}
	if (rc != MPI_SUCCESS)
		return rc;
	rc = isend(sendbuf, sendcount, sendtype, dest, sendtag, comm, &s, large);
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

/* The outgoing data is packed first: the receive overwrites buf. */
static int sendrecv_replace(void *buf, MPI_Count count, MPI_Datatype datatype, int dest,
			    int sendtag, int source, int recvtag, MPI_Comm comm, MPI_Status *status,
			    int large)
{
	void *tmp = NULL;
	MPI_Count len = 0;
	int rc = pack_copy(buf, count, datatype, comm, &tmp, &len, large);
	if (rc != MPI_SUCCESS)
		return rc;
	rc = sendrecv(tmp, len, MPI_PACKED, dest, sendtag, buf, count, datatype, source, recvtag,
		      comm, status, large);
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
static int isendrecv(const void *sendbuf, MPI_Count sendcount, MPI_Datatype sendtype, int dest,
		     int sendtag, void *recvbuf, MPI_Count recvcount, MPI_Datatype recvtype,
		     int source, int recvtag, MPI_Comm comm, MPI_Request *request, int large)
{
	reap_orphans();
	struct orphan *o = malloc(sizeof *o);
	if (!o)
		return MPI_ERR_NO_MEM;
	void *copy = NULL;
	MPI_Count len = 0;
	int rc = pack_copy(sendbuf, sendcount, sendtype, comm, &copy, &len, large);
	if (rc == MPI_SUCCESS)
		rc = irecv(recvbuf, recvcount, recvtype, source, recvtag, comm, request, large);
	if (rc == MPI_SUCCESS) {
		rc = isend(copy, len, MPI_PACKED, dest, sendtag, comm, &o->send, large);
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

int PMPI_Sendrecv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag,
		  void *recvbuf, int recvcount, MPI_Datatype recvtype, int source, int recvtag,
		  MPI_Comm comm, MPI_Status *status)
{
	return sendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount, recvtype,
			source, recvtag, comm, status, 0);
}

int PMPI_Sendrecv_c(const void *sendbuf, MPI_Count sendcount, MPI_Datatype sendtype, int dest,
		    int sendtag, void *recvbuf, MPI_Count recvcount, MPI_Datatype recvtype,
		    int source, int recvtag, MPI_Comm comm, MPI_Status *status)
{
	return sendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount, recvtype,
			source, recvtag, comm, status, 1);
}

int PMPI_Sendrecv_replace(void *buf, int count, MPI_Datatype datatype, int dest, int sendtag,
			  int source, int recvtag, MPI_Comm comm, MPI_Status *status)
{
	return sendrecv_replace(buf, count, datatype, dest, sendtag, source, recvtag, comm, status,
				0);
}

int PMPI_Sendrecv_replace_c(void *buf, MPI_Count count, MPI_Datatype datatype, int dest,
			    int sendtag, int source, int recvtag, MPI_Comm comm, MPI_Status *status)
{
	return sendrecv_replace(buf, count, datatype, dest, sendtag, source, recvtag, comm, status,
				1);
}

int PMPI_Isendrecv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag,
		   void *recvbuf, int recvcount, MPI_Datatype recvtype, int source, int recvtag,
		   MPI_Comm comm, MPI_Request *request)
{
	return isendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount, recvtype,
			 source, recvtag, comm, request, 0);
}

int PMPI_Isendrecv_c(const void *sendbuf, MPI_Count sendcount, MPI_Datatype sendtype, int dest,
		     int sendtag, void *recvbuf, MPI_Count recvcount, MPI_Datatype recvtype,
		     int source, int recvtag, MPI_Comm comm, MPI_Request *request)
{
	return isendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount, recvtype,
			 source, recvtag, comm, request, 1);
}

int PMPI_Isendrecv_replace(void *buf, int count, MPI_Datatype datatype, int dest, int sendtag,
			   int source, int recvtag, MPI_Comm comm, MPI_Request *request)
{
	return isendrecv(buf, count, datatype, dest, sendtag, buf, count, datatype, source, recvtag,
			 comm, request, 0);
}

int PMPI_Isendrecv_replace_c(void *buf, MPI_Count count, MPI_Datatype datatype, int dest,
			     int sendtag, int source, int recvtag, MPI_Comm comm,
			     MPI_Request *request)
{
	return isendrecv(buf, count, datatype, dest, sendtag, buf, count, datatype, source, recvtag,
			 comm, request, 1);
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
int MPI_Sendrecv_c(const void *sendbuf, MPI_Count sendcount, MPI_Datatype sendtype, int dest,
		   int sendtag, void *recvbuf, MPI_Count recvcount, MPI_Datatype recvtype,
		   int source, int recvtag, MPI_Comm comm, MPI_Status *status)
    __attribute__((weak, alias("PMPI_Sendrecv_c")));
int MPI_Sendrecv_replace_c(void *buf, MPI_Count count, MPI_Datatype datatype, int dest, int sendtag,
			   int source, int recvtag, MPI_Comm comm, MPI_Status *status)
    __attribute__((weak, alias("PMPI_Sendrecv_replace_c")));
int MPI_Isendrecv_c(const void *sendbuf, MPI_Count sendcount, MPI_Datatype sendtype, int dest,
		    int sendtag, void *recvbuf, MPI_Count recvcount, MPI_Datatype recvtype,
		    int source, int recvtag, MPI_Comm comm, MPI_Request *request)
    __attribute__((weak, alias("PMPI_Isendrecv_c")));
int MPI_Isendrecv_replace_c(void *buf, MPI_Count count, MPI_Datatype datatype, int dest,
			    int sendtag, int source, int recvtag, MPI_Comm comm,
			    MPI_Request *request)
    __attribute__((weak, alias("PMPI_Isendrecv_replace_c")));
