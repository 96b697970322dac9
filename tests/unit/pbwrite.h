/* pbwrite.h - a hand protobuf writer, for encodings protobuf-c would never produce. */
#ifndef POINTCLEAR_PBWRITE_H
#define POINTCLEAR_PBWRITE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

enum { WT_VARINT = 0, WT_LEN = 2 };

struct pbw {
	uint8_t *buf;
	size_t len, cap;
};

static inline void pbw_bytes(struct pbw *w, const void *p, size_t n)
{
	if (w->len + n > w->cap) {
		w->cap = 2 * (w->len + n) + 16;
		w->buf = realloc(w->buf, w->cap);
		if (w->buf == NULL)
			abort();
	}
	if (n > 0)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

/* A varint with `extra` needless zero groups: valid, but not minimal. */
static inline void pbw_varint_padded(struct pbw *w, uint64_t v, size_t extra)
{
	uint8_t groups[16];
	size_t n = 0;

	do {
		groups[n++] = (uint8_t)(v & 0x7f);
		v >>= 7;
	} while (v != 0);
	while (extra-- > 0 && n < sizeof(groups))
		groups[n++] = 0;
	for (size_t i = 0; i + 1 < n; i++)
		groups[i] |= 0x80;
	pbw_bytes(w, groups, n);
}

static inline void pbw_varint(struct pbw *w, uint64_t v)
{
	pbw_varint_padded(w, v, 0);
}

static inline void pbw_tag(struct pbw *w, uint32_t field, unsigned wire_type)
{
	pbw_varint(w, (uint64_t)field << 3 | wire_type);
}

static inline void pbw_uint(struct pbw *w, uint32_t field, uint64_t v)
{
	pbw_tag(w, field, WT_VARINT);
	pbw_varint(w, v);
}

static inline void pbw_len(struct pbw *w, uint32_t field, const void *p, size_t n)
{
	pbw_tag(w, field, WT_LEN);
	pbw_varint(w, n);
	pbw_bytes(w, p, n);
}

static inline void pbw_str(struct pbw *w, uint32_t field, const char *s)
{
	pbw_len(w, field, s, strlen(s));
}

/* Appends inner as a length-delimited field and frees it. */
static inline void pbw_sub(struct pbw *w, uint32_t field, struct pbw *inner)
{
	pbw_len(w, field, inner->buf, inner->len);
	free(inner->buf);
	*inner = (struct pbw){ 0 };
}

static inline void pbw_message(struct pbw *w, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *tmp = malloc(n + 1);

	if (tmp == NULL)
		abort();
	protobuf_c_message_pack(m, tmp);
	pbw_bytes(w, tmp, n);
	free(tmp);
}

#endif
