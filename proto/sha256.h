/* sha256.h - SHA-256 over a few pieces, for the hashes the protocol defines
 * (leaves, Merkle nodes, receipt checks). Internal to libpcproto. */
#ifndef PC_PROTO_SHA256_H
#define PC_PROTO_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct pc_sha256_piece {
	const void *data;
	size_t len;
};

/* out = SHA-256 of the pieces, in order. */
void pc_sha256(uint8_t out[32], const struct pc_sha256_piece *pieces, size_t n);

#endif
