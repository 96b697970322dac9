/* merchant_keys.c - merchants' signing keys for registration, and `merchant
 * keygen`, run by the merchant: an Ed25519 signing key pair and a TLS key with a
 * certificate request (O=<alliance>, CN=<merchant>), of which only sign.pub and
 * client.csr go to the operator (docs/KEYS.md). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "client.h"
#include "home.h"
#include "merchant_keys.h"
#include "pki.h"
#include "pointclear/ids.h"

static const char keygen_usage[] =
	"usage: pointclear merchant keygen ALLIANCE MERCHANT DIR [--sign-only]\n"
	"  On the merchant's machine: writes DIR/sign.key (Ed25519, mode 0600),\n"
	"  DIR/sign.pub, DIR/client.key (ECDSA P-256, mode 0600) and DIR/client.csr\n"
	"  (subject O=ALLIANCE, CN=MERCHANT), DIR created mode 0700. Send sign.pub and\n"
	"  client.csr to the operator (`merchant add --public-key --csr`); the private\n"
	"  halves never leave DIR. Existing keys are not replaced. --sign-only makes a\n"
	"  new signing key for `merchant rotate-key --public-key`, the current one kept\n"
	"  as sign.key.<keyid>. Prints the signing key id.\n";

static void mkey_fill(struct mkey_sign *k, const uint8_t pk[PC_PK_SIZE])
{
	pc_key_id(k->key_id, pk);
	sodium_bin2hex(k->pk_hex, sizeof k->pk_hex, pk, PC_PK_SIZE);
}

int mkey_sign_new(struct mkey_sign *k, char *err, size_t errlen)
{
	uint8_t pk[PC_PK_SIZE];

	k->key = pki_ed25519_new(err, errlen);
	if (!k->key)
		return -1;
	if (pki_ed25519_public_raw(k->key, pk) != 0) {
		snprintf(err, errlen, "new signing key is not Ed25519");
		return -1;
	}
	mkey_fill(k, pk);
	return 0;
}

int mkey_sign_from_public(struct mkey_sign *k, const char *path, char *err, size_t errlen)
{
	uint8_t pk[PC_PK_SIZE];
	char why[256];

	k->key = NULL;
	if (pc_load_public_key(path, pk, why, sizeof why) != 0) {
		snprintf(err, errlen, "--public-key %.150s is not an Ed25519 public key (SPKI PEM): %s",
		         path, why);
		return -1;
	}
	mkey_fill(k, pk);
	return 0;
}

void mkey_sign_free(struct mkey_sign *k)
{
	EVP_PKEY_free(k->key);
	k->key = NULL;
}

int mkey_keep_old(const char *dir, const char *old_id, char *err, size_t errlen)
{
	static const char *const names[] = {"sign.key", "sign.pub"};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char from[HOME_PATH_MAX], to[HOME_PATH_MAX];

		if ((size_t)snprintf(from, sizeof from, "%s/%s", dir, names[i]) >= sizeof from ||
		    (size_t)snprintf(to, sizeof to, "%s/%s.%s", dir, names[i], old_id) >= sizeof to) {
			snprintf(err, errlen, "path too long");
			return -1;
		}
		if (rename(from, to) != 0 && errno != ENOENT) {
			snprintf(err, errlen, "cannot rename %.200s: %s", from, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* "<dir>/<name>" into out; -1 when it does not fit. */
static int mkey_path(char out[HOME_PATH_MAX], const char *dir, const char *name)
{
	int n = snprintf(out, HOME_PATH_MAX, "%s/%s", dir, name);

	return n < 0 || n >= HOME_PATH_MAX ? -1 : 0;
}

/* The TLS key and its request; nothing is written until both are made. */
static int keygen_tls(const char *alliance, const char *merchant, const char *dir,
                      struct home_stage *st, char *err, size_t errlen)
{
	char key_path[HOME_PATH_MAX], csr_path[HOME_PATH_MAX];
	const char *t_key, *t_csr;
	EVP_PKEY *key = NULL;
	X509_REQ *req = NULL;
	int rc = -1;

	if (mkey_path(key_path, dir, "client.key") != 0 ||
	    mkey_path(csr_path, dir, "client.csr") != 0) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	if (home_exists(key_path)) {
		snprintf(err, errlen, "%.400s exists: a merchant's TLS key is made once", key_path);
		return -1;
	}
	if (!(key = pki_p256_new(err, errlen)) ||
	    !(req = pki_make_csr(key, alliance, merchant, err, errlen)))
		goto out;
	if (!(t_key = home_stage_add(st, key_path)) || !(t_csr = home_stage_add(st, csr_path))) {
		snprintf(err, errlen, "path too long");
		goto out;
	}
	if (pki_write_private(t_key, key, err, errlen) == 0 &&
	    pki_write_csr(t_csr, req, err, errlen) == 0)
		rc = 0;
out:
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return rc;
}

int mkey_keygen(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"sign-only", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char cur[HOME_PATH_MAX], pub[HOME_PATH_MAX], err[512], old_id[PC_KEY_ID_LEN + 1] = "";
	const char *alliance, *merchant, *dir, *t_key, *t_pub;
	struct mkey_sign sk = {0};
	struct home_stage st;
	int c, sign_only = 0, rc = 1;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sign_only = 1;
			break;
		case 'h':
			return cli_usage(keygen_usage, 0);
		default:
			return cli_bad_option(ctx, c, argv, keygen_usage);
		}
	}
	if (argc - optind != 3)
		return cli_usage(keygen_usage, 2);
	alliance = argv[optind];
	merchant = argv[optind + 1];
	dir = argv[optind + 2];
	if (!pc_id_valid(alliance))
		return cli_fail(ctx, "'%s' is not a valid alliance id", alliance);
	if (!pc_id_valid(merchant))
		return cli_fail(ctx, "'%s' is not a valid merchant id (1-64 of A-Z a-z 0-9 . _ : -)",
		                merchant);
	if (home_outside_check(ctx->home, dir, err, sizeof err) != 0)
		return cli_fail(ctx, "%s", err);
	if (mkey_path(cur, dir, "sign.key") != 0 || mkey_path(pub, dir, "sign.pub") != 0)
		return cli_fail(ctx, "path too long");
	if (home_exists(cur)) {
		uint8_t old_sk[PC_SK_SIZE];

		if (!sign_only)
			return cli_fail(ctx, "%s exists: keys are not replaced (--sign-only makes a new"
			                " signing key for a rotation)", cur);
		/* the file's own key id names the kept copy */
		if (pc_load_signing_key(cur, old_sk, old_id, err, sizeof err) != 0)
			return cli_fail(ctx, "%s", err);
		sodium_memzero(old_sk, sizeof old_sk);
	}
	if (home_mkdirs(dir, err, sizeof err) != 0)
		return cli_fail(ctx, "%s", err);

	home_stage_init(&st);
	if (mkey_sign_new(&sk, err, sizeof err) != 0 ||
	    (!sign_only && keygen_tls(alliance, merchant, dir, &st, err, sizeof err) != 0)) {
		cli_fail(ctx, "%s", err);
		goto out;
	}
	if (!(t_key = home_stage_add(&st, cur)) || !(t_pub = home_stage_add(&st, pub))) {
		cli_fail(ctx, "path too long");
		goto out;
	}
	if (pki_write_private(t_key, sk.key, err, sizeof err) != 0 ||
	    pki_write_public(t_pub, sk.key, err, sizeof err) != 0 ||
	    (*old_id && mkey_keep_old(dir, old_id, err, sizeof err) != 0) ||
	    home_stage_commit(&st, err, sizeof err) != 0) {
		cli_fail(ctx, "%s", err);
		goto out;
	}
	printf("%s\n", sk.key_id);
	rc = 0;
out:
	home_stage_abort(&st);
	mkey_sign_free(&sk);
	return rc;
}
