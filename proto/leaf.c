/* leaf.c - the ledger leaf's byte form and its RFC 9162 leaf hash. */
#include "pointclear/leaf.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

#define LEAF_MAGIC "PCL1"
/* magic, u16 + u64 + i64 + u32, u8 + u16, five i64, u32: everything but the
 * variable-length parts. */
#define LEAF_FIXED_SIZE (4 + 2 + 8 + 8 + 4 + 1 + 2 + 5 * 8 + 4)

struct writer {
	uint8_t *p;
};

static void put_be(struct writer *w, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--)
		*w->p++ = (uint8_t)(v >> (8 * i));
}

static void put_bytes(struct writer *w, const void *src, size_t len)
{
	if (len > 0)
		memcpy(w->p, src, len);
	w->p += len;
}

/* The length prefixes are 16 and 32 bits: a part that does not fit them has no
 * leaf form at all. */
static bool leaf_encodable(const struct pc_leaf *leaf)
{
	if (leaf->alliance_id == NULL || strlen(leaf->alliance_id) > UINT16_MAX)
		return false;
	if (leaf->envelope_len > UINT32_MAX || leaf->ext_len > UINT32_MAX)
		return false;
	if ((leaf->envelope == NULL && leaf->envelope_len > 0) ||
	    (leaf->ext == NULL && leaf->ext_len > 0))
		return false;
	return true;
}

size_t pc_leaf_length(const struct pc_leaf *leaf)
{
	if (!leaf_encodable(leaf))
		return 0;
	return LEAF_FIXED_SIZE + strlen(leaf->alliance_id) + leaf->envelope_len +
	       leaf->ext_len;
}

static void put_decision(struct writer *w, const struct pc_leaf_decision *d)
{
	put_be(w, d->status, 1);
	put_be(w, d->code, 2);
	put_be(w, (uint64_t)d->balance, 8);
	put_be(w, (uint64_t)d->available, 8);
	put_be(w, (uint64_t)d->amount, 8);
	put_be(w, (uint64_t)d->remaining, 8);
	put_be(w, (uint64_t)d->hold_expires_at_us, 8);
}

size_t pc_leaf_encode(uint8_t *out, size_t cap, const struct pc_leaf *leaf)
{
	size_t len = pc_leaf_length(leaf);
	size_t alliance_len;
	struct writer w = { out };

	if (len == 0 || cap < len)
		return 0;
	alliance_len = strlen(leaf->alliance_id);
	put_bytes(&w, LEAF_MAGIC, 4);
	put_be(&w, alliance_len, 2);
	put_bytes(&w, leaf->alliance_id, alliance_len);
	put_be(&w, leaf->sequence, 8);
	put_be(&w, (uint64_t)leaf->accepted_at_us, 8);
	put_be(&w, leaf->envelope_len, 4);
	put_bytes(&w, leaf->envelope, leaf->envelope_len);
	put_decision(&w, &leaf->decision);
	put_be(&w, leaf->ext_len, 4);
	put_bytes(&w, leaf->ext, leaf->ext_len);
	return (size_t)(w.p - out);
}

int pc_leaf_hash(uint8_t out[PC_HASH_SIZE], const struct pc_leaf *leaf)
{
	static const uint8_t leaf_prefix = 0x00;   /* RFC 9162: leaves, not nodes */
	size_t len = pc_leaf_length(leaf);
	uint8_t *buf;

	if (len == 0)
		return -1;
	buf = malloc(len);
	if (buf == NULL)
		return -1;
	pc_leaf_encode(buf, len, leaf);
	pc_sha256(out, (const struct pc_sha256_piece[]){ { &leaf_prefix, 1 }, { buf, len } }, 2);
	free(buf);
	return 0;
}
