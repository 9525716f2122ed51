/* Growable text buffer and JSON string escaping (see textbuf.h). */
#define _GNU_SOURCE
#include "config.h"

#include "textbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sc_tb_init(struct sc_textbuf *tb)
{
	memset(tb, 0, sizeof *tb);
}

void sc_tb_free(struct sc_textbuf *tb)
{
	free(tb->data);
	sc_tb_init(tb);
}

static int reserve(struct sc_textbuf *tb, size_t more)
{
	if (tb->oom)
		return -1;
	if (tb->len + more + 1 <= tb->cap)
		return 0;
	size_t cap = tb->cap ? tb->cap : 256;
	while (cap < tb->len + more + 1)
		cap *= 2;
	char *p = realloc(tb->data, cap);
	if (!p) {
		tb->oom = 1;
		return -1;
	}
	tb->data = p;
	tb->cap = cap;
	return 0;
}

void sc_tb_append(struct sc_textbuf *tb, const char *s, size_t n)
{
	if (reserve(tb, n))
		return;
	memcpy(tb->data + tb->len, s, n);
	tb->len += n;
	tb->data[tb->len] = '\0';
}

void sc_tb_printf(struct sc_textbuf *tb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || reserve(tb, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(tb->data + tb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	tb->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not valid. */
static size_t utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	size_t n;
	unsigned min;
	unsigned cp;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2, min = 0x80, cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, min = 0x800, cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4, min = 0x10000, cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void sc_tb_json_str(struct sc_textbuf *tb, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	sc_tb_append(tb, "\"", 1);
	while (*s) {
		size_t n = utf8_len(s);
		if (n == 0) {
			sc_tb_append(tb, "\\ufffd", 6);
			s++;
		} else if (*s == '"' || *s == '\\') {
			char esc[2] = {'\\', (char)*s};
			sc_tb_append(tb, esc, 2);
			s++;
		} else if (*s < 0x20 || *s == 0x7f) {
			sc_tb_printf(tb, "\\u%04x", *s);
			s++;
		} else {
			sc_tb_append(tb, (const char *)s, n);
			s += n;
		}
	}
	sc_tb_append(tb, "\"", 1);
}

const char *sc_tb_str(const struct sc_textbuf *tb)
{
	return tb->data ? tb->data : "";
}
