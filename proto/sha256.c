/* sha256.c - SHA-256 through OpenSSL rather than libsodium: OpenSSL's uses the
 * CPU's SHA extensions where it has them, and hashed a leaf of a 300-byte
 * envelope in a third of libsodium's time on this project's machines. The daemon hashes
 * every entry's leaf and receipt body on its event loop (docs/PERFORMANCE.md,
 * "What limits it"). */
#include "sha256.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

/* Fetched once: an implicit fetch by EVP_sha256() on every digest costs as much
 * as hashing a short input. Kept for the life of the process. */
static void fetch_sha256(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void pc_sha256(uint8_t out[32], const struct pc_sha256_piece *pieces, size_t n)
{
	EVP_MD_CTX *ctx;
	bool ok;

	pthread_once(&sha256_once, fetch_sha256);
	ctx = EVP_MD_CTX_new();
	ok = sha256_md != NULL && ctx != NULL && EVP_DigestInit_ex(ctx, sha256_md, NULL) == 1;
	for (size_t i = 0; ok && i < n; i++)
		ok = pieces[i].len == 0 || EVP_DigestUpdate(ctx, pieces[i].data, pieces[i].len) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		/* only an allocation can fail here; no hash is better than a wrong one */
		fputs("pointclear: SHA-256 unavailable from OpenSSL\n", stderr);
		abort();
	}
}
