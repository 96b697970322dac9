/* pki.c - key generation, PEM files and X.509 v3 certificates for pointclear. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "pki.h"

#include "client.h"

static EVP_PKEY *pki_keygen(const char *alg, const char *group, char *err, size_t errlen)
{
	EVP_PKEY *k = group ? EVP_PKEY_Q_keygen(NULL, NULL, alg, group)
	                    : EVP_PKEY_Q_keygen(NULL, NULL, alg);

	if (!k)
		pc_openssl_error(err, errlen, "key generation failed");
	return k;
}

EVP_PKEY *pki_ed25519_new(char *err, size_t errlen)
{
	return pki_keygen("ED25519", NULL, err, errlen);
}

EVP_PKEY *pki_p256_new(char *err, size_t errlen)
{
	return pki_keygen("EC", "P-256", err, errlen);
}

int pki_ed25519_public_raw(EVP_PKEY *k, uint8_t pk[32])
{
	size_t len = 32;

	if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519)
		return -1;
	if (EVP_PKEY_get_raw_public_key(k, pk, &len) != 1 || len != 32) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}

/* Opens path for writing with exactly `mode`, whatever the umask. */
static FILE *pki_create(const char *path, mode_t mode, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	FILE *f;

	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return NULL;
	}
	/* an existing file keeps its old mode through O_CREAT: set it */
	if (fchmod(fd, mode) != 0 || !(f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "cannot prepare %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	return f;
}

static int pki_finish(FILE *f, int ok, const char *path, char *err, size_t errlen)
{
	if (!ok) {
		pc_openssl_error(err, errlen, path);
		fclose(f);
		unlink(path);
		return -1;
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		fclose(f);
		unlink(path);
		return -1;
	}
	if (fclose(f) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

int pki_write_private(const char *path, EVP_PKEY *k, char *err, size_t errlen)
{
	FILE *f = pki_create(path, 0600, err, errlen);

	if (!f)
		return -1;
	return pki_finish(f, PEM_write_PKCS8PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1,
	                  path, err, errlen);
}

int pki_write_public(const char *path, EVP_PKEY *k, char *err, size_t errlen)
{
	FILE *f = pki_create(path, 0644, err, errlen);

	if (!f)
		return -1;
	return pki_finish(f, PEM_write_PUBKEY(f, k) == 1, path, err, errlen);
}

int pki_write_cert(const char *path, X509 *x, char *err, size_t errlen)
{
	FILE *f = pki_create(path, 0644, err, errlen);

	if (!f)
		return -1;
	return pki_finish(f, PEM_write_X509(f, x) == 1, path, err, errlen);
}

EVP_PKEY *pki_read_private(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k)
		pc_openssl_error(err, errlen, path);
	return k;
}

X509 *pki_read_cert(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		pc_openssl_error(err, errlen, path);
	return x;
}

int pki_write_csr(const char *path, X509_REQ *req, char *err, size_t errlen)
{
	FILE *f = pki_create(path, 0644, err, errlen);

	if (!f)
		return -1;
	return pki_finish(f, PEM_write_X509_REQ(f, req) == 1, path, err, errlen);
}

X509_REQ *pki_read_csr(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	X509_REQ *req;

	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	req = PEM_read_X509_REQ(f, NULL, NULL, NULL);
	fclose(f);
	if (!req)
		pc_openssl_error(err, errlen, path);
	return req;
}

char *pki_cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long len;

	if (!b)
		return NULL;
	if (PEM_write_bio_X509(b, x) == 1) {
		len = BIO_get_mem_data(b, &data);
		out = malloc((size_t)len + 1);
		if (out) {
			memcpy(out, data, (size_t)len);
			out[len] = '\0';
		}
	}
	BIO_free(b);
	return out;
}

int pki_ip_valid(const char *text)
{
	ASN1_OCTET_STRING *ip = a2i_IPADDRESS(text);

	ERR_clear_error();
	if (!ip)
		return 0;
	ASN1_OCTET_STRING_free(ip);
	return 1;
}

/* Random positive 128-bit serial (RFC 5280 allows up to 20 octets). */
static int pki_set_serial(X509 *x)
{
	unsigned char raw[16];
	BIGNUM *bn;
	int ok;

	do {
		if (RAND_bytes(raw, sizeof raw) != 1)
			return -1;
		bn = BN_bin2bn(raw, sizeof raw, NULL);
		if (!bn)
			return -1;
		if (BN_is_zero(bn)) {
			BN_free(bn);
			bn = NULL;
		}
	} while (!bn);
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

static X509_NAME *pki_name(const char *org, const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	if (!n)
		return NULL;
	if (X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)org,
	                               -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
	                               -1, -1, 0) != 1) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

X509_REQ *pki_make_csr(EVP_PKEY *key, const char *org, const char *cn, char *err,
                       size_t errlen)
{
	X509_NAME *name = pki_name(org, cn);
	X509_REQ *req = X509_REQ_new();

	if (!name || !req || X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 || X509_REQ_set_pubkey(req, key) != 1 ||
	    X509_REQ_sign(req, key, EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? NULL
	                                                                     : EVP_sha256()) <= 0) {
		pc_openssl_error(err, errlen, "cannot build the certificate request");
		X509_NAME_free(name);
		X509_REQ_free(req);
		return NULL;
	}
	X509_NAME_free(name);
	return req;
}

/* The UTF-8 text of the only entry of `nid` in name, or NULL (none, several, or
 * not text). Freed with OPENSSL_free. */
static unsigned char *pki_name_text(const X509_NAME *name, int nid)
{
	int i = X509_NAME_get_index_by_NID(name, nid, -1);
	unsigned char *text = NULL;

	if (i < 0 || X509_NAME_get_index_by_NID(name, nid, i) >= 0)
		return NULL;
	if (ASN1_STRING_to_UTF8(&text, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i))) < 0)
		return NULL;
	return text;
}

static int pki_client_key_ok(EVP_PKEY *k, char *err, size_t errlen)
{
	char group[32];
	size_t len;

	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_ED25519:
		return 0;
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(k) >= 2048)
			return 0;
		snprintf(err, errlen, "the request's RSA key has %d bits; 2048 or more are needed",
		         EVP_PKEY_get_bits(k));
		return -1;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof group, &len) == 1 &&
		    (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0 ||
		     strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0))
			return 0;
		ERR_clear_error();
		snprintf(err, errlen, "the request's EC key is not on P-256 or P-384");
		return -1;
	default:
		snprintf(err, errlen, "the request's key type is not EC P-256/P-384, Ed25519 or RSA");
		return -1;
	}
}

int pki_check_csr(X509_REQ *req, const char *org, const char *cn, char *err, size_t errlen)
{
	const X509_NAME *name = X509_REQ_get_subject_name(req);
	EVP_PKEY *k = X509_REQ_get0_pubkey(req);
	unsigned char *o = NULL, *c = NULL;
	int rc = -1;

	if (!k) {
		ERR_clear_error();
		snprintf(err, errlen, "the certificate request carries no usable public key");
		return -1;
	}
	/* the request must be signed by the key it asks a certificate for: proof that
	 * whoever sent it holds the private half */
	if (X509_REQ_verify(req, k) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "the certificate request's signature does not verify");
		return -1;
	}
	if (pki_client_key_ok(k, err, errlen) != 0)
		return -1;
	o = pki_name_text(name, NID_organizationName);
	c = pki_name_text(name, NID_commonName);
	if (!o || !c || X509_NAME_entry_count(name) != 2) {
		snprintf(err, errlen,
		         "the certificate request's subject must be exactly O=%s, CN=%s", org, cn);
	} else if (strcmp((const char *)o, org) != 0) {
		snprintf(err, errlen,
		         "the certificate request names alliance O=%s, not %s", (const char *)o, org);
	} else if (strcmp((const char *)c, cn) != 0) {
		snprintf(err, errlen,
		         "the certificate request names merchant CN=%s, not %s", (const char *)c, cn);
	} else {
		rc = 0;
	}
	ERR_clear_error();
	OPENSSL_free(o);
	OPENSSL_free(c);
	return rc;
}

/* Version, serial, validity, subject, issuer, public key: the common part. */
static X509 *pki_cert_base(X509_NAME *subject, const X509_NAME *issuer, EVP_PKEY *key)
{
	X509 *x = X509_new();

	if (!x)
		return NULL;
	/* a few minutes' slack for clocks a little behind ours */
	if (X509_set_version(x, X509_VERSION_3) != 1 || pki_set_serial(x) != 0 ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -300) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), PKI_VALID_DAYS, 0, NULL) ||
	    X509_set_subject_name(x, subject) != 1 || X509_set_issuer_name(x, issuer) != 1 ||
	    X509_set_pubkey(x, key) != 1) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int pki_add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, v3, nid, value);
	int ok;

	if (!ext)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

/* The SAN built as GENERAL_NAMEs, not from a config string, so a name given on
 * the command line cannot smuggle in further entries. */
static int pki_add_sans(X509 *x, const struct pki_sans *sans, char *err, size_t errlen)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	int ok = -1;

	if (!gens)
		return -1;
	for (int i = 0; i < sans->ndns; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();

		if (!g || !s || ASN1_STRING_set(s, sans->dns[i], -1) != 1) {
			GENERAL_NAME_free(g);
			ASN1_IA5STRING_free(s);
			goto out;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		if (!sk_GENERAL_NAME_push(gens, g)) {
			GENERAL_NAME_free(g);
			goto out;
		}
	}
	for (int i = 0; i < sans->nips; i++) {
		ASN1_OCTET_STRING *ip = a2i_IPADDRESS(sans->ips[i]);
		GENERAL_NAME *g;

		if (!ip) {
			ERR_clear_error();
			snprintf(err, errlen, "'%s' is not an IP address", sans->ips[i]);
			goto out_named;
		}
		g = GENERAL_NAME_new();
		if (!g) {
			ASN1_OCTET_STRING_free(ip);
			goto out;
		}
		GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
		if (!sk_GENERAL_NAME_push(gens, g)) {
			GENERAL_NAME_free(g);
			goto out;
		}
	}
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1)
		ok = 0;
out:
	if (ok != 0)
		pc_openssl_error(err, errlen, "cannot build subjectAltName");
out_named:
	GENERAL_NAMES_free(gens);
	return ok;
}

X509 *pki_make_ca(EVP_PKEY *key, const char *org, const char *cn, char *err, size_t errlen)
{
	X509_NAME *name = pki_name(org, cn);
	X509V3_CTX v3;
	X509 *x;

	if (!name) {
		pc_openssl_error(err, errlen, "bad CA name");
		return NULL;
	}
	x = pki_cert_base(name, name, key);
	X509_NAME_free(name);
	if (!x) {
		pc_openssl_error(err, errlen, "cannot build CA certificate");
		return NULL;
	}
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	/* subjectKeyIdentifier first: the authorityKeyIdentifier copies it */
	if (pki_add_ext(x, &v3, NID_basic_constraints, "critical,CA:TRUE") != 0 ||
	    pki_add_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
	    pki_add_ext(x, &v3, NID_subject_key_identifier, "hash") != 0 ||
	    pki_add_ext(x, &v3, NID_authority_key_identifier, "keyid:always") != 0 ||
	    X509_sign(x, key, EVP_sha256()) <= 0) {
		pc_openssl_error(err, errlen, "cannot sign CA certificate");
		X509_free(x);
		return NULL;
	}
	return x;
}

X509 *pki_make_leaf(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *key, const char *org,
                    const char *cn, enum pki_leaf_kind kind, const struct pki_sans *sans,
                    char *err, size_t errlen)
{
	X509_NAME *name = pki_name(org, cn);
	X509V3_CTX v3;
	X509 *x;

	if (!name) {
		pc_openssl_error(err, errlen, "bad certificate name");
		return NULL;
	}
	x = pki_cert_base(name, X509_get_subject_name(ca), key);
	X509_NAME_free(name);
	if (!x) {
		pc_openssl_error(err, errlen, "cannot build certificate");
		return NULL;
	}
	X509V3_set_ctx(&v3, ca, x, NULL, NULL, 0);
	if (pki_add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    pki_add_ext(x, &v3, NID_key_usage, "critical,digitalSignature") != 0 ||
	    pki_add_ext(x, &v3, NID_ext_key_usage,
	                kind == PKI_LEAF_SERVER ? "serverAuth" : "clientAuth") != 0 ||
	    pki_add_ext(x, &v3, NID_subject_key_identifier, "hash") != 0 ||
	    pki_add_ext(x, &v3, NID_authority_key_identifier, "keyid:always") != 0) {
		pc_openssl_error(err, errlen, "cannot add certificate extensions");
		X509_free(x);
		return NULL;
	}
	if (sans && (sans->ndns > 0 || sans->nips > 0) &&
	    pki_add_sans(x, sans, err, errlen) != 0) {
		X509_free(x);
		return NULL;
	}
	if (X509_sign(x, ca_key, EVP_sha256()) <= 0) {
		pc_openssl_error(err, errlen, "cannot sign certificate");
		X509_free(x);
		return NULL;
	}
	return x;
}

int pki_cert_serial_hex(X509 *x, char *out, size_t outlen)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	int rc = -1;

	if (hex && hex[0] != '-' && strlen(hex) < outlen) {
		strcpy(out, hex);
		rc = 0;
	}
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

int pki_cert_not_after(X509 *x, char *out, size_t outlen)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1 ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -1;
	return 0;
}
