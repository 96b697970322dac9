/* merchant_life.h - the verbs of cmd_merchant_life.c, and the issuing and
 * record of a client certificate, which `merchant add` and `issue-cert` share. */
#ifndef POINTCLEAR_MERCHANT_LIFE_H
#define POINTCLEAR_MERCHANT_LIFE_H

#include <openssl/x509.h>

#include "commands.h"
#include "db.h"

/* A TLS client certificate, O=<alliance> CN=<merchant>, from the alliance CA in
 * the admin home: for the key of the request in the file csr (refused unless it
 * names that alliance and merchant) or, csr NULL, for a new P-256 key, given in
 * *tls_key_out (NULL with a request). Defined in cmd_merchant.c, beside the CA's
 * loading. 0, or -1 with err. */
int merchant_client_cert(struct pc_cli *ctx, const char *alliance, const char *merchant,
                         const char *csr, X509 **cert_out, EVP_PKEY **tls_key_out,
                         char *err, size_t errlen);

/* Records cert (issued to merchant by its alliance CA) in merchant_certs, inside
 * the caller's transaction. 0, or -1 with d->err. */
int merchant_cert_record(struct db *d, const char *alliance, const char *merchant, X509 *cert);

int merchant_suspend(struct pc_cli *ctx, int argc, char **argv);
int merchant_resume(struct pc_cli *ctx, int argc, char **argv);
int merchant_issue_cert(struct pc_cli *ctx, int argc, char **argv);
int merchant_revoke_cert(struct pc_cli *ctx, int argc, char **argv);

#endif
