/* Unit tests of the coordinator wire protocol (coordinator/protocol.c, client.c): encode/decode
 * round trips, every kind of malformed frame (short, oversized, bad magic/version, unknown
 * type, unterminated or oversized strings, trailing bytes), random mutations, and the client's
 * send/recv over a socketpair (partial frames, timeouts, peer closing). */
#define _GNU_SOURCE
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "coordinator/coord_client.h"
#include "coordinator/protocol.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sc_msg a, b; /* 4 KiB each: keep them off the test stack */
static unsigned char frame[SC_FRAME_MAX + 64];

static void fill_sample(struct sc_msg *m, uint32_t type)
{
	memset(m, 0, sizeof *m);
	m->type = type;
	m->flags = 0x80000003u;
	m->gen = 0x0102030405060708ull;
	m->phase = SC_PHASE_WRITE;
	m->status = -1;
	m->role = SC_ROLE_RANK;
	m->rank = 7;
	m->nranks = 0xfffffffeu;
	m->pid = 4242;
	m->value = UINT64_MAX;
	m->value2 = 1;
	m->bytes = 123456789012ull;
	m->nanos = 987654321ull;
	memset(m->secret, 'a', SC_SECRET_LEN);
	snprintf(m->text, sizeof m->text, "hello \xc3\xa9 world");
}

static size_t encode_sample(uint32_t type)
{
	fill_sample(&a, type);
	size_t len = sc_msg_encode(&a, frame, sizeof frame);
	assert_true(len > SC_FRAME_HDR);
	return len;
}

static int decode(size_t len, char *err, size_t errlen)
{
	size_t used;
	return sc_frame_decode(frame, len, &b, &used, err, errlen);
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void test_round_trip(void **state)
{
	(void)state;
	size_t len = encode_sample(SC_MSG_HELLO);
	size_t used = 0;
	char err[256];
	assert_int_equal(sc_frame_decode(frame, len, &b, &used, err, sizeof err), 1);
	assert_int_equal(used, len);
	assert_int_equal(b.type, a.type);
	assert_int_equal(b.flags, a.flags);
	assert_true(b.gen == a.gen);
	assert_int_equal(b.phase, a.phase);
	assert_int_equal(b.status, -1);
	assert_int_equal(b.role, a.role);
	assert_int_equal(b.rank, a.rank);
	assert_int_equal(b.nranks, a.nranks);
	assert_int_equal(b.pid, a.pid);
	assert_true(b.value == UINT64_MAX);
	assert_true(b.value2 == 1);
	assert_true(b.bytes == a.bytes);
	assert_true(b.nanos == a.nanos);
	assert_string_equal(b.secret, a.secret);
	assert_string_equal(b.text, a.text);
	/* little-endian on the wire, whatever the host */
	assert_int_equal(frame[0], 'S');
	assert_int_equal(frame[3], '1');
	assert_int_equal(frame[SC_FRAME_HDR + 4], 0x08);
}

static void test_every_type_and_max_text(void **state)
{
	(void)state;
	char err[256];
	for (uint32_t t = SC_MSG_HELLO; t <= SC_MSG_LAST; t++) {
		fill_sample(&a, t);
		memset(a.text, 'z', SC_MSG_TEXT - 1);
		a.text[SC_MSG_TEXT - 1] = '\0';
		size_t len = sc_msg_encode(&a, frame, sizeof frame);
		assert_true(len <= SC_FRAME_MAX);
		assert_int_equal(decode(len, err, sizeof err), 1);
		assert_int_equal(strlen(b.text), SC_MSG_TEXT - 1);
		assert_string_not_equal(sc_msg_type_name(t), "?");
	}
}

static void test_secret_only_in_hello(void **state)
{
	(void)state;
	char err[256];
	size_t len = encode_sample(SC_MSG_REPLY);
	assert_int_equal(decode(len, err, sizeof err), 1);
	assert_string_equal(b.secret, "");
}

static void test_incremental(void **state)
{
	(void)state;
	size_t len = encode_sample(SC_MSG_PHASE_ACK), used;
	char err[256];
	for (size_t have = 0; have < len; have++) {
		assert_int_equal(sc_frame_decode(frame, have, &b, &used, err, sizeof err), 0);
		assert_int_equal(used, have < SC_FRAME_HDR ? SC_FRAME_HDR : len);
	}
	assert_int_equal(sc_frame_decode(frame, len, &b, &used, err, sizeof err), 1);
}

static void expect_malformed(size_t len, const char *needle)
{
	char err[256] = "";
	assert_int_equal(decode(len, err, sizeof err), -1);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_bad_magic(void **state)
{
	(void)state;
	size_t len = encode_sample(SC_MSG_WELCOME);
	frame[0] = 'G'; /* e.g. an HTTP client: "GET /" */
	expect_malformed(len, "bad magic");
}

static void test_bad_version(void **state)
{
	(void)state;
	size_t len = encode_sample(SC_MSG_WELCOME);
	frame[4] = 2;
	expect_malformed(len, "version 2");
}

static void test_unknown_type(void **state)
{
	(void)state;
	size_t len = encode_sample(SC_MSG_WELCOME);
	frame[6] = 0;
	expect_malformed(len, "unknown message type 0");
	frame[6] = SC_MSG_LAST + 1;
	expect_malformed(len, "unknown message type");
	/* header errors are reported before the body arrives */
	expect_malformed(SC_FRAME_HDR, "unknown message type");
}

static void test_short_and_oversized(void **state)
{
	(void)state;
	size_t len = encode_sample(SC_MSG_WELCOME);
	put32(frame + 8, SC_BODY_MIN - 1);
	expect_malformed(len, "out of range");
	put32(frame + 8, SC_BODY_MAX + 1);
	expect_malformed(SC_FRAME_HDR, "out of range");
	put32(frame + 8, 0xffffffffu);
	expect_malformed(SC_FRAME_HDR, "out of range");
}

/* Offset of the text's u16 length in the frame built by encode_sample (non-HELLO). */
static size_t text_len_off(void)
{
	return SC_FRAME_HDR + SC_BODY_FIXED + 2 + 1;
}

static void test_unterminated_text(void **state)
{
	(void)state;
	size_t len = encode_sample(SC_MSG_REPLY);
	frame[len - 1] = 'x';
	expect_malformed(len, "not NUL-terminated");
	len = encode_sample(SC_MSG_REPLY);
	frame[text_len_off() + 2 + 1] = '\0'; /* a NUL inside the text */
	expect_malformed(len, "not NUL-terminated");
}

static void test_string_lengths(void **state)
{
	(void)state;
	size_t len = encode_sample(SC_MSG_REPLY);
	frame[text_len_off()] = 0;
	frame[text_len_off() + 1] = 0;
	expect_malformed(len, "text length out of range");
	len = encode_sample(SC_MSG_REPLY);
	frame[text_len_off()] = (unsigned char)(len); /* longer than what is left */
	frame[text_len_off() + 1] = (unsigned char)(len >> 8);
	expect_malformed(len, "truncated text");
	len = encode_sample(SC_MSG_REPLY);
	uint16_t big = SC_MSG_TEXT + 1;
	frame[text_len_off()] = (unsigned char)big;
	frame[text_len_off() + 1] = (unsigned char)(big >> 8);
	expect_malformed(len, "text length out of range");
	/* secret longer than SC_SECRET_LEN + 1 */
	len = encode_sample(SC_MSG_HELLO);
	frame[SC_FRAME_HDR + SC_BODY_FIXED] = SC_SECRET_LEN + 2;
	expect_malformed(len, "secret");
}

static void test_trailing_bytes(void **state)
{
	(void)state;
	size_t len = encode_sample(SC_MSG_REPLY);
	frame[len] = 'x';
	put32(frame + 8, (uint32_t)(len + 1 - SC_FRAME_HDR));
	expect_malformed(len + 1, "trailing bytes");
}

static void test_encode_rejects(void **state)
{
	(void)state;
	fill_sample(&a, SC_MSG_REPLY);
	memset(a.text, 'a', sizeof a.text); /* no NUL */
	assert_int_equal(sc_msg_encode(&a, frame, sizeof frame), 0);
	fill_sample(&a, 0);
	assert_int_equal(sc_msg_encode(&a, frame, sizeof frame), 0);
	fill_sample(&a, 99);
	assert_int_equal(sc_msg_encode(&a, frame, sizeof frame), 0);
	fill_sample(&a, SC_MSG_REPLY);
	assert_int_equal(sc_msg_encode(&a, frame, SC_FRAME_HDR + SC_BODY_FIXED + 3), 0);
}

static void test_random_mutations(void **state)
{
	(void)state;
	srand(12345);
	char err[256];
	for (int i = 0; i < 20000; i++) {
		size_t len = encode_sample((uint32_t)(SC_MSG_HELLO + i % SC_MSG_LAST));
		int flips = 1 + rand() % 4;
		for (int f = 0; f < flips; f++)
			frame[(size_t)rand() % len] = (unsigned char)rand();
		size_t cut = (size_t)rand() % (len + 1);
		size_t used;
		int r = sc_frame_decode(frame, cut, &b, &used, err, sizeof err);
		assert_true(r >= -1 && r <= 1);
		if (r == 1) {
			assert_true(used <= cut);
			assert_true(strlen(b.text) < SC_MSG_TEXT);
			assert_true(strlen(b.secret) <= SC_SECRET_LEN);
		}
	}
	for (int i = 0; i < 2000; i++) { /* pure noise */
		for (size_t j = 0; j < 200; j++)
			frame[j] = (unsigned char)rand();
		size_t used;
		assert_true(sc_frame_decode(frame, 200, &b, &used, err, sizeof err) <= 0);
	}
}

static void test_secret_equal(void **state)
{
	(void)state;
	char s1[SC_SECRET_LEN + 1], s2[SC_SECRET_LEN + 1];
	memset(s1, 'f', SC_SECRET_LEN);
	s1[SC_SECRET_LEN] = '\0';
	memcpy(s2, s1, sizeof s1);
	assert_true(sc_secret_equal(s1, s2));
	s2[SC_SECRET_LEN - 1] = 'e';
	assert_false(sc_secret_equal(s1, s2));
	assert_false(sc_secret_equal(s1, ""));
	assert_false(sc_secret_equal("", ""));
	assert_false(sc_secret_equal("abc", "abc"));
}

static void test_conn_over_socketpair(void **state)
{
	(void)state;
	int sv[2];
	char err[256];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct sc_conn tx = {sv[0]}, rx = {sv[1]};
	fill_sample(&a, SC_MSG_CKPT_DONE);
	assert_int_equal(sc_conn_send(&tx, &a), 0);
	assert_int_equal(sc_conn_send(&tx, &a), 0);
	assert_int_equal(sc_conn_recv(&rx, &b, 1000, err, sizeof err), 1);
	assert_string_equal(b.text, a.text);
	assert_int_equal(sc_conn_recv(&rx, &b, 1000, err, sizeof err), 1);
	/* nothing more: a timeout, not an error */
	assert_int_equal(sc_conn_recv(&rx, &b, 50, err, sizeof err), 0);
	/* a frame written in pieces is reassembled */
	size_t len = encode_sample(SC_MSG_REPLY);
	assert_int_equal(write(sv[0], frame, 5), 5);
	assert_int_equal(write(sv[0], frame + 5, len - 5), (ssize_t)(len - 5));
	assert_int_equal(sc_conn_recv(&rx, &b, 1000, err, sizeof err), 1);
	assert_int_equal(b.type, SC_MSG_REPLY);
	/* garbage is an error that says so */
	assert_int_equal(write(sv[0], "GET / HTTP/1.0\r\n\r\n", 18), 18);
	assert_int_equal(sc_conn_recv(&rx, &b, 1000, err, sizeof err), -1);
	assert_non_null(strstr(err, "bad magic"));
	/* peer closing is reported as such */
	sc_conn_close(&tx);
	assert_int_equal(tx.fd, -1);
	char drain[64];
	while (recv(rx.fd, drain, sizeof drain, MSG_DONTWAIT) > 0)
		;
	assert_int_equal(sc_conn_recv(&rx, &b, 1000, err, sizeof err), -1);
	assert_non_null(strstr(err, "closed"));
	sc_conn_close(&rx);
	/* an unencodable message is refused before anything is written */
	struct sc_conn none = {-1};
	fill_sample(&a, SC_MSG_REPLY);
	assert_int_equal(sc_conn_send(&none, &a), -1);
	assert_int_equal(errno, EBADF);
}

static void test_conn_open_refused(void **state)
{
	(void)state;
	/* a port nobody listens on: bind one, learn it, close it */
	struct sc_msg hello = {.role = SC_ROLE_COMMAND}, welcome;
	struct sc_conn c;
	char err[512];
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_storage ss = {0};
	struct sockaddr *sa = (struct sockaddr *)&ss;
	sa->sa_family = AF_INET;
	socklen_t sl = sizeof(struct sockaddr_in);
	assert_int_equal(bind(s, sa, sl), 0);
	assert_int_equal(getsockname(s, sa, &sl), 0);
	int port = ntohs(((struct sockaddr_in *)sa)->sin_port);
	close(s);
	assert_int_equal(
	    sc_conn_open(&c, "127.0.0.1", port, "x", &hello, &welcome, 2000, err, sizeof err), -1);
	assert_int_equal(errno, ECONNREFUSED);
	assert_non_null(strstr(err, "cannot connect to coordinator at 127.0.0.1:"));
	assert_int_equal(c.fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_every_type_and_max_text),
	    cmocka_unit_test(test_secret_only_in_hello),
	    cmocka_unit_test(test_incremental),
	    cmocka_unit_test(test_bad_magic),
	    cmocka_unit_test(test_bad_version),
	    cmocka_unit_test(test_unknown_type),
	    cmocka_unit_test(test_short_and_oversized),
	    cmocka_unit_test(test_unterminated_text),
	    cmocka_unit_test(test_string_lengths),
	    cmocka_unit_test(test_trailing_bytes),
	    cmocka_unit_test(test_encode_rejects),
	    cmocka_unit_test(test_random_mutations),
	    cmocka_unit_test(test_secret_equal),
	    cmocka_unit_test(test_conn_over_socketpair),
	    cmocka_unit_test(test_conn_open_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
