/* merchant_life.h - the verbs of cmd_merchant_life.c, and the record of an
 * issued client certificate that `merchant add` shares. */
#ifndef POINTCLEAR_MERCHANT_LIFE_H
#define POINTCLEAR_MERCHANT_LIFE_H

#include <openssl/x509.h>

#include "commands.h"
#include "db.h"

/* Records cert (issued to merchant by its alliance CA) in merchant_certs, inside
 * the caller's transaction. 0, or -1 with d->err. */
int merchant_cert_record(struct db *d, const char *alliance, const char *merchant, X509 *cert);

int merchant_suspend(struct pc_cli *ctx, int argc, char **argv);
int merchant_resume(struct pc_cli *ctx, int argc, char **argv);
int merchant_issue_cert(struct pc_cli *ctx, int argc, char **argv);
int merchant_revoke_cert(struct pc_cli *ctx, int argc, char **argv);

#endif
