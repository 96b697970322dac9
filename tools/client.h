/* client.h - a blocking mTLS client of the pointclear protocol.
 *
 * For the CLI and the tests, never the daemon: one TLS 1.3 connection with the
 * merchant's client certificate, frames written and read whole. The raw calls
 * let tests send bytes no honest client would. */
#ifndef POINTCLEAR_CLIENT_H
#define POINTCLEAR_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct pc_client;

struct pc_client_opts {
	const char *host;        /* numeric IPv4/IPv6 or a name; default 127.0.0.1 */
	int port;                /* default 7443 */
	const char *ca_file;     /* PEM that verifies the server (HOME/tls/ca.crt) */
	const char *cert_file;   /* client certificate; NULL connects without one */
	const char *key_file;
	int timeout_ms;          /* per read/write; default 10000 */
};

/* Connects and completes the handshake. NULL with a message in err. */
struct pc_client *pc_client_connect(const struct pc_client_opts *o, char *err,
                                    size_t errlen);
void pc_client_close(struct pc_client *c);

/* Sends one frame. 0, or -1 on I/O error. */
int pc_client_send_frame(struct pc_client *c, uint8_t type, uint64_t request_id,
                         const uint8_t *body, size_t body_len);

/* Sends raw bytes as they are. 0, or -1. */
int pc_client_send_raw(struct pc_client *c, const uint8_t *buf, size_t len);

/* Reads one whole frame. On success returns 0 and sets *type, *request_id and
 * *body (malloc'd, caller frees; NULL when empty) / *body_len. Returns 1 on a
 * clean or unclean EOF (peer closed), -1 on error or timeout. */
int pc_client_read_frame(struct pc_client *c, uint8_t *type, uint64_t *request_id,
                         uint8_t **body, size_t *body_len);

/* Loads an Ed25519 private key (PKCS#8 PEM) into a libsodium secret key and its
 * key id. 0, or -1 with a message in err. */
int pc_load_signing_key(const char *path, uint8_t sk[64], char key_id[17],
                        char *err, size_t errlen);

/* "what: <the newest OpenSSL error>" into err, and the error queue emptied for
 * the next call. */
void pc_openssl_error(char *err, size_t errlen, const char *what);

/* Loads an Ed25519 public key (SPKI PEM). 0, or -1. */
int pc_load_public_key(const char *path, uint8_t pk[32], char *err, size_t errlen);

/* HOST:PORT, [V6]:PORT or HOST alone (port 7443) into host and *port. 0, or -1. */
int pc_client_parse_server(const char *s, char *host, size_t hostlen, int *port);

/* ---- LOOKUP (PROTOCOL.md, "Lookup") ---- */

struct Pointclear__V1__SubmitResult;
struct Pointclear__V1__ReceiptBody;
struct pc_receipt_cache;

/* Sends a LOOKUP of event_id under request_id and reads frames until the answer
 * to that request id (others are skipped: the caller has nothing else in
 * flight). Returns 0 with *result (free with pc_submit_result_free); 1 when the
 * daemon answered with a PROTOCOL_ERROR instead, its code in *protocol_error
 * and its message in err; -1 on I/O error, EOF or an answer that does not
 * parse, with err. */
int pc_client_lookup(struct pc_client *c, uint64_t request_id, const char *event_id,
                     struct Pointclear__V1__SubmitResult **result, int *protocol_error,
                     char *err, size_t errlen);

/* What an answer that carries a receipt (RECORDED, REPLAYED; a found LOOKUP)
 * must hold for a client to believe it: the operator's receipt (key id and tree
 * signature, through pc_receipt_check, cache may be NULL), over an entry of this
 * alliance, merchant and event id, whose decision code is the answer's. When
 * envelope is given and the answer is RECORDED, the receipt's leaf hash must
 * also be the leaf of that envelope and the decision (a replay may be of an
 * earlier copy signed with a key since rotated, so it is not held to it).
 * NULL when it holds, with *body set (free with pc_receipt_body_free), else the
 * reason and *body NULL. */
const char *pc_client_check_receipt(const struct Pointclear__V1__SubmitResult *r,
                                    const uint8_t operator_pk[32],
                                    const char *operator_key_id,
                                    struct pc_receipt_cache *cache, const char *alliance,
                                    const char *merchant, const char *event_id,
                                    const uint8_t *envelope, size_t envelope_len,
                                    struct Pointclear__V1__ReceiptBody **body);

/* One line about an answer, as `pointclear submit` and `lookup` print it, into
 * buf (truncated to buflen): "<disposition> <status|-> <code> seq=<n|->
 * balance=<n|-> available=<n|-> <message>"; body is the checked receipt body,
 * or NULL. */
void pc_client_result_line(char *buf, size_t buflen,
                           const struct Pointclear__V1__SubmitResult *r,
                           const struct Pointclear__V1__ReceiptBody *body);

#endif
