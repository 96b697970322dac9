/* tls.h - the daemon's TLS: a server context that demands a client certificate
 * from one of the alliance CAs, and the mapping of that certificate to a merchant.
 * A reload builds the new context aside and swaps it in only when it is whole. */
#ifndef PC_TLS_H
#define PC_TLS_H

#include <openssl/ssl.h>

#include "keycache.h"

/* A new server context for cert/key trusting every alliance CA in keys; NULL with
 * the reason logged. */
SSL_CTX *pc_tls_server_ctx(const char *cert_file, const char *key_file,
                           const struct pc_keys *keys);

/* After the handshake: the merchant this peer is. 0, or -1 with *why set. The
 * certificate must be O=<alliance>, CN=<merchant>, chained to that alliance's CA. */
int pc_tls_identify(SSL *ssl, const struct pc_keys *keys, char alliance[65],
                    char merchant[65], const char **why);

/* The certificate's serial as keycache.h writes it; 0, or -1 when too long. */
int pc_tls_cert_serial(X509 *cert, char out[PC_CERT_SERIAL_MAX]);

/* Why an identified peer may no longer be served, as the log's reason
 * ("merchant_suspended", "cert_revoked"), or NULL. pc_tls_identify asks it at
 * the handshake; after each key reload conn.c asks it for every live connection.
 * TLS sessions are never resumed (no tickets, no cache), so every connection
 * passes the handshake's check. */
const char *pc_tls_refused(SSL *ssl, const struct pc_keys *keys, const char *alliance,
                           const char *merchant);

/* Why a handshake failed, as a short token for the log: unknown_ca,
 * expired_certificate, certificate_not_yet_valid, revoked_certificate,
 * bad_certificate, no_certificate, protocol_version, not_tls, or tls_error.
 * From the peer certificate's verify result first, then the OpenSSL errors the
 * connection recorded (errs, oldest first; libevent takes them off the thread's
 * queue). detail gets OpenSSL's own words. */
const char *pc_tls_failure_reason(SSL *ssl, const unsigned long *errs, int nerrs,
                                  char *detail, size_t detail_len);

#endif
