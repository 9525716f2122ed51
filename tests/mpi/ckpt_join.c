/* An intercommunicator to "another job" (MPI_Comm_join over a TCP connection between ranks 0
 * and 1) for the first half of the run, then disconnected: a checkpoint must be refused while
 * it lives and work after (ckpt-openmpi.sh). Every step all ranks exchange over MPI_COMM_WORLD
 * (an Allreduce of the step) and, while joined, ranks 0 and 1 over the intercommunicator.
 * Rank 0 prints "step N" (and "joined"/"disconnected"), then a final line: a restarted run must
 * print exactly what an uninterrupted one does. Usage: ckpt_join STEPS MICROSECONDS_PER_STEP. */
#include <arpa/inet.h>
#include <mpi.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int rank, size;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "rank %d: %s\n", rank, what);
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
}

/* A connected TCP socket between ranks 0 and 1 (0 listens on the loopback). */
static int connected_socket(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int port = 0, fd;
	if (rank == 0) {
		int l = socket(AF_INET, SOCK_STREAM, 0);
		check(l >= 0 && bind(l, (struct sockaddr *)&a, sizeof a) == 0 &&
			  getsockname(l, (struct sockaddr *)&a, &len) == 0 && listen(l, 1) == 0,
		      "listen");
		port = ntohs(a.sin_port);
		MPI_Send(&port, 1, MPI_INT, 1, 0, MPI_COMM_WORLD);
		fd = accept(l, NULL, NULL);
		close(l);
	} else {
		MPI_Recv(&port, 1, MPI_INT, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		a.sin_port = htons((uint16_t)port);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		check(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect");
	}
	check(fd >= 0, "accept");
	return fd;
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	int steps = argc > 1 ? atoi(argv[1]) : 100, pause_us = argc > 2 ? atoi(argv[2]) : 0;
	check(size >= 2 && steps >= 2, "needs 2 ranks and 2 steps");
	MPI_Comm joined = MPI_COMM_NULL;
	long sum = 0;
	if (rank < 2) {
		int fd = connected_socket();
		check(MPI_Comm_join(fd, &joined) == MPI_SUCCESS, "MPI_Comm_join");
		close(fd);
		int rsize = 0;
		MPI_Comm_remote_size(joined, &rsize);
		check(rsize == 1, "remote size");
	}
	if (rank == 0)
		printf("joined\n");
	for (int step = 1; step <= steps; step++) {
		if (joined != MPI_COMM_NULL) {
			int out = 1000 * rank + step, in = -1;
			MPI_Sendrecv(&out, 1, MPI_INT, 0, step, &in, 1, MPI_INT, 0, step, joined,
				     MPI_STATUS_IGNORE);
			check(in == 1000 * (1 - rank) + step, "intercommunicator message");
			if (step == steps / 2) {
				MPI_Comm_disconnect(&joined);
				check(joined == MPI_COMM_NULL, "disconnected");
			}
		}
		long all = 0, mine = step + rank;
		MPI_Allreduce(&mine, &all, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
		sum += all;
		if (rank == 0) {
			printf("step %d\n", step);
			if (step == steps / 2)
				printf("disconnected\n");
			fflush(stdout);
		}
		usleep((useconds_t)pause_us);
	}
	if (rank == 0)
		printf("PASS %d ranks, %d steps, sum %ld\n", size, steps, sum);
	MPI_Finalize();
	return 0;
}
