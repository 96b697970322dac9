/* receipt_check.h - what a merchant or an auditor does with a receipt: check
 * that the operator signed it (PROTOCOL.md, "Receipts"). */
#ifndef POINTCLEAR_RECEIPT_CHECK_H
#define POINTCLEAR_RECEIPT_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include <pointclear/codec.h>
#include <pointclear/leaf.h>
#include <pointclear/sign.h>

/* Remembers the last tree head whose signature checked, so that the receipts of
 * one tree cost one signature check, not one each. Zero it before first use. */
struct pc_receipt_cache {
	bool valid;
	uint8_t digest[PC_HASH_SIZE];   /* SHA-256 of key, signature and head */
};

/* Checks rc against the operator key pk: the tree head parses and is signed by
 * pk over PAE(PC_RECEIPT_TREE_PAYLOAD_TYPE, head), the body parses, names the
 * head's alliance and a sequence inside the tree, and its leaf
 * SHA-256(0x00 || body) is proven by the inclusion path. NULL when all hold (then
 * *body is the unpacked ReceiptBody, to be freed with pc_receipt_body_free), else
 * why not (and *body is NULL). The key id is the caller's to compare. cache may
 * be NULL. */
const char *pc_receipt_check(const Pointclear__V1__Receipt *rc, const uint8_t pk[PC_PK_SIZE],
                             struct pc_receipt_cache *cache, Pointclear__V1__ReceiptBody **body);

#endif
