/* tls.c - server TLS context and client certificate identity (see tls.h). */
#include "tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include <pointclear/ids.h>

#include "keyfile.h"
#include "log.h"

static void log_ssl_errors(const char *what)
{
	unsigned long e;
	char buf[256];
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof buf);
		log_error("tls %s: %s", what, buf);
	}
}

/* The server's private key, read from the very descriptor whose mode was
 * checked, so that nothing can swap the file between the check and the read. */
static EVP_PKEY *load_server_key(const char *key_file)
{
	char err[PC_KEYFILE_ERR_MAX];
	FILE *f = fopen(key_file, "r");
	if (!f) {
		log_warn("tls key %s", key_file);
		return NULL;
	}
	if (pc_keyfile_check_fd(fileno(f), key_file, err, sizeof err) != 0) {
		log_error("tls key: %s", err);
		fclose(f);
		return NULL;
	}
	EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!pkey)
		log_ssl_errors(key_file);
	return pkey;
}

SSL_CTX *pc_tls_server_ctx(const char *cert_file, const char *key_file,
                           const struct pc_keys *keys)
{
	EVP_PKEY *pkey = load_server_key(key_file);
	if (!pkey)
		return NULL;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		log_ssl_errors("SSL_CTX_new");
		EVP_PKEY_free(pkey);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	/* libevent 2.1 reports a missing close_notify as an error under OpenSSL 3;
	 * our framing detects truncation itself. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* No resumption: a resumed session would skip the certificate check, and a
	 * revoked merchant must not come back through a ticket. */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);

	int ok = SSL_CTX_use_certificate_chain_file(ctx, cert_file) == 1 &&
	         SSL_CTX_use_PrivateKey(ctx, pkey) == 1 && SSL_CTX_check_private_key(ctx) == 1;
	EVP_PKEY_free(pkey);   /* the context holds its own reference */
	if (!ok) {
		log_ssl_errors(cert_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	for (int i = 0; i < pc_keys_alliance_count(keys); i++) {
		const struct pc_alliance_info *a = pc_keys_alliance_at(keys, i);
		if (X509_STORE_add_cert(store, a->ca) != 1) {
			log_ssl_errors(a->id);
			SSL_CTX_free(ctx);
			return NULL;
		}
	}
	return ctx;
}

/* The single entry of nid in name, as an identifier; -1 if absent, repeated or
 * not an identifier (an embedded NUL included). */
static int name_entry(X509_NAME *name, int nid, char out[65])
{
	int idx = X509_NAME_get_index_by_NID(name, nid, -1);
	if (idx < 0 || X509_NAME_get_index_by_NID(name, nid, idx) >= 0)
		return -1;
	const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
	int len = ASN1_STRING_length(s);
	if (len <= 0 || len > 64)
		return -1;
	memcpy(out, ASN1_STRING_get0_data(s), (size_t)len);
	out[len] = '\0';
	return (strlen(out) == (size_t)len && pc_id_valid(out)) ? 0 : -1;
}

int pc_tls_identify(SSL *ssl, const struct pc_keys *keys, char alliance[65],
                    char merchant[65], const char **why)
{
	int rc = -1;
	X509 *peer = SSL_get1_peer_certificate(ssl);
	if (!peer) {
		*why = "no client certificate";
		return -1;
	}
	if (SSL_get_verify_result(ssl) != X509_V_OK) {
		*why = "client certificate not verified";
		goto out;
	}
	X509_NAME *subject = X509_get_subject_name(peer);
	if (name_entry(subject, NID_organizationName, alliance) < 0 ||
	    name_entry(subject, NID_commonName, merchant) < 0) {
		*why = "client certificate subject is not O=<alliance>, CN=<merchant>";
		goto out;
	}
	const struct pc_alliance_info *a = pc_keys_alliance(keys, alliance);
	if (!a) {
		*why = "client certificate names an unknown alliance";
		goto out;
	}
	/* Any alliance CA verifies the chain; only the named alliance's may vouch
	 * for its merchants. */
	STACK_OF(X509) *chain = SSL_get0_verified_chain(ssl);
	int n = chain ? sk_X509_num(chain) : 0;
	if (n < 1 || X509_cmp(sk_X509_value(chain, n - 1), a->ca) != 0) {
		*why = "client certificate is not issued by its alliance's CA";
		goto out;
	}
	if (!pc_keys_merchant(keys, alliance, merchant)) {
		*why = "client certificate names an unknown merchant";
		goto out;
	}
	if ((*why = pc_tls_refused(ssl, keys, alliance, merchant)) != NULL)
		goto out;
	rc = 0;
out:
	X509_free(peer);
	return rc;
}

int pc_tls_cert_serial(X509 *cert, char out[PC_CERT_SERIAL_MAX])
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	int rc = -1;
	if (hex && strlen(hex) < PC_CERT_SERIAL_MAX) {
		strcpy(out, hex);
		rc = 0;
	}
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

/* What the key cache says of an identified peer now: at the handshake, and for
 * every live connection after a reload (conn.c). A serial that cannot be read
 * is treated as revoked: nothing could be checked. */
const char *pc_tls_refused(SSL *ssl, const struct pc_keys *keys, const char *alliance,
                           const char *merchant)
{
	const struct pc_merchant_info *m = pc_keys_merchant(keys, alliance, merchant);
	if (m && m->status == PC_MERCHANT_SUSPENDED)
		return "merchant_suspended";
	X509 *peer = SSL_get0_peer_certificate(ssl);
	char serial[PC_CERT_SERIAL_MAX];
	if (!peer || pc_tls_cert_serial(peer, serial) < 0 ||
	    pc_keys_cert_revoked(keys, alliance, serial))
		return "cert_revoked";
	return NULL;
}

/* ---------------------------------------------------------------- failures */

static const char *verify_reason(long v)
{
	switch (v) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return "unknown_ca";
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "expired_certificate";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "certificate_not_yet_valid";
	case X509_V_ERR_CERT_REVOKED:
		return "revoked_certificate";
	default:
		return "bad_certificate";
	}
}

static const char *ssl_reason(int lib, int reason)
{
	if (lib != ERR_LIB_SSL)
		return NULL;
	switch (reason) {
	case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
		return "no_certificate";
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
		return "protocol_version";
	case SSL_R_HTTP_REQUEST:
	case SSL_R_HTTPS_PROXY_REQUEST:
		return "not_tls";
	case SSL_R_CERTIFICATE_VERIFY_FAILED:
		return "bad_certificate";
	default:
		return NULL;
	}
}

const char *pc_tls_failure_reason(SSL *ssl, const unsigned long *errs, int nerrs,
                                  char *detail, size_t detail_len)
{
	const char *reason = NULL;
	size_t n = 0;
	detail[0] = '\0';
	/* a certificate was checked and failed: its verify result names why */
	long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	if (v != X509_V_OK) {
		reason = verify_reason(v);
		n = (size_t)snprintf(detail, detail_len, "%s", X509_verify_cert_error_string(v));
	}
	for (int i = 0; i < nerrs && n < detail_len; i++) {
		const char *r = ERR_reason_error_string(errs[i]);
		const char *token = ssl_reason(ERR_GET_LIB(errs[i]), ERR_GET_REASON(errs[i]));
		if (!reason && token)
			reason = token;
		n += (size_t)snprintf(detail + n, detail_len - n, "%s%s", n ? "; " : "",
		                      r ? r : "unknown error");
	}
	return reason ? reason : "tls_error";
}
