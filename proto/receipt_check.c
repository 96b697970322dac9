/* receipt_check.c - checking an operator receipt (see receipt_check.h). */
#include "pointclear/receipt_check.h"

#include <string.h>

#include <sodium.h>

#include "pointclear/merkle.h"
#include "sha256.h"

/* The signature over one head is checked once; a receipt of the same tree after
 * it only has to match key, signature and head byte for byte. */
static bool head_signed(const Pointclear__V1__Receipt *rc, const uint8_t pk[PC_PK_SIZE],
                        struct pc_receipt_cache *cache)
{
	uint8_t digest[PC_HASH_SIZE];
	pc_sha256(digest, (const struct pc_sha256_piece[]){ { pk, PC_PK_SIZE },
	                                                    { rc->signature.data, rc->signature.len },
	                                                    { rc->tree_head.data, rc->tree_head.len } },
	          3);
	if (cache && cache->valid && sodium_memcmp(cache->digest, digest, sizeof digest) == 0)
		return true;
	if (!pc_verify(rc->signature.data, PC_RECEIPT_TREE_PAYLOAD_TYPE, rc->tree_head.data,
	               rc->tree_head.len, pk))
		return false;
	if (cache) {
		memcpy(cache->digest, digest, sizeof digest);
		cache->valid = true;
	}
	return true;
}

static const char *check(const Pointclear__V1__Receipt *rc, const uint8_t pk[PC_PK_SIZE],
                         struct pc_receipt_cache *cache, Pointclear__V1__ReceiptTreeHead *head,
                         const Pointclear__V1__ReceiptBody *b)
{
	if (!head)
		return "tree head does not parse";
	if (rc->signature.len != PC_SIG_SIZE || !head_signed(rc, pk, cache))
		return "bad signature";
	if (!b)
		return "receipt body does not parse";
	if (head->root_hash.len != PC_HASH_SIZE || head->size == 0 ||
	    head->size > UINT64_MAX - head->first_sequence)
		return "tree head is malformed";
	if (!b->alliance_id || !head->alliance_id || strcmp(b->alliance_id, head->alliance_id) != 0)
		return "receipt body and tree head name different alliances";
	if (b->sequence < head->first_sequence || b->sequence - head->first_sequence >= head->size)
		return "receipt sequence lies outside its tree";
	if (rc->n_inclusion_path > PC_MERKLE_MAX_PATH)
		return "inclusion path too long";
	uint8_t path[PC_MERKLE_MAX_PATH][PC_HASH_SIZE];
	for (size_t i = 0; i < rc->n_inclusion_path; i++) {
		if (rc->inclusion_path[i].len != PC_HASH_SIZE)
			return "inclusion path hash has the wrong size";
		memcpy(path[i], rc->inclusion_path[i].data, PC_HASH_SIZE);
	}
	uint8_t leaf[PC_HASH_SIZE];
	pc_merkle_leaf_hash(leaf, rc->body.data, rc->body.len);
	if (!pc_merkle_verify(leaf, b->sequence - head->first_sequence, head->size,
	                      (const uint8_t(*)[PC_HASH_SIZE])path, rc->n_inclusion_path,
	                      head->root_hash.data))
		return "inclusion path does not lead to the signed root";
	return NULL;
}

const char *pc_receipt_check(const Pointclear__V1__Receipt *rc, const uint8_t pk[PC_PK_SIZE],
                             struct pc_receipt_cache *cache, Pointclear__V1__ReceiptBody **body)
{
	*body = NULL;
	if (!rc)
		return "no receipt";
	Pointclear__V1__ReceiptTreeHead *head =
		pc_receipt_tree_head_unpack(rc->tree_head.data, rc->tree_head.len);
	Pointclear__V1__ReceiptBody *b = pc_receipt_body_unpack(rc->body.data, rc->body.len);
	const char *why = check(rc, pk, cache, head, b);
	pc_receipt_tree_head_free(head);
	if (why)
		pc_receipt_body_free(b);
	else
		*body = b;
	return why;
}
