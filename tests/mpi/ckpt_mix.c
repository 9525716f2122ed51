/* A communication-heavy MPI program for checkpoint tests: every step mixes a ring of Isend/Irecv
 * posted a step ahead (receives outstanding across steps and across checkpoints), MPI_ANY_SOURCE
 * receives (every other step through MPI_Mprobe/MPI_Mrecv), a rendezvous-sized message, a derived
 * datatype, Alltoallv, a nonblocking Iallreduce completed one step later, and collectives on a
 * split, a duplicated and a Cartesian communicator; an attribute of a user keyval changed every
 * step and an MPI-IO file each rank writes through its own file pointer (in $SC_CKPT_MIX_DIR; both
 * must survive a restart); one-sided: a put each step whose fence epoch stays open across steps,
 * and an atomic counter on rank 0 in a lock_all epoch held the whole run; a message rank 0
 * matches with MPI_Mprobe in one step and receives with MPI_Mrecv in the next; an attribute
 * whose copy and delete callbacks run every step and must see the keyval the program holds; a
 * buffered send each step through a buffer attached the whole run (a restart attaches it again).
 * Every received value is checked (MPI_Abort on a wrong one) and folded into a digest; rank 0
 * prints one line per step and the final digest, so a restarted run must print exactly what an
 * uninterrupted one does. Usage: ckpt_mix STEPS [MICROSECONDS_PER_STEP]. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int rank;
#include "mpi_check.h"

#define BIG (512 * 1024) /* ints: 2 MiB, beyond every eager limit */
#define VEC 64

static uint64_t digest = 1469598103934665603ull;

static void fold(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		digest = (digest ^ b[i]) * 1099511628211ull;
}

/* The attribute callbacks check they get the keyval the program holds (its extra_state): a
 * restart makes keyvals again, and MPI's values may differ. */
static int copy_cb(MPI_Comm old, int keyval, void *extra, void *in, void *out, int *flag)
{
	(void)old;
	CHECK(keyval == *(int *)extra);
	*(void **)out = in;
	*flag = 1;
	return MPI_SUCCESS;
}

static int delete_cb(MPI_Comm comm, int keyval, void *val, void *extra)
{
	(void)comm;
	CHECK(keyval == *(int *)extra && (intptr_t)val == 7);
	return MPI_SUCCESS;
}

static int value(int step, int from, int i)
{
	return step * 1000003 + from * 7919 + i;
}

int main(int argc, char **argv)
{
	int size, steps = argc > 1 ? atoi(argv[1]) : 20;
	long pause_us = argc > 2 ? atol(argv[2]) : 0;
	OK(MPI_Init(&argc, &argv));
	OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
	OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
	int right = (rank + 1) % size, left = (rank + size - 1) % size;

	MPI_Comm half, dup, cart;
	OK(MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half));
	OK(MPI_Comm_dup(MPI_COMM_WORLD, &dup));
	int dims[1] = {size}, periods[1] = {1};
	OK(MPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, 0, &cart));
	MPI_Datatype every_other;
	OK(MPI_Type_vector(VEC, 1, 2, MPI_INT, &every_other));
	OK(MPI_Type_commit(&every_other));
	/* state set after creation, which a restart must set again */
	OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
	OK(MPI_Comm_set_name(dup, "ckpt-mix-dup"));
	int half_rank, half_size;
	OK(MPI_Comm_rank(half, &half_rank));
	OK(MPI_Comm_size(half, &half_size));

	/* an attribute, set again every step; a file, one int per rank and step */
	int keyval;
	OK(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, MPI_COMM_NULL_DELETE_FN, &keyval, NULL));
	OK(MPI_Comm_set_attr(dup, keyval, (void *)(intptr_t)999));
	/* a keyval freed before the next one is made: a restart, which makes only the live one,
	 * gives it another value */
	static int cb_keyval, cb_keyval_held; /* the callbacks' extra_state: what they must see */
	int scratch;
	OK(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, MPI_COMM_NULL_DELETE_FN, &scratch, NULL));
	OK(MPI_Comm_create_keyval(copy_cb, delete_cb, &cb_keyval, &cb_keyval_held));
	cb_keyval_held = cb_keyval; /* MPI_Comm_free_keyval sets cb_keyval invalid at the end */
	OK(MPI_Comm_free_keyval(&scratch));
	OK(MPI_Comm_set_attr(dup, cb_keyval, (void *)(intptr_t)7));
	/* the file (in SC_CKPT_MIX_DIR, a directory every rank sees; none without it) is made
	 * exclusively: a restart opens it again, and must not fail because it exists */
	const char *dir = getenv("SC_CKPT_MIX_DIR");
	char path[512] = "";
	if (rank == 0 && dir && *dir)
		snprintf(path, sizeof path, "%s/ckpt_mix.%d.%ld", dir, (int)getpid(),
			 (long)time(NULL));
	OK(MPI_Bcast(path, sizeof path, MPI_CHAR, 0, MPI_COMM_WORLD));
	MPI_File fh = MPI_FILE_NULL;
	if (path[0]) {
		OK(MPI_File_open(MPI_COMM_WORLD, path,
				 MPI_MODE_CREATE | MPI_MODE_EXCL | MPI_MODE_RDWR, MPI_INFO_NULL,
				 &fh));
		OK(MPI_File_set_view(fh, (MPI_Offset)rank * steps * (MPI_Offset)sizeof(int),
				     MPI_INT, MPI_INT, "native", MPI_INFO_NULL));
	}

	int *big = malloc(sizeof(int) * BIG), *bigin = malloc(sizeof(int) * BIG);
	int *sendv = malloc(sizeof(int) * (size_t)size * 8),
	    *recvv = malloc(sizeof(int) * (size_t)size * 8);
	int *scnt = malloc(sizeof(int) * (size_t)size), *sdsp = malloc(sizeof(int) * (size_t)size);
	int *rcnt = malloc(sizeof(int) * (size_t)size), *rdsp = malloc(sizeof(int) * (size_t)size);
	CHECK(big && bigin && sendv && recvv && scnt && sdsp && rcnt && rdsp);

	/* the ring: the receive for step s is posted during step s-1 */
	int ring_in[2][4];
	MPI_Request ring_req;
	OK(MPI_Irecv(ring_in[0], 4, MPI_INT, left, 0, MPI_COMM_WORLD, &ring_req));
	long long iar_in = 0, iar_out = 0;
	MPI_Request iar_req = MPI_REQUEST_NULL;
	MPI_Message held = MPI_MESSAGE_NULL; /* matched in a step, received in the next */

	/* one-sided: the put of step s lands in slot s % 2 of the right neighbour's window and
	 * completes at the fence of step s + 1; the counter is fetched-and-added in a lock_all
	 * epoch from start to end (checkpoints find both epochs open) */
	long *wmem, *counter = calloc(1, sizeof(long)), put_src[2];
	MPI_Win win, cwin;
	OK(MPI_Win_allocate(2 * sizeof(long), sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD, &wmem,
			    &win));
	wmem[0] = wmem[1] = -1;
	CHECK(counter != NULL);
	OK(MPI_Win_create(counter, sizeof(long), sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD,
			  &cwin));
	OK(MPI_Win_lock_all(0, cwin));
	int bsize = 8 * ((int)sizeof(int) + MPI_BSEND_OVERHEAD);
	char *bbuf = malloc((size_t)bsize);
	CHECK(bbuf != NULL);
	OK(MPI_Buffer_attach(bbuf, bsize));

	for (int step = 0; step < steps; step++) {
		/* ring, received by the Irecv of the previous step */
		int out[4] = {value(step, rank, 0), value(step, rank, 1), value(step, rank, 2),
			      step};
		MPI_Request sreq;
		OK(MPI_Isend(out, 4, MPI_INT, right, 0, MPI_COMM_WORLD, &sreq));
		MPI_Status st;
		OK(MPI_Wait(&ring_req, &st));
		CHECK(st.MPI_SOURCE == left && st.MPI_TAG == 0);
		int *in = ring_in[step % 2];
		for (int i = 0; i < 3; i++)
			CHECK(in[i] == value(step, left, i));
		CHECK(in[3] == step);
		fold(in, sizeof(int) * 4);
		if (step + 1 < steps)
			OK(MPI_Irecv(ring_in[(step + 1) % 2], 4, MPI_INT, left, 0, MPI_COMM_WORLD,
				     &ring_req));
		OK(MPI_Wait(&sreq, MPI_STATUS_IGNORE));

		/* a buffered send the other way round the ring */
		int bval = value(step, rank, 17), bgot = -1;
		OK(MPI_Bsend(&bval, 1, MPI_INT, left, 5, MPI_COMM_WORLD));
		OK(MPI_Recv(&bgot, 1, MPI_INT, right, 5, MPI_COMM_WORLD, &st));
		CHECK(st.MPI_SOURCE == right && bgot == value(step, right, 17));
		fold(&bgot, sizeof bgot);

		/* every rank sends one tagged message to rank 0, received with MPI_ANY_SOURCE */
		int token[2] = {rank, value(step, rank, 5)};
		if (rank != 0) {
			OK(MPI_Send(token, 2, MPI_INT, 0, 100 + step % 3, dup));
		} else {
			int seen = 0;
			for (int k = 1; k < size; k++) {
				int t[2];
				if (step % 2) { /* matched first: a drained message too */
					MPI_Message m;
					OK(MPI_Mprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, dup, &m, &st));
					OK(MPI_Mrecv(t, 2, MPI_INT, &m, &st));
					CHECK(m == MPI_MESSAGE_NULL);
				} else {
					OK(MPI_Recv(t, 2, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, dup,
						    &st));
				}
				CHECK(st.MPI_TAG == 100 + step % 3 && st.MPI_SOURCE == t[0]);
				CHECK(t[1] == value(step, t[0], 5));
				seen += t[0];
			}
			CHECK(seen == size * (size - 1) / 2);
			fold(&seen, sizeof seen);
		}

		/* a rendezvous-sized message between pairs, every third step */
		if (step % 3 == 0 && size > 1) {
			int peer = rank ^ 1;
			if (peer < size) {
				for (int i = 0; i < BIG; i++)
					big[i] = value(step, rank, i);
				MPI_Request r[2];
				OK(MPI_Irecv(bigin, BIG, MPI_INT, peer, 7, MPI_COMM_WORLD, &r[0]));
				OK(MPI_Isend(big, BIG, MPI_INT, peer, 7, MPI_COMM_WORLD, &r[1]));
				MPI_Status sts[2];
				OK(MPI_Waitall(2, r, sts));
				for (int i = 0; i < BIG; i += 4099)
					CHECK(bigin[i] == value(step, peer, i));
				fold(&bigin[BIG - 1], sizeof(int));
			}
		}

		/* a strided datatype around the Cartesian ring */
		int vec[2 * VEC], got[VEC];
		for (int i = 0; i < 2 * VEC; i++)
			vec[i] = value(step, rank, i);
		int src, dst;
		OK(MPI_Cart_shift(cart, 0, 1, &src, &dst));
		OK(MPI_Sendrecv(vec, 1, every_other, dst, 3, got, VEC, MPI_INT, src, 3, cart, &st));
		for (int i = 0; i < VEC; i++)
			CHECK(got[i] == value(step, src, 2 * i));
		fold(got, sizeof got);

		/* Alltoallv with counts that change every step */
		int total = 0;
		for (int p = 0; p < size; p++) {
			scnt[p] = 1 + (step + p + rank) % 8;
			rcnt[p] = 1 + (step + p + rank) % 8;
			sdsp[p] = p * 8;
			rdsp[p] = p * 8;
			for (int i = 0; i < scnt[p]; i++)
				sendv[p * 8 + i] = value(step, rank, p * 8 + i);
		}
		OK(MPI_Alltoallv(sendv, scnt, sdsp, MPI_INT, recvv, rcnt, rdsp, MPI_INT,
				 MPI_COMM_WORLD));
		for (int p = 0; p < size; p++)
			for (int i = 0; i < rcnt[p]; i++, total++)
				CHECK(recvv[p * 8 + i] == value(step, p, rank * 8 + i));
		fold(&total, sizeof total);

		/* the previous step's Iallreduce completes now; a new one starts */
		if (iar_req != MPI_REQUEST_NULL) {
			OK(MPI_Wait(&iar_req, MPI_STATUS_IGNORE));
			CHECK(iar_in ==
			      (long long)(step - 1) * size + (long long)size * (size - 1) / 2);
			fold(&iar_in, sizeof iar_in);
		}
		iar_out = (long long)step + rank;
		OK(MPI_Iallreduce(&iar_out, &iar_in, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD,
				  &iar_req));

		/* the attribute holds what the last step set; the file pointer is where it was */
		void *attr = NULL;
		int flag = 0;
		OK(MPI_Comm_get_attr(dup, keyval, &attr, &flag));
		CHECK(flag && (intptr_t)attr == (step ? 1000 + step - 1 : 999));
		OK(MPI_Comm_set_attr(dup, keyval, (void *)(intptr_t)(1000 + step)));
		MPI_Comm copy;
		OK(MPI_Comm_dup(dup, &copy)); /* copy_cb */
		OK(MPI_Comm_get_attr(copy, cb_keyval, &attr, &flag));
		CHECK(flag && (intptr_t)attr == 7);
		OK(MPI_Comm_free(&copy)); /* delete_cb */
		if (fh != MPI_FILE_NULL) {
			MPI_Offset pos = -1;
			OK(MPI_File_get_position(fh, &pos));
			CHECK(pos == step);
			int rec = value(step, rank, 11);
			OK(MPI_File_write(fh, &rec, 1, MPI_INT, &st));
		}

		/* what was set after creation is still set */
		char name[MPI_MAX_OBJECT_NAME];
		int len;
		MPI_Errhandler eh;
		OK(MPI_Comm_get_name(dup, name, &len));
		CHECK(strcmp(name, "ckpt-mix-dup") == 0);
		OK(MPI_Comm_get_errhandler(MPI_COMM_WORLD, &eh));
		CHECK(eh == MPI_ERRORS_RETURN);
		/* an error handler of MPI_COMM_WORLD that returns: an invalid rank is an error code
		 */
		CHECK(MPI_Send(&len, 1, MPI_INT, size + 5, 0, MPI_COMM_WORLD) != MPI_SUCCESS);

		/* collectives on the split and the duplicate */
		int root_val = half_rank == 0 ? value(step, rank, 9) : -1;
		OK(MPI_Bcast(&root_val, 1, MPI_INT, 0, half));
		CHECK(root_val == value(step, rank % 2, 9));
		long long sum = 0, mine = (long long)step * rank;
		OK(MPI_Allreduce(&mine, &sum, 1, MPI_LONG_LONG, MPI_SUM, dup));
		CHECK(sum == (long long)step * size * (size - 1) / 2);
		fold(&sum, sizeof sum);
		OK(MPI_Barrier(half));

		/* rank 1's message of the previous step, matched then, received now */
		if (rank == 1)
			OK(MPI_Send(&out[0], 1, MPI_INT, 0, 77, cart));
		if (rank == 0 && size > 1) {
			if (held != MPI_MESSAGE_NULL) {
				int v = -1;
				OK(MPI_Mrecv(&v, 1, MPI_INT, &held, &st));
				CHECK(v == value(step - 1, 1, 0) && st.MPI_SOURCE == 1 &&
				      st.MPI_TAG == 77 && held == MPI_MESSAGE_NULL);
				fold(&v, sizeof v);
			}
			OK(MPI_Mprobe(1, 77, cart, &held, MPI_STATUS_IGNORE));
		}

		OK(MPI_Win_fence(0, win));
		if (step > 0) {
			CHECK(wmem[(step - 1) % 2] == value(step - 1, left, 13));
			fold(&wmem[(step - 1) % 2], sizeof(long));
		}
		put_src[step % 2] = value(step, rank, 13);
		OK(MPI_Put(&put_src[step % 2], 1, MPI_LONG, right, step % 2, 1, MPI_LONG, win));
		long one = 1, ticket = -1;
		OK(MPI_Fetch_and_op(&one, &ticket, MPI_LONG, 0, 0, MPI_SUM, cwin));
		OK(MPI_Win_flush(0, cwin));
		CHECK(ticket >= 0 && ticket < (long)steps * size);

		if (rank == 0) {
			printf("step %d digest %016llx\n", step, (unsigned long long)digest);
			fflush(stdout);
		}
		if (pause_us)
			usleep((useconds_t)pause_us);
	}
	if (iar_req != MPI_REQUEST_NULL)
		OK(MPI_Wait(&iar_req, MPI_STATUS_IGNORE));
	if (held != MPI_MESSAGE_NULL) {
		int v = -1;
		OK(MPI_Mrecv(&v, 1, MPI_INT, &held, MPI_STATUS_IGNORE));
		CHECK(v == value(steps - 1, 1, 0));
	}
	void *detached = NULL;
	int detached_size = 0;
	OK(MPI_Buffer_detach(&detached, &detached_size));
	CHECK(detached == bbuf && detached_size == bsize);
	free(bbuf);
	OK(MPI_Win_fence(MPI_MODE_NOSUCCEED, win));
	CHECK(wmem[(steps - 1) % 2] == value(steps - 1, left, 13));
	OK(MPI_Win_free(&win));
	/* every rank's every ticket was counted once */
	OK(MPI_Win_unlock_all(cwin));
	OK(MPI_Barrier(MPI_COMM_WORLD));
	if (rank == 0) {
		long total = -1;
		OK(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, cwin));
		OK(MPI_Get(&total, 1, MPI_LONG, 0, 0, 1, MPI_LONG, cwin));
		OK(MPI_Win_unlock(0, cwin));
		CHECK(total == (long)steps * size);
	}
	OK(MPI_Win_free(&cwin));
	free(counter);
	/* every step's record is in the file, written once in order */
	for (int step = 0; fh != MPI_FILE_NULL && step < steps; step++) {
		int rec = -1;
		OK(MPI_File_read_at(fh, step, &rec, 1, MPI_INT, MPI_STATUS_IGNORE));
		CHECK(rec == value(step, rank, 11));
		fold(&rec, sizeof rec);
	}
	if (fh != MPI_FILE_NULL)
		OK(MPI_File_close(&fh));
	OK(MPI_Comm_free_keyval(&keyval));
	OK(MPI_Comm_free_keyval(&cb_keyval));
	uint64_t all[64] = {0};
	CHECK(size <= 64);
	OK(MPI_Gather(&digest, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD));
	if (rank == 0) {
		for (int p = 0; p < size; p++)
			fold(&all[p], sizeof all[p]);
		printf("PASS %d ranks, %d steps, digest %016llx\n", size, steps,
		       (unsigned long long)digest);
	}
	OK(MPI_Type_free(&every_other));
	OK(MPI_Comm_free(&cart));
	OK(MPI_Comm_free(&dup));
	OK(MPI_Comm_free(&half));
	free(big);
	free(bigin);
	free(sendv);
	free(recvv);
	free(scnt);
	free(sdsp);
	free(rcnt);
	free(rdsp);
	OK(MPI_Finalize());
	return 0;
}
