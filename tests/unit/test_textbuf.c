/* Unit tests of coordinator/textbuf.c: growth, printf appends and JSON string escaping, which
 * must yield valid JSON whatever bytes a path, host name or rank message holds. */
#define _GNU_SOURCE
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "coordinator/textbuf.h"

#include <string.h>

static void expect_json(const char *in, const char *want)
{
	struct sc_textbuf tb;
	sc_tb_init(&tb);
	sc_tb_json_str(&tb, in);
	assert_false(tb.oom);
	assert_string_equal(sc_tb_str(&tb), want);
	sc_tb_free(&tb);
}

static void test_json_escaping(void **state)
{
	(void)state;
	expect_json("", "\"\"");
	expect_json("plain /path", "\"plain /path\"");
	expect_json("q\"b\\s", "\"q\\\"b\\\\s\"");
	expect_json("nl\ntab\tdel\x7f", "\"nl\\u000atab\\u0009del\\u007f\"");
	expect_json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	/* invalid UTF-8: lone continuation, truncated sequence, overlong, surrogate, > U+10FFFF */
	expect_json("a\x80z", "\"a\\ufffdz\"");
	expect_json("\xc3", "\"\\ufffd\"");
	expect_json("\xc0\xaf", "\"\\ufffd\\ufffd\"");
	expect_json("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
	expect_json("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
}

static void test_growth_and_printf(void **state)
{
	(void)state;
	struct sc_textbuf tb;
	sc_tb_init(&tb);
	assert_string_equal(sc_tb_str(&tb), "");
	for (int i = 0; i < 10000; i++)
		sc_tb_printf(&tb, "%d,", i % 10);
	assert_int_equal(tb.len, 20000);
	assert_int_equal(strlen(sc_tb_str(&tb)), 20000);
	assert_memory_equal(tb.data, "0,1,2,", 6);
	sc_tb_append(&tb, "xyz", 2);
	assert_string_equal(tb.data + 20000, "xy");
	sc_tb_free(&tb);
	assert_null(tb.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_escaping),
	    cmocka_unit_test(test_growth_and_printf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
