/* cmd_lookup.c - `pointclear lookup`: asks the daemon what it decided for one of a
 * merchant's event ids (a LOOKUP frame, PROTOCOL.md "Lookup"), verifies the
 * receipt and prints one line.
 *
 * A LOOKUP has no effect, so an answer that is RETRYABLE, or missing because the
 * connection broke, is simply asked again, up to LOOKUP_RETRIES times. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "commands.h"
#include "home.h"
#include "pointclear/codec.h"
#include "pointclear/ids.h"
#include "pointclear/receipt_check.h"
#include "pointclear/sign.h"

static const char usage[] =
	"usage: pointclear lookup [--server HOST:PORT] ALLIANCE MERCHANT EVENT_ID\n"
	"  Asks the daemon, over MERCHANT's mTLS identity, for the stored decision of\n"
	"  EVENT_ID, verifies its receipt with HOME/operator/receipt.pub and prints\n"
	"  one line:\n"
	"    <merchant> <event_id> REPLAYED <status> <code> seq=<n> balance=<n>\n"
	"    available=<n> <message>\n"
	"  or \"<merchant> <event_id> not found\". Records nothing.\n"
	"  Exit 0 when found (receipt valid), 3 when not found, 1 otherwise.\n"
	"  Default server 127.0.0.1:7443.\n";

#define LOOKUP_RETRIES 5
#define LOOKUP_RETRY_PAUSE_NS 200000000L
#define LOOKUP_NOT_FOUND_EXIT 3

struct lookup {
	struct pc_cli *ctx;
	const char *alliance, *merchant, *event_id;
	struct pc_client_opts opts;
	char ca[HOME_PATH_MAX], crt[HOME_PATH_MAX], key[HOME_PATH_MAX];
	uint8_t operator_pk[PC_PK_SIZE];
	char operator_key_id[PC_KEY_ID_LEN + 1];
};

/* Prints what a final answer says. The exit status. */
static int report(struct lookup *l, const Pointclear__V1__SubmitResult *r)
{
	Pointclear__V1__ReceiptBody *body = NULL;
	const char *bad;
	char line[1024];

	if (r->disposition == POINTCLEAR__V1__DISPOSITION__REJECTED &&
	    r->code == POINTCLEAR__V1__CODE__NOT_FOUND) {
		printf("%s %s not found\n", l->merchant, l->event_id);
		return LOOKUP_NOT_FOUND_EXIT;
	}
	if (r->disposition != POINTCLEAR__V1__DISPOSITION__REPLAYED) {
		pc_client_result_line(line, sizeof line, r, NULL);
		printf("%s %s %s\n", l->merchant, l->event_id, line);
		return cli_fail(l->ctx, "the daemon refused the lookup: %s", pc_code_name(r->code));
	}
	bad = pc_client_check_receipt(r, l->operator_pk, l->operator_key_id, NULL, l->alliance,
	                              l->merchant, l->event_id, NULL, 0, &body);
	pc_client_result_line(line, sizeof line, r, body);
	if (bad) {
		printf("%s %s RECEIPT-INVALID (%s) %s\n", l->merchant, l->event_id, bad, line);
		return cli_fail(l->ctx, "RECEIPT-INVALID for %s/%s: %s", l->merchant, l->event_id,
		                bad);
	}
	printf("%s %s %s\n", l->merchant, l->event_id, line);
	pc_receipt_body_free(body);
	return 0;
}

/* Asks until a final answer, LOOKUP_RETRIES times more at most. The exit status. */
static int ask(struct lookup *l)
{
	char err[512] = "no answer";

	for (int round = 0; round <= LOOKUP_RETRIES; round++) {
		Pointclear__V1__SubmitResult *r = NULL;
		struct pc_client *c;
		int rc, perr;

		if (round > 0) {
			struct timespec pause = {0, LOOKUP_RETRY_PAUSE_NS};

			nanosleep(&pause, NULL);
		}
		if (!(c = pc_client_connect(&l->opts, err, sizeof err)))
			continue;
		rc = pc_client_lookup(c, 1, l->event_id, &r, &perr, err, sizeof err);
		pc_client_close(c);
		if (rc > 0)
			return cli_fail(l->ctx, "%s", err);
		if (rc < 0)
			continue;
		if (r->disposition == POINTCLEAR__V1__DISPOSITION__RETRYABLE) {
			snprintf(err, sizeof err, "%s: %s", pc_code_name(r->code),
			         *r->message ? r->message : pc_code_message(r->code));
			pc_submit_result_free(r);
			continue;
		}
		rc = report(l, r);
		pc_submit_result_free(r);
		return rc;
	}
	return cli_fail(l->ctx, "no answer after %d attempts: %s", LOOKUP_RETRIES + 1, err);
}

int cmd_lookup(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct lookup l = {.ctx = ctx};
	char host[256] = "127.0.0.1", path[HOME_PATH_MAX], err[512];
	int c, port = 7443;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (pc_client_parse_server(optarg, host, sizeof host, &port) != 0)
				return cli_fail(ctx, "--server '%s' is not HOST:PORT", optarg);
			break;
		case 'h':
			return cli_usage(usage, 0);
		default:
			return cli_bad_option(ctx, c, argv, usage);
		}
	}
	if (argc - optind != 3)
		return cli_usage(usage, 2);
	l.alliance = argv[optind];
	l.merchant = argv[optind + 1];
	l.event_id = argv[optind + 2];
	if (!pc_id_valid(l.alliance))
		return cli_fail(ctx, "'%s' is not a valid alliance id", l.alliance);
	if (!pc_id_valid(l.merchant))
		return cli_fail(ctx, "'%s' is not a valid merchant id", l.merchant);
	if (!pc_id_valid(l.event_id))
		return cli_fail(ctx, "'%s' is not a valid event id", l.event_id);
	if (home_path(l.ca, sizeof l.ca, ctx->home, "tls/ca.crt") != 0 ||
	    home_path(l.crt, sizeof l.crt, ctx->admin_home, "alliances/%s/merchants/%s/client.crt",
	              l.alliance, l.merchant) != 0 ||
	    home_path(l.key, sizeof l.key, ctx->admin_home, "alliances/%s/merchants/%s/client.key",
	              l.alliance, l.merchant) != 0 ||
	    home_path(path, sizeof path, ctx->home, "operator/receipt.pub") != 0)
		return cli_fail(ctx, "home path too long");
	if (pc_load_public_key(path, l.operator_pk, err, sizeof err) != 0)
		return cli_fail(ctx, "%s", err);
	pc_key_id(l.operator_key_id, l.operator_pk);
	l.opts = (struct pc_client_opts){
		.host = host, .port = port, .ca_file = l.ca, .cert_file = l.crt,
		.key_file = l.key, .timeout_ms = 10000,
	};
	return ask(&l);
}
