/* Synchronous sends across checkpoints, for ckpt-ssend.sh: a synchronous send completes only
 * after its receiver matched the message, also when a checkpoint drained it into the receiver.
 *  - rank 0 -> 1: an MPI_Issend (MPI_Ssend_init + MPI_Start every other cycle) that rank 1
 *    receives WAIT steps later; every step ends with an Allreduce, and rank 0 tests the request
 *    after it: it must not complete before the step before the receive.
 *  - rank 2 -> 3: a blocking MPI_Ssend of 200 KiB (rendezvous) that rank 3 receives after a
 *    pause; rank 2 then says "returned" with another message, which rank 3 must not see before
 *    its receive.
 *  - all ranks: NBX, the sparse data exchange whose termination relies on MPI_Issend (each rank
 *    sends to pseudo-random peers, receives what MPI_Iprobe finds until an MPI_Ibarrier, entered
 *    once its own sends completed, completes); a message lost or counted twice shows in the
 *    digest that rank 0 prints every step.
 * Usage: ckpt_ssend --steps N (4 ranks or more). */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rank;
#include "mpi_check.h"

#define WAIT 12	 /* steps between rank 0's synchronous send and rank 1's receive */
#define CYCLE 16 /* steps between two of them */
#define BIG (200 * 1024)
enum { TAG_SYNC = 1, TAG_BIG, TAG_RETURNED, TAG_NBX };

static uint64_t digest = 1469598103934665603ull;

static void fold(long v)
{
	digest = (digest ^ (uint64_t)v) * 1099511628211ull;
}

static unsigned next_rand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

/* One NBX round: each rank sends its step-dependent value to 0-2 peers. */
static long nbx(int step, int size)
{
	unsigned seed = (unsigned)(step * 7919 + rank * 104729);
	int ntargets = (int)(next_rand(&seed) % 3);
	MPI_Request sends[2];
	long vals[2], got = 0;
	for (int i = 0; i < ntargets; i++) {
		int to = (int)(next_rand(&seed) % (unsigned)size);
		vals[i] = step * 1000 + rank * 10 + i;
		OK(MPI_Issend(&vals[i], 1, MPI_LONG, to, TAG_NBX, MPI_COMM_WORLD, &sends[i]));
	}
	MPI_Request barrier = MPI_REQUEST_NULL;
	for (int done = 0; !done;) {
		int flag = 0;
		MPI_Status st;
		OK(MPI_Iprobe(MPI_ANY_SOURCE, TAG_NBX, MPI_COMM_WORLD, &flag, &st));
		if (flag) {
			long v;
			OK(MPI_Recv(&v, 1, MPI_LONG, st.MPI_SOURCE, TAG_NBX, MPI_COMM_WORLD,
				    MPI_STATUS_IGNORE));
			CHECK(v / 1000 == step && (v / 10) % 100 == st.MPI_SOURCE);
			got += v;
		}
		if (barrier != MPI_REQUEST_NULL) {
			OK(MPI_Test(&barrier, &done, MPI_STATUS_IGNORE));
		} else {
			int sent = 0;
			MPI_Status sts[2];
			OK(MPI_Testall(ntargets, sends, &sent, sts));
			if (sent)
				OK(MPI_Ibarrier(MPI_COMM_WORLD, &barrier));
		}
	}
	return got;
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	int size;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	CHECK(size >= 4);
	const int steps = cov_steps(argc, argv);
	char *big = malloc(BIG);
	CHECK(big != NULL);
	long token = 0, got = 0;
	MPI_Request sync = MPI_REQUEST_NULL, persistent = MPI_REQUEST_NULL;
	if (rank == 0)
		OK(MPI_Ssend_init(&token, 1, MPI_LONG, 1, TAG_SYNC, MPI_COMM_WORLD, &persistent));
	int pending = 0, posted = 0; /* rank 0: a synchronous send not yet complete, since step */
	for (int step = 0; step < steps; step++) {
		const int phase = step % CYCLE;
		if (rank == 0 && phase == 0) {
			/* the last one, if its completion was not seen yet (MPI_Test promises
			 * progress, not when), before its request is used again */
			OK(MPI_Wait(&sync, MPI_STATUS_IGNORE));
			token = step;
			if ((step / CYCLE) % 2) {
				OK(MPI_Start(&persistent));
				sync = persistent;
			} else {
				OK(MPI_Issend(&token, 1, MPI_LONG, 1, TAG_SYNC, MPI_COMM_WORLD,
					      &sync));
			}
			pending = 1;
			posted = step;
		}
		if (rank == 1 && phase == WAIT) {
			OK(MPI_Recv(&got, 1, MPI_LONG, 0, TAG_SYNC, MPI_COMM_WORLD,
				    MPI_STATUS_IGNORE));
			CHECK(got == step - WAIT);
			fold(got);
		}
		if (rank == 2 && phase == 3) {
			memset(big, step & 0xff, BIG);
			OK(MPI_Ssend(big, BIG, MPI_CHAR, 3, TAG_BIG, MPI_COMM_WORLD));
			OK(MPI_Send(&step, 1, MPI_INT, 3, TAG_RETURNED, MPI_COMM_WORLD));
		}
		if (rank == 3 && phase == 3) {
			usleep(150000);
			int early = 0, when = -1;
			OK(MPI_Iprobe(2, TAG_RETURNED, MPI_COMM_WORLD, &early, MPI_STATUS_IGNORE));
			CHECK(!early);
			OK(MPI_Recv(big, BIG, MPI_CHAR, 2, TAG_BIG, MPI_COMM_WORLD,
				    MPI_STATUS_IGNORE));
			CHECK(big[0] == (char)(step & 0xff) && big[BIG - 1] == (char)(step & 0xff));
			OK(MPI_Recv(&when, 1, MPI_INT, 2, TAG_RETURNED, MPI_COMM_WORLD,
				    MPI_STATUS_IGNORE));
			CHECK(when == step);
		}
		long mine = nbx(step, size), sum = 0;
		OK(MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD));
		fold(sum);
		/* Every round, every rank, so that no count depends on timing: MPI_Test of an
		 * inactive or null request says complete at once. */
		int sync_early = 0;
		if (rank == 0) {
			int flag = 0;
			OK(MPI_Test(&sync, &flag, MPI_STATUS_IGNORE));
			/* rank 1 receives at posted + WAIT, before that step's Allreduce */
			sync_early = pending && flag && step < posted + WAIT - 1;
			pending = pending && !flag;
		}
		CHECK(!sync_early);
		if (rank == 0) {
			printf("step %d digest %016llx\n", step, (unsigned long long)digest);
			fflush(stdout);
		}
		cov_round++;
		usleep(20000);
	}
	if (rank == 0)
		OK(MPI_Wait(&sync, MPI_STATUS_IGNORE));
	if (rank == 1 && steps % CYCLE > WAIT) /* nothing left: rank 0's last one was received */
		CHECK(got == (steps - 1) / CYCLE * CYCLE);
	if (rank == 1 && steps % CYCLE && steps % CYCLE <= WAIT) /* its last one is still due */
		OK(MPI_Recv(&got, 1, MPI_LONG, 0, TAG_SYNC, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
	if (rank == 0)
		OK(MPI_Request_free(&persistent));
	free(big);
	cov_finish("ckpt_ssend");
	MPI_Finalize();
	return 0;
}
