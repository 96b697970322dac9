/* sign.c - Ed25519 signatures over DSSE's pre-authentication encoding, and key ids. */
#include "pointclear/sign.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define PAE_PREFIX "DSSEv1 "
#define PAE_MAX_BODY (1024u * 1024u)
/* Events are at most a frame long; their PAE fits on the stack. */
#define PAE_STACK_SIZE 17408

static size_t decimal_length(size_t n)
{
	size_t digits = 1;

	while (n >= 10) {
		n /= 10;
		digits++;
	}
	return digits;
}

/* Writes n in decimal without leading zeros; returns the digit count. */
static size_t put_decimal(uint8_t *out, size_t n)
{
	size_t digits = decimal_length(n);

	for (size_t i = digits; i > 0; i--) {
		out[i - 1] = (uint8_t)('0' + n % 10);
		n /= 10;
	}
	return digits;
}

size_t pc_pae_length(const char *type, size_t body_len)
{
	size_t type_len = strlen(type);

	return strlen(PAE_PREFIX) + decimal_length(type_len) + 1 + type_len + 1 +
	       decimal_length(body_len) + 1 + body_len;
}

size_t pc_pae_encode(uint8_t *out, size_t cap, const char *type,
                     const uint8_t *body, size_t body_len)
{
	size_t type_len = strlen(type);
	size_t total = pc_pae_length(type, body_len);
	size_t at = 0;

	if (cap < total)
		return 0;
	memcpy(out, PAE_PREFIX, strlen(PAE_PREFIX));
	at += strlen(PAE_PREFIX);
	at += put_decimal(out + at, type_len);
	out[at++] = ' ';
	memcpy(out + at, type, type_len);
	at += type_len;
	out[at++] = ' ';
	at += put_decimal(out + at, body_len);
	out[at++] = ' ';
	if (body_len > 0)
		memcpy(out + at, body, body_len);
	return at + body_len;
}

/* Encodes the PAE into stack (if it fits) or a fresh heap buffer; *heap is set
 * when the caller must free the result. NULL when too large or out of memory. */
static uint8_t *pae_build(uint8_t *stack, const char *type, const uint8_t *body,
                          size_t body_len, size_t *len, uint8_t **heap)
{
	size_t need;
	uint8_t *buf = stack;

	*heap = NULL;
	if (body_len > PAE_MAX_BODY)
		return NULL;
	need = pc_pae_length(type, body_len);
	if (need > PAE_STACK_SIZE) {
		buf = *heap = malloc(need);
		if (buf == NULL)
			return NULL;
	}
	*len = pc_pae_encode(buf, need, type, body, body_len);
	return buf;
}

int pc_sign(uint8_t sig[PC_SIG_SIZE], const char *type, const uint8_t *body,
            size_t body_len, const uint8_t sk[PC_SK_SIZE])
{
	uint8_t stack[PAE_STACK_SIZE];
	uint8_t *heap;
	size_t len = 0;
	const uint8_t *pae = pae_build(stack, type, body, body_len, &len, &heap);

	if (pae == NULL)
		return -1;
	crypto_sign_ed25519_detached(sig, NULL, pae, len, sk);
	free(heap);
	return 0;
}

bool pc_verify(const uint8_t sig[PC_SIG_SIZE], const char *type, const uint8_t *body,
               size_t body_len, const uint8_t pk[PC_PK_SIZE])
{
	uint8_t stack[PAE_STACK_SIZE];
	uint8_t *heap;
	size_t len = 0;
	const uint8_t *pae = pae_build(stack, type, body, body_len, &len, &heap);
	bool ok;

	if (pae == NULL)
		return false;
	ok = crypto_sign_ed25519_verify_detached(sig, pae, len, pk) == 0;
	free(heap);
	return ok;
}

void pc_key_id(char out[PC_KEY_ID_LEN + 1], const uint8_t pk[PC_PK_SIZE])
{
	uint8_t digest[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(digest, pk, PC_PK_SIZE);
	sodium_bin2hex(out, PC_KEY_ID_LEN + 1, digest, PC_KEY_ID_LEN / 2);
}

void pc_keypair_from_seed(uint8_t pk[PC_PK_SIZE], uint8_t sk[PC_SK_SIZE],
                          const uint8_t seed[PC_SEED_SIZE])
{
	crypto_sign_seed_keypair(pk, sk, seed);
}
