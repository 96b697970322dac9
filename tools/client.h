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

#endif
