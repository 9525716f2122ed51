/* A legacy program: written with the MPI-1 names (attribute caching with MPI_Keyval_create /
 * MPI_Attr_*, MPI_Errhandler_create/set/get, MPI_Type_hvector/hindexed/struct, MPI_Address,
 * MPI_Type_extent/lb/ub) and the MPI 3.0 _x queries, plus MPI_Pcontrol and MPI_Aint_add/diff.
 * Objects made at the start with these names (a communicator with a cached attribute and an
 * error handler, three datatypes) are used every round, so a checkpoint test restarts them.
 * Needs an even number of ranks. Self-checking (wrappers/COVERAGE.md). */
#include <mpi.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_check.h"

static int rank, size, peer;

/* The cached attribute: copied into a dup with a new count, deleted with its communicator. */
struct counted {
	int value, copies;
};
static int deletes;

static int copy_counted(MPI_Comm oldcomm, int keyval, void *extra, void *in, void *out, int *flag)
{
	(void)oldcomm;
	(void)keyval;
	struct counted *c = malloc(sizeof *c);
	*c = *(struct counted *)in;
	c->copies++;
	c->value += *(int *)extra;
	*(void **)out = c;
	*flag = 1;
	return MPI_SUCCESS;
}

static int delete_counted(MPI_Comm comm, int keyval, void *val, void *extra)
{
	(void)comm;
	(void)keyval;
	(void)extra;
	free(val);
	deletes++;
	return MPI_SUCCESS;
}

static int handler_calls, handler_code;
static MPI_Comm handler_comm;

static void on_error(MPI_Comm *comm, int *code, ...)
{
	handler_calls++;
	handler_code = *code;
	handler_comm = *comm;
}

/* Made once, used every round: across a restart they must be the same objects. */
static MPI_Comm work;
static int keyval;
static MPI_Errhandler handler;
static MPI_Datatype columns, pairs, record;
static int increment = 10;

struct rec {
	char tag;
	double x;
	int id[2];
};

static void setup(void)
{
	OK(MPI_Comm_dup(MPI_COMM_WORLD, &work));
	OK(MPI_Keyval_create(copy_counted, delete_counted, &keyval, &increment));
	struct counted *c = malloc(sizeof *c);
	c->value = 100 + rank;
	c->copies = 0;
	OK(MPI_Attr_put(work, keyval, c));
	OK(MPI_Errhandler_create(on_error, &handler));
	OK(MPI_Errhandler_set(work, handler));
	/* every third int of 3 rows of 6: a column of a row-major matrix, by byte stride */
	OK(MPI_Type_hvector(3, 1, 6 * sizeof(int), MPI_INT, &columns));
	OK(MPI_Type_commit(&columns));
	int bl[2] = {2, 1};
	MPI_Aint d[2] = {4 * sizeof(int), 0};
	OK(MPI_Type_hindexed(2, bl, d, MPI_INT, &pairs));
	OK(MPI_Type_commit(&pairs));
	struct rec r;
	MPI_Aint base, a_x, a_id;
	OK(MPI_Address(&r, &base));
	OK(MPI_Address(&r.x, &a_x));
	OK(MPI_Address(r.id, &a_id));
	int sbl[3] = {1, 1, 2};
	MPI_Aint sd[3] = {0, a_x - base, a_id - base};
	MPI_Datatype st[3] = {MPI_CHAR, MPI_DOUBLE, MPI_INT};
	OK(MPI_Type_struct(3, sbl, sd, st, &record));
	OK(MPI_Type_commit(&record));
}

/* The long-lived objects still answer as made: attribute, error handler, datatypes. */
static void long_lived(int step)
{
	void *v = NULL;
	int flag = 0;
	OK(MPI_Attr_get(work, keyval, &v, &flag));
	CHECK(flag && ((struct counted *)v)->value == 100 + rank);
	MPI_Errhandler h = MPI_ERRHANDLER_NULL;
	OK(MPI_Errhandler_get(work, &h));
	CHECK(h == handler);
	OK(MPI_Errhandler_free(&h));
	/* an erroneous call on `work` reaches the handler, which returns: the call fails */
	int before = handler_calls, bad = 0;
	CHECK(MPI_Attr_put(work, MPI_KEYVAL_INVALID, &bad) != MPI_SUCCESS);
	CHECK(handler_calls == before + 1 && handler_code != MPI_SUCCESS && handler_comm == work);
	int m[18], got[8];
	for (int i = 0; i < 18; i++)
		m[i] = step * 100 + i;
	/* columns: elements 2, 8, 14; pairs: 4, 5, 0 */
	OK(MPI_Sendrecv(m + 2, 1, columns, peer, 1, got, 3, MPI_INT, peer, 1, work,
			MPI_STATUS_IGNORE));
	CHECK(got[0] == step * 100 + 2 && got[1] == step * 100 + 8 && got[2] == step * 100 + 14);
	OK(MPI_Sendrecv(m, 1, pairs, peer, 2, got, 3, MPI_INT, peer, 2, work, MPI_STATUS_IGNORE));
	CHECK(got[0] == step * 100 + 4 && got[1] == step * 100 + 5 && got[2] == step * 100);
	struct rec out = {(char)('a' + rank % 26), rank + step * 0.5, {step, -rank}}, in;
	memset(&in, 0, sizeof in);
	MPI_Status st;
	OK(MPI_Sendrecv(&out, 1, record, peer, 3, &in, 1, record, peer, 3, work, &st));
	CHECK(in.tag == (char)('a' + peer % 26) && in.x == peer + step * 0.5);
	CHECK(in.id[0] == step && in.id[1] == -peer);
	MPI_Count elements = -1;
	OK(MPI_Get_elements_x(&st, MPI_INT, &elements));
	CHECK(elements == MPI_UNDEFINED); /* a char, a double and two ints are no whole ints */
	OK(MPI_Get_elements_x(&st, record, &elements));
	CHECK(elements == 4);
}

/* A dup copies the attribute through the MPI-1 copy callback; freeing it deletes the copy. */
static void attribute_copies(void)
{
	MPI_Comm d;
	int before = deletes;
	OK(MPI_Comm_dup(work, &d));
	void *v = NULL;
	int flag = 0;
	OK(MPI_Attr_get(d, keyval, &v, &flag));
	CHECK(flag && ((struct counted *)v)->value == 110 + rank);
	CHECK(((struct counted *)v)->copies == 1);
	OK(MPI_Attr_delete(d, keyval));
	CHECK(deletes == before + 1);
	OK(MPI_Attr_get(d, keyval, &v, &flag));
	CHECK(!flag);
	/* predefined MPI-1 callbacks: MPI_DUP_FN copies the value itself, MPI_NULL_COPY_FN not */
	int kdup, knone, x = 7;
	OK(MPI_Keyval_create(MPI_DUP_FN, MPI_NULL_DELETE_FN, &kdup, NULL));
	OK(MPI_Keyval_create(MPI_NULL_COPY_FN, MPI_NULL_DELETE_FN, &knone, NULL));
	OK(MPI_Attr_put(d, kdup, &x));
	OK(MPI_Attr_put(d, knone, &x));
	MPI_Comm d2;
	OK(MPI_Comm_dup(d, &d2));
	OK(MPI_Attr_get(d2, kdup, &v, &flag));
	CHECK(flag && v == &x);
	OK(MPI_Attr_get(d2, knone, &v, &flag));
	CHECK(!flag);
	/* the predefined MPI_TAG_UB through the MPI-1 name */
	OK(MPI_Attr_get(d2, MPI_TAG_UB, &v, &flag));
	CHECK(flag && *(int *)v >= 32767);
	OK(MPI_Comm_free(&d2));
	OK(MPI_Comm_free(&d));
	OK(MPI_Keyval_free(&kdup));
	OK(MPI_Keyval_free(&knone));
	CHECK(kdup == MPI_KEYVAL_INVALID && knone == MPI_KEYVAL_INVALID);
}

/* Extents by the MPI-1 and the MPI 3.0 queries, against MPI_Type_get_extent. */
static void extents(void)
{
	MPI_Datatype r;
	OK(MPI_Type_create_resized(pairs, -8, 40, &r));
	MPI_Aint lb = 0, ub = 0, ext = 0, lb2, ext2;
	OK(MPI_Type_extent(r, &ext));
	OK(MPI_Type_lb(r, &lb));
	OK(MPI_Type_ub(r, &ub));
	OK(MPI_Type_get_extent(r, &lb2, &ext2));
	CHECK(lb == -8 && ext == 40 && ub == 32 && lb2 == lb && ext2 == ext);
	OK(MPI_Type_extent(columns, &ext));
	OK(MPI_Type_ub(columns, &ub));
	CHECK(ext == 13 * (MPI_Aint)sizeof(int) && ub == ext);
	MPI_Count size_x = 0, lb_x = 0, ext_x = 0, tlb_x = 0, text_x = 0;
	OK(MPI_Type_size_x(r, &size_x));
	OK(MPI_Type_get_extent_x(r, &lb_x, &ext_x));
	OK(MPI_Type_get_true_extent_x(r, &tlb_x, &text_x));
	CHECK(size_x == 3 * (MPI_Count)sizeof(int) && lb_x == -8 && ext_x == 40);
	CHECK(tlb_x == 0 && text_x == 6 * (MPI_Count)sizeof(int));
	int ni, na, nd, comb;
	OK(MPI_Type_get_envelope(columns, &ni, &na, &nd, &comb));
	CHECK(comb == MPI_COMBINER_HVECTOR && ni == 2 && na == 1 && nd == 1);
	OK(MPI_Type_get_envelope(record, &ni, &na, &nd, &comb));
	CHECK(comb == MPI_COMBINER_STRUCT && ni == 4 && na == 3 && nd == 3);
	OK(MPI_Type_free(&r));
}

static void utilities(void)
{
	int a[4] = {0};
	MPI_Aint p0, p3;
	OK(MPI_Get_address(&a[0], &p0));
	OK(MPI_Get_address(&a[3], &p3));
	CHECK(MPI_Aint_diff(p3, p0) == 3 * (MPI_Aint)sizeof(int));
	CHECK(MPI_Aint_add(p0, 3 * sizeof(int)) == p3);
	CHECK(MPI_Aint_add(MPI_Aint_diff(p0, p3), p3) == p0);
	CHECK(MPI_Pcontrol(1) == MPI_SUCCESS && MPI_Pcontrol(0, "ignored") == MPI_SUCCESS);
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	CHECK(size % 2 == 0);
	peer = rank ^ 1;
	int steps = cov_steps(argc, argv);
	setup();
	for (int step = 1; step <= steps; step++) {
		long_lived(step);
		attribute_copies();
		extents();
		utilities();
		cov_step_done(step, steps);
	}
	int before = deletes;
	OK(MPI_Comm_free(&work));
	CHECK(deletes == before + 1);
	OK(MPI_Keyval_free(&keyval));
	OK(MPI_Errhandler_free(&handler));
	OK(MPI_Type_free(&columns));
	OK(MPI_Type_free(&pairs));
	OK(MPI_Type_free(&record));
	cov_finish("cov_legacy");
	MPI_Finalize();
	return 0;
}
