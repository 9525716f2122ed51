/* Wire framing of struct sc_msg, shared by the coordinator and its clients. One frame is a
 * 12-byte header (magic, version, type, body length) and a body of little-endian fields with two
 * length-prefixed, NUL-terminated strings. Nothing here allocates, locks or uses stdio, so the
 * rank runtime may call it while the application's threads are suspended. */
#ifndef SPLITCKPT_PROTOCOL_H
#define SPLITCKPT_PROTOCOL_H

#include "coord_client.h"

#include <stddef.h>
#include <stdint.h>

#define SC_FRAME_MAGIC 0x314d4353u /* "SCM1" as little-endian bytes */
#define SC_PROTO_VERSION 1u
#define SC_FRAME_HDR 12u /* magic u32, version u16, type u16, body length u32 */
/* flags, gen, phase, status, role, rank, nranks, pid, value, value2, bytes, nanos */
#define SC_BODY_FIXED (4u + 8u + 4u + 4u + 4u * 4u + 8u * 4u)
/* the fixed part, then u16 length + secret (NUL included), u16 length + text (NUL included) */
#define SC_BODY_MIN (SC_BODY_FIXED + 2u + 1u + 2u + 1u)
#define SC_BODY_MAX (SC_BODY_FIXED + 2u + (SC_SECRET_LEN + 1u) + 2u + SC_MSG_TEXT)
#define SC_FRAME_MAX (SC_FRAME_HDR + SC_BODY_MAX)

/* Encodes m as one frame into buf. The secret travels only in HELLO. Returns the frame length,
 * or 0 when m is not encodable (unknown type, text or secret not NUL-terminated, buf small). */
size_t sc_msg_encode(const struct sc_msg *m, unsigned char *buf, size_t buflen);

/* Decodes the frame at the start of buf[0..len). Returns 1 with *m filled and *used set to the
 * frame's length, 0 when more bytes are needed (*used = how many the whole frame needs once the
 * header is known, else SC_FRAME_HDR), or -1 with err describing the malformed frame. The header
 * is checked as soon as it is complete, so garbage is rejected without waiting for a body. */
int sc_frame_decode(const unsigned char *buf, size_t len, struct sc_msg *m, size_t *used, char *err,
		    size_t errlen);

/* Name of a message type / phase for messages and logs ("HELLO", "write"); "?" if unknown. */
const char *sc_msg_type_name(uint32_t type);
const char *sc_phase_name(uint32_t phase);

/* Copies the NULL-terminated list of strings into err (truncating), without stdio: usable
 * where snprintf is not. */
void sc_errcat(char *err, size_t errlen, ...) __attribute__((sentinel));

/* Decimal text of v in out (at least 21 bytes); returns out. */
char *sc_u64_to_text(uint64_t v, char *out);

/* Constant-time comparison of two secrets: 1 when equal (both exactly SC_SECRET_LEN long). */
int sc_secret_equal(const char *a, const char *b);

#endif
