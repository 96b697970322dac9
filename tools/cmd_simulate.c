/* cmd_simulate.c - `pointclear simulate`: a realistic, reproducible workload.
 *
 * Writes JSON lines in the form `pointclear submit` reads (docs/CLI.md) to stdout:
 * earns at every merchant, redemptions (some beyond the member's balance, so
 * declined), holds later captured (mostly in part) or voided, partial and full
 * reversals (of earns too, so a balance can go below zero), referrals and
 * purchases, some presenting the referral code a touch handed out.
 *
 * It needs no daemon, and the database only for the alliance's member ids (or
 * none, given a list of them: sim_members.c): it keeps its own estimate of each
 * member's spendable points to decide what to ask for, and the daemon decides
 * what actually happens. The same arguments, member ids and seed always give the
 * same lines: the generator is a splitmix64 of our own, never rand(). */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "sim_members.h"

static const char simulate_usage[] =
	"usage: pointclear simulate ALLIANCE --merchants M1,M2,... [--members-file FILE]\n"
	"           [--members N] [--events N] [--seed S] [--currency CUR]\n"
	"\n"
	"Writes N events (default 1000) as JSON lines for `pointclear submit` to stdout:\n"
	"earns, redemptions (some declined), holds captured or voided, reversals,\n"
	"referrals and purchases, at the given merchants, among the alliance's members\n"
	"(read from the database) or those listed in FILE (one id per line, as\n"
	"`member add --count N --out FILE` writes). The same member ids and seed\n"
	"(default 1) give the same lines.\n"
	"  --members N      only the first N ids (in byte order)\n"
	"  --currency CUR   currency of purchases (default EUR, the alliance's)\n";

#define SIM_MAX_MERCHANTS 64
#define SIM_ID_LEN 40

/* ---------------------------------------------------------------- randomness */

struct sim_rng {
	uint64_t state;
};

static uint64_t sim_next(struct sim_rng *r)
{
	uint64_t z = (r->state += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0, without modulo bias. */
static uint64_t sim_below(struct sim_rng *r, uint64_t n)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;
	do
		x = sim_next(r);
	while (x >= limit);
	return x % n;
}

/* Uniform in [lo, hi]. */
static int64_t sim_range(struct sim_rng *r, int64_t lo, int64_t hi)
{
	return lo + (int64_t)sim_below(r, (uint64_t)(hi - lo) + 1);
}

static bool sim_chance(struct sim_rng *r, unsigned percent)
{
	return sim_below(r, 100) < percent;
}

/* ---------------------------------------------------------------- state */

enum sim_kind { SIM_EARN = 1, SIM_REDEEM = 2, SIM_CAPTURE = 4, SIM_PURCHASE = 8 };

/* An approved-looking event that a reversal may refer to. */
struct sim_reversible {
	int merchant;
	int member;
	enum sim_kind kind;
	int64_t remaining;
	char id[SIM_ID_LEN];
};

struct sim_hold {
	int merchant;
	int member;
	int64_t points;
	char id[SIM_ID_LEN];
};

struct sim {
	struct sim_rng rng;
	struct sim_members members;
	const char *currency;
	int nmembers;
	int nmerchants;
	char *merchants[SIM_MAX_MERCHANTS];
	int64_t *spendable;          /* our estimate per member */
	int *last_referrer;          /* per member: index+1 of a merchant with a code, or 0 */
	struct sim_reversible *rev;
	size_t nrev, caprev;
	struct sim_hold *holds;
	size_t nholds, capholds;
	uint64_t seed;
	long serial;
	long events, event_index;
	FILE *out;
};

static void *sim_grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	size_t ncap = *cap ? *cap * 2 : 64;
	void *q = realloc(p, ncap * size);
	if (!q) {
		fprintf(stderr, "pointclear: simulate: out of memory\n");
		exit(1);
	}
	*cap = ncap;
	return q;
}

/* Members are skewed: a fifth of them see about half the traffic. */
static int sim_member(struct sim *s)
{
	int hot = s->nmembers / 5;
	if (hot > 0 && sim_chance(&s->rng, 50))
		return (int)sim_below(&s->rng, (uint64_t)hot);
	return (int)sim_below(&s->rng, (uint64_t)s->nmembers);
}

static int sim_merchant(struct sim *s)
{
	return (int)sim_below(&s->rng, (uint64_t)s->nmerchants);
}

static void sim_new_id(struct sim *s, char id[SIM_ID_LEN])
{
	snprintf(id, SIM_ID_LEN, "sim%" PRIu64 "-%06ld", s->seed, ++s->serial);
}

/* Writes a JSON string; our identifiers need no escaping but the function does. */
static void sim_json_str(FILE *out, const char *v)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

/* Opens an event's line with the common fields; the caller adds the rest and
 * closes it with sim_end. */
static void sim_begin(struct sim *s, int merchant, const char *id, const char *kind)
{
	FILE *out = s->out;
	/* events spread over the last hour, in order, well inside the time window */
	long back = (s->events - s->event_index) * 3600L / (s->events > 0 ? s->events : 1);
	fputs("{\"merchant\":", out);
	sim_json_str(out, s->merchants[merchant]);
	fputs(",\"event_id\":", out);
	sim_json_str(out, id);
	fputs(",\"kind\":", out);
	sim_json_str(out, kind);
	fprintf(out, ",\"store\":\"store-%d\",\"terminal\":\"pos-%d\",\"time_offset_s\":%ld",
	        1 + merchant % 3, 1 + (int)sim_below(&s->rng, 4), -back);
}

static void sim_member_field(struct sim *s, const char *key, int member)
{
	fprintf(s->out, ",\"%s\":", key);
	sim_json_str(s->out, s->members.ids[member]);
}

static void sim_end(struct sim *s)
{
	fputs("}\n", s->out);
}

static void sim_add_reversible(struct sim *s, int merchant, int member, enum sim_kind kind,
                               int64_t amount, const char *id)
{
	s->rev = sim_grow(s->rev, &s->caprev, s->nrev, sizeof *s->rev);
	struct sim_reversible *r = &s->rev[s->nrev++];
	r->merchant = merchant;
	r->member = member;
	r->kind = kind;
	r->remaining = amount;
	snprintf(r->id, sizeof r->id, "%s", id);
}

/* ---------------------------------------------------------------- event kinds */

static void sim_earn(struct sim *s)
{
	static const char *const reasons[] = {"purchase", "promo:double-points", "birthday",
	                                      "welcome", "visit"};
	char id[SIM_ID_LEN];
	int m = sim_merchant(s), mem = sim_member(s);
	/* mostly small amounts, now and then a big one */
	int64_t pts = sim_chance(&s->rng, 90) ? sim_range(&s->rng, 5, 150)
	                                      : sim_range(&s->rng, 200, 1500);
	sim_new_id(s, id);
	sim_begin(s, m, id, "earn");
	sim_member_field(s, "member", mem);
	fprintf(s->out, ",\"points\":%" PRId64 ",\"reason\":", pts);
	sim_json_str(s->out, reasons[sim_below(&s->rng, sizeof reasons / sizeof reasons[0])]);
	sim_end(s);
	s->spendable[mem] += pts;
	sim_add_reversible(s, m, mem, SIM_EARN, pts, id);
}

static void sim_redeem(struct sim *s)
{
	char id[SIM_ID_LEN];
	int m = sim_merchant(s), mem = sim_member(s);
	int64_t have = s->spendable[mem];
	int64_t pts;
	bool fits = have > 0 && sim_chance(&s->rng, 80);
	if (fits)
		pts = sim_range(&s->rng, 1, have < 400 ? have : 400);
	else
		pts = (have > 0 ? have : 0) + sim_range(&s->rng, 1, 200);   /* declined */
	sim_new_id(s, id);
	sim_begin(s, m, id, "redeem");
	sim_member_field(s, "member", mem);
	fprintf(s->out, ",\"points\":%" PRId64 ",\"reason\":\"reward\"", pts);
	sim_end(s);
	if (fits) {
		s->spendable[mem] -= pts;
		sim_add_reversible(s, m, mem, SIM_REDEEM, pts, id);
	}
}

static void sim_hold(struct sim *s)
{
	char id[SIM_ID_LEN];
	int m = sim_merchant(s), mem = sim_member(s);
	int64_t have = s->spendable[mem];
	if (have <= 0) {   /* nothing to hold: an earn instead keeps the mix going */
		sim_earn(s);
		return;
	}
	int64_t pts = sim_range(&s->rng, 1, have < 300 ? have : 300);
	sim_new_id(s, id);
	sim_begin(s, m, id, "hold");
	sim_member_field(s, "member", mem);
	fprintf(s->out, ",\"points\":%" PRId64 ",\"duration_s\":%d", pts,
	        (int)sim_range(&s->rng, 5, 30) * 60);
	sim_end(s);
	s->spendable[mem] -= pts;
	s->holds = sim_grow(s->holds, &s->capholds, s->nholds, sizeof *s->holds);
	struct sim_hold *hd = &s->holds[s->nholds++];
	hd->merchant = m;
	hd->member = mem;
	hd->points = pts;
	snprintf(hd->id, sizeof hd->id, "%s", id);
}

/* Captures (mostly in part) or voids one open hold, by its event id. */
static void sim_resolve_hold(struct sim *s)
{
	char id[SIM_ID_LEN];
	size_t i = (size_t)sim_below(&s->rng, s->nholds);
	struct sim_hold hd = s->holds[i];
	s->holds[i] = s->holds[--s->nholds];
	s->spendable[hd.member] += hd.points;   /* released, then maybe taken */
	sim_new_id(s, id);
	if (sim_chance(&s->rng, 65)) {
		int64_t pts;
		if (sim_chance(&s->rng, 4))
			pts = hd.points + sim_range(&s->rng, 1, 50);   /* HOLD_EXCEEDED */
		else if (sim_chance(&s->rng, 30))
			pts = hd.points;
		else
			pts = hd.points > 1 ? sim_range(&s->rng, (hd.points + 1) / 2, hd.points) : 1;
		sim_begin(s, hd.merchant, id, "capture");
		fputs(",\"hold\":", s->out);
		sim_json_str(s->out, hd.id);
		fprintf(s->out, ",\"points\":%" PRId64, pts);
		sim_end(s);
		if (pts <= hd.points) {
			s->spendable[hd.member] -= pts;
			sim_add_reversible(s, hd.merchant, hd.member, SIM_CAPTURE, pts, id);
		}
	} else {
		sim_begin(s, hd.merchant, id, "void");
		fputs(",\"hold\":", s->out);
		sim_json_str(s->out, hd.id);
		sim_end(s);
	}
}

/* Refunds all or part of an earlier event, sent by the merchant that made it. */
static void sim_reversal(struct sim *s)
{
	char id[SIM_ID_LEN];
	struct sim_reversible *r = NULL;
	for (int tries = 0; tries < 8 && !r; tries++) {
		struct sim_reversible *c = &s->rev[sim_below(&s->rng, s->nrev)];
		if (c->remaining > 0)
			r = c;
	}
	if (!r) {
		sim_earn(s);
		return;
	}
	int64_t amount;
	if (sim_chance(&s->rng, 3))
		amount = r->remaining + sim_range(&s->rng, 1, 20);   /* exceeds what remains */
	else if (r->remaining == 1 || sim_chance(&s->rng, 45))
		amount = r->remaining;                                 /* full refund */
	else
		amount = sim_range(&s->rng, 1, r->remaining - 1);     /* partial */
	sim_new_id(s, id);
	sim_begin(s, r->merchant, id, "reversal");
	fputs(",\"original\":", s->out);
	sim_json_str(s->out, r->id);
	fprintf(s->out, ",\"amount\":%" PRId64 ",\"reason\":\"%s\"", amount,
	        amount == r->remaining ? "refund" : "partial-refund");
	sim_end(s);
	if (amount > r->remaining)
		return;
	r->remaining -= amount;
	if (r->kind == SIM_EARN)
		s->spendable[r->member] -= amount;   /* may go below zero: points owed */
	else if (r->kind == SIM_REDEEM || r->kind == SIM_CAPTURE)
		s->spendable[r->member] += amount;
}

static void sim_referral(struct sim *s)
{
	static const char *const channels[] = {"coupon", "link", "qr"};
	char id[SIM_ID_LEN], code[SIM_ID_LEN];
	int m = sim_merchant(s), mem = sim_member(s);
	int beneficiary = s->nmerchants > 1 ? (m + 1 + (int)sim_below(&s->rng,
	                  (uint64_t)s->nmerchants - 1)) % s->nmerchants : -1;
	bool alliance_wide = beneficiary < 0 || sim_chance(&s->rng, 20);
	sim_new_id(s, id);
	snprintf(code, sizeof code, "R-%s-%06d", s->merchants[m], mem + 1);
	sim_begin(s, m, id, "referral");
	sim_member_field(s, "member", mem);
	if (!alliance_wide) {
		fputs(",\"beneficiary\":", s->out);
		sim_json_str(s->out, s->merchants[beneficiary]);
	}
	fputs(",\"channel\":", s->out);
	sim_json_str(s->out, channels[sim_below(&s->rng, 3)]);
	fprintf(s->out, ",\"campaign\":\"spring-%d\",\"code\":", 1 + (int)sim_below(&s->rng, 3));
	sim_json_str(s->out, code);
	sim_end(s);
	s->last_referrer[mem] = m + 1;
}

static void sim_purchase(struct sim *s)
{
	char id[SIM_ID_LEN];
	int m = sim_merchant(s), mem = sim_member(s);
	int64_t amount = sim_range(&s->rng, 300, 25000);
	sim_new_id(s, id);
	sim_begin(s, m, id, "purchase");
	sim_member_field(s, "member", mem);
	fprintf(s->out, ",\"amount_minor\":%" PRId64 ",\"currency\":", amount);
	sim_json_str(s->out, s->currency);
	if (s->last_referrer[mem] && sim_chance(&s->rng, 50)) {
		fprintf(s->out, ",\"code\":\"R-%s-%06d\"", s->merchants[s->last_referrer[mem] - 1],
		        mem + 1);
	}
	sim_end(s);
	sim_add_reversible(s, m, mem, SIM_PURCHASE, amount, id);
}

static void sim_one(struct sim *s)
{
	unsigned r = (unsigned)sim_below(&s->rng, 100);
	if (r < 10 && s->nholds > 0)
		sim_resolve_hold(s);
	else if (r < 44)
		sim_earn(s);
	else if (r < 62)
		sim_redeem(s);
	else if (r < 70)
		sim_hold(s);
	else if (r < 78 && s->nrev > 0)
		sim_reversal(s);
	else if (r < 89)
		sim_referral(s);
	else
		sim_purchase(s);
}

/* ---------------------------------------------------------------- command */

static int sim_parse_merchants(struct sim *s, struct pc_cli *ctx, char *list)
{
	for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!*tok)
			continue;
		if (s->nmerchants == SIM_MAX_MERCHANTS)
			return cli_fail(ctx, "at most %d merchants", SIM_MAX_MERCHANTS);
		s->merchants[s->nmerchants++] = tok;
	}
	if (s->nmerchants == 0)
		return cli_fail(ctx, "--merchants names no merchant");
	return 0;
}

int cmd_simulate(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"merchants", required_argument, NULL, 'M'},
		{"members", required_argument, NULL, 'n'},
		{"members-file", required_argument, NULL, 'f'},
		{"events", required_argument, NULL, 'e'},
		{"seed", required_argument, NULL, 's'},
		{"currency", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct sim s = {.currency = "EUR", .events = 1000, .seed = 1, .out = stdout};
	const char *members_file = NULL;
	char *merchants = NULL;
	int max_members = 0;
	int64_t v;
	int c, rc = 0;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'M':
			merchants = optarg;
			break;
		case 'n':
			if (cli_parse_i64(optarg, 1, 9999999, &v) != 0)
				return cli_fail(ctx, "--members: a number from 1 to 9999999");
			max_members = (int)v;
			break;
		case 'f':
			members_file = optarg;
			break;
		case 'e':
			if (cli_parse_i64(optarg, 0, 100000000, &v) != 0)
				return cli_fail(ctx, "--events: a number from 0 to 100000000");
			s.events = (long)v;
			break;
		case 's':
			if (cli_parse_i64(optarg, 0, INT64_MAX, &v) != 0)
				return cli_fail(ctx, "--seed: a non-negative integer");
			s.seed = (uint64_t)v;
			break;
		case 'c':
			s.currency = optarg;
			break;
		case 'h':
			return cli_usage(simulate_usage, 0);
		default:
			return cli_bad_option(ctx, c, argv, simulate_usage);
		}
	}
	if (optind != argc - 1 || !merchants)
		return cli_usage(simulate_usage, 2);
	/* the alliance is implied by `pointclear submit ALLIANCE`; it seeds the mix
	 * and names whose members to read */
	const char *alliance = argv[optind];

	char *list = strdup(merchants);
	if (!list)
		return cli_fail(ctx, "out of memory");
	if ((rc = sim_parse_merchants(&s, ctx, list)) != 0 ||
	    (rc = sim_members_load(ctx, alliance, members_file, max_members, &s.members)) != 0) {
		free(list);
		return rc;
	}
	s.nmembers = s.members.n;
	s.spendable = calloc((size_t)s.nmembers, sizeof *s.spendable);
	s.last_referrer = calloc((size_t)s.nmembers, sizeof *s.last_referrer);
	if (!s.spendable || !s.last_referrer) {
		rc = cli_fail(ctx, "out of memory");
		goto out;
	}
	s.rng.state = s.seed;
	for (const char *p = alliance; *p; p++)
		s.rng.state = s.rng.state * 31 + (unsigned char)*p;

	for (s.event_index = 0; s.event_index < s.events; s.event_index++)
		sim_one(&s);
	if (fflush(s.out) != 0 || ferror(s.out))
		rc = cli_fail(ctx, "writing the events failed");
out:
	sim_members_free(&s.members);
	free(s.spendable);
	free(s.last_referrer);
	free(s.rev);
	free(s.holds);
	free(list);
	return rc;
}
