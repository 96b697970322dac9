/* testutil.h - hex helpers shared by the unit tests and the vector generator. */
#ifndef POINTCLEAR_TESTUTIL_H
#define POINTCLEAR_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Decodes hex into a fresh buffer (never NULL, even when empty); *len set.
 * Aborts on bad input: a broken vector is a broken test, not a verdict. */
static inline uint8_t *hex_decode(const char *hex, size_t *len)
{
	size_t n = strlen(hex);
	uint8_t *out = malloc(n / 2 + 1);

	if (out == NULL || n % 2 != 0)
		abort();
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		char pair[3] = { hex[2 * i], hex[2 * i + 1], 0 };
		char *end;

		v = (unsigned)strtoul(pair, &end, 16);
		if (*end != '\0')
			abort();
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return out;
}

/* Lowercase hex of len bytes into a fresh NUL-terminated string. */
static inline char *hex_encode(const uint8_t *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *out = malloc(2 * len + 1);

	if (out == NULL)
		abort();
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[buf[i] >> 4];
		out[2 * i + 1] = digits[buf[i] & 15];
	}
	out[2 * len] = '\0';
	return out;
}

/* cmocka's string comparison, on the hex of a byte buffer. */
#define assert_bytes_hex(buf, len, hex)                 \
	do {                                            \
		char *h_ = hex_encode((buf), (len));    \
		assert_string_equal(h_, (hex));         \
		free(h_);                               \
	} while (0)

#endif
