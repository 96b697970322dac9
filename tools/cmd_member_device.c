/* cmd_member_device.c - members' device keys and their authorizations:
 * `pointclear member add-device | revoke-device` (the operator, owner role), and
 * `member keygen | authorize`, which stand in for the member's app: the private
 * key never leaves the member's side, and the clearing house holds only the
 * public half (PROTOCOL.md, "Member authorization"). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "client.h"
#include "commands.h"
#include "db.h"
#include "home.h"
#include "pki.h"
#include "pointclear/event_build.h"
#include "pointclear/ids.h"
#include "pointclear/sign.h"

/* Longer-lived authorizations are refused by the daemon (MEMBER_AUTH_EXPIRED). */
#define AUTH_MAX_TTL_S 3600

static const char add_device_usage[] =
	"usage: pointclear member add-device ALLIANCE MEMBER --public-key FILE\n"
	"  Registers the member's device key (an Ed25519 public key, PEM) for signing\n"
	"  authorizations. Prints its key id.\n";
static const char revoke_device_usage[] =
	"usage: pointclear member revoke-device ALLIANCE MEMBER KEY_ID\n"
	"  Revokes a device key now: authorizations it signed are refused from then on.\n";
static const char keygen_usage[] =
	"usage: pointclear member keygen DIR\n"
	"  As the member's app would: makes an Ed25519 device key, DIR/device.key\n"
	"  (private, mode 0600) and DIR/device.pub. Prints its key id.\n";
static const char authorize_usage[] =
	"usage: pointclear member authorize --key FILE ALLIANCE MEMBER MERCHANT\n"
	"        --max-points N --ttl SECONDS\n"
	"  As the member's app would: signs an authorization for MERCHANT to take up to\n"
	"  N points once, for SECONDS (1 to 3600) from now. Prints it in hex, for the\n"
	"  \"authorization\" field of a JSON line of `pointclear submit`.\n";

static const char sql_add_device[] =
	"INSERT INTO member_devices (alliance_id, key_id, member_id, public_key)"
	" VALUES ($1, $2, $3, decode($4, 'hex'))";
static const char sql_revoke_device[] =
	"UPDATE member_devices SET revoked_at = now()"
	" WHERE alliance_id = $1 AND member_id = $2 AND key_id = $3 AND revoked_at IS NULL";
static const char sql_notify[] = "NOTIFY pc_keys";

static int check_ids(struct pc_cli *ctx, const char *alliance, const char *member)
{
	if (!pc_id_valid(alliance))
		return cli_fail(ctx, "'%s' is not a valid alliance id", alliance);
	if (!pc_id_valid(member))
		return cli_fail(ctx, "'%s' is not a valid member id", member);
	return 0;
}

int member_add_device(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"public-key", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	uint8_t pk[PC_PK_SIZE];
	char key_id[PC_KEY_ID_LEN + 1], hex[2 * PC_PK_SIZE + 1], err[512];
	struct db d;
	int c;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			path = optarg;
			break;
		case 'h':
			return cli_usage(add_device_usage, 0);
		default:
			return cli_bad_option(ctx, c, argv, add_device_usage);
		}
	}
	if (argc - optind != 2 || !path)
		return cli_usage(add_device_usage, 2);
	if (check_ids(ctx, argv[optind], argv[optind + 1]) != 0)
		return 1;
	if (pc_load_public_key(path, pk, err, sizeof err) != 0)
		return cli_fail(ctx, "%s", err);
	pc_key_id(key_id, pk);
	sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);

	const char *params[4] = { argv[optind], key_id, argv[optind + 1], hex };
	if (db_open(&d, ctx->db) != 0)
		return cli_fail(ctx, "%s", d.err);
	if (db_begin(&d) != 0 || db_exec(&d, sql_add_device, 4, params) != 0 ||
	    db_exec(&d, sql_notify, 0, NULL) != 0 || db_commit(&d) != 0) {
		db_rollback(&d);
		if (db_failed_with(&d, "23503"))
			cli_fail(ctx, "no member %s in alliance %s", argv[optind + 1], argv[optind]);
		else if (db_failed_with(&d, "23505"))
			cli_fail(ctx, "device key %s is already registered in alliance %s", key_id,
			         argv[optind]);
		else
			cli_fail(ctx, "%s", d.err);
		db_close(&d);
		return 1;
	}
	db_close(&d);
	printf("%s\n", key_id);
	return 0;
}

int member_revoke_device(struct pc_cli *ctx, int argc, char **argv)
{
	struct db d;
	int changed, rc = 1;

	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		return cli_usage(revoke_device_usage, 0);
	if (argc != 4)
		return cli_usage(revoke_device_usage, 2);
	if (check_ids(ctx, argv[1], argv[2]) != 0)
		return 1;
	const char *params[3] = { argv[1], argv[2], argv[3] };
	if (db_open(&d, ctx->db) != 0)
		return cli_fail(ctx, "%s", d.err);
	changed = db_change_one(&d, sql_revoke_device, 3, params, sql_notify);
	if (changed < 0) {
		cli_fail(ctx, "%s", d.err);
		goto out;
	}
	if (changed == 0) {
		cli_fail(ctx, "member %s has no device key %s in force in alliance %s", argv[2],
		         argv[3], argv[1]);
		goto out;
	}
	printf("revoked %s\n", argv[3]);
	rc = 0;
out:
	db_close(&d);
	return rc;
}

int member_keygen(struct pc_cli *ctx, int argc, char **argv)
{
	char err[512], key_path[HOME_PATH_MAX], pub_path[HOME_PATH_MAX];
	char key_id[PC_KEY_ID_LEN + 1];
	uint8_t pk[PC_PK_SIZE];
	EVP_PKEY *k;
	struct stat st;

	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		return cli_usage(keygen_usage, 0);
	if (argc != 2)
		return cli_usage(keygen_usage, 2);
	if (home_path(key_path, sizeof key_path, argv[1], "device.key") != 0 ||
	    home_path(pub_path, sizeof pub_path, argv[1], "device.pub") != 0)
		return cli_fail(ctx, "path too long: %s", argv[1]);
	if (stat(key_path, &st) == 0)
		return cli_fail(ctx, "%s exists: a device key is never overwritten", key_path);
	if (home_mkdirs(argv[1], err, sizeof err) != 0)
		return cli_fail(ctx, "%s", err);
	if (!(k = pki_ed25519_new(err, sizeof err)))
		return cli_fail(ctx, "%s", err);
	if (pki_ed25519_public_raw(k, pk) != 0 ||
	    pki_write_private(key_path, k, err, sizeof err) != 0 ||
	    pki_write_public(pub_path, k, err, sizeof err) != 0) {
		EVP_PKEY_free(k);
		return cli_fail(ctx, "%s", err);
	}
	EVP_PKEY_free(k);
	pc_key_id(key_id, pk);
	printf("%s\n", key_id);
	return 0;
}

int member_authorize(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"max-points", required_argument, NULL, 'm'},
		{"ttl", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	int64_t max_points = -1, ttl = -1;
	uint8_t sk[PC_SK_SIZE], nonce[PC_AUTH_NONCE_SIZE], *auth;
	char key_id[PC_KEY_ID_LEN + 1], err[512];
	size_t len;
	int c, e;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			path = optarg;
			break;
		case 'm':
			if (cli_parse_i64(optarg, 1, INT64_MAX, &max_points) != 0)
				return cli_fail(ctx, "--max-points '%s' is not a positive number", optarg);
			break;
		case 't':
			if (cli_parse_i64(optarg, 1, AUTH_MAX_TTL_S, &ttl) != 0)
				return cli_fail(ctx, "--ttl '%s' is not a number of seconds from 1 to %d",
				                optarg, AUTH_MAX_TTL_S);
			break;
		case 'h':
			return cli_usage(authorize_usage, 0);
		default:
			return cli_bad_option(ctx, c, argv, authorize_usage);
		}
	}
	if (argc - optind != 3 || !path || max_points < 0 || ttl < 0)
		return cli_usage(authorize_usage, 2);
	if (check_ids(ctx, argv[optind], argv[optind + 1]) != 0)
		return 1;
	if (!pc_id_valid(argv[optind + 2]))
		return cli_fail(ctx, "'%s' is not a valid merchant id", argv[optind + 2]);
	if (pc_load_signing_key(path, sk, key_id, err, sizeof err) != 0)
		return cli_fail(ctx, "%s", err);

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	randombytes_buf(nonce, sizeof nonce);
	struct pc_authorization_desc a = {
		.alliance_id = argv[optind],
		.member_id = argv[optind + 1],
		.merchant_id = argv[optind + 2],
		.max_points = max_points,
		.expires_at_us = ((int64_t)ts.tv_sec + ttl) * 1000000 + ts.tv_nsec / 1000,
		.nonce = nonce,
		.nonce_len = sizeof nonce,
	};
	auth = pc_authorization_sign(&a, sk, key_id, &len, &e);
	sodium_memzero(sk, sizeof sk);
	if (!auth)
		return cli_fail(ctx, "cannot sign the authorization: %s", pc_event_build_error(e));
	char *hex = malloc(2 * len + 1);
	if (!hex) {
		free(auth);
		return cli_fail(ctx, "out of memory");
	}
	sodium_bin2hex(hex, 2 * len + 1, auth, len);
	printf("%s\n", hex);
	free(hex);
	free(auth);
	return 0;
}
