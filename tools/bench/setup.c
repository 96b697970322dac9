/* setup.c - the bench's own alliance, untimed: bench-<time>, its merchants (keys
 * and client certificates, made by `pointclear alliance create` and `merchant
 * add`, so that they are made as an operator makes them) and its members (one
 * INSERT ... generate_series). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "client.h"
#include "db.h"

static const char *const industries[] = {
	"grocery", "fuel", "pharmacy", "apparel", "electronics", "dining", "travel", "books",
	"cinema", "hardware", "coffee", "sports", "beauty", "toys", "telecom", "airline",
};
#define N_INDUSTRIES (sizeof industries / sizeof industries[0])

/* Runs `pointclear --db .. --home .. --admin-home .. args...` (args NULL-terminated). */
static int run_cli(struct bench *b, const char *const *args, char *out, size_t outlen)
{
	char *argv[24];
	char err[256];
	int n = 0, rc;

	argv[n++] = b->pointclear;
	argv[n++] = "--db";
	argv[n++] = (char *)b->o.db;
	argv[n++] = "--home";
	argv[n++] = (char *)b->o.home;
	argv[n++] = "--admin-home";
	argv[n++] = (char *)b->o.admin_home;
	for (int i = 0; args[i] && n < 23; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	rc = bench_run(argv, out, outlen, err, sizeof err);
	if (rc < 0)
		return bench_fail("%s", err);
	if (rc != 0)
		return bench_fail("`pointclear %s %s` failed (exit %d)", args[0], args[1], rc);
	return 0;
}

static int setup_members(struct bench *b)
{
	static const char sql[] =
		"INSERT INTO members (alliance_id, member_id)"
		" SELECT $1, $2 || lpad(g::text, 7, '0') FROM generate_series(1, $3::int) g";
	char count[24];
	const char *params[3] = {b->alliance, BENCH_MEMBER_PREFIX, count};
	struct db d = {0};
	int rc = 0;

	snprintf(count, sizeof count, "%d", b->o.members);
	if (db_open(&d, b->o.db) != 0)
		return bench_fail("%s", d.err);
	if (db_exec(&d, sql, 3, params) != 0)
		rc = bench_fail("enrolling members: %s", d.err);
	db_close(&d);
	return rc;
}

int bench_setup(struct bench *b)
{
	char name[128], out[256], err[512];
	int64_t t0 = bench_mono_us();
	const char *create[] = {"alliance", "create", b->alliance, "--name", name, NULL};

	snprintf(b->alliance, sizeof b->alliance, "bench-%lld", (long long)time(NULL));
	snprintf(name, sizeof name, "pointclear-bench %s", b->alliance);
	bench_progress("set-up: alliance %s, %d merchants, %d members", b->alliance,
	               b->o.merchants, b->o.members);
	if (run_cli(b, create, out, sizeof out) != 0)
		return 1;

	b->merchants = calloc((size_t)b->o.merchants, sizeof *b->merchants);
	if (!b->merchants)
		return bench_fail("out of memory");
	for (int m = 0; m < b->o.merchants; m++) {
		struct bench_merchant *bm = &b->merchants[m];
		char issue[32], path[BENCH_PATH_MAX + 256];
		const char *ind = industries[(size_t)m % N_INDUSTRIES];
		const char *add[] = {"merchant", "add", b->alliance, bm->id, "--name", name,
		                     "--industry", bm->industry, "--issue-price", issue,
		                     "--redeem-rate", "1/1", NULL};

		snprintf(bm->industry, sizeof bm->industry, "%s", ind);
		snprintf(bm->id, sizeof bm->id, "%s-%02d", ind, m + 1);
		snprintf(name, sizeof name, "%s store %d", ind, m + 1);
		/* issue price 1 to 3 minor units per point: settlement differs by merchant */
		snprintf(issue, sizeof issue, "%d/1", 1 + m % 3);
		if (run_cli(b, add, out, sizeof out) != 0)
			return 1;
		snprintf(path, sizeof path, "%s/alliances/%s/merchants/%s/sign.key", b->o.admin_home,
		         b->alliance, bm->id);
		if (pc_load_signing_key(path, bm->sk, bm->key_id, err, sizeof err) != 0)
			return bench_fail("%s", err);
		snprintf(bm->cert, sizeof bm->cert, "%s/alliances/%s/merchants/%s/client.crt",
		         b->o.admin_home, b->alliance, bm->id);
		snprintf(bm->key, sizeof bm->key, "%s/alliances/%s/merchants/%s/client.key",
		         b->o.admin_home, b->alliance, bm->id);
	}
	if (setup_members(b) != 0)
		return 1;
	bench_progress("set-up done in %.1f s", (double)(bench_mono_us() - t0) / 1e6);
	return 0;
}
