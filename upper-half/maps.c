/* The /proc/<pid>/maps parser (maps.h). It owns line parsing and chunked reading of the file
 * with read(2) into the caller's buffer: no malloc, no stdio, no locks, because the checkpoint
 * thread calls it while the application's other threads are suspended (and may hold them). */
#define _GNU_SOURCE
#include "config.h"

#include "maps.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* --- tiny error builder (snprintf is stdio: it may take locks or malloc) ------------------ */

struct ebuf {
	char *p;
	size_t len, cap;
};

static void eb_str(struct ebuf *b, const char *s)
{
	while (*s && b->len + 1 < b->cap)
		b->p[b->len++] = *s++;
	if (b->cap)
		b->p[b->len] = '\0';
}

static void eb_u64(struct ebuf *b, uint64_t v)
{
	char tmp[24];
	size_t n = sizeof tmp - 1;
	tmp[n] = '\0';
	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	eb_str(b, tmp + n);
}

/* Quotes at most 80 bytes of an untrusted line, replacing unprintable bytes with '?'. */
static void eb_quote(struct ebuf *b, const char *s, size_t len)
{
	char tmp[84];
	size_t n = 0;
	for (size_t i = 0; i < len && n < 80; i++)
		tmp[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	tmp[n] = '\0';
	eb_str(b, "'");
	eb_str(b, tmp);
	eb_str(b, len > 80 ? "...'" : "'");
}

/* strerrordesc_np is a plain table lookup; strerror may load locale data (malloc, locks). */
static const char *errdesc(int e)
{
	const char *s = strerrordesc_np(e);
	return s ? s : "unknown error";
}

/* --- line parsing -------------------------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses 1..16 hex digits at *pos; more digits would overflow 64 bits. */
static int parse_hex(const char *s, size_t len, size_t *pos, uint64_t *out)
{
	size_t i = *pos, start = i;
	uint64_t v = 0;
	int d;
	while (i < len && (d = hexval(s[i])) >= 0) {
		if (i - start == 16)
			return -1;
		v = (v << 4) | (uint64_t)d;
		i++;
	}
	if (i == start)
		return -1;
	*pos = i;
	*out = v;
	return 0;
}

static int parse_dec(const char *s, size_t len, size_t *pos, uint64_t *out)
{
	size_t i = *pos, start = i;
	uint64_t v = 0;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
		i++;
	}
	if (i == start)
		return -1;
	*pos = i;
	*out = v;
	return 0;
}

static int expect(const char *s, size_t len, size_t *pos, char c)
{
	if (*pos >= len || s[*pos] != c)
		return -1;
	(*pos)++;
	return 0;
}

int sc_maps_parse_line(const char *line, size_t len, struct sc_map_entry *e)
{
	size_t pos = 0;
	uint64_t v;

	if (len && line[len - 1] == '\n')
		len--;
	if (parse_hex(line, len, &pos, &e->start) || expect(line, len, &pos, '-') ||
	    parse_hex(line, len, &pos, &e->end) || expect(line, len, &pos, ' '))
		return -1;
	if (e->start >= e->end)
		return -1;

	/* permissions: exactly four characters [r-][w-][x-][ps] */
	if (pos + 4 > len)
		return -1;
	static const char want[3] = {'r', 'w', 'x'};
	static const uint32_t bits[3] = {PROT_READ, PROT_WRITE, PROT_EXEC};
	e->prot = 0;
	for (int k = 0; k < 3; k++) {
		if (line[pos + k] == want[k])
			e->prot |= bits[k];
		else if (line[pos + k] != '-')
			return -1;
	}
	if (line[pos + 3] == 's')
		e->shared = 1;
	else if (line[pos + 3] == 'p')
		e->shared = 0;
	else
		return -1;
	pos += 4;

	if (expect(line, len, &pos, ' ') || parse_hex(line, len, &pos, &e->offset) ||
	    expect(line, len, &pos, ' '))
		return -1;
	if (parse_hex(line, len, &pos, &v) || v > UINT32_MAX)
		return -1;
	e->dev_major = (uint32_t)v;
	if (expect(line, len, &pos, ':') || parse_hex(line, len, &pos, &v) || v > UINT32_MAX)
		return -1;
	e->dev_minor = (uint32_t)v;
	if (expect(line, len, &pos, ' ') || parse_dec(line, len, &pos, &e->inode))
		return -1;

	/* The name is the rest of the line after the padding: it may contain spaces and end in
	 * " (deleted)"; the kernel escapes '\n' in paths as "\012", so it never spans lines. */
	e->name[0] = '\0';
	if (pos == len)
		return 0;
	if (line[pos] != ' ')
		return -1;
	while (pos < len && line[pos] == ' ')
		pos++;
	size_t n = len - pos;
	if (memchr(line + pos, '\0', n))
		return -1;
	if (n > sizeof e->name - 1)
		n = sizeof e->name - 1; /* truncated; still NUL-terminated */
	memcpy(e->name, line + pos, n);
	e->name[n] = '\0';
	return 0;
}

/* --- reading the file ---------------------------------------------------------------------- */

static int parse_and_call(const char *path, const char *line, size_t len, uint64_t lineno,
			  int (*cb)(const struct sc_map_entry *, void *), void *arg, char *err,
			  size_t errlen, int *stop)
{
	struct sc_map_entry e;
	if (sc_maps_parse_line(line, len, &e) != 0) {
		struct ebuf b = {err, 0, errlen};
		eb_str(&b, path);
		eb_str(&b, " line ");
		eb_u64(&b, lineno);
		eb_str(&b, ": malformed maps line ");
		eb_quote(&b, line, len && line[len - 1] == '\n' ? len - 1 : len);
		return -1;
	}
	int r = cb(&e, arg);
	if (r)
		*stop = 1;
	return r;
}

int sc_maps_foreach(const char *path, char *buf, size_t buflen,
		    int (*cb)(const struct sc_map_entry *e, void *arg), void *arg, char *err,
		    size_t errlen)
{
	struct ebuf b = {err, 0, errlen};
	if (buflen < 4096) {
		eb_str(&b, path);
		eb_str(&b, ": maps buffer too small (need at least 4096 bytes)");
		return -1;
	}
	int fd;
	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		eb_str(&b, "cannot open ");
		eb_str(&b, path);
		eb_str(&b, ": ");
		eb_str(&b, errdesc(errno));
		return -1;
	}

	size_t have = 0;  /* bytes of an unfinished line at the start of buf */
	int skipping = 0; /* discarding the tail of a line longer than the buffer */
	uint64_t lineno = 0;
	int ret = 0, stop = 0;
	for (;;) {
		ssize_t n = read(fd, buf + have, buflen - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			eb_str(&b, "cannot read ");
			eb_str(&b, path);
			eb_str(&b, ": ");
			eb_str(&b, errdesc(errno));
			ret = -1;
			break;
		}
		if (n == 0) {
			/* a last line without '\n' */
			if (have && !skipping)
				ret = parse_and_call(path, buf, have, ++lineno, cb, arg, err,
						     errlen, &stop);
			break;
		}
		size_t end = have + (size_t)n, s = 0;
		char *nl;
		while (!stop && (nl = memchr(buf + s, '\n', end - s)) != NULL) {
			size_t p = (size_t)(nl - buf);
			if (skipping)
				skipping = 0;
			else if ((ret = parse_and_call(path, buf + s, p - s, ++lineno, cb, arg, err,
						       errlen, &stop)) != 0)
				break;
			s = p + 1;
		}
		if (ret || stop)
			break;
		if (skipping) {
			have = 0; /* still inside the over-long line */
			continue;
		}
		if (s == 0 && end == buflen) {
			/* A line longer than the whole buffer (a very long path): the fixed fields
			 * are at its start, so parse what we have (the name gets truncated) and
			 * skip the rest up to the next '\n'. */
			if ((ret = parse_and_call(path, buf, end, ++lineno, cb, arg, err, errlen,
						  &stop)) != 0)
				break;
			skipping = 1;
			have = 0;
			continue;
		}
		memmove(buf, buf + s, end - s);
		have = end - s;
	}
	close(fd);
	return ret;
}
