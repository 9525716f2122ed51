/* A growable text buffer for the coordinator's replies and the CLI's output, with JSON string
 * escaping. Allocation failure is sticky (tb->oom) so callers check once at the end instead of
 * after every append. Daemon/CLI side only: it allocates. */
#ifndef SPLITCKPT_TEXTBUF_H
#define SPLITCKPT_TEXTBUF_H

#include <stddef.h>

struct sc_textbuf {
	char *data; /* NUL-terminated when len > 0 */
	size_t len, cap;
	int oom;
};

void sc_tb_init(struct sc_textbuf *tb);
void sc_tb_free(struct sc_textbuf *tb);
void sc_tb_printf(struct sc_textbuf *tb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sc_tb_append(struct sc_textbuf *tb, const char *s, size_t n);
/* Appends s as a JSON string literal (quotes included). Invalid UTF-8 becomes U+FFFD so the
 * output always parses, whatever bytes a path or host name holds. */
void sc_tb_json_str(struct sc_textbuf *tb, const char *s);
/* The text so far ("" when empty). */
const char *sc_tb_str(const struct sc_textbuf *tb);

#endif
