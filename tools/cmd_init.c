/* cmd_init.c - `pointclear init`: the operator's receipt key and TLS material.
 *
 * What pointcleard opens goes to the daemon's home; the TLS CA's private key,
 * which only this command ever uses, goes to the admin home (docs/KEYS.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "commands.h"
#include "db.h"
#include "home.h"
#include "keyhist_db.h"
#include "pki.h"
#include "pointclear/sign.h"

static const char usage[] =
	"usage: pointclear init [--server-name NAME]... [--server-ip IP]... [--force]\n"
	"  Creates HOME/operator (receipt signing key) and HOME/tls (daemon server\n"
	"  certificate with SAN DNS:localhost, IP:127.0.0.1 and the names/IPs given,\n"
	"  key, and the CA certificate clients trust); the CA's private key goes to\n"
	"  ADMIN_HOME/tls. Registers the operator public key in operator_keys, prints\n"
	"  its key id. Existing files are replaced only with --force.\n";

#define INIT_MAX_SANS 16

static const char sql_operator_key[] =
	"INSERT INTO operator_keys (key_id, public_key) VALUES ($1, decode($2, 'hex'))"
	" ON CONFLICT (key_id) DO NOTHING";

enum {
	F_RECEIPT_KEY, F_RECEIPT_PUB, F_CA_CRT, F_SERVER_CRT, F_SERVER_KEY,   /* daemon's home */
	F_ADMIN_CA_CRT, F_ADMIN_CA_KEY,                                      /* admin home */
	F_COUNT
};

static const char *const file_names[F_COUNT] = {
	"operator/receipt.key", "operator/receipt.pub", "tls/ca.crt", "tls/server.crt",
	"tls/server.key", "tls/ca.crt", "tls/ca.key",
};

struct init_material {
	EVP_PKEY *receipt, *ca_key, *server_key;
	X509 *ca, *server;
};

static void material_free(struct init_material *m)
{
	EVP_PKEY_free(m->receipt);
	EVP_PKEY_free(m->ca_key);
	EVP_PKEY_free(m->server_key);
	X509_free(m->ca);
	X509_free(m->server);
}

/* A DNS name for the SAN: letters, digits, '-', '.', and a leading "*." wildcard. */
static int dns_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return 0;
	if (strncmp(s, "*.", 2) == 0)
		s += 2;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '.'))
			return 0;
	}
	return 1;
}

/* The key-history signer from the new receipt key, before its file exists. */
static int keyhist_from_pkey(struct keyhist_operator *op, EVP_PKEY *key)
{
	uint8_t seed[32];
	size_t n = sizeof seed;

	if (EVP_PKEY_get_raw_private_key(key, seed, &n) != 1 || n != sizeof seed)
		return -1;
	keyhist_operator_from_seed(op, seed);
	sodium_memzero(seed, sizeof seed);
	return 0;
}

static int make_material(struct init_material *m, const struct pki_sans *sans, char *err,
                         size_t errlen)
{
	if (!(m->receipt = pki_ed25519_new(err, errlen)) ||
	    !(m->ca_key = pki_p256_new(err, errlen)) ||
	    !(m->server_key = pki_p256_new(err, errlen)))
		return -1;
	m->ca = pki_make_ca(m->ca_key, "pointclear", "pointclear operator TLS CA", err, errlen);
	if (!m->ca)
		return -1;
	m->server = pki_make_leaf(m->ca, m->ca_key, m->server_key, "pointclear", "pointcleard",
	                          PKI_LEAF_SERVER, sans, err, errlen);
	return m->server ? 0 : -1;
}

static int write_material(const struct init_material *m, struct home_stage *st,
                          char paths[F_COUNT][HOME_PATH_MAX], char *err, size_t errlen)
{
	const char *tmp[F_COUNT];

	for (int i = 0; i < F_COUNT; i++) {
		if (!(tmp[i] = home_stage_add(st, paths[i]))) {
			snprintf(err, errlen, "path too long: %.200s...", paths[i]);
			return -1;
		}
	}
	if (pki_write_private(tmp[F_RECEIPT_KEY], m->receipt, err, errlen) != 0 ||
	    pki_write_public(tmp[F_RECEIPT_PUB], m->receipt, err, errlen) != 0 ||
	    pki_write_cert(tmp[F_CA_CRT], m->ca, err, errlen) != 0 ||
	    pki_write_cert(tmp[F_ADMIN_CA_CRT], m->ca, err, errlen) != 0 ||
	    pki_write_private(tmp[F_ADMIN_CA_KEY], m->ca_key, err, errlen) != 0 ||
	    pki_write_cert(tmp[F_SERVER_CRT], m->server, err, errlen) != 0 ||
	    pki_write_private(tmp[F_SERVER_KEY], m->server_key, err, errlen) != 0)
		return -1;
	return 0;
}

int cmd_init(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"server-name", required_argument, NULL, 'n'},
		{"server-ip", required_argument, NULL, 'i'},
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dns[INIT_MAX_SANS + 1] = {"localhost"};
	const char *ips[INIT_MAX_SANS + 1] = {"127.0.0.1"};
	struct pki_sans sans = {.dns = dns, .ndns = 1, .ips = ips, .nips = 1};
	char paths[F_COUNT][HOME_PATH_MAX], dir[HOME_PATH_MAX], err[512];
	struct init_material m = {0};
	struct keyhist_operator op = {0};
	struct home_stage st;
	struct db d = {0};
	int c, force = 0, rc = 1;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (sans.ndns > INIT_MAX_SANS)
				return cli_fail(ctx, "too many --server-name");
			if (!dns_name_valid(optarg))
				return cli_fail(ctx, "'%s' is not a DNS name", optarg);
			dns[sans.ndns++] = optarg;
			break;
		case 'i':
			if (sans.nips > INIT_MAX_SANS)
				return cli_fail(ctx, "too many --server-ip");
			if (!pki_ip_valid(optarg))
				return cli_fail(ctx, "'%s' is not an IP address", optarg);
			ips[sans.nips++] = optarg;
			break;
		case 'f':
			force = 1;
			break;
		case 'h':
			return cli_usage(usage, 0);
		default:
			return cli_bad_option(ctx, c, argv, usage);
		}
	}
	if (optind != argc)
		return cli_usage(usage, 2);

	if (home_outside_check(ctx->home, ctx->admin_home, err, sizeof err) != 0)
		return cli_fail(ctx, "%s", err);
	for (int i = 0; i < F_COUNT; i++) {
		const char *root = i >= F_ADMIN_CA_CRT ? ctx->admin_home : ctx->home;

		if (home_path(paths[i], sizeof paths[i], root, "%s", file_names[i]) != 0)
			return cli_fail(ctx, "home path too long");
		if (!force && home_exists(paths[i]))
			return cli_fail(ctx, "%s exists; use --force to replace the operator material",
			                paths[i]);
	}
	if (db_open(&d, ctx->db) != 0)
		return cli_fail(ctx, "%s", d.err);

	home_stage_init(&st);
	if (home_path(dir, sizeof dir, ctx->home, "operator") != 0 ||
	    home_mkdirs(dir, err, sizeof err) != 0 ||
	    home_path(dir, sizeof dir, ctx->home, "tls") != 0 ||
	    home_mkdirs(dir, err, sizeof err) != 0 ||
	    home_path(dir, sizeof dir, ctx->admin_home, "tls") != 0 ||
	    home_mkdirs(dir, err, sizeof err) != 0 || make_material(&m, &sans, err, sizeof err) != 0 ||
	    write_material(&m, &st, paths, err, sizeof err) != 0) {
		cli_fail(ctx, "%s", err);
		goto out;
	}

	uint8_t pk[PC_PK_SIZE];
	char key_id[PC_KEY_ID_LEN + 1], pk_hex[2 * PC_PK_SIZE + 1];

	if (pki_ed25519_public_raw(m.receipt, pk) != 0) {
		cli_fail(ctx, "operator key is not Ed25519");
		goto out;
	}
	pc_key_id(key_id, pk);
	sodium_bin2hex(pk_hex, sizeof pk_hex, pk, sizeof pk);
	const char *params[2] = {key_id, pk_hex};

	/* every alliance's key history says from now on which key signs it */
	if (keyhist_from_pkey(&op, m.receipt) != 0) {
		cli_fail(ctx, "operator key is not Ed25519");
		goto out;
	}
	if (db_begin(&d) != 0 || db_exec(&d, sql_operator_key, 2, params) != 0 ||
	    keyhist_record_operator_all(&d, &op) != 0 || db_commit(&d) != 0) {
		db_rollback(&d);
		cli_fail(ctx, "registering the operator key: %s", d.err);
		goto out;
	}
	if (home_stage_commit(&st, err, sizeof err) != 0) {
		cli_fail(ctx, "%s", err);
		goto out;
	}
	printf("%s\n", key_id);
	rc = 0;
out:
	keyhist_operator_wipe(&op);
	home_stage_abort(&st);
	material_free(&m);
	db_close(&d);
	return rc;
}
