/* keyhist_db.h - writing key-history statements (PROTOCOL.md, "Key history")
 * from the CLI, in the transaction of the key change they record, and the
 * operator key that signs them. */
#ifndef POINTCLEAR_TOOLS_KEYHIST_DB_H
#define POINTCLEAR_TOOLS_KEYHIST_DB_H

#include <stddef.h>
#include <stdint.h>

#include "pointclear/keyhist.h"

struct db;
struct pc_cli;

/* The operator's Ed25519 key: libsodium secret key, public key and key id. */
struct keyhist_operator {
	uint8_t sk[64];
	uint8_t pk[32];
	char key_id[17];
};

/* Loads HOME/operator/receipt.key. 0, or -1 with the reason in err. */
int keyhist_operator_load(const struct pc_cli *ctx, struct keyhist_operator *op, char *err,
                          size_t errlen);
/* From a 32-byte seed (init, before the key's file is in place). */
void keyhist_operator_from_seed(struct keyhist_operator *op, const uint8_t seed[32]);
void keyhist_operator_wipe(struct keyhist_operator *op);

/* Appends the statement of a change to key_id (a merchant key; for
 * PC_KEYHIST_OPERATOR_KEY, op's own key) as it now stands in the open
 * transaction, after an operator-key statement 0 when the alliance has none.
 * 0, or -1 with the reason in d->err. */
int keyhist_record(struct db *d, const struct keyhist_operator *op, const char *alliance,
                   int change, const char *key_id);

/* The operator-key statement for op in every alliance whose history does not
 * already name op's key as the operator key in force. 0, or -1 (d->err). */
int keyhist_record_operator_all(struct db *d, const struct keyhist_operator *op);

#endif
