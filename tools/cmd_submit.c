/* cmd_submit.c - `pointclear submit`: signs JSON-lines events, sends them over
 * mTLS one connection per merchant (pipelined), verifies every receipt and prints
 * one line per event in input order.
 *
 * Everything is read, parsed and signed before anything is sent, so a bad line
 * costs nothing. An event whose answer is RETRYABLE, or that got no answer
 * because the connection broke, is sent again with the same bytes under the same
 * event id (the daemon's idempotency makes that safe), up to SUBMIT_RETRIES times. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "client.h"
#include "commands.h"
#include "home.h"
#include "jsonl_event.h"
#include "pointclear/codec.h"
#include "pointclear/frame.h"
#include "pointclear/ids.h"
#include "pointclear/receipt_check.h"
#include "pointclear/sign.h"

static const char usage[] =
	"usage: pointclear submit [--server HOST:PORT] [--merchant-dir DIR] ALLIANCE FILE\n"
	"  Reads JSON lines from FILE (- for stdin), signs each event with its merchant's\n"
	"  current key, sends them over mTLS (one connection per merchant, pipelined),\n"
	"  verifies every receipt with HOME/operator/receipt.pub and prints one line per\n"
	"  event. A merchant's sign.key, client.crt and client.key are read from\n"
	"  --merchant-dir (then FILE holds that one merchant's events) or else from\n"
	"  ADMIN_HOME/alliances/ALLIANCE/merchants/<merchant>. The lines:\n"
	"    <merchant> <event_id> <disposition> <status|-> <code> seq=<n|-> balance=<n|->\n"
	"    available=<n|-> <message>\n"
	"  Exit 0 when every event got an answer, 1 otherwise (or a receipt is invalid).\n"
	"  Default server 127.0.0.1:7443.\n";

#define SUBMIT_WINDOW 128          /* requests in flight per connection */
#define SUBMIT_RETRIES 5
#define SUBMIT_RETRY_PAUSE_NS 200000000L

enum ev_state {
	EV_WAITING,      /* not sent, or to be sent again */
	EV_IN_FLIGHT,
	EV_DONE,         /* a final answer */
};

struct sub_event {
	uint64_t line;               /* the request id */
	int merchant;                /* index into merchants */
	char *event_id;
	uint8_t *envelope;           /* the SUBMIT body, sent as is on every attempt */
	size_t envelope_len;
	enum ev_state state;
	int retryable;               /* the last answer said RETRYABLE */
	int receipt_invalid;         /* RECEIPT-INVALID or BAD-ANSWER */
	char *out;                   /* the printed line, once answered */
};

struct sub_merchant {
	char *id;
	uint8_t sk[PC_SK_SIZE];
	char key_id[PC_KEY_ID_LEN + 1];
	int key_failed;              /* its key did not load (reported once) */
	int *events;                 /* indices into events, in input order */
	int nevents;
	char last_error[512];        /* why events are left without an answer */
};

struct submit {
	struct pc_cli *ctx;
	const char *alliance;
	const char *merchant_dir;    /* --merchant-dir, or NULL */
	struct pc_client_opts opts;
	char ca[HOME_PATH_MAX];
	uint8_t operator_pk[PC_PK_SIZE];
	char operator_key_id[PC_KEY_ID_LEN + 1];
	struct pc_receipt_cache receipt_cache;   /* one signature check per receipt tree */
	struct sub_event *events;
	int nevents, cap_events;
	struct sub_merchant *merchants;
	int nmerchants;
};

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ------------------------------------------------------------ reading input */

static int merchant_find(struct submit *s, const char *id)
{
	for (int i = 0; i < s->nmerchants; i++)
		if (strcmp(s->merchants[i].id, id) == 0)
			return i;
	return -1;
}

/* "<the merchant's directory>/<name>" into path. 0, or -1 when it does not fit. */
static int merchant_file(const struct submit *s, const char *id, const char *name,
                         char path[HOME_PATH_MAX])
{
	char dir[HOME_PATH_MAX];
	int n;

	if (s->merchant_dir) {
		if (strlen(s->merchant_dir) >= sizeof dir)
			return -1;
		strcpy(dir, s->merchant_dir);
	} else if (home_merchant_dir(dir, sizeof dir, s->ctx->admin_home, s->alliance, id) != 0) {
		return -1;
	}
	n = snprintf(path, HOME_PATH_MAX, "%s/%s", dir, name);
	return n < 0 || n >= HOME_PATH_MAX ? -1 : 0;
}

/* A new merchant group, with its current signing key. Its index, or -1 with the
 * reason in err; a merchant whose key did not load is kept, marked key_failed,
 * so that its other lines do not repeat the same complaint. */
static int merchant_add(struct submit *s, const char *id, char *err, size_t errlen)
{
	struct sub_merchant *m, *grown;
	char path[HOME_PATH_MAX];

	if (!pc_id_valid(id)) {
		snprintf(err, errlen, "'%s' is not a valid merchant id", id);
		return -1;
	}
	grown = realloc(s->merchants, (size_t)(s->nmerchants + 1) * sizeof *grown);
	if (!grown) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->merchants = grown;
	m = &s->merchants[s->nmerchants];
	memset(m, 0, sizeof *m);
	/* one directory holds one merchant's keys: a second merchant is an error */
	if (s->merchant_dir && s->nmerchants > 0) {
		snprintf(err, errlen, "--merchant-dir %s holds the keys of %s, not of %s",
		         s->merchant_dir, s->merchants[0].id, id);
		return -1;
	}
	if (merchant_file(s, id, "sign.key", path) != 0) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	if (!(m->id = strdup(id))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->nmerchants++;
	if (pc_load_signing_key(path, m->sk, m->key_id, err, errlen) != 0) {
		m->key_failed = 1;
		return -1;
	}
	return s->nmerchants - 1;
}

static int merchant_push_event(struct sub_merchant *m, int idx)
{
	int *grown = realloc(m->events, (size_t)(m->nevents + 1) * sizeof *grown);

	if (!grown)
		return -1;
	m->events = grown;
	m->events[m->nevents++] = idx;
	return 0;
}

/* Parses and signs one line. 0, or -1 with err. */
static int take_line(struct submit *s, uint64_t lineno, const char *line, size_t len,
                     int64_t now, char *err, size_t errlen)
{
	struct jsonl_event je;
	struct sub_event *e;
	int mi, rc = -1;

	if (jsonl_event_parse(&je, line, len, s->alliance, now, err, errlen) != 0)
		return -1;
	mi = merchant_find(s, je.desc.merchant_id);
	if (mi >= 0 && s->merchants[mi].key_failed) {
		err[0] = '\0';   /* said on its first line */
		goto out;
	}
	if (mi < 0 && (mi = merchant_add(s, je.desc.merchant_id, err, errlen)) < 0)
		goto out;
	if (s->nevents == s->cap_events) {
		int cap = s->cap_events ? s->cap_events * 2 : 256;
		struct sub_event *grown = realloc(s->events, (size_t)cap * sizeof *grown);

		if (!grown) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		s->events = grown;
		s->cap_events = cap;
	}
	e = &s->events[s->nevents];
	memset(e, 0, sizeof *e);
	e->line = lineno;
	e->merchant = mi;
	e->envelope = pc_event_sign(&je.desc, s->merchants[mi].sk, s->merchants[mi].key_id,
	                            &e->envelope_len, NULL);
	if (!e->envelope) {
		snprintf(err, errlen, "cannot encode and sign the event");
		goto out;
	}
	if (e->envelope_len > PC_FRAME_MAX_BODY) {
		snprintf(err, errlen, "event is %zu bytes signed, more than a frame holds (%d)",
		         e->envelope_len, PC_FRAME_MAX_BODY);
		free(e->envelope);
		goto out;
	}
	if (!(e->event_id = strdup(je.desc.event_id)) ||
	    merchant_push_event(&s->merchants[mi], s->nevents) != 0) {
		snprintf(err, errlen, "out of memory");
		free(e->envelope);
		free(e->event_id);
		goto out;
	}
	s->nevents++;
	rc = 0;
out:
	jsonl_event_free(&je);
	return rc;
}

/* Reads every line; reports each bad one. 0, or -1 when any line was bad. */
static int read_input(struct submit *s, const char *file)
{
	FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	int64_t now = now_us();   /* one clock for the file: a repeated line repeats its bytes */
	char *line = NULL, err[512];
	size_t cap = 0;
	ssize_t len;
	uint64_t lineno = 0;
	int bad = 0;

	if (!f) {
		cli_fail(s->ctx, "cannot open %s: %s", file, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (strspn(line, " \t\r\n") == (size_t)len)
			continue;
		if (take_line(s, lineno, line, (size_t)len, now, err, sizeof err) != 0) {
			if (*err)
				cli_fail(s->ctx, "line %" PRIu64 ": %s", lineno, err);
			bad = 1;
		}
	}
	if (ferror(f)) {
		cli_fail(s->ctx, "reading %s: %s", file, strerror(errno));
		bad = 1;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	if (bad)
		return -1;
	if (s->nevents == 0) {
		cli_fail(s->ctx, "no events in %s", file);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ answers */

static const char *disposition_name(Pointclear__V1__Disposition d)
{
	switch (d) {
	case POINTCLEAR__V1__DISPOSITION__RECORDED:
		return "RECORDED";
	case POINTCLEAR__V1__DISPOSITION__REPLAYED:
		return "REPLAYED";
	case POINTCLEAR__V1__DISPOSITION__REJECTED:
		return "REJECTED";
	case POINTCLEAR__V1__DISPOSITION__RETRYABLE:
		return "RETRYABLE";
	default:
		return "UNSPECIFIED";
	}
}

static const char *status_name(Pointclear__V1__Status st)
{
	switch (st) {
	case POINTCLEAR__V1__STATUS__APPROVED:
		return "APPROVED";
	case POINTCLEAR__V1__STATUS__DECLINED:
		return "DECLINED";
	default:
		return "-";
	}
}

/* Formats the event's line from a SUBMIT_RESULT and marks it answered. */
static void answer_result(struct submit *s, struct sub_event *e, const uint8_t *body,
                          size_t body_len)
{
	const char *merchant = s->merchants[e->merchant].id;
	Pointclear__V1__SubmitResult *r = pc_submit_result_unpack(body, body_len);
	Pointclear__V1__ReceiptBody *rb = NULL;
	const char *bad = NULL, *msg;
	char seq[24] = "-", bal[24] = "-", avail[24] = "-", extra[48] = "";
	const char *status = "-";

	free(e->out);
	e->retryable = 0;
	e->state = EV_DONE;
	if (!r) {
		e->receipt_invalid = 1;
		e->out = xasprintf("%s %s BAD-ANSWER - - seq=- balance=- available=- "
		                   "SUBMIT_RESULT does not parse",
		                   merchant, e->event_id);
		return;
	}
	if (r->disposition == POINTCLEAR__V1__DISPOSITION__RECORDED ||
	    r->disposition == POINTCLEAR__V1__DISPOSITION__REPLAYED) {
		bad = pc_client_check_receipt(r, s->operator_pk, s->operator_key_id,
		                              &s->receipt_cache, s->alliance, merchant,
		                              e->event_id, e->envelope, e->envelope_len, &rb);
		if (rb && rb->decision) {
			status = status_name(rb->decision->status);
			snprintf(seq, sizeof seq, "%" PRIu64, rb->sequence);
			snprintf(bal, sizeof bal, "%" PRId64, rb->decision->balance);
			snprintf(avail, sizeof avail, "%" PRId64, rb->decision->available);
		}
	} else if (r->disposition == POINTCLEAR__V1__DISPOSITION__RETRYABLE) {
		e->retryable = 1;
		e->state = EV_WAITING;
	}
	/* proto3 cannot tell 0 from unset: for a conflict, 0 is the first entry */
	if (r->code == POINTCLEAR__V1__CODE__CONFLICT)
		snprintf(extra, sizeof extra, " (original seq %" PRIu64 ")", r->original_sequence);
	msg = r->message && *r->message ? r->message : pc_code_message(r->code);
	if (bad) {
		e->receipt_invalid = 1;
		fprintf(stderr, "pointclear: submit: RECEIPT-INVALID for %s/%s: %s\n", merchant,
		        e->event_id, bad);
		e->out = xasprintf("%s %s %s %s %s seq=%s balance=%s available=%s "
		                   "RECEIPT-INVALID (%s) %s%s",
		                   merchant, e->event_id, disposition_name(r->disposition), status,
		                   pc_code_name(r->code), seq, bal, avail, bad, msg, extra);
	} else {
		e->out = xasprintf("%s %s %s %s %s seq=%s balance=%s available=%s %s%s", merchant,
		                   e->event_id, disposition_name(r->disposition), status,
		                   pc_code_name(r->code), seq, bal, avail, msg, extra);
	}
	pc_receipt_body_free(rb);
	pc_submit_result_free(r);
}

/* A PROTOCOL_ERROR naming one of our requests is that request's answer. */
static void answer_protocol_error(struct submit *s, struct sub_event *e,
                                  const Pointclear__V1__ProtocolError *pe)
{
	free(e->out);
	e->state = EV_DONE;
	e->retryable = 0;
	e->out = xasprintf("%s %s PROTOCOL_ERROR - %s seq=- balance=- available=- %s",
	                   s->merchants[e->merchant].id, e->event_id,
	                   pe ? pc_code_name(pe->code) : "UNKNOWN",
	                   pe && *pe->message ? pe->message : "undecodable PROTOCOL_ERROR");
}

/* The event a request id names: ids are line numbers, events are in line order. */
static struct sub_event *event_by_line(struct submit *s, uint64_t line)
{
	int lo = 0, hi = s->nevents - 1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;

		if (s->events[mid].line == line)
			return &s->events[mid];
		if (s->events[mid].line < line)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/* ------------------------------------------------------------ one connection */

/* Handles one frame from the daemon. 1 if it answered one of our requests, 0 if
 * it did not, -1 if the daemon gave up on the connection. */
static int take_frame(struct submit *s, struct sub_merchant *m, uint8_t type, uint64_t id,
                      const uint8_t *body, size_t len)
{
	struct sub_event *e = event_by_line(s, id);
	int ours = e && e->state == EV_IN_FLIGHT && &s->merchants[e->merchant] == m;

	if (type == PC_MSG_SUBMIT_RESULT) {
		if (!ours) {
			fprintf(stderr, "pointclear: submit: %s: ignoring an answer to request %" PRIu64
			        " not in flight\n", m->id, id);
			return 0;
		}
		answer_result(s, e, body, len);
		return 1;
	}
	if (type == PC_MSG_PROTOCOL_ERROR) {
		Pointclear__V1__ProtocolError *pe = pc_protocol_error_unpack(body, len);

		if (ours) {
			answer_protocol_error(s, e, pe);
			pc_protocol_error_free(pe);
			return 1;
		}
		/* request id 0: the connection itself is refused, and closed */
		snprintf(m->last_error, sizeof m->last_error, "protocol error %s: %s",
		         pe ? pc_code_name(pe->code) : "UNKNOWN",
		         pe && *pe->message ? pe->message : "(no message)");
		pc_protocol_error_free(pe);
		return -1;
	}
	fprintf(stderr, "pointclear: submit: %s: ignoring a %s frame\n", m->id,
	        pc_msg_type_name(type));
	return 0;
}

/* Sends the waiting events of m, at most SUBMIT_WINDOW in flight, and reads the
 * answers as they come. Returns when all have an answer, or the connection
 * failed (-1, m->last_error says why; events still in flight go back to waiting). */
static int exchange(struct submit *s, struct sub_merchant *m, struct pc_client *c)
{
	int next = 0, in_flight = 0, send_failed = 0, rc = 0;

	for (;;) {
		while (!send_failed && in_flight < SUBMIT_WINDOW && next < m->nevents) {
			struct sub_event *e = &s->events[m->events[next++]];

			if (e->state != EV_WAITING)
				continue;
			if (pc_client_send_frame(c, PC_MSG_SUBMIT, e->line, e->envelope,
			                         e->envelope_len) != 0) {
				snprintf(m->last_error, sizeof m->last_error, "sending failed");
				/* answers already on their way may still be read */
				send_failed = 1;
				next--;
				break;
			}
			e->state = EV_IN_FLIGHT;
			in_flight++;
		}
		if (in_flight == 0)
			break;

		uint8_t type, *body = NULL;
		uint64_t id;
		size_t len;
		int r = pc_client_read_frame(c, &type, &id, &body, &len);

		if (r != 0) {
			snprintf(m->last_error, sizeof m->last_error, "%s",
			         r > 0 ? "connection closed by the daemon"
			               : "reading failed (timeout or bad frame)");
			rc = -1;
			break;
		}
		r = take_frame(s, m, type, id, body, len);
		free(body);
		if (r > 0)
			in_flight--;
		if (r < 0) {
			rc = -1;
			break;
		}
	}
	if (send_failed)
		rc = -1;
	for (int i = 0; i < m->nevents; i++) {
		struct sub_event *e = &s->events[m->events[i]];

		if (e->state == EV_IN_FLIGHT)
			e->state = EV_WAITING;
	}
	return rc;
}

static int waiting(const struct submit *s, const struct sub_merchant *m)
{
	int n = 0;

	for (int i = 0; i < m->nevents; i++)
		n += s->events[m->events[i]].state == EV_WAITING;
	return n;
}

/* All of one merchant's events: a first round and up to SUBMIT_RETRIES more for
 * those left RETRYABLE or unanswered, each on a working connection. */
static void run_merchant(struct submit *s, struct sub_merchant *m)
{
	struct pc_client_opts o = s->opts;
	char crt[HOME_PATH_MAX], key[HOME_PATH_MAX];
	struct pc_client *c = NULL;

	if (merchant_file(s, m->id, "client.crt", crt) != 0 ||
	    merchant_file(s, m->id, "client.key", key) != 0) {
		snprintf(m->last_error, sizeof m->last_error, "path too long");
		return;
	}
	o.cert_file = crt;
	o.key_file = key;
	for (int round = 0; round <= SUBMIT_RETRIES && waiting(s, m) > 0; round++) {
		if (round > 0) {
			struct timespec pause = {0, SUBMIT_RETRY_PAUSE_NS};

			nanosleep(&pause, NULL);
		}
		if (!c) {
			/* a failure is named on the lines of the events it leaves unanswered */
			c = pc_client_connect(&o, m->last_error, sizeof m->last_error);
			if (!c)
				continue;
		}
		if (exchange(s, m, c) != 0) {
			pc_client_close(c);
			c = NULL;
		}
	}
	pc_client_close(c);
}

/* ------------------------------------------------------------ the command */

static int load_operator_key(struct submit *s)
{
	char path[HOME_PATH_MAX], err[512];

	if (home_path(path, sizeof path, s->ctx->home, "operator/receipt.pub") != 0)
		return cli_fail(s->ctx, "home path too long");
	if (pc_load_public_key(path, s->operator_pk, err, sizeof err) != 0)
		return cli_fail(s->ctx, "%s", err);
	pc_key_id(s->operator_key_id, s->operator_pk);
	return 0;
}

static void submit_free(struct submit *s)
{
	for (int i = 0; i < s->nevents; i++) {
		free(s->events[i].event_id);
		free(s->events[i].envelope);
		free(s->events[i].out);
	}
	free(s->events);
	for (int i = 0; i < s->nmerchants; i++) {
		sodium_memzero(s->merchants[i].sk, sizeof s->merchants[i].sk);
		free(s->merchants[i].id);
		free(s->merchants[i].events);
	}
	free(s->merchants);
}

int cmd_submit(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'},
		{"merchant-dir", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct submit s = {.ctx = ctx};
	char host[256] = "127.0.0.1";
	int c, port = 7443, rc = 0, unanswered = 0, invalid = 0;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (pc_client_parse_server(optarg, host, sizeof host, &port) != 0)
				return cli_fail(ctx, "--server '%s' is not HOST:PORT", optarg);
			break;
		case 'm':
			s.merchant_dir = optarg;
			break;
		case 'h':
			return cli_usage(usage, 0);
		default:
			return cli_bad_option(ctx, c, argv, usage);
		}
	}
	if (argc - optind != 2)
		return cli_usage(usage, 2);
	s.alliance = argv[optind];
	if (!pc_id_valid(s.alliance))
		return cli_fail(ctx, "'%s' is not a valid alliance id", s.alliance);
	if (home_path(s.ca, sizeof s.ca, ctx->home, "tls/ca.crt") != 0)
		return cli_fail(ctx, "home path too long");
	s.opts.host = host;
	s.opts.port = port;
	s.opts.ca_file = s.ca;
	s.opts.timeout_ms = 10000;

	if (load_operator_key(&s) != 0 || read_input(&s, argv[optind + 1]) != 0) {
		submit_free(&s);
		return 1;
	}
	for (int i = 0; i < s.nmerchants; i++)
		run_merchant(&s, &s.merchants[i]);

	for (int i = 0; i < s.nevents; i++) {
		struct sub_event *e = &s.events[i];

		if (e->out) {
			puts(e->out);
		} else {
			printf("%s %s NO-ANSWER - - seq=- balance=- available=- %s\n",
			       s.merchants[e->merchant].id, e->event_id,
			       *s.merchants[e->merchant].last_error ? s.merchants[e->merchant].last_error
			                                            : "no answer");
			unanswered++;
		}
		invalid += e->receipt_invalid;
	}
	if (unanswered) {
		cli_fail(ctx, "%d of %d events got no answer", unanswered, s.nevents);
		rc = 1;
	}
	if (invalid) {
		cli_fail(ctx, "%d answers failed verification (RECEIPT-INVALID or BAD-ANSWER)",
		         invalid);
		rc = 1;
	}
	submit_free(&s);
	return rc;
}
