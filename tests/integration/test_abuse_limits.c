/* test_abuse_limits.c - one abusive client must not keep the others out, against
 * the real daemon over real TLS.
 *
 * Per address: an abuser on 127.0.0.2 opens 200 connections and never starts its
 * handshakes, reopening those the daemon cuts; the daemon keeps 16 of them
 * (--max-unauthenticated-per-address), refuses the rest at accept, and a merchant
 * on 127.0.0.1 still connects and is served, although the total of handshakes
 * allowed (64) is less than the abuser asked for. The refusals' log lines are
 * rate-limited, with a "suppressed" summary.
 *
 * Per merchant: with --max-connections-per-merchant 3, a fourth connection of
 * one merchant is answered TOO_MANY_CONNECTIONS and closed; another merchant is
 * served meanwhile, and once one of the three closes the merchant gets in again.
 *
 * Idle: with --idle-timeout-ms 1500, a silent connection is answered IDLE_TIMEOUT
 * and closed, while one that PINGs every 100 ms stays open.
 *
 * TLS failures: no client certificate, a certificate from an unknown CA and an
 * expired one (both made here with OpenSSL) are each logged with their reason.
 *
 * Memory: FLOOD connections (64, or $PC_FLOOD_CONNS) flood PINGs and never read.
 * The daemon stops reading each at its output watermark; its RSS before, during
 * and after is printed, and after they are gone it must fall below what it was
 * during the flood and come back near the baseline (malloc_trim). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pointclear/frame.h"

#include "harness.h"

#define RECORDED POINTCLEAR__V1__DISPOSITION__RECORDED
#define APPROVED POINTCLEAR__V1__STATUS__APPROVED
#define C(x) POINTCLEAR__V1__CODE__##x

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Restarts the daemon with these arguments (NULL-terminated) besides the setup's. */
static void restart_with(struct harness *h, const char *const *args)
{
	int i = 0;
	for (; args[i] && i < HARNESS_MAX_ARGS - 1; i++)
		h->opts.daemon_args[i] = args[i];
	for (; i < HARNESS_MAX_ARGS; i++)
		h->opts.daemon_args[i] = NULL;
	harness_restart_daemon(h);
}

struct needle {
	const char *text;
	int at_least;
};

static bool log_has(struct harness *h, void *arg)
{
	const struct needle *n = arg;
	return harness_log_count(h, n->text) >= n->at_least;
}

static void wait_log(struct harness *h, const char *text, int at_least)
{
	struct needle n = { text, at_least };
	if (!harness_wait_until(h, 30000, log_has, &n))
		harness_fail(h, "the daemon never logged \"%s\" (%d times)", text, at_least);
}

static void submit_ok(struct harness *h, struct pc_client *c, const char *merchant,
                      const char *event_id)
{
	char err[256], member[16];
	size_t len;
	uint8_t *env = harness_signed_earn(h, merchant, event_id, harness_member(1, member), 5, &len);
	struct harness_result r = {0};
	if (harness_submit_on(c, harness_request_id(h), env, len, &r, err, sizeof err) != 0)
		harness_fail(h, "%s's event %s: %s", merchant, event_id, err);
	free(env);
	harness_expect(h, &r, RECORDED, 0, APPROVED);
	harness_result_free(&r);
}

/* One PING, its PONG: 0; or the code of a PROTOCOL_ERROR; or -1 on EOF/error. */
static int ping(struct pc_client *c, uint64_t rid)
{
	if (pc_client_send_frame(c, PC_MSG_PING, rid, NULL, 0) != 0)
		return -1;
	struct harness_result r = {0};
	if (harness_read_answer(c, &r) != 0)
		return -1;
	int rc = r.type == PC_MSG_PONG && r.request_id == rid ? 0
	       : r.type == PC_MSG_PROTOCOL_ERROR ? r.code : -1;
	harness_result_free(&r);
	return rc;
}

/* The next frame is a PROTOCOL_ERROR with code, then the daemon closes. */
static void expect_error_then_close(struct harness *h, struct pc_client *c, int code,
                                    const char *what)
{
	struct harness_result r = {0};
	int rc = harness_read_answer(c, &r);
	if (rc != 0 || r.type != PC_MSG_PROTOCOL_ERROR || r.code != code)
		harness_fail(h, "%s: wanted PROTOCOL_ERROR %d, got rc=%d type=0x%02x code=%d", what,
		             code, rc, r.type, r.code);
	harness_result_free(&r);
	memset(&r, 0, sizeof r);
	rc = harness_read_answer(c, &r);
	harness_result_free(&r);
	if (rc != 1)
		harness_fail(h, "%s: the daemon did not close the connection (rc=%d)", what, rc);
}

/* ---------------------------------------------------------------- per address */

#define ABUSE_CONNS 200
#define PER_ADDRESS 16

/* A TCP connection from src to the daemon that never speaks: a stalled handshake. */
static int stalled_from(struct harness *h, const char *src)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		harness_fail(h, "socket: %s", strerror(errno));
	struct sockaddr_in a = { .sin_family = AF_INET };
	inet_pton(AF_INET, src, &a.sin_addr);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
		harness_fail(h, "bind to %s: %s", src, strerror(errno));
	struct sockaddr_in d = { .sin_family = AF_INET, .sin_port = htons((uint16_t)h->port) };
	d.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&d, sizeof d) != 0)
		harness_fail(h, "connect from %s: %s", src, strerror(errno));
	return fd;
}

/* True when the daemon has closed fd (EOF or reset seen). */
static bool cut(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 0) <= 0)
		return false;
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

struct abuser {
	int fd[ABUSE_CONNS];
};

static int count_cut(struct abuser *a)
{
	int n = 0;
	for (int i = 0; i < ABUSE_CONNS; i++)
		n += cut(a->fd[i]);
	return n;
}

static bool all_but_limit_cut(struct harness *h, void *arg)
{
	(void)h;
	return count_cut(arg) >= ABUSE_CONNS - PER_ADDRESS;
}

static void test_per_address(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	static const char *const args[] = {
		"--max-unauthenticated", "64", "--max-unauthenticated-per-address", "16",
		"--handshake-timeout-ms", "120000", NULL };
	restart_with(h, args);

	struct abuser a;
	for (int i = 0; i < ABUSE_CONNS; i++)
		a.fd[i] = stalled_from(h, "127.0.0.2");
	/* all but its 16 are closed at accept */
	if (!harness_wait_until(h, 30000, all_but_limit_cut, &a))
		harness_fail(h, "only %d of the abuser's %d connections were cut", count_cut(&a),
		             ABUSE_CONNS);
	wait_log(h, "reason=per_address_limit", 1);

	/* it reopens what was cut, twice over, and a merchant connects meanwhile */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < ABUSE_CONNS; i++) {
			if (cut(a.fd[i])) {
				close(a.fd[i]);
				a.fd[i] = stalled_from(h, "127.0.0.2");
			}
		}
		if (!harness_wait_until(h, 30000, all_but_limit_cut, &a))
			harness_fail(h, "round %d: only %d of the abuser's connections were cut", round,
			             count_cut(&a));
		struct pc_client *c = harness_connect(h, "cafe");
		char id[32];
		snprintf(id, sizeof id, "addr-%d", round);
		submit_ok(h, c, "cafe", id);
		pc_client_close(c);
	}
	int64_t refused = harness_log_count(h, "reason=per_address_limit");
	print_message("abuser: %d of %d connections held in the handshake; %" PRId64 " refusals "
	              "logged one by one, %d \"suppressed\" summaries so far\n",
	              ABUSE_CONNS - count_cut(&a), ABUSE_CONNS, refused,
	              harness_log_count(h, "log suppressed="));
	assert_true(ABUSE_CONNS - count_cut(&a) <= PER_ADDRESS);
	/* 3 x 184 refusals in bursts: most of them are not logged one by one */
	if (refused >= 3 * (ABUSE_CONNS - PER_ADDRESS))
		harness_fail(h, "every refusal was logged (%" PRId64 "): no rate limit", refused);
	wait_log(h, "log suppressed=", 1);
	for (int i = 0; i < ABUSE_CONNS; i++)
		close(a.fd[i]);
}

/* ---------------------------------------------------------------- per merchant */

struct regain {
	struct pc_client *c;
};

/* A new connection of cafe that gets a PONG (its place freed); false while the
 * daemon still counts the closed one. */
static bool cafe_gets_in(struct harness *h, void *arg)
{
	struct regain *g = arg;
	struct harness_merchant *m = harness_merchant(h, "cafe");
	char err[256];
	struct pc_client *c = harness_connect_raw(h, m->cert, m->key, 10000, err, sizeof err);
	if (!c)
		return false;
	if (ping(c, 77) == 0) {
		g->c = c;
		return true;
	}
	pc_client_close(c);
	return false;
}

static void test_per_merchant(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	static const char *const args[] = { "--max-connections-per-merchant", "3", NULL };
	restart_with(h, args);

	struct pc_client *cafe[3];
	for (int i = 0; i < 3; i++) {
		cafe[i] = harness_connect(h, "cafe");
		assert_int_equal(ping(cafe[i], 1), 0);
	}
	struct pc_client *extra = harness_connect(h, "cafe");
	expect_error_then_close(h, extra, C(TOO_MANY_CONNECTIONS), "cafe's fourth connection");
	pc_client_close(extra);
	wait_log(h, "protocol_error=TOO_MANY_CONNECTIONS", 1);

	/* the others are unaffected: cafe's three and another merchant */
	struct pc_client *gym = harness_connect(h, "gym");
	submit_ok(h, gym, "gym", "merchant-gym-1");
	for (int i = 0; i < 3; i++)
		assert_int_equal(ping(cafe[i], 2), 0);
	submit_ok(h, cafe[0], "cafe", "merchant-cafe-1");

	/* one of the three goes: cafe may connect again */
	pc_client_close(cafe[2]);
	struct regain g = { NULL };
	if (!harness_wait_until(h, 30000, cafe_gets_in, &g))
		harness_fail(h, "cafe could not connect again after closing one of its three");
	submit_ok(h, g.c, "cafe", "merchant-cafe-2");
	pc_client_close(g.c);
	pc_client_close(cafe[0]);
	pc_client_close(cafe[1]);
	pc_client_close(gym);
}

/* ---------------------------------------------------------------- idle */

static void test_idle_timeout(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	static const char *const args[] = { "--idle-timeout-ms", "1500", NULL };
	restart_with(h, args);

	struct harness_merchant *m = harness_merchant(h, "cafe");
	char err[256];
	struct pc_client *quiet = harness_connect_raw(h, m->cert, m->key, 60000, err, sizeof err);
	struct pc_client *alive = harness_connect_raw(h, m->cert, m->key, 60000, err, sizeof err);
	if (!quiet || !alive)
		harness_fail(h, "connect: %s", err);
	submit_ok(h, quiet, "cafe", "idle-1");

	/* PING every 100 ms for three idle timeouts: a keep-alive keeps it open */
	int64_t until = mono_ms() + 4500;
	uint64_t rid = 1;
	while (mono_ms() < until) {
		if (ping(alive, rid++) != 0)
			harness_fail(h, "a connection sending PING every 100 ms was closed after %" PRIu64
			             " of them", rid - 1);
		harness_sleep_ms(100);
	}
	/* the silent one was told, then closed */
	expect_error_then_close(h, quiet, C(IDLE_TIMEOUT), "the idle connection");
	wait_log(h, "protocol_error=IDLE_TIMEOUT", 1);
	assert_int_equal(ping(alive, rid), 0);
	pc_client_close(quiet);
	pc_client_close(alive);
}

/* ---------------------------------------------------------------- TLS reasons */

static EVP_PKEY *p256(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	assert_non_null(k);
	return k;
}

/* A certificate O=org, CN=cn for key, valid from now+from_s to now+to_s, issued
 * by issuer (NULL: self-signed, a CA). */
static X509 *make_cert(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key, const char *org,
                       const char *cn, long from_s, long to_s)
{
	X509 *x = X509_new();
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(mono_ms() & 0x7fffffff));
	X509_gmtime_adj(X509_getm_notBefore(x), from_s);
	X509_gmtime_adj(X509_getm_notAfter(x), to_s);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)org, -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
	                                        issuer ? "critical,CA:FALSE" : "critical,CA:TRUE");
	assert_non_null(e);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	return x;
}

static void write_pem(struct harness *h, const char *name, X509 *x, EVP_PKEY *k, char *path,
                      size_t len)
{
	snprintf(path, len, "%s/%s", h->tmp, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	if (x)
		assert_int_equal(PEM_write_X509(f, x), 1);
	else
		assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
}

static void *read_pem(const char *path, bool cert)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	void *v = cert ? (void *)PEM_read_X509(f, NULL, NULL, NULL)
	               : (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(v);
	return v;
}

/* Connects with cert/key (NULL: none) and tries to use the connection; the daemon
 * must then log "reason=<reason>". */
static void refused_with(struct harness *h, const char *cert, const char *key,
                         const char *reason)
{
	char needle[64], err[256];
	snprintf(needle, sizeof needle, "tls handshake failed reason=%s", reason);
	int before = harness_log_count(h, needle);
	struct pc_client *c = harness_connect_raw(h, cert, key, 10000, err, sizeof err);
	if (c) {   /* TLS 1.3: the client learns of the refusal on its next read */
		if (ping(c, 1) == 0)
			harness_fail(h, "a client refused for %s was answered", reason);
		pc_client_close(c);
	}
	wait_log(h, needle, before + 1);
}

static void test_tls_reasons(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	static const char *const args[] = { NULL };
	restart_with(h, args);

	refused_with(h, NULL, NULL, "no_certificate");

	/* a cafe certificate from a CA nobody here knows */
	EVP_PKEY *rogue_key = p256(), *leaf_key = p256();
	X509 *rogue = make_cert(NULL, rogue_key, rogue_key, HARNESS_ALLIANCE, "rogue ca", -60, 86400);
	X509 *leaf = make_cert(rogue, rogue_key, leaf_key, HARNESS_ALLIANCE, "cafe", -60, 86400);
	char crt[256], key[256];
	write_pem(h, "rogue-leaf.crt", leaf, NULL, crt, sizeof crt);
	write_pem(h, "leaf.key", NULL, leaf_key, key, sizeof key);
	refused_with(h, crt, key, "unknown_ca");
	X509_free(leaf);
	X509_free(rogue);
	EVP_PKEY_free(rogue_key);

	/* the alliance's own CA, but expired yesterday */
	char ca_crt[256], ca_key[256];
	snprintf(ca_crt, sizeof ca_crt, "%s-admin/alliances/%s/ca.crt", h->home, HARNESS_ALLIANCE);
	snprintf(ca_key, sizeof ca_key, "%s-admin/alliances/%s/ca.key", h->home, HARNESS_ALLIANCE);
	X509 *ca = read_pem(ca_crt, true);
	EVP_PKEY *cak = read_pem(ca_key, false);
	X509 *old = make_cert(ca, cak, leaf_key, HARNESS_ALLIANCE, "cafe", -2 * 86400, -86400);
	write_pem(h, "expired.crt", old, NULL, crt, sizeof crt);
	refused_with(h, crt, key, "expired_certificate");
	X509_free(old);
	X509_free(ca);
	EVP_PKEY_free(cak);
	EVP_PKEY_free(leaf_key);

	/* and the merchant's own certificate still works */
	struct pc_client *c = harness_connect(h, "cafe");
	assert_int_equal(ping(c, 9), 0);
	pc_client_close(c);
}

/* ---------------------------------------------------------------- PING flood */

#define FLOOD_DEFAULT 64
#define FLOOD_TOPUP 65536        /* PING bytes queued per connection at a time */
#define SAMPLE_MS 500
#define STILL_SAMPLES 6          /* no byte taken for this many samples: all paused */

static bool rss_fell(struct harness *h, void *arg)
{
	const int64_t *limit = arg;
	return harness_daemon_rss_kb(h) <= *limit;
}

static void test_ping_flood_memory(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	static const char *const args[] = { NULL };
	restart_with(h, args);
	int nflood = FLOOD_DEFAULT;
	const char *env = getenv("PC_FLOOD_CONNS");
	if (env && atoi(env) > 0)
		nflood = atoi(env);

	struct pc_client *warm = harness_connect(h, "cafe");
	submit_ok(h, warm, "cafe", "flood-warm");
	pc_client_close(warm);
	int64_t before = harness_daemon_rss_kb(h);
	int errors_before = harness_log_count(h, "protocol_error=");

	struct harness_nb **nb = calloc((size_t)nflood, sizeof *nb);
	assert_non_null(nb);
	char err[256];
	for (int i = 0; i < nflood; i++) {
		const char *m = harness_merchant_ids[i % h->nmerchants];
		nb[i] = harness_nb_connect(h, m, 4096, err, sizeof err);
		if (!nb[i])
			harness_fail(h, "flooder %d (%s): %s", i, m, err);
	}

	/* flood, never read, until no connection takes another byte: the daemon has
	 * stopped reading every one of them */
	int64_t next = mono_ms() + SAMPLE_MS, deadline = mono_ms() + 600000;
	size_t total = 0, total_then = 0;
	int still = 0;
	int64_t during = before;
	while (still < STILL_SAMPLES) {
		if (mono_ms() > deadline)
			harness_fail(h, "the flooders were still being read after 600 s");
		for (int i = 0; i < nflood; i++) {
			if (harness_nb_unsent(nb[i]) < FLOOD_TOPUP / 2)
				for (int k = 0; k < FLOOD_TOPUP / PC_FRAME_HEADER_SIZE; k++)
					harness_nb_queue(nb[i], PC_MSG_PING, (uint64_t)k + 1, NULL, 0);
			size_t moved;
			if (harness_nb_pump(nb[i], false, 0, &moved, err, sizeof err) != 0)
				harness_fail(h, "flooder %d: %s", i, err);
			total += moved;
		}
		if (mono_ms() < next) {
			harness_sleep_ms(5);
			continue;
		}
		next = mono_ms() + SAMPLE_MS;
		int64_t rss = harness_daemon_rss_kb(h);
		during = rss > during ? rss : during;
		still = total == total_then ? still + 1 : 0;
		total_then = total;
	}
	print_message("flood: %d connections sent %zu bytes of PING (%zu each) and read nothing\n",
	              nflood, total, total / (size_t)nflood);
	if (harness_log_count(h, "protocol_error=") > errors_before)
		harness_fail(h, "a flooder was answered a protocol error");

	for (int i = 0; i < nflood; i++)
		harness_nb_close(nb[i]);
	free(nb);
	/* the daemon sees them go, frees them, and trims the heap: RSS falls back to
	 * within half the flood's growth of the baseline (or 64 MiB of it) */
	int64_t growth = during - before;
	int64_t limit = before + (growth / 2 > 64 * 1024 ? growth / 2 : 64 * 1024);
	bool fell = harness_wait_until(h, 60000, rss_fell, &limit);
	int64_t after = harness_daemon_rss_kb(h);
	print_message("daemon RSS: before %" PRId64 " KiB, during %" PRId64 " KiB (%" PRId64
	              " KiB per flooder), after %" PRId64 " KiB\n", before, during,
	              growth / nflood, after);
	if (!fell)
		harness_fail(h, "RSS stayed at %" PRId64 " KiB after the flood (before %" PRId64
		             ", during %" PRId64 ")", after, before, during);
	assert_true(after < during || growth == 0);

	/* and the daemon still serves */
	struct pc_client *c = harness_connect(h, "gym");
	submit_ok(h, c, "gym", "flood-after");
	pc_client_close(c);
}

static int setup(void **state)
{
	/* as in test_backpressure: a small ASan quarantine, so that RSS shows memory
	 * held rather than memory recently freed */
	const char *asan = getenv("ASAN_OPTIONS");
	char opts[1024];
	snprintf(opts, sizeof opts, "%s%squarantine_size_mb=16", asan ? asan : "",
	         asan && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	struct harness_opts o = { .name = "abuse_limits", .merchants = 8, .members = 10 };
	*state = harness_new(&o);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	return harness_free(HARNESS_STATE(state));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_address),
		cmocka_unit_test(test_per_merchant),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_tls_reasons),
		cmocka_unit_test(test_ping_flood_memory),
	};
	return cmocka_run_group_tests_name("integration.abuse_limits", tests, setup, teardown);
}
