/* Coverage of dynamic windows (MPI_Win_create_dynamic, MPI_Win_attach/detach) with a distributed
 * linked list: every round each rank attaches a new node, links it to the next rank's new node
 * (addresses exchanged with MPI_Allgather) and detaches its node of two rounds ago; then every
 * rank walks the whole list with passive-target MPI_Get, and reads each peer's node of the
 * previous round, attached across rounds. A restart must attach the same memory again: the
 * addresses the peers hold stay the displacements. Also MPI_Win_set/get_name and _info,
 * MPI_Raccumulate, MPI_Rget_accumulate and MPI_Win_flush_local_all on the same window.
 * Self-checking. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_check.h"

static int rank, size;

struct node {
	long value;
	int next_rank; /* -1: the end of the list */
	int pad;
	MPI_Aint next_disp;
};

static MPI_Win win;
static struct node *nodes[3];	     /* this round's, the previous round's, the one before */
static MPI_Aint *addrs, *prev_addrs; /* every rank's node of this round and of the previous */
static long *counter;		     /* attached too: the target of the accumulates */
static MPI_Aint *counter_addrs;

static long value(int step, int r)
{
	return (long)step * 1000 + r;
}

static void setup(void)
{
	MPI_Info info;
	OK(MPI_Info_create(&info));
	OK(MPI_Info_set(info, "accumulate_ordering", "none"));
	OK(MPI_Win_create_dynamic(info, MPI_COMM_WORLD, &win));
	OK(MPI_Info_free(&info));
	OK(MPI_Win_set_name(win, "cov-dynwin"));
	addrs = calloc((size_t)size, sizeof *addrs);
	prev_addrs = calloc((size_t)size, sizeof *prev_addrs);
	counter_addrs = calloc((size_t)size, sizeof *counter_addrs);
	counter = calloc(2, sizeof *counter);
	OK(MPI_Win_attach(win, counter, 2 * sizeof *counter));
	MPI_Aint mine;
	OK(MPI_Get_address(counter, &mine));
	OK(MPI_Allgather(&mine, 1, MPI_AINT, counter_addrs, 1, MPI_AINT, MPI_COMM_WORLD));
}

static void get_node(int r, MPI_Aint disp, struct node *out)
{
	OK(MPI_Win_lock(MPI_LOCK_SHARED, r, 0, win));
	OK(MPI_Get(out, (int)sizeof *out, MPI_BYTE, r, disp, (int)sizeof *out, MPI_BYTE, win));
	OK(MPI_Win_unlock(r, win));
}

static void round_of(int step)
{
	/* a new node, attached; the one of two rounds ago detached and freed */
	if (nodes[2]) {
		OK(MPI_Win_detach(win, nodes[2]));
		free(nodes[2]);
	}
	nodes[2] = nodes[1];
	nodes[1] = nodes[0];
	nodes[0] = calloc(1, sizeof *nodes[0]);
	OK(MPI_Win_attach(win, nodes[0], sizeof *nodes[0]));
	memcpy(prev_addrs, addrs, sizeof *addrs * (size_t)size);
	MPI_Aint mine;
	OK(MPI_Get_address(nodes[0], &mine));
	OK(MPI_Allgather(&mine, 1, MPI_AINT, addrs, 1, MPI_AINT, MPI_COMM_WORLD));
	/* its contents, written in an exclusive epoch on this rank's own window memory */
	OK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, rank, 0, win));
	nodes[0]->value = value(step, rank);
	nodes[0]->next_rank = rank + 1 < size ? rank + 1 : -1;
	nodes[0]->next_disp = rank + 1 < size ? addrs[rank + 1] : 0;
	OK(MPI_Win_unlock(rank, win));
	OK(MPI_Barrier(MPI_COMM_WORLD));
	/* the walk, from rank 0's node */
	long sum = 0;
	int hops = 0, r = 0;
	MPI_Aint d = addrs[0];
	while (r >= 0 && hops <= size) {
		struct node n;
		get_node(r, d, &n);
		CHECK(n.value == value(step, r));
		sum += n.value;
		hops++;
		r = n.next_rank;
		d = n.next_disp;
	}
	CHECK(hops == size && r == -1);
	CHECK(sum == (long)step * 1000 * size + (long)size * (size - 1) / 2);
	/* the previous round's node of the next rank, still attached */
	if (step > 1) {
		struct node old;
		const int peer = (rank + 1) % size;
		get_node(peer, prev_addrs[peer], &old);
		CHECK(old.value == value(step - 1, peer));
	}
	/* accumulates into rank 0's counter: each rank adds step, once in each form */
	long one = step, fetched = -1;
	MPI_Request q[2];
	OK(MPI_Win_lock_all(0, win));
	OK(MPI_Raccumulate(&one, 1, MPI_LONG, 0, counter_addrs[0], 1, MPI_LONG, MPI_SUM, win,
			   &q[0]));
	OK(MPI_Rget_accumulate(&one, 1, MPI_LONG, &fetched, 1, MPI_LONG, 0,
			       counter_addrs[0] + (MPI_Aint)sizeof(long), 1, MPI_LONG, MPI_SUM, win,
			       &q[1]));
	MPI_Status st[2];
	OK(MPI_Waitall(2, q, st));
	OK(MPI_Win_flush_local_all(win));
	OK(MPI_Win_unlock_all(win));
	CHECK(fetched >= 0);
	OK(MPI_Barrier(MPI_COMM_WORLD));
	if (rank == 0) {
		/* every round so far, every rank: sum of step * size */
		const long expect = (long)step * (step + 1) / 2 * size;
		OK(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win));
		CHECK(counter[0] == expect && counter[1] == expect);
		OK(MPI_Win_unlock(0, win));
	}
	char name[MPI_MAX_OBJECT_NAME];
	int len = 0;
	OK(MPI_Win_get_name(win, name, &len));
	CHECK(strcmp(name, "cov-dynwin") == 0 && len == 10);
	MPI_Info used;
	OK(MPI_Win_get_info(win, &used));
	CHECK(used != MPI_INFO_NULL);
	OK(MPI_Info_free(&used));
	OK(MPI_Barrier(MPI_COMM_WORLD)); /* nobody reads a node the next round detaches */
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	int steps = cov_steps(argc, argv);
	setup();
	for (int step = 1; step <= steps; step++) {
		round_of(step);
		cov_step_done(step, steps);
	}
	for (int i = 0; i < 3; i++)
		if (nodes[i]) {
			OK(MPI_Win_detach(win, nodes[i]));
			free(nodes[i]);
		}
	OK(MPI_Win_detach(win, counter));
	OK(MPI_Win_free(&win));
	cov_finish("cov_dynwin");
	MPI_Finalize();
	return 0;
}
