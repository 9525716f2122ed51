/* Unit test of the upper half's virtual MPI handles (upper-half/vhandle.c, linked through
 * libsplitckpt_mpi): predefined handles and their reverse map, objects with creation records
 * that keep their parents alive for replay, requests, and handle arrays. The lower half is
 * replaced by a fake predefined table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "sc_mpi_table.h"
#include "vhandle.h"

extern const uint8_t sc_vh_predef_kind[SC_VH_PREDEF_MAX];

#define ABI_COMM_NULL 0x100
#define ABI_COMM_WORLD 0x101
#define ABI_REQUEST_NULL 0x180
#define ABI_DATATYPE_NULL 0x200
#define ABI_INT 0x209
#define FAKE(v) (0x4c000000ull + (v))

static void fake_fill(uint64_t *lower, uint32_t n)
{
	for (uint32_t v = 0; v < n; v++)
		if (sc_vh_predef_kind[v])
			lower[v] = FAKE(v);
}

static int setup(void **state)
{
	(void)state;
	sc_vh_load_predef(fake_fill);
	return 0;
}

static void predefined(void **state)
{
	(void)state;
	assert_int_equal(sc_vh_predef_kind[ABI_INT], SC_VK_DATATYPE + 1);
	assert_int_equal(sc_vh_lower((void *)ABI_INT), FAKE(ABI_INT));
	assert_int_equal(sc_vh_lower((void *)ABI_COMM_WORLD), FAKE(ABI_COMM_WORLD));
	assert_int_equal(sc_vh_from_lower(SC_VK_DATATYPE, FAKE(ABI_INT)), ABI_INT);
	assert_int_equal(sc_vh_from_lower(SC_VK_COMM, FAKE(ABI_COMM_WORLD)), ABI_COMM_WORLD);
	/* unknown lower handle: the kind's NULL */
	assert_int_equal(sc_vh_from_lower(SC_VK_COMM, 12345), ABI_COMM_NULL);
	/* a lower NULL returned by a creating call is the ABI NULL, not an object */
	assert_int_equal((uintptr_t)sc_vh_new(SC_VK_COMM, FAKE(ABI_COMM_NULL), 0, 0, NULL, 0),
			 ABI_COMM_NULL);
}

static void objects_and_records(void **state)
{
	(void)state;
	const uint64_t pa[] = {ABI_COMM_WORLD};
	void *parent = sc_vh_new(SC_VK_COMM, 0x84000001, SC_FN_MPI_Comm_dup, 1, pa, 1);
	assert_true((uintptr_t)parent >= SC_VH_PREDEF_MAX);
	assert_int_equal(sc_vh_lower(parent), 0x84000001);
	assert_int_equal(sc_vh_from_lower(SC_VK_COMM, 0x84000001), (uintptr_t)parent);

	const uint64_t ca[] = {(uintptr_t)parent, 1, 0};
	void *child = sc_vh_new(SC_VK_COMM, 0x84000002, SC_FN_MPI_Comm_split, 3, ca, 1);
	struct sc_vobj *o = sc_vh_first();
	assert_ptr_equal(o, parent); /* creation order */
	assert_ptr_equal(o->next, child);
	assert_int_equal(((struct sc_vobj *)child)->args[0], (uintptr_t)parent);

	/* the application frees the parent: the child's record keeps it for replay */
	sc_vh_free(SC_VK_COMM, parent);
	assert_ptr_equal(sc_vh_first(), parent);
	assert_int_equal(((struct sc_vobj *)parent)->flags, SC_VOBJ_FREED);
	/* ...and a callback that names it (MPICH destroys a freed datatype with the last type
	 * built from it) still gets the application's handle, not a handle that MPI returns
	 * again (sc_vh_existing), which becomes a new object */
	assert_int_equal(sc_vh_from_lower(SC_VK_COMM, 0x84000001), (uintptr_t)parent);
	void *again = sc_vh_existing(SC_VK_COMM, 0x84000001, SC_FN_MPI_Comm_dup);
	assert_ptr_not_equal(again, parent);
	/* once MPI reused the lower value, the newest object owns it */
	assert_int_equal(sc_vh_from_lower(SC_VK_COMM, 0x84000001), (uintptr_t)again);
	sc_vh_free(SC_VK_COMM, again);
	assert_int_equal(sc_vh_from_lower(SC_VK_COMM, 0x84000001), (uintptr_t)parent);

	sc_vh_set_lower(child, 0x84000009);
	assert_int_equal(sc_vh_from_lower(SC_VK_COMM, 0x84000009), (uintptr_t)child);
	assert_int_equal(sc_vh_from_lower(SC_VK_COMM, 0x84000002), ABI_COMM_NULL);

	sc_vh_free(SC_VK_COMM, child); /* both go now */
	assert_null(sc_vh_first());
	/* freeing a predefined handle is a no-op */
	sc_vh_free(SC_VK_COMM, (void *)ABI_COMM_WORLD);
}

static void count_live(struct sc_vobj *o, void *arg)
{
	(void)o;
	++*(int *)arg;
}

static void requests(void **state)
{
	(void)state;
	const uint64_t args[] = {1, 2, 3};
	void *r[3];
	for (int i = 0; i < 3; i++) {
		r[i] = sc_vh_req_new(0x2c000010 + (uint64_t)i, SC_FN_MPI_Irecv, 3, args);
		assert_true((uintptr_t)r[i] >= SC_VH_PREDEF_MAX);
		assert_int_equal(sc_vh_lower(r[i]), 0x2c000010 + (uint64_t)i);
	}
	int n = 0;
	sc_vh_req_foreach(count_live, &n);
	assert_int_equal(n, 3);
	assert_int_equal(((struct sc_vobj *)r[1])->args[2], 3);

	/* completion: the lower half left its NULL in place of the request */
	sc_vh_req_update(&r[0], FAKE(ABI_REQUEST_NULL));
	assert_int_equal((uintptr_t)r[0], ABI_REQUEST_NULL);
	/* not completed (or persistent): same handle, maybe a new lower value */
	void *keep = r[1];
	sc_vh_req_update(&r[1], 0x2c000099);
	assert_ptr_equal(r[1], keep);
	assert_int_equal(sc_vh_lower(r[1]), 0x2c000099);
	uint64_t l[2] = {FAKE(ABI_REQUEST_NULL), FAKE(ABI_REQUEST_NULL)};
	sc_vh_req_arr_update(&r[1], l, 2);
	assert_int_equal((uintptr_t)r[1], ABI_REQUEST_NULL);
	assert_int_equal((uintptr_t)r[2], ABI_REQUEST_NULL);
	n = 0;
	sc_vh_req_foreach(count_live, &n);
	assert_int_equal(n, 0);
	/* a NULL handle stays NULL; a request MPI returned as NULL is the ABI NULL */
	sc_vh_req_update(&r[0], 0x2c000001);
	assert_int_equal((uintptr_t)r[0], ABI_REQUEST_NULL);
	assert_int_equal((uintptr_t)sc_vh_req_new(FAKE(ABI_REQUEST_NULL), 0, 0, NULL),
			 ABI_REQUEST_NULL);
}

static void arrays(void **state)
{
	(void)state;
	void *h[100];
	uint64_t small[64];
	for (int i = 0; i < 100; i++)
		h[i] = (void *)(uintptr_t)(i % 2 ? ABI_INT : ABI_COMM_WORLD);
	uint64_t *p = sc_vh_arr_lower(small, 64, h, 10);
	assert_ptr_equal(p, small);
	assert_int_equal(p[3], FAKE(ABI_INT));
	sc_vh_arr_done(small, p);
	p = sc_vh_arr_lower(small, 64, h, 100);
	assert_ptr_not_equal(p, small);
	assert_int_equal(p[98], FAKE(ABI_COMM_WORLD));
	sc_vh_arr_done(small, p);
	assert_ptr_equal(sc_vh_arr_lower(small, 64, h, 0), small);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(predefined),
	    cmocka_unit_test(objects_and_records),
	    cmocka_unit_test(requests),
	    cmocka_unit_test(arrays),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
