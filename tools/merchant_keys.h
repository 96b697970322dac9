/* merchant_keys.h - a merchant's signing key as `merchant add` and `rotate-key`
 * register it (made here, or the public half the merchant sent), and
 * `pointclear merchant keygen`, the merchant's side: its own keys and a
 * certificate request, so that no private half ever leaves its machine. */
#ifndef POINTCLEAR_MERCHANT_KEYS_H
#define POINTCLEAR_MERCHANT_KEYS_H

#include <stddef.h>

#include <openssl/evp.h>

#include "commands.h"
#include "pointclear/sign.h"

/* An Ed25519 signing key with its raw public key in hex and its key id; key is
 * NULL when only the public half is known (registered from a file). */
struct mkey_sign {
	EVP_PKEY *key;
	char key_id[PC_KEY_ID_LEN + 1];
	char pk_hex[2 * PC_PK_SIZE + 1];
};

/* A fresh key pair. 0, or -1 with err. */
int mkey_sign_new(struct mkey_sign *k, char *err, size_t errlen);

/* The public half from an SPKI PEM file (the sign.pub `keygen` writes). 0, or -1
 * with err naming the file. */
int mkey_sign_from_public(struct mkey_sign *k, const char *path, char *err, size_t errlen);

void mkey_sign_free(struct mkey_sign *k);

/* Renames dir/sign.key and dir/sign.pub to sign.key.<old_id>, sign.pub.<old_id>
 * (a missing file is no error). 0, or -1 with err. */
int mkey_keep_old(const char *dir, const char *old_id, char *err, size_t errlen);

/* `pointclear merchant keygen ALLIANCE MERCHANT DIR [--sign-only]`. */
int mkey_keygen(struct pc_cli *ctx, int argc, char **argv);

#endif
