/* Coverage of derived datatypes through the crossing: every constructor sends real data whose
 * layout is checked on arrival (contiguous, vector, hvector, indexed, hindexed, (h)indexed_block,
 * struct, subarray, darray, resized, dup, Fortran 90 ones), extents and sizes,
 * Pack/Unpack/Pack_size, Get_address, Type_get_envelope/contents (combiner constants differ
 * between the ABI and MPICH), names and type attributes with copy/delete callbacks. Needs an even
 * number of ranks. Self-checking. */
#include <mpi.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_check.h"

static int rank, size, peer;

/* Sends src[] with type t (count 1) from even to odd ranks, which receive it as `n` ints. */
/* MPI_Type_get_envelope/contents of a type made of MPI_INT with ni integers and no addresses:
 * the integers are `want` (constants as the application's mpi.h numbers them). */
static void check_contents(MPI_Datatype t, int combiner, int ni, const int *want)
{
	int gni = -1, gna = -1, gnd = -1, gcomb = -1, ints[16];
	MPI_Aint addrs[1];
	MPI_Datatype dts[1] = {MPI_DATATYPE_NULL};
	OK(MPI_Type_get_envelope(t, &gni, &gna, &gnd, &gcomb));
	CHECK(gcomb == combiner && gni == ni && gna == 0 && gnd == 1 && ni <= 16);
	OK(MPI_Type_get_contents(t, ni, 0, 1, ints, addrs, dts));
	CHECK(memcmp(ints, want, (size_t)ni * sizeof *ints) == 0 && dts[0] == MPI_INT);
}

static void xfer(MPI_Datatype t, const int *src, int *dst, int n)
{
	OK(MPI_Type_commit(&t));
	if (rank % 2 == 0)
		OK(MPI_Send(src, 1, t, peer, 1, MPI_COMM_WORLD));
	else
		OK(MPI_Recv(dst, n, MPI_INT, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
	OK(MPI_Type_free(&t));
	CHECK(t == MPI_DATATYPE_NULL);
}

static void constructors(void)
{
	int src[64], got[64];
	for (int i = 0; i < 64; i++)
		src[i] = i * 3 + 1;
	MPI_Datatype t;
#define EXPECT(...)                                                                                \
	do {                                                                                       \
		static const int idx[] = {__VA_ARGS__};                                            \
		if (rank % 2)                                                                      \
			for (size_t k = 0; k < sizeof idx / sizeof idx[0]; k++)                    \
				CHECK(got[k] == src[idx[k]]);                                      \
	} while (0)
	OK(MPI_Type_contiguous(3, MPI_INT, &t));
	xfer(t, src, got, 3);
	EXPECT(0, 1, 2);
	OK(MPI_Type_vector(3, 2, 4, MPI_INT, &t));
	xfer(t, src, got, 6);
	EXPECT(0, 1, 4, 5, 8, 9);
	OK(MPI_Type_create_hvector(2, 1, 5 * sizeof(int), MPI_INT, &t));
	xfer(t, src, got, 2);
	EXPECT(0, 5);
	int bl[3] = {1, 2, 1}, dsp[3] = {7, 2, 11};
	OK(MPI_Type_indexed(3, bl, dsp, MPI_INT, &t));
	xfer(t, src, got, 4);
	EXPECT(7, 2, 3, 11);
	MPI_Aint hd[3] = {3 * sizeof(int), 0, 9 * sizeof(int)};
	OK(MPI_Type_create_hindexed(3, bl, hd, MPI_INT, &t));
	xfer(t, src, got, 4);
	EXPECT(3, 0, 1, 9);
	OK(MPI_Type_create_indexed_block(3, 2, dsp, MPI_INT, &t));
	xfer(t, src, got, 6);
	EXPECT(7, 8, 2, 3, 11, 12);
	MPI_Aint hb[2] = {4 * sizeof(int), 1 * sizeof(int)};
	OK(MPI_Type_create_hindexed_block(2, 2, hb, MPI_INT, &t));
	xfer(t, src, got, 4);
	EXPECT(4, 5, 1, 2);
	/* struct of an int, a skipped gap and two ints, each member its own datatype handle */
	MPI_Datatype pair, types[2];
	OK(MPI_Type_contiguous(2, MPI_INT, &pair));
	types[0] = MPI_INT;
	types[1] = pair;
	int sbl[2] = {1, 1};
	MPI_Aint sd[2] = {sizeof(int), 6 * sizeof(int)};
	OK(MPI_Type_create_struct(2, sbl, sd, types, &t));
	xfer(t, src, got, 3);
	EXPECT(1, 6, 7);
	OK(MPI_Type_free(&pair));
	/* 4x4 array of ints, the 2x2 block starting at (1, 2), C order */
	int sizes[2] = {4, 4}, sub[2] = {2, 2}, st[2] = {1, 2};
	OK(MPI_Type_create_subarray(2, sizes, sub, st, MPI_ORDER_C, MPI_INT, &t));
	xfer(t, src, got, 4);
	EXPECT(6, 7, 10, 11);
	OK(MPI_Type_create_subarray(2, sizes, sub, st, MPI_ORDER_FORTRAN, MPI_INT, &t));
	const int sub_ints[] = {2, 4, 4, 2, 2, 1, 2, MPI_ORDER_FORTRAN};
	check_contents(t, MPI_COMBINER_SUBARRAY, 8, sub_ints);
	xfer(t, src, got, 4);
	EXPECT(9, 10, 13, 14);
	/* resized: an int with an extent of 3 ints, so count 3 takes every third */
	MPI_Datatype r;
	OK(MPI_Type_create_resized(MPI_INT, 0, 3 * sizeof(int), &r));
	OK(MPI_Type_commit(&r));
	MPI_Aint lb = -1, ext = -1;
	OK(MPI_Type_get_extent(r, &lb, &ext));
	CHECK(lb == 0 && ext == 3 * (MPI_Aint)sizeof(int));
	if (rank % 2 == 0)
		OK(MPI_Send(src, 3, r, peer, 2, MPI_COMM_WORLD));
	else
		OK(MPI_Recv(got, 3, MPI_INT, peer, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
	EXPECT(0, 3, 6);
	MPI_Datatype d;
	OK(MPI_Type_dup(r, &d));
	OK(MPI_Type_get_extent(d, &lb, &ext));
	CHECK(ext == 3 * (MPI_Aint)sizeof(int) && d != r);
	OK(MPI_Type_free(&d));
	OK(MPI_Type_free(&r));
#undef EXPECT
}

static void queries(void)
{
	MPI_Datatype v, s;
	OK(MPI_Type_vector(3, 2, 4, MPI_INT, &v));
	int sz = 0;
	OK(MPI_Type_size(v, &sz));
	CHECK(sz == 6 * (int)sizeof(int));
	MPI_Aint lb, ext, tlb, text;
	OK(MPI_Type_get_extent(v, &lb, &ext));
	CHECK(lb == 0 && ext == 10 * (MPI_Aint)sizeof(int));
	OK(MPI_Type_create_resized(v, -4, 64, &s));
	OK(MPI_Type_get_extent(s, &lb, &ext));
	OK(MPI_Type_get_true_extent(s, &tlb, &text));
	CHECK(lb == -4 && ext == 64 && tlb == 0 && text == 10 * (MPI_Aint)sizeof(int));
	/* envelope and contents: the vector's arguments and the original handle */
	int ni = -1, na = -1, nd = -1, comb = -1, ints[8];
	MPI_Aint addrs[2];
	MPI_Datatype dts[2];
	OK(MPI_Type_get_envelope(v, &ni, &na, &nd, &comb));
	CHECK(comb == MPI_COMBINER_VECTOR && ni == 3 && na == 0 && nd == 1);
	OK(MPI_Type_get_contents(v, 8, 2, 2, ints, addrs, dts));
	CHECK(ints[0] == 3 && ints[1] == 2 && ints[2] == 4 && dts[0] == MPI_INT);
	OK(MPI_Type_get_envelope(s, &ni, &na, &nd, &comb));
	CHECK(comb == MPI_COMBINER_RESIZED && na == 2 && nd == 1);
	OK(MPI_Type_get_contents(s, 8, 2, 2, ints, addrs, dts));
	CHECK(addrs[0] == -4 && addrs[1] == 64);
	int dsz = 0; /* a derived type in the contents is a new handle of the same type */
	OK(MPI_Type_size(dts[0], &dsz));
	CHECK(dsz == 6 * (int)sizeof(int));
	OK(MPI_Type_free(&dts[0]));
	OK(MPI_Type_get_envelope(MPI_DOUBLE, &ni, &na, &nd, &comb));
	CHECK(comb == MPI_COMBINER_NAMED);
	char name[MPI_MAX_OBJECT_NAME];
	int len = 0;
	OK(MPI_Type_set_name(v, "cov-vector"));
	OK(MPI_Type_get_name(v, name, &len));
	CHECK(strcmp(name, "cov-vector") == 0 && len == 10);
	OK(MPI_Type_get_name(MPI_INT, name, &len));
	CHECK(strcmp(name, "MPI_INT") == 0);
	OK(MPI_Type_free(&s));
	OK(MPI_Type_free(&v));
}

struct rec {
	int id;
	double x;
	char tag[6];
};

static void pack_and_addresses(void)
{
	struct rec r = {rank, rank + 0.25, "abcde"}, back;
	MPI_Aint base, a_x, a_tag;
	OK(MPI_Get_address(&r, &base));
	OK(MPI_Get_address(&r.x, &a_x));
	OK(MPI_Get_address(r.tag, &a_tag));
	CHECK(a_x - base == (MPI_Aint)offsetof(struct rec, x));
	int bl[3] = {1, 1, 6};
	MPI_Aint d[3] = {0, a_x - base, a_tag - base};
	MPI_Datatype ty[3] = {MPI_INT, MPI_DOUBLE, MPI_CHAR}, t;
	OK(MPI_Type_create_struct(3, bl, d, ty, &t));
	OK(MPI_Type_commit(&t));
	int psz = 0, isz = 0, pos = 0;
	OK(MPI_Pack_size(1, t, MPI_COMM_WORLD, &psz));
	OK(MPI_Pack_size(2, MPI_INT, MPI_COMM_WORLD, &isz));
	char *buf = malloc((size_t)(psz + isz));
	int two[2] = {41, 42};
	OK(MPI_Pack(&r, 1, t, buf, psz + isz, &pos, MPI_COMM_WORLD));
	OK(MPI_Pack(two, 2, MPI_INT, buf, psz + isz, &pos, MPI_COMM_WORLD));
	/* the packed bytes travel as MPI_PACKED and are unpacked on the other side */
	char *in = malloc((size_t)(psz + isz));
	OK(MPI_Sendrecv(buf, pos, MPI_PACKED, peer, 3, in, psz + isz, MPI_PACKED, peer, 3,
			MPI_COMM_WORLD, MPI_STATUS_IGNORE));
	int upos = 0, two_back[2] = {0};
	memset(&back, 0, sizeof back);
	OK(MPI_Unpack(in, psz + isz, &upos, &back, 1, t, MPI_COMM_WORLD));
	OK(MPI_Unpack(in, psz + isz, &upos, two_back, 2, MPI_INT, MPI_COMM_WORLD));
	CHECK(back.id == peer && back.x == peer + 0.25 && strcmp(back.tag, "abcde") == 0);
	CHECK(two_back[0] == 41 && two_back[1] == 42 && upos == pos);
	/* the same struct type sent directly */
	memset(&back, 0, sizeof back);
	OK(MPI_Sendrecv(&r, 1, t, peer, 4, &back, 1, t, peer, 4, MPI_COMM_WORLD,
			MPI_STATUS_IGNORE));
	CHECK(back.id == peer && back.x == peer + 0.25 && back.tag[4] == 'e');
	free(buf);
	free(in);
	OK(MPI_Type_free(&t));
}

/* Type attributes: the copy callback runs at MPI_Type_dup, the delete callback at
 * MPI_Type_delete_attr, at replacement and at MPI_Type_free; both must see the application's
 * datatype handle and extra_state. Values cross untouched ((void *)1 is no MPI_IN_PLACE). */
struct tattr {
	int copies, deletes;
	MPI_Datatype last;
	intptr_t last_val;
};

static int type_copy(MPI_Datatype old, int keyval, void *extra, void *in, void *out, int *flag)
{
	(void)keyval;
	struct tattr *t = extra;
	t->copies++;
	t->last = old;
	*(intptr_t *)out = (intptr_t)in * 10;
	*flag = 1;
	return MPI_SUCCESS;
}

static int type_delete(MPI_Datatype dt, int keyval, void *val, void *extra)
{
	(void)keyval;
	struct tattr *t = extra;
	t->deletes++;
	t->last = dt;
	t->last_val = (intptr_t)val;
	return MPI_SUCCESS;
}

static int type_copy_fails(MPI_Datatype old, int keyval, void *extra, void *in, void *out,
			   int *flag)
{
	(void)old, (void)keyval, (void)extra, (void)in, (void)out, (void)flag;
	return MPI_ERR_OTHER;
}

static void type_attributes(void)
{
	struct tattr t = {0, 0, MPI_DATATYPE_NULL, 0};
	int k = MPI_KEYVAL_INVALID, kd = MPI_KEYVAL_INVALID, flag = -1;
	OK(MPI_Type_create_keyval(type_copy, type_delete, &k, &t));
	OK(MPI_Type_create_keyval(MPI_TYPE_DUP_FN, MPI_TYPE_NULL_DELETE_FN, &kd, NULL));
	CHECK(k != MPI_KEYVAL_INVALID && kd != MPI_KEYVAL_INVALID && k != kd);
	MPI_Datatype a, b;
	OK(MPI_Type_contiguous(3, MPI_INT, &a));
	OK(MPI_Type_set_attr(a, k, (void *)(intptr_t)1));
	OK(MPI_Type_set_attr(a, kd, (void *)(intptr_t)55));
	void *v = NULL;
	OK(MPI_Type_get_attr(a, k, &v, &flag));
	CHECK(flag && (intptr_t)v == 1);
	/* a copy callback that fails fails the dup, which hands back MPI_DATATYPE_NULL */
	int kf;
	MPI_Datatype failed = MPI_INT, c;
	OK(MPI_Type_contiguous(2, MPI_INT, &c));
	OK(MPI_Type_create_keyval(type_copy_fails, MPI_TYPE_NULL_DELETE_FN, &kf, NULL));
	OK(MPI_Type_set_attr(c, kf, (void *)(intptr_t)1));
	OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD,
				   MPI_ERRORS_RETURN)); /* a type's errors go there */
	CHECK(MPI_Type_dup(c, &failed) != MPI_SUCCESS && failed == MPI_DATATYPE_NULL);
	OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
	OK(MPI_Type_free(&c));
	OK(MPI_Type_free_keyval(&kf));
	OK(MPI_Type_dup(a, &b)); /* copies k through the callback, kd as is */
	CHECK(t.copies == 1 && t.last == a);
	OK(MPI_Type_get_attr(b, k, &v, &flag));
	CHECK(flag && (intptr_t)v == 10);
	OK(MPI_Type_get_attr(b, kd, &v, &flag));
	CHECK(flag && (intptr_t)v == 55);
	OK(MPI_Type_delete_attr(b, k));
	CHECK(t.deletes == 1 && t.last == b && t.last_val == 10);
	OK(MPI_Type_get_attr(b, k, &v, &flag));
	CHECK(!flag);
	OK(MPI_Type_set_attr(a, k, (void *)(intptr_t)2)); /* replaces: deletes the old value */
	CHECK(t.deletes == 2 && t.last == a && t.last_val == 1);
	/* a predefined type takes attributes too, and hands its own handle to the callback */
	OK(MPI_Type_set_attr(MPI_DOUBLE, k, (void *)(intptr_t)3));
	OK(MPI_Type_delete_attr(MPI_DOUBLE, k));
	CHECK(t.deletes == 3 && t.last == MPI_DOUBLE && t.last_val == 3);
	OK(MPI_Type_free_keyval(&k)); /* attributes keep it alive */
	CHECK(k == MPI_KEYVAL_INVALID);
	MPI_Datatype keep = a;
	/* a first: MPICH destroys a, and calls its delete function, only with b, the type built
	 * from it; the callback must still get the handle the application had for a */
	OK(MPI_Type_free(&a));
	CHECK(t.deletes == 3 || (t.deletes == 4 && t.last == keep && t.last_val == 2));
	OK(MPI_Type_free(&b));
	CHECK(t.deletes == 4 && t.last == keep && t.last_val == 2);
	OK(MPI_Type_free_keyval(&kd));
	CHECK(kd == MPI_KEYVAL_INVALID && t.copies == 1);
}

/* Predefined types by class and size, and the portable external32 representation (big-endian
 * on the wire: the bytes differ from x86's, the round trip gives the values back). */
static void externals(void)
{
	MPI_Datatype t = MPI_DATATYPE_NULL;
	OK(MPI_Type_match_size(MPI_TYPECLASS_INTEGER, 4, &t));
	int sz = 0; /* (which 4-byte integer type is MPI's choice: MPICH's is a Fortran one) */
	OK(MPI_Type_size(t, &sz));
	CHECK(sz == 4);
	OK(MPI_Type_match_size(MPI_TYPECLASS_REAL, 8, &t));
	OK(MPI_Type_size(t, &sz));
	CHECK(sz == 8);
	int v[3] = {1, 0x01020304, -rank}, back[3] = {0};
	MPI_Aint need = 0, pos = 0, upos = 0;
	OK(MPI_Pack_external_size("external32", 3, MPI_INT, &need));
	CHECK(need == 12);
	unsigned char buf[12];
	OK(MPI_Pack_external("external32", v, 3, MPI_INT, buf, sizeof buf, &pos));
	CHECK(pos == 12 && buf[3] == 1 && buf[4] == 1 && buf[7] == 4);
	OK(MPI_Unpack_external("external32", buf, pos, &upos, back, 3, MPI_INT));
	CHECK(upos == 12 && back[1] == 0x01020304 && back[2] == -rank);
	MPI_Count need_c = 0, pos_c = 0, upos_c = 0;
	OK(MPI_Pack_external_size_c("external32", 3, MPI_INT, &need_c));
	OK(MPI_Pack_external_c("external32", v, 3, MPI_INT, buf, sizeof buf, &pos_c));
	memset(back, 0, sizeof back);
	OK(MPI_Unpack_external_c("external32", buf, pos_c, &upos_c, back, 3, MPI_INT));
	CHECK(need_c == 12 && pos_c == 12 && upos_c == 12 && back[0] == 1 && back[2] == -rank);
}

/* The elements a darray type of rank `rank` selects from a[i] = i, by packing it; the count. */
static int selected(MPI_Datatype t, int *out, int max)
{
	int a[64], bytes = 0, pos = 0;
	for (int i = 0; i < 64; i++)
		a[i] = i;
	OK(MPI_Type_commit(&t));
	OK(MPI_Type_size(t, &bytes));
	CHECK(bytes >= 0 && bytes / (int)sizeof(int) <= max);
	OK(MPI_Pack(a, 1, t, out, max * (int)sizeof(int), &pos, MPI_COMM_SELF));
	CHECK(pos == bytes);
	return bytes / (int)sizeof(int);
}

/* A darray made at the start, used every round: a restart makes it again from its record. */
static MPI_Datatype kept_darray;
static int kept_made;

/* Distributed arrays (MPI_Type_create_darray, _c): block with the default argument, cyclic
 * with blocks of 2, two dimensions with one not distributed; the elements each rank's type
 * selects are the ones the distribution gives it. */
static void darrays(void)
{
	int got[64], n, b = (20 + size - 1) / size;
	int gsizes[2] = {20, 6}, distribs[2] = {MPI_DISTRIBUTE_BLOCK, MPI_DISTRIBUTE_NONE};
	int dargs[2] = {MPI_DISTRIBUTE_DFLT_DARG, MPI_DISTRIBUTE_DFLT_DARG}, psizes[2] = {size, 1};
	MPI_Datatype t;
	if (!kept_made) {
		OK(MPI_Type_create_darray(size, rank, 1, gsizes, distribs, dargs, psizes,
					  MPI_ORDER_C, MPI_INT, &kept_darray));
		OK(MPI_Type_commit(&kept_darray));
		kept_made = 1;
	}
	const int kept_want[] = {
	    size, rank, 1, 20, MPI_DISTRIBUTE_BLOCK, MPI_DISTRIBUTE_DFLT_DARG, size, MPI_ORDER_C};
	check_contents(kept_darray, MPI_COMBINER_DARRAY, 8, kept_want);
	n = selected(kept_darray, got, 64);
	int want = rank * b < 20 ? (rank * b + b <= 20 ? b : 20 - rank * b) : 0;
	CHECK(n == want);
	for (int i = 0; i < n; i++)
		CHECK(got[i] == rank * b + i);
	/* the same with a large-count global size */
	MPI_Count gsizes_c[1] = {20};
	OK(MPI_Type_create_darray_c(size, rank, 1, gsizes_c, distribs, dargs, psizes, MPI_ORDER_C,
				    MPI_INT, &t));
	CHECK(selected(t, got, 64) == want && (n == 0 || got[0] == rank * b));
	MPI_Count cni = -1, cna = -1, cnc = -1, cnd = -1, large[1] = {0};
	int comb = -1, cints[7];
	MPI_Aint caddrs[1];
	MPI_Datatype cdts[1];
	OK(MPI_Type_get_envelope_c(t, &cni, &cna, &cnc, &cnd, &comb));
	CHECK(comb == MPI_COMBINER_DARRAY && cni == 7 && cna == 0 && cnc == 1 && cnd == 1);
	OK(MPI_Type_get_contents_c(t, 7, 0, 1, 1, cints, caddrs, large, cdts));
	const int large_ints[] = {
	    size, rank, 1, MPI_DISTRIBUTE_BLOCK, MPI_DISTRIBUTE_DFLT_DARG, size, MPI_ORDER_C};
	CHECK(memcmp(cints, large_ints, sizeof cints) == 0 && large[0] == 20 && cdts[0] == MPI_INT);
	OK(MPI_Type_free(&t));
	/* cyclic in blocks of 2: element i is rank (i / 2) % size's */
	int cyclic = MPI_DISTRIBUTE_CYCLIC, two = 2;
	OK(MPI_Type_create_darray(size, rank, 1, gsizes, &cyclic, &two, psizes, MPI_ORDER_C,
				  MPI_INT, &t));
	const int cyclic_ints[] = {size, rank, 1, 20, MPI_DISTRIBUTE_CYCLIC, 2, size, MPI_ORDER_C};
	check_contents(t, MPI_COMBINER_DARRAY, 8, cyclic_ints);
	n = selected(t, got, 64);
	for (int i = 0, k = 0; i < 20; i++)
		if ((i / 2) % size == rank)
			CHECK(k < n && got[k++] == i);
	OK(MPI_Type_free(&t));
	/* 8 x 6 in C order, rows in blocks over the ranks, columns whole */
	gsizes[0] = 8;
	int rb = (8 + size - 1) / size;
	OK(MPI_Type_create_darray(size, rank, 2, gsizes, distribs, dargs, psizes, MPI_ORDER_C,
				  MPI_INT, &t));
	n = selected(t, got, 64);
	int rows = rank * rb < 8 ? (rank * rb + rb <= 8 ? rb : 8 - rank * rb) : 0;
	CHECK(n == rows * 6);
	for (int i = 0; i < n; i++)
		CHECK(got[i] == (rank * rb + i / 6) * 6 + i % 6);
	OK(MPI_Type_free(&t));
}

/* Fortran 90 parameterized types: the same handle for the same arguments, never freed; one
 * asked at the start carries data every round (a restart makes it again). */
static MPI_Datatype kept_f90;
static int f90_made;

static void f90_types(void)
{
	MPI_Datatype a, b, c, i;
	int sz = 0, ni = -1, na = -1, nd = -1, combiner = -1;
	if (!f90_made) {
		OK(MPI_Type_create_f90_real(15, 300, &kept_f90));
		f90_made = 1;
	}
	OK(MPI_Type_create_f90_real(6, 30, &a));
	OK(MPI_Type_create_f90_real(6, 30, &b));
	CHECK(a == b);
	OK(MPI_Type_size(a, &sz));
	CHECK(sz == 4);
	OK(MPI_Type_get_envelope(a, &ni, &na, &nd, &combiner));
	CHECK(combiner == MPI_COMBINER_F90_REAL && ni == 2);
	OK(MPI_Type_create_f90_complex(15, 300, &c));
	OK(MPI_Type_size(c, &sz));
	CHECK(sz == 16);
	OK(MPI_Type_get_envelope(c, &ni, &na, &nd, &combiner));
	CHECK(combiner == MPI_COMBINER_F90_COMPLEX);
	OK(MPI_Type_create_f90_integer(9, &i));
	OK(MPI_Type_size(i, &sz));
	CHECK(sz == 4);
	OK(MPI_Type_get_envelope(i, &ni, &na, &nd, &combiner));
	CHECK(combiner == MPI_COMBINER_F90_INTEGER && ni == 1);
	/* the kept one: a double from even to odd ranks */
	double out = 1.5 + rank, in = 0;
	OK(MPI_Type_size(kept_f90, &sz));
	CHECK(sz == 8);
	if (rank % 2 == 0)
		OK(MPI_Send(&out, 1, kept_f90, peer, 3, MPI_COMM_WORLD));
	else
		OK(MPI_Recv(&in, 1, kept_f90, peer, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
	CHECK(rank % 2 == 0 || in == 1.5 + peer);
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	CHECK(size % 2 == 0);
	peer = rank ^ 1;
	int steps = cov_steps(argc, argv);
	for (int step = 1; step <= steps; step++) {
		constructors();
		queries();
		pack_and_addresses();
		type_attributes();
		externals();
		darrays();
		f90_types();
		cov_step_done(step, steps);
	}
	OK(MPI_Type_free(&kept_darray));
	cov_finish("cov_types");
	MPI_Finalize();
	return 0;
}
