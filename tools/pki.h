/* pki.h - the keys and certificates `pointclear` issues (OpenSSL 3 EVP):
 * Ed25519 signing keys, ECDSA P-256 TLS keys, CA and leaf certificates, and
 * the certificate signing requests merchants send in place of their keys. */
#ifndef POINTCLEAR_PKI_H
#define POINTCLEAR_PKI_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define PKI_VALID_DAYS 825

/* Fresh keys. NULL with err. */
EVP_PKEY *pki_ed25519_new(char *err, size_t errlen);
EVP_PKEY *pki_p256_new(char *err, size_t errlen);

/* The raw 32-byte Ed25519 public key. 0, or -1 when k is not Ed25519. */
int pki_ed25519_public_raw(EVP_PKEY *k, uint8_t pk[32]);

/* PEM files: private keys as PKCS#8 with mode 0600, public keys as SPKI and
 * certificates with mode 0644. The file is created or truncated. 0, or -1. */
int pki_write_private(const char *path, EVP_PKEY *k, char *err, size_t errlen);
int pki_write_public(const char *path, EVP_PKEY *k, char *err, size_t errlen);
int pki_write_cert(const char *path, X509 *x, char *err, size_t errlen);

EVP_PKEY *pki_read_private(const char *path, char *err, size_t errlen);
X509 *pki_read_cert(const char *path, char *err, size_t errlen);

/* A PKCS#10 request signed by key: subject O=org, CN=cn, nothing else. NULL with
 * err. Written with mode 0644 (it holds only the public key). */
X509_REQ *pki_make_csr(EVP_PKEY *key, const char *org, const char *cn, char *err,
                       size_t errlen);
int pki_write_csr(const char *path, X509_REQ *req, char *err, size_t errlen);
X509_REQ *pki_read_csr(const char *path, char *err, size_t errlen);

/* Whether a request may become a merchant's client certificate: its
 * self-signature verifies, its subject is exactly O=org, CN=cn, and its key is
 * one a TLS client may use here (EC P-256 or P-384, Ed25519, RSA of 2048 bits or
 * more). 0, or -1 with err saying which check failed. */
int pki_check_csr(X509_REQ *req, const char *org, const char *cn, char *err, size_t errlen);

/* The certificate as PEM text (malloc'd, NUL-terminated), or NULL. */
char *pki_cert_pem(X509 *x);

/* A self-signed CA: subject O=org, CN=cn; basicConstraints critical CA:TRUE,
 * keyUsage critical keyCertSign|cRLSign. NULL with err. */
X509 *pki_make_ca(EVP_PKEY *key, const char *org, const char *cn, char *err, size_t errlen);

enum pki_leaf_kind { PKI_LEAF_SERVER, PKI_LEAF_CLIENT };

/* subjectAltName entries of a server certificate. */
struct pki_sans {
	const char *const *dns;
	int ndns;
	const char *const *ips;   /* IPv4 or IPv6 text */
	int nips;
};

/* A leaf signed by the CA (ca, ca_key) for `key`: subject O=org, CN=cn,
 * basicConstraints CA:FALSE, keyUsage digitalSignature, EKU serverAuth (with the
 * SANs) or clientAuth. NULL with err (a bad SAN is named). */
X509 *pki_make_leaf(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *key, const char *org,
                    const char *cn, enum pki_leaf_kind kind, const struct pki_sans *sans,
                    char *err, size_t errlen);

/* The serial as upper-case hex in whole octets (BN_bn2hex), the form the
 * daemon compares with merchant_certs.serial. 0, or -1 (negative, too long). */
int pki_cert_serial_hex(X509 *x, char *out, size_t outlen);
/* notAfter as RFC 3339 UTC. 0, or -1. */
int pki_cert_not_after(X509 *x, char *out, size_t outlen);

/* Whether text is a valid IP address for a SAN. */
int pki_ip_valid(const char *text);

#endif
