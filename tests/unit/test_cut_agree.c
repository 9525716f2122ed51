/* Unit tests of the coordinator's quiesce agreement (coordinator/cut_agree.c): ranks' reports
 * of collective counts are merged, disagreement sends the maximum as targets, a held rank
 * ("!ID") raises its communicator's target by one, a rank inside a communicator's creation
 * ("+") takes another round even when every reported count agrees, and then ranks waiting at
 * their targets ("?ID") go one further; a rank with a PSCW epoch open ("*") takes another round
 * raising nothing, and names the open epoch when the rounds run out; malformed reports fail. */
#define _GNU_SOURCE
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "coordinator/server_internal.h"

#include <stdlib.h>
#include <string.h>

static char err[256];

static struct checkpoint *fresh(void)
{
	struct checkpoint *ck = calloc(1, sizeof *ck);
	assert_non_null(ck);
	agree_reset(ck);
	return ck;
}

static void done(struct checkpoint *ck)
{
	free(ck->clocks);
	sc_tb_free(&ck->targets);
	free(ck);
}

static void equal_counts_agree(void **state)
{
	(void)state;
	struct checkpoint *ck = fresh();
	assert_int_equal(agree_add(ck, "101 5\nab 2\n", err, sizeof err), 0);
	assert_int_equal(agree_add(ck, "101 5\nab 2", err, sizeof err), 0);
	assert_int_equal(agree_next(ck, err, sizeof err), 1);
	done(ck);
}

static void disagreement_sends_maximum(void **state)
{
	(void)state;
	struct checkpoint *ck = fresh();
	assert_int_equal(agree_add(ck, "101 5\nab 2\n", err, sizeof err), 0);
	assert_int_equal(agree_add(ck, "101 7\nab 2\n", err, sizeof err), 0);
	assert_int_equal(agree_next(ck, err, sizeof err), 0);
	assert_non_null(strstr(sc_tb_str(&ck->targets), "101 7\n"));
	assert_non_null(strstr(sc_tb_str(&ck->targets), "ab 2\n"));
	/* the next round starts empty */
	assert_int_equal(agree_add(ck, "101 7\nab 2\n", err, sizeof err), 0);
	assert_int_equal(agree_next(ck, err, sizeof err), 1);
	done(ck);
}

static void held_rank_raises_target(void **state)
{
	(void)state;
	struct checkpoint *ck = fresh();
	assert_int_equal(agree_add(ck, "!ab\nab 3\n", err, sizeof err), 0);
	assert_int_equal(agree_add(ck, "ab 3\n", err, sizeof err), 0);
	assert_int_equal(agree_next(ck, err, sizeof err), 0);
	assert_non_null(strstr(sc_tb_str(&ck->targets), "ab 4\n"));
	done(ck);
}

static void creating_rank_takes_another_round(void **state)
{
	(void)state;
	struct checkpoint *ck = fresh();
	/* rank 0 already counts a collective on a new communicator (c0) that rank 1 is still
	 * creating: c0 agrees among those who report it, the "+" keeps the quiesce going */
	assert_int_equal(agree_add(ck, "101 5\nc0 1\n", err, sizeof err), 0);
	assert_int_equal(agree_add(ck, "+\n101 5\n", err, sizeof err), 0);
	assert_int_equal(agree_next(ck, err, sizeof err), 0);
	assert_non_null(strstr(sc_tb_str(&ck->targets), "c0 1\n"));
	assert_int_equal(agree_add(ck, "101 5\nc0 1\n", err, sizeof err), 0);
	assert_int_equal(agree_add(ck, "101 5\nc0 1\n", err, sizeof err), 0);
	assert_int_equal(agree_next(ck, err, sizeof err), 1);
	done(ck);
}

static void open_epoch_takes_another_round_raising_nothing(void **state)
{
	(void)state;
	struct checkpoint *ck = fresh();
	/* rank 1 started an access epoch (pair clock d4 at 2) and waits in MPI_Win_complete for
	 * rank 0's post; rank 0 waits at another pair's target (e5): nothing is raised */
	assert_int_equal(agree_add(ck, "?e5\nd4 1\ne5 1\n", err, sizeof err), 0);
	assert_int_equal(agree_add(ck, "*\nd4 2\ne5 1\n", err, sizeof err), 0);
	assert_int_equal(agree_next(ck, err, sizeof err), 0);
	assert_non_null(strstr(sc_tb_str(&ck->targets), "d4 2\n"));
	assert_non_null(strstr(sc_tb_str(&ck->targets), "e5 1\n"));
	/* counts agree, but the epoch is still open: one more round */
	assert_int_equal(agree_add(ck, "d4 2\ne5 1\n", err, sizeof err), 0);
	assert_int_equal(agree_add(ck, "*\nd4 2\ne5 1\n", err, sizeof err), 0);
	assert_int_equal(agree_next(ck, err, sizeof err), 0);
	assert_int_equal(agree_add(ck, "d4 2\ne5 1\n", err, sizeof err), 0);
	assert_int_equal(agree_add(ck, "d4 2\ne5 1\n", err, sizeof err), 0);
	assert_int_equal(agree_next(ck, err, sizeof err), 1);
	/* an epoch that never closes ends the checkpoint with a message naming it */
	agree_reset(ck);
	int rc = 0;
	for (int round = 0; round < 20000 && rc == 0; round++) {
		assert_int_equal(agree_add(ck, "*\nd4 2\n", err, sizeof err), 0);
		rc = agree_next(ck, err, sizeof err);
	}
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "MPI_Win_post or MPI_Win_start epoch"));
	done(ck);
}

static void waiting_ranks_go_further_only_for_a_creation(void **state)
{
	(void)state;
	struct checkpoint *ck = fresh();
	/* everyone agrees and waits: "?" alone changes nothing */
	assert_int_equal(agree_add(ck, "?a1\na1 3\n", err, sizeof err), 0);
	assert_int_equal(agree_add(ck, "a1 3\n", err, sizeof err), 0);
	assert_int_equal(agree_next(ck, err, sizeof err), 1);
	/* rank 0 is inside MPI_Intercomm_create, whose other group waits at a1's target */
	agree_reset(ck);
	assert_int_equal(agree_add(ck, "+\nb2 4\n", err, sizeof err), 0);
	assert_int_equal(agree_add(ck, "?a1\na1 3\n", err, sizeof err), 0);
	assert_int_equal(agree_next(ck, err, sizeof err), 0);
	assert_non_null(strstr(sc_tb_str(&ck->targets), "a1 4\n"));
	assert_non_null(strstr(sc_tb_str(&ck->targets), "b2 4\n"));
	done(ck);
}

static void malformed_reports_fail(void **state)
{
	(void)state;
	static const char *const bad[] = {"101\n", "zz 1\n", "101 \n", "101 5x\n",
					  "+x\n",  "!\n",    "?\n",    "?a1 3\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct checkpoint *ck = fresh();
		err[0] = '\0';
		assert_int_equal(agree_add(ck, bad[i], err, sizeof err), -1);
		assert_non_null(strstr(err, "malformed"));
		done(ck);
	}
}

/* Thousands of communicators: the targets are not bounded by one message's text (the
 * coordinator sends them in parts), every one of them is there. */
static void many_communicators(void **state)
{
	(void)state;
	struct checkpoint *ck = fresh();
	struct sc_textbuf a, b;
	sc_tb_init(&a);
	sc_tb_init(&b);
	for (unsigned i = 1; i <= 3000; i++) {
		sc_tb_printf(&a, "%x %x\n", 0x10000u + i, i);
		sc_tb_printf(&b, "%x %x\n", 0x10000u + i, i + (i == 2999));
	}
	assert_int_equal(agree_add(ck, sc_tb_str(&a), err, sizeof err), 0);
	assert_int_equal(agree_add(ck, sc_tb_str(&b), err, sizeof err), 0);
	assert_int_equal(agree_next(ck, err, sizeof err), 0);
	assert_true(ck->targets.len > 4 * SC_MSG_TEXT); /* more than one message holds */
	assert_non_null(strstr(sc_tb_str(&ck->targets), "\n10bb7 bb8\n"));
	assert_non_null(strstr(sc_tb_str(&ck->targets), "\n10bb8 bb8\n"));
	sc_tb_free(&a);
	sc_tb_free(&b);
	done(ck);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(equal_counts_agree),
	    cmocka_unit_test(disagreement_sends_maximum),
	    cmocka_unit_test(held_rank_raises_target),
	    cmocka_unit_test(creating_rank_takes_another_round),
	    cmocka_unit_test(open_epoch_takes_another_round_raising_nothing),
	    cmocka_unit_test(waiting_ranks_go_further_only_for_a_creation),
	    cmocka_unit_test(malformed_reports_fail),
	    cmocka_unit_test(many_communicators),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
