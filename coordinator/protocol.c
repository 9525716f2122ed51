/* Encoding and strict decoding of coordinator frames (see protocol.h). Every field is written
 * byte by byte in little-endian order, so the layout does not depend on the compiler's struct
 * padding or the host; every received byte is checked before it reaches a struct sc_msg. */
#define _GNU_SOURCE
#include "config.h"

#include "protocol.h"

#include <stdarg.h>
#include <string.h>

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void sc_errcat(char *err, size_t errlen, ...)
{
	if (!err || errlen == 0)
		return;
	size_t n = 0;
	va_list ap;
	va_start(ap, errlen);
	for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
		while (*s && n + 1 < errlen)
			err[n++] = *s++;
	va_end(ap);
	err[n] = '\0';
}

char *sc_u64_to_text(uint64_t v, char *out)
{
	char tmp[21];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (int i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return out;
}

int sc_secret_equal(const char *a, const char *b)
{
	if (strnlen(a, SC_SECRET_LEN + 1) != SC_SECRET_LEN ||
	    strnlen(b, SC_SECRET_LEN + 1) != SC_SECRET_LEN)
		return 0;
	/* Accumulate every difference so the time taken does not reveal the first mismatch. */
	volatile unsigned char diff = 0;
	for (size_t i = 0; i < SC_SECRET_LEN; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

const char *sc_msg_type_name(uint32_t type)
{
	switch (type) {
	case SC_MSG_HELLO:
		return "HELLO";
	case SC_MSG_WELCOME:
		return "WELCOME";
	case SC_MSG_REFUSED:
		return "REFUSED";
	case SC_MSG_CKPT_PHASE:
		return "CKPT_PHASE";
	case SC_MSG_PHASE_ACK:
		return "PHASE_ACK";
	case SC_MSG_CKPT_DONE:
		return "CKPT_DONE";
	case SC_MSG_RESTARTED:
		return "RESTARTED";
	case SC_MSG_EXITING:
		return "EXITING";
	case SC_MSG_KILL:
		return "KILL";
	case SC_MSG_COMMAND:
		return "COMMAND";
	case SC_MSG_REPLY:
		return "REPLY";
	case SC_MSG_END_REQUEST:
		return "END_REQUEST";
	default:
		return "?";
	}
}

const char *sc_phase_name(uint32_t phase)
{
	switch (phase) {
	case SC_PHASE_SUSPEND:
		return "suspend";
	case SC_PHASE_WRITE:
		return "write";
	case SC_PHASE_QUIESCE:
		return "quiesce";
	case SC_PHASE_DRAIN:
		return "drain";
	default:
		return "?";
	}
}

static int type_known(uint32_t type)
{
	return type >= SC_MSG_HELLO && type <= SC_MSG_LAST;
}

/* Writes a u16 length (NUL included) and the string; returns the bytes written or 0. */
static size_t put_string(unsigned char *p, size_t room, const char *s, size_t cap)
{
	size_t len = strnlen(s, cap);
	if (len == cap || 2 + len + 1 > room)
		return 0;
	put16(p, (uint16_t)(len + 1));
	memcpy(p + 2, s, len + 1);
	return 2 + len + 1;
}

void sc_msg_send_text(struct sc_msg *m, const char *text,
		      void (*send)(void *ctx, const struct sc_msg *m), void *ctx)
{
	size_t left = strlen(text);
	do {
		size_t n = left < sizeof m->text - 1 ? left : sizeof m->text - 1;
		memcpy(m->text, text, n);
		m->text[n] = '\0';
		text += n;
		left -= n;
		m->flags = (m->flags & ~SC_FLAG_MORE) | (left ? SC_FLAG_MORE : 0);
		send(ctx, m);
	} while (left);
}

size_t sc_msg_encode(const struct sc_msg *m, unsigned char *buf, size_t buflen)
{
	if (!type_known(m->type) || buflen < SC_FRAME_HDR + SC_BODY_FIXED)
		return 0;
	unsigned char *p = buf + SC_FRAME_HDR;
	put32(p, m->flags);
	put64(p + 4, m->gen);
	put32(p + 12, m->phase);
	put32(p + 16, (uint32_t)m->status);
	put32(p + 20, m->role);
	put32(p + 24, m->rank);
	put32(p + 28, m->nranks);
	put32(p + 32, m->pid);
	put64(p + 36, m->value);
	put64(p + 44, m->value2);
	put64(p + 52, m->bytes);
	put64(p + 60, m->nanos);
	size_t off = SC_FRAME_HDR + SC_BODY_FIXED;
	/* Only HELLO proves the secret; no other message should ever carry it. */
	const char *secret = m->type == SC_MSG_HELLO ? m->secret : "";
	size_t n = put_string(buf + off, buflen - off, secret, sizeof m->secret);
	if (!n)
		return 0;
	off += n;
	n = put_string(buf + off, buflen - off, m->text, sizeof m->text);
	if (!n)
		return 0;
	off += n;
	put32(buf, SC_FRAME_MAGIC);
	put16(buf + 4, SC_PROTO_VERSION);
	put16(buf + 6, (uint16_t)m->type);
	put32(buf + 8, (uint32_t)(off - SC_FRAME_HDR));
	return off;
}

/* Reads a u16-length-prefixed string that must end in its only NUL and fit cap bytes. */
static int get_string(const unsigned char *body, size_t len, size_t *off, char *dst, size_t cap,
		      const char *what, char *err, size_t errlen)
{
	if (len - *off < 2) {
		sc_errcat(err, errlen, "malformed frame: truncated ", what, " length", NULL);
		return -1;
	}
	size_t slen = get16(body + *off);
	*off += 2;
	if (slen == 0 || slen > cap) {
		sc_errcat(err, errlen, "malformed frame: ", what, " length out of range", NULL);
		return -1;
	}
	if (len - *off < slen) {
		sc_errcat(err, errlen, "malformed frame: truncated ", what, NULL);
		return -1;
	}
	const unsigned char *s = body + *off;
	if (s[slen - 1] != '\0' || memchr(s, '\0', slen - 1)) {
		sc_errcat(err, errlen, "malformed frame: ", what, " is not NUL-terminated text",
			  NULL);
		return -1;
	}
	memcpy(dst, s, slen);
	*off += slen;
	return 0;
}

int sc_frame_decode(const unsigned char *buf, size_t len, struct sc_msg *m, size_t *used, char *err,
		    size_t errlen)
{
	*used = SC_FRAME_HDR;
	if (len < SC_FRAME_HDR)
		return 0;
	char num[24];
	uint32_t magic = get32(buf);
	if (magic != SC_FRAME_MAGIC) {
		sc_errcat(err, errlen, "malformed frame: bad magic (not a splitckpt peer?)", NULL);
		return -1;
	}
	uint16_t version = get16(buf + 4);
	if (version != SC_PROTO_VERSION) {
		sc_errcat(err, errlen, "protocol version ", sc_u64_to_text(version, num),
			  " not supported (this side speaks 1)", NULL);
		return -1;
	}
	uint16_t type = get16(buf + 6);
	if (!type_known(type)) {
		sc_errcat(err, errlen, "malformed frame: unknown message type ",
			  sc_u64_to_text(type, num), NULL);
		return -1;
	}
	uint32_t body_len = get32(buf + 8);
	if (body_len < SC_BODY_MIN || body_len > SC_BODY_MAX) {
		sc_errcat(err, errlen, "malformed frame: body length ",
			  sc_u64_to_text(body_len, num), " out of range", NULL);
		return -1;
	}
	*used = SC_FRAME_HDR + body_len;
	if (len < *used)
		return 0;

	const unsigned char *p = buf + SC_FRAME_HDR;
	memset(m, 0, sizeof *m);
	m->type = type;
	m->flags = get32(p);
	m->gen = get64(p + 4);
	m->phase = get32(p + 12);
	m->status = (int32_t)get32(p + 16);
	m->role = get32(p + 20);
	m->rank = get32(p + 24);
	m->nranks = get32(p + 28);
	m->pid = get32(p + 32);
	m->value = get64(p + 36);
	m->value2 = get64(p + 44);
	m->bytes = get64(p + 52);
	m->nanos = get64(p + 60);
	size_t off = SC_BODY_FIXED;
	if (get_string(p, body_len, &off, m->secret, sizeof m->secret, "secret", err, errlen) ||
	    get_string(p, body_len, &off, m->text, sizeof m->text, "text", err, errlen))
		return -1;
	if (off != body_len) {
		sc_errcat(err, errlen, "malformed frame: trailing bytes after the text", NULL);
		return -1;
	}
	return 1;
}
