/* sign.h - the signing rule: Ed25519 over DSSE's pre-authentication encoding of
 * the exact bytes, and key ids. See PROTOCOL.md, "Signing". libsodium must have
 * been initialised (sodium_init()) before any of these is called. */
#ifndef POINTCLEAR_SIGN_H
#define POINTCLEAR_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PC_EVENT_PAYLOAD_TYPE "application/vnd.pointclear.event.v1+protobuf"
#define PC_RECEIPT_TREE_PAYLOAD_TYPE "application/vnd.pointclear.receipt-tree.v1+protobuf"
#define PC_MEMBER_AUTH_PAYLOAD_TYPE "application/vnd.pointclear.member-authorization.v1+protobuf"

#define PC_SIG_SIZE 64
#define PC_PK_SIZE 32
#define PC_SEED_SIZE 32
#define PC_SK_SIZE 64        /* libsodium's secret key: seed || public key */
#define PC_KEY_ID_LEN 16     /* hex characters, without the NUL */

/* Length of PAE(type, body). */
size_t pc_pae_length(const char *type, size_t body_len);

/* Writes PAE(type, body) into out (cap bytes); returns its length, or 0 if cap
 * is too small. */
size_t pc_pae_encode(uint8_t *out, size_t cap, const char *type,
                     const uint8_t *body, size_t body_len);

/* Signs PAE(type, body) with a libsodium secret key. Returns 0, or -1 when the
 * body is too large to encode (more than 1 MiB). */
int pc_sign(uint8_t sig[PC_SIG_SIZE], const char *type, const uint8_t *body,
            size_t body_len, const uint8_t sk[PC_SK_SIZE]);

/* True when sig is a valid Ed25519 signature of PAE(type, body) by pk. */
bool pc_verify(const uint8_t sig[PC_SIG_SIZE], const char *type, const uint8_t *body,
               size_t body_len, const uint8_t pk[PC_PK_SIZE]);

/* Lowercase hex of the first 8 bytes of SHA-256(pk), NUL-terminated. */
void pc_key_id(char out[PC_KEY_ID_LEN + 1], const uint8_t pk[PC_PK_SIZE]);

/* Derives the libsodium keypair from a 32-byte seed (RFC 8032 private key). */
void pc_keypair_from_seed(uint8_t pk[PC_PK_SIZE], uint8_t sk[PC_SK_SIZE],
                          const uint8_t seed[PC_SEED_SIZE]);

#endif
