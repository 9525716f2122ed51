/* Coverage of communicators and groups through the crossing: Comm_create(_group), split_type,
 * compare (constants differ between the ABI and MPICH), idup, dup_with_info, info, Comm_group and
 * the group algebra (range_incl/excl too), translate_ranks (MPI_UNDEFINED and MPI_PROC_NULL),
 * names, MPI_TAG_UB, attributes with copy and delete callbacks and the predefined ones,
 * intercommunicators (create, remote size, merge, Alltoallw over remote groups), disconnect and
 * the parent of a process that was not spawned. Needs >= 2 ranks. Self-checking.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_check.h"

static int rank, size;

static void groups(void)
{
	MPI_Group world, evens, odds, u, in, diff;
	int n, r, res;
	OK(MPI_Comm_group(MPI_COMM_WORLD, &world));
	OK(MPI_Group_size(world, &n));
	OK(MPI_Group_rank(world, &r));
	CHECK(n == size && r == rank);
	int ev[64], ne = 0;
	for (int i = 0; i < size; i += 2)
		ev[ne++] = i;
	OK(MPI_Group_incl(world, ne, ev, &evens));
	OK(MPI_Group_excl(world, ne, ev, &odds));
	OK(MPI_Group_size(evens, &n));
	CHECK(n == ne);
	OK(MPI_Group_rank(odds, &r));
	CHECK(rank % 2 ? r == rank / 2 : r == MPI_UNDEFINED);
	OK(MPI_Group_union(odds, evens, &u));
	OK(MPI_Group_intersection(world, evens, &in));
	OK(MPI_Group_difference(world, odds, &diff));
	OK(MPI_Group_compare(u, world, &res));
	CHECK(res == MPI_SIMILAR); /* same members, another order */
	OK(MPI_Group_compare(in, evens, &res));
	CHECK(res == MPI_IDENT);
	OK(MPI_Group_compare(diff, evens, &res));
	CHECK(res == MPI_IDENT);
	OK(MPI_Group_compare(odds, evens, &res));
	CHECK(res == MPI_UNEQUAL);
	int q[3] = {0, 1, MPI_PROC_NULL}, t[3] = {-7, -7, -7};
	OK(MPI_Group_translate_ranks(world, 3, q, evens, t));
	CHECK(t[0] == 0 && t[1] == MPI_UNDEFINED && t[2] == MPI_PROC_NULL);
	MPI_Group gs[] = {world, evens, odds, u, in, diff};
	for (int i = 0; i < 6; i++) {
		OK(MPI_Group_free(&gs[i]));
		CHECK(gs[i] == MPI_GROUP_NULL);
	}
}

static void comms(void)
{
	MPI_Group world, evens;
	MPI_Comm c = MPI_COMM_NULL, cg = MPI_COMM_NULL, shm, dup;
	int res, n, r;
	OK(MPI_Comm_group(MPI_COMM_WORLD, &world));
	int ev[64], ne = 0;
	for (int i = 0; i < size; i += 2)
		ev[ne++] = i;
	OK(MPI_Group_incl(world, ne, ev, &evens));
	OK(MPI_Comm_create(MPI_COMM_WORLD, evens, &c)); /* collective over WORLD */
	CHECK(rank % 2 ? c == MPI_COMM_NULL : c != MPI_COMM_NULL);
	if (rank % 2 == 0) { /* collective over the group's members only */
		OK(MPI_Comm_create_group(MPI_COMM_WORLD, evens, 5, &cg));
		OK(MPI_Comm_size(cg, &n));
		OK(MPI_Comm_rank(cg, &r));
		CHECK(n == ne && r == rank / 2);
		OK(MPI_Comm_compare(c, cg, &res));
		CHECK(res == MPI_CONGRUENT);
		int s = 0, one = 1;
		OK(MPI_Allreduce(&one, &s, 1, MPI_INT, MPI_SUM, cg));
		CHECK(s == ne);
		OK(MPI_Comm_free(&cg));
		OK(MPI_Comm_free(&c));
	}
	OK(MPI_Group_free(&evens));
	OK(MPI_Group_free(&world));
	/* the shared-memory communicator holds exactly the ranks on this host, in rank order */
	char host[MPI_MAX_PROCESSOR_NAME] = "", *hosts = calloc(size, MPI_MAX_PROCESSOR_NAME);
	int hostlen = 0, local = 0, below = 0;
	CHECK(hosts != NULL);
	OK(MPI_Get_processor_name(host, &hostlen));
	OK(MPI_Allgather(host, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, hosts, MPI_MAX_PROCESSOR_NAME,
			 MPI_CHAR, MPI_COMM_WORLD));
	for (int i = 0; i < size; i++)
		if (strcmp(hosts + (size_t)i * MPI_MAX_PROCESSOR_NAME, host) == 0) {
			local++;
			below += i < rank;
		}
	free(hosts);
	OK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &shm));
	OK(MPI_Comm_size(shm, &n));
	CHECK(n == local);
	OK(MPI_Comm_rank(shm, &r));
	CHECK(r == below);
	OK(MPI_Comm_compare(shm, MPI_COMM_WORLD, &res));
	CHECK(res == (local == size ? MPI_CONGRUENT : MPI_UNEQUAL));
	OK(MPI_Comm_free(&shm));
	OK(MPI_Comm_split_type(MPI_COMM_WORLD, rank == 0 ? MPI_UNDEFINED : MPI_COMM_TYPE_SHARED, 0,
			       MPI_INFO_NULL, &shm));
	CHECK(rank == 0 ? shm == MPI_COMM_NULL : shm != MPI_COMM_NULL);
	if (shm != MPI_COMM_NULL)
		OK(MPI_Comm_free(&shm));
	/* MPI 4.0's hardware-guided split: by the resource the info names, here shared memory */
	MPI_Info hw;
	OK(MPI_Info_create(&hw));
	OK(MPI_Info_set(hw, "mpi_hw_resource_type", "mpi_shared_memory"));
	OK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_HW_GUIDED, rank, hw, &shm));
	CHECK(shm != MPI_COMM_NULL);
	OK(MPI_Comm_size(shm, &n));
	CHECK(n == local);
	OK(MPI_Comm_free(&shm));
	OK(MPI_Info_free(&hw));
	OK(MPI_Comm_compare(MPI_COMM_WORLD, MPI_COMM_WORLD, &res));
	CHECK(res == MPI_IDENT);
	OK(MPI_Comm_dup(MPI_COMM_WORLD, &dup));
	OK(MPI_Comm_compare(MPI_COMM_WORLD, dup, &res));
	CHECK(res == MPI_CONGRUENT);
	OK(MPI_Comm_compare(MPI_COMM_SELF, dup, &res));
	CHECK(res == MPI_UNEQUAL || size == 1);
	/* names */
	char name[MPI_MAX_OBJECT_NAME];
	int len = -1;
	OK(MPI_Comm_get_name(MPI_COMM_WORLD, name, &len));
	CHECK(strcmp(name, "MPI_COMM_WORLD") == 0 && len == 14);
	OK(MPI_Comm_set_name(dup, "cov-dup"));
	OK(MPI_Comm_get_name(dup, name, &len));
	CHECK(strcmp(name, "cov-dup") == 0 && len == 7);
	/* a predefined attribute: the keyval constant differs between the ABI and MPICH */
	int *ub = NULL, flag = 0;
	OK(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &ub, &flag));
	CHECK(flag && ub && *ub >= 32767);
	/* a program may keep the pointer: it still holds the value after a restart */
	static int *kept_ub, kept_value;
	if (!kept_ub) {
		kept_ub = ub;
		kept_value = *ub;
	}
	CHECK(*kept_ub == kept_value);
	/* values that are ranks: no host process, and any process can do I/O */
	int *host_rank = NULL, *io = NULL;
	OK(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_HOST, &host_rank, &flag));
	CHECK(flag && *host_rank == MPI_PROC_NULL);
	OK(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_IO, &io, &flag));
	CHECK(flag && *io == MPI_ANY_SOURCE);
	OK(MPI_Comm_test_inter(dup, &flag));
	CHECK(!flag);
	/* nonblocking dup, dup with info, info hints */
	MPI_Comm idup, idup2;
	MPI_Request ireq;
	OK(MPI_Comm_idup(dup, &idup, &ireq));
	OK(MPI_Wait(&ireq, MPI_STATUS_IGNORE));
	OK(MPI_Comm_compare(idup, dup, &res));
	CHECK(res == MPI_CONGRUENT && ireq == MPI_REQUEST_NULL);
	MPI_Info info, used;
	OK(MPI_Info_create(&info));
	OK(MPI_Info_set(info, "mpi_assert_no_any_tag", "true"));
	OK(MPI_Comm_dup_with_info(idup, info, &idup2));
	OK(MPI_Comm_set_info(idup, info));
	OK(MPI_Comm_get_info(idup2, &used));
	CHECK(used != MPI_INFO_NULL);
	int nk = -1;
	OK(MPI_Info_get_nkeys(used, &nk));
	CHECK(nk >= 0);
	int s = 0, one = 1;
	OK(MPI_Allreduce(&one, &s, 1, MPI_INT, MPI_SUM, idup2));
	CHECK(s == size);
	OK(MPI_Info_free(&used));
	/* the nonblocking dup with info: congruent, usable once its request completed */
	MPI_Comm idup3;
	OK(MPI_Comm_idup_with_info(idup2, info, &idup3, &ireq));
	OK(MPI_Wait(&ireq, MPI_STATUS_IGNORE));
	OK(MPI_Comm_compare(idup3, idup2, &res));
	CHECK(res == MPI_CONGRUENT);
	s = 0;
	OK(MPI_Allreduce(&one, &s, 1, MPI_INT, MPI_SUM, idup3));
	CHECK(s == size);
	OK(MPI_Comm_free(&idup3));
	OK(MPI_Info_free(&info));
	OK(MPI_Comm_free(&idup2));
	OK(MPI_Comm_free(&idup));
	OK(MPI_Comm_free(&dup));
	CHECK(dup == MPI_COMM_NULL);
}

/* Groups from rank ranges (first, last, stride): the evens, and everyone but the evens. */
static void group_ranges(void)
{
	MPI_Group w, ev, od, chk;
	OK(MPI_Comm_group(MPI_COMM_WORLD, &w));
	int last_even = (size - 1) / 2 * 2, n = -1, r = -2, res = -1;
	int ranges[1][3] = {{0, last_even, 2}};
	OK(MPI_Group_range_incl(w, 1, ranges, &ev));
	OK(MPI_Group_size(ev, &n));
	CHECK(n == (size + 1) / 2);
	OK(MPI_Group_rank(ev, &r));
	CHECK(rank % 2 ? r == MPI_UNDEFINED : r == rank / 2);
	OK(MPI_Group_range_excl(w, 1, ranges, &od));
	OK(MPI_Group_size(od, &n));
	CHECK(n == size / 2);
	OK(MPI_Group_rank(od, &r));
	CHECK(rank % 2 ? r == rank / 2 : r == MPI_UNDEFINED);
	/* two ranges, one of them descending: {last..1 by -2} = the odds, plus rank 0 */
	int two[2][3] = {{size - 1 - (size % 2 == 0 ? 0 : 1), 1, -2}, {0, 0, 1}};
	OK(MPI_Group_range_incl(w, 2, two, &chk));
	OK(MPI_Group_size(chk, &n));
	CHECK(n == size / 2 + 1);
	int first = 0, tr = -1;
	OK(MPI_Group_translate_ranks(chk, 1, &first, w, &tr));
	CHECK(tr == size - 1 - (size % 2 == 0 ? 0 : 1));
	OK(MPI_Group_compare(od, ev, &res));
	CHECK(res == MPI_UNEQUAL);
	OK(MPI_Group_free(&chk));
	OK(MPI_Group_free(&ev));
	OK(MPI_Group_free(&od));
	OK(MPI_Group_free(&w));
}

/* Attribute callbacks: what MPI hands them must be the application's own handles and state. */
struct attr_state {
	int copies, deletes;
	MPI_Comm last_comm;
	intptr_t last_val;
};

static int copy_plus_one(MPI_Comm old, int keyval, void *extra, void *in, void *out, int *flag)
{
	(void)keyval;
	struct attr_state *st = extra;
	st->copies++;
	st->last_comm = old;
	*(intptr_t *)out = (intptr_t)in + 1;
	*flag = 1;
	return MPI_SUCCESS;
}

static int count_delete(MPI_Comm comm, int keyval, void *val, void *extra)
{
	(void)keyval;
	struct attr_state *st = extra;
	st->deletes++;
	st->last_comm = comm;
	st->last_val = (intptr_t)val;
	return MPI_SUCCESS;
}

static int copy_fails(MPI_Comm comm, int keyval, void *extra, void *in, void *out, int *flag)
{
	(void)comm, (void)keyval, (void)extra, (void)in, (void)out, (void)flag;
	return MPI_ERR_OTHER;
}

static void attributes(void)
{
	struct attr_state st = {0, 0, MPI_COMM_NULL, 0};
	int k1 = MPI_KEYVAL_INVALID, k2, k3, flag = 0;
	OK(MPI_Comm_create_keyval(copy_plus_one, count_delete, &k1, &st));
	OK(MPI_Comm_create_keyval(MPI_COMM_DUP_FN, MPI_COMM_NULL_DELETE_FN, &k2, NULL));
	OK(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, MPI_COMM_NULL_DELETE_FN, &k3, NULL));
	CHECK(k1 != MPI_KEYVAL_INVALID && k2 != k1 && k3 != k2);
	MPI_Comm a, b;
	OK(MPI_Comm_dup(MPI_COMM_WORLD, &a));
	OK(MPI_Comm_set_attr(a, k1, (void *)(intptr_t)100));
	OK(MPI_Comm_set_attr(a, k2, (void *)(intptr_t)200));
	OK(MPI_Comm_set_attr(a, k3, (void *)(intptr_t)300));
	void *v = NULL;
	OK(MPI_Comm_get_attr(a, k2, &v, &flag));
	CHECK(flag && (intptr_t)v == 200);
	/* a copy callback that fails fails the dup, which hands back MPI_COMM_NULL */
	int kf;
	MPI_Comm failed = MPI_COMM_WORLD, c;
	OK(MPI_Comm_dup(MPI_COMM_WORLD, &c));
	OK(MPI_Comm_create_keyval(copy_fails, MPI_COMM_NULL_DELETE_FN, &kf, NULL));
	OK(MPI_Comm_set_attr(c, kf, (void *)(intptr_t)1));
	OK(MPI_Comm_set_errhandler(c, MPI_ERRORS_RETURN));
	CHECK(MPI_Comm_dup(c, &failed) != MPI_SUCCESS && failed == MPI_COMM_NULL);
	OK(MPI_Comm_free(&c));
	OK(MPI_Comm_free_keyval(&kf));
	OK(MPI_Comm_dup(a, &b)); /* copies: k1 through the callback, k2 as is, k3 not */
	CHECK(st.copies == 1 && st.last_comm == a);
	OK(MPI_Comm_get_attr(b, k1, &v, &flag));
	CHECK(flag && (intptr_t)v == 101);
	OK(MPI_Comm_get_attr(b, k2, &v, &flag));
	CHECK(flag && (intptr_t)v == 200);
	OK(MPI_Comm_get_attr(b, k3, &v, &flag));
	CHECK(!flag);
	OK(MPI_Comm_delete_attr(b, k1));
	CHECK(st.deletes == 1 && st.last_comm == b && st.last_val == 101);
	OK(MPI_Comm_get_attr(b, k1, &v, &flag));
	CHECK(!flag);
	OK(MPI_Comm_set_attr(a, k1, (void *)(intptr_t)7)); /* replacing deletes the old value */
	CHECK(st.deletes == 2 && st.last_val == 100);
	OK(MPI_Comm_free_keyval(&k1)); /* attributes keep it alive */
	CHECK(k1 == MPI_KEYVAL_INVALID);
	OK(MPI_Comm_free(&a)); /* deletes the attribute through the callback */
	CHECK(st.deletes == 3 && st.last_val == 7);
	OK(MPI_Comm_free(&b));
	OK(MPI_Comm_free_keyval(&k2));
	OK(MPI_Comm_free_keyval(&k3));
	CHECK(k2 == MPI_KEYVAL_INVALID && k3 == MPI_KEYVAL_INVALID);
}

/* Evens and odds form an intercommunicator; merge it back with the odds first. */
static void intercomms(void)
{
	MPI_Comm half, inter, merged;
	int flag = 0, n = 0, r = -1;
	OK(MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half));
	OK(MPI_Intercomm_create(half, 0, MPI_COMM_WORLD, rank % 2 ? 0 : 1, 77, &inter));
	OK(MPI_Comm_test_inter(inter, &flag));
	OK(MPI_Comm_remote_size(inter, &n));
	CHECK(flag && n == (rank % 2 ? (size + 1) / 2 : size / 2));
	/* Alltoallw across the intercommunicator: its type arrays have the remote group's size */
	MPI_Datatype types[64];
	int cnt[64], dsp[64], out[64], in[64];
	for (int j = 0; j < n; j++) {
		types[j] = MPI_INT;
		cnt[j] = 1;
		dsp[j] = j * (int)sizeof(int);
		out[j] = 100 * rank + j;
		in[j] = -1;
	}
	OK(MPI_Alltoallw(out, cnt, dsp, types, in, cnt, dsp, types, inter));
	for (int j = 0; j < n; j++) {
		int src = 2 * j + (rank % 2 ? 0 : 1), me;
		OK(MPI_Comm_rank(half, &me));
		CHECK(in[j] == 100 * src + me);
	}
	OK(MPI_Intercomm_merge(inter, rank % 2 == 0, &merged));
	OK(MPI_Comm_size(merged, &n));
	OK(MPI_Comm_rank(merged, &r));
	CHECK(n == size && r == (rank % 2 ? rank / 2 : size / 2 + rank / 2));
	OK(MPI_Comm_free(&merged));
	OK(MPI_Comm_free(&inter));
	OK(MPI_Comm_free(&half));
}

/* MPI_Comm_disconnect frees a communicator once its communication completed; a process that
 * was not spawned has no parent. */
static void disconnect_and_parent(void)
{
	MPI_Comm d, parent = MPI_COMM_WORLD;
	OK(MPI_Comm_dup(MPI_COMM_WORLD, &d));
	int v = rank, sum = 0;
	MPI_Request r;
	OK(MPI_Iallreduce(&v, &sum, 1, MPI_INT, MPI_SUM, d, &r));
	OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
	OK(MPI_Comm_disconnect(&d));
	CHECK(d == MPI_COMM_NULL && sum == size * (size - 1) / 2);
	OK(MPI_Comm_get_parent(&parent));
	CHECK(parent == MPI_COMM_NULL);
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	CHECK(size >= 2 && size <= 64);
	int steps = cov_steps(argc, argv);
	for (int step = 1; step <= steps; step++) {
		groups();
		group_ranges();
		comms();
		attributes();
		intercomms();
		disconnect_and_parent();
		cov_step_done(step, steps);
	}
	cov_finish("cov_comm");
	MPI_Finalize();
	return 0;
}
