/* bench_workload.c - generation, signing and framing of the bench's events
 * (see bench_workload.h). */
#include "bench_workload.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pointclear/event_build.h"
#include "pointclear/frame.h"
#include "pointclear/sign.h"

/* Zipf-Mandelbrot popularity of members: p(rank k) ~ 1 / (k + Q)^S. The offset Q
 * keeps the very top from dominating (with 100,000 members the most popular one
 * has about 1.5% of the events, the top 1% of members about 20%). */
#define MEMBER_S 1.1
#define MEMBER_Q 10.0
/* Merchants get connections, and so traffic, by a milder Zipf weight. */
#define MERCHANT_S 0.5
/* A capture, void or reversal names an event at least this many events older. */
#define FOLLOW_GAP 4096
#define HOLD_RING 65536
#define REV_RING 16384

/* ---------------------------------------------------------------- randomness */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0, without modulo bias. */
static uint64_t rng_below(uint64_t *s, uint64_t n)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;

	do
		x = rng_next(s);
	while (x >= limit);
	return x % n;
}

static int64_t rng_range(uint64_t *s, int64_t lo, int64_t hi)
{
	return lo + (int64_t)rng_below(s, (uint64_t)(hi - lo) + 1);
}

static bool rng_chance(uint64_t *s, unsigned percent)
{
	return rng_below(s, 100) < percent;
}

/* Uniform double in [0, 1): popularity sampling only, never amounts. */
static double rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---------------------------------------------------------------- set-up */

int bench_wl_init(struct bench_workload *w, char *err, size_t errlen)
{
	double *weight = NULL, total = 0;
	int spare;

	if (w->nmerchants < 1 || w->nconns < w->nmerchants || w->nmembers < 1) {
		snprintf(err, errlen, "need at least one member and one connection per merchant");
		return -1;
	}
	w->rng = w->seed ^ UINT64_C(0x5043424e43480001);
	w->member_cdf = malloc((size_t)w->nmembers * sizeof *w->member_cdf);
	w->spendable = calloc((size_t)w->nmembers, sizeof *w->spendable);
	w->last_referrer = calloc((size_t)w->nmembers, sizeof *w->last_referrer);
	w->conn_merchant = malloc((size_t)w->nconns * sizeof *w->conn_merchant);
	w->queues = calloc((size_t)w->nconns, sizeof *w->queues);
	w->holds_cap = HOLD_RING;
	w->holds = malloc(w->holds_cap * sizeof *w->holds);
	w->rev_cap = REV_RING;
	w->rev = malloc(w->rev_cap * sizeof *w->rev);
	weight = malloc((size_t)w->nmerchants * sizeof *weight);
	if (!w->member_cdf || !w->spendable || !w->last_referrer || !w->conn_merchant ||
	    !w->queues || !w->holds || !w->rev || !weight) {
		free(weight);
		snprintf(err, errlen, "out of memory");
		return -1;
	}

	double acc = 0;
	for (int k = 0; k < w->nmembers; k++) {
		acc += pow((double)k + 1.0 + MEMBER_Q, -MEMBER_S);
		w->member_cdf[k] = acc;
	}
	for (int k = 0; k < w->nmembers; k++)
		w->member_cdf[k] /= acc;

	/* each merchant one connection, the spare ones by largest remainder */
	for (int m = 0; m < w->nmerchants; m++)
		total += weight[m] = pow((double)m + 1.0, -MERCHANT_S);
	spare = w->nconns - w->nmerchants;
	int given = 0;
	for (int m = 0; m < w->nmerchants; m++) {
		weight[m] = weight[m] / total * spare;
		w->merchants[m].nconns = 1 + (int)weight[m];
		weight[m] -= (int)weight[m];
		given += w->merchants[m].nconns;
	}
	while (given < w->nconns) {
		int best = 0;

		for (int m = 1; m < w->nmerchants; m++)
			if (weight[m] > weight[best])
				best = m;
		w->merchants[best].nconns++;
		weight[best] = -1;
		given++;
	}
	free(weight);
	for (int m = 0, c = 0; m < w->nmerchants; m++) {
		w->merchants[m].first_conn = c;
		for (int i = 0; i < w->merchants[m].nconns; i++)
			w->conn_merchant[c++] = m;
	}
	return 0;
}

void bench_wl_free(struct bench_workload *w)
{
	if (w->queues)
		for (int c = 0; c < w->nconns; c++)
			free(w->queues[c].idx);
	free(w->queues);
	free(w->member_cdf);
	free(w->spendable);
	free(w->last_referrer);
	free(w->conn_merchant);
	free(w->holds);
	free(w->rev);
	free(w->ev);
	free(w->arena);
	w->queues = NULL;
	w->member_cdf = NULL;
	w->spendable = NULL;
	w->last_referrer = NULL;
	w->conn_merchant = NULL;
	w->holds = NULL;
	w->rev = NULL;
	w->ev = NULL;
	w->arena = NULL;
}

size_t bench_wl_unsent(const struct bench_workload *w)
{
	size_t n = 0;

	for (int c = 0; c < w->nconns; c++)
		n += w->queues[c].n - w->queues[c].head;
	return n;
}

/* ---------------------------------------------------------------- one event */

/* What pass 1 leaves for pass 2: the payload and who signs it. */
struct pending {
	uint64_t payload_off;
	uint32_t payload_len;
	int32_t merchant;
};

/* The event being built: desc borrows the strings that live here until it is
 * encoded. */
struct draft {
	struct pc_event_desc desc;
	char event_id[24], store[24], terminal[24], member[BENCH_ID_MAX], ref_id[24];
	char code[BENCH_ID_MAX * 2], campaign[32];
	int merchant, member_idx;
};

static int pick_member(struct bench_workload *w)
{
	double u = rng_unit(&w->rng);
	int lo = 0, hi = w->nmembers - 1;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (w->member_cdf[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static void event_id_of(char *out, size_t len, size_t idx)
{
	snprintf(out, len, "ev%09zu", idx + 1);
}

static void draft_member(struct bench_workload *w, struct draft *d, int member)
{
	d->member_idx = member;
	snprintf(d->member, sizeof d->member, "%s%07d", w->member_prefix, member + 1);
}

static void rev_add(struct bench_workload *w, size_t idx, const struct draft *d, int64_t amount)
{
	struct bench_revref *r = &w->rev[w->rev_next];

	r->idx = (uint32_t)idx;
	r->member = d->member_idx;
	r->merchant = d->merchant;
	r->kind = (uint8_t)d->desc.kind;
	r->remaining = amount;
	w->rev_next = (w->rev_next + 1) % w->rev_cap;
	if (w->rev_n < w->rev_cap)
		w->rev_n++;
}

static void make_earn(struct bench_workload *w, struct draft *d, size_t idx)
{
	static const char *const reasons[] = {"purchase", "promo-double", "birthday", "welcome",
	                                      "visit"};
	int64_t pts = rng_chance(&w->rng, 90) ? rng_range(&w->rng, 5, 150)
	                                      : rng_range(&w->rng, 200, 1500);

	d->desc.kind = PC_EVENT_EARN;
	d->desc.member_id = d->member;
	d->desc.amount = pts;
	d->desc.reason = reasons[rng_below(&w->rng, 5)];
	w->spendable[d->member_idx] += pts;
	rev_add(w, idx, d, pts);
}

static void make_redeem(struct bench_workload *w, struct draft *d, size_t idx)
{
	int64_t have = w->spendable[d->member_idx], pts;
	bool fits;

	if (have <= 0 && rng_chance(&w->rng, 75)) {
		/* most members with nothing to spend earn instead of being declined */
		make_earn(w, d, idx);
		return;
	}
	fits = have > 0 && rng_chance(&w->rng, 92);
	pts = fits ? rng_range(&w->rng, 1, have < 300 ? have : 300)
	           : (have > 0 ? have : 0) + rng_range(&w->rng, 1, 200);   /* declined */
	d->desc.kind = PC_EVENT_REDEEM;
	d->desc.member_id = d->member;
	d->desc.amount = pts;
	d->desc.reason = "reward";
	if (fits) {
		w->spendable[d->member_idx] -= pts;
		rev_add(w, idx, d, pts);
	}
}

static void make_hold(struct bench_workload *w, struct draft *d, size_t idx)
{
	int64_t have = w->spendable[d->member_idx], pts;

	if (have <= 0 || w->holds_n == w->holds_cap) {
		make_earn(w, d, idx);
		return;
	}
	pts = rng_range(&w->rng, 1, have < 250 ? have : 250);
	d->desc.kind = PC_EVENT_HOLD;
	d->desc.member_id = d->member;
	d->desc.amount = pts;
	d->desc.duration_s = (uint32_t)rng_range(&w->rng, 10, 30) * 60;
	w->spendable[d->member_idx] -= pts;
	struct bench_holdref *hr = &w->holds[(w->holds_head + w->holds_n) % w->holds_cap];
	hr->idx = (uint32_t)idx;
	hr->member = d->member_idx;
	hr->merchant = d->merchant;
	hr->points = pts;
	w->holds_n++;
}

/* Captures (mostly in part) or voids the oldest open hold, once it is old enough;
 * else starts a new hold. The merchant and member are the hold's. */
static void make_resolve(struct bench_workload *w, struct draft *d, size_t idx)
{
	struct bench_holdref hr;

	if (w->holds_n == 0 || idx - w->holds[w->holds_head].idx < FOLLOW_GAP) {
		make_hold(w, d, idx);
		return;
	}
	hr = w->holds[w->holds_head];
	w->holds_head = (w->holds_head + 1) % w->holds_cap;
	w->holds_n--;
	d->merchant = hr.merchant;
	draft_member(w, d, hr.member);
	w->spendable[hr.member] += hr.points;   /* released, then maybe taken */
	event_id_of(d->ref_id, sizeof d->ref_id, hr.idx);
	d->desc.ref.by = PC_REF_EVENT_ID;
	d->desc.ref.event_id = d->ref_id;
	if (rng_chance(&w->rng, 70)) {
		int64_t pts = rng_chance(&w->rng, 30) || hr.points == 1
		            ? hr.points : rng_range(&w->rng, (hr.points + 1) / 2, hr.points);

		d->desc.kind = PC_EVENT_CAPTURE;
		d->desc.amount = pts;
		w->spendable[hr.member] -= pts;
		rev_add(w, idx, d, pts);
	} else {
		d->desc.kind = PC_EVENT_VOID;
	}
}

/* Refunds part (sometimes all) of a recent earn, redemption or capture, sent by
 * the merchant that made it, for the same member. */
static void make_reversal(struct bench_workload *w, struct draft *d, size_t idx)
{
	struct bench_revref *r = NULL;
	int64_t amount;

	for (int tries = 0; tries < 8 && !r && w->rev_n > 0; tries++) {
		struct bench_revref *c = &w->rev[rng_below(&w->rng, w->rev_n)];

		if (c->remaining > 0 && idx - c->idx >= FOLLOW_GAP)
			r = c;
	}
	if (!r) {
		make_earn(w, d, idx);
		return;
	}
	amount = r->remaining == 1 || rng_chance(&w->rng, 35)
	       ? r->remaining : rng_range(&w->rng, 1, r->remaining - 1);
	d->merchant = r->merchant;
	draft_member(w, d, r->member);
	event_id_of(d->ref_id, sizeof d->ref_id, r->idx);
	d->desc.kind = PC_EVENT_REVERSAL;
	d->desc.ref.by = PC_REF_EVENT_ID;
	d->desc.ref.event_id = d->ref_id;
	d->desc.amount = amount;
	d->desc.reason = amount == r->remaining ? "refund" : "partial-refund";
	r->remaining -= amount;
	if (r->kind == PC_EVENT_EARN)
		w->spendable[r->member] -= amount;   /* may go below zero: points owed */
	else
		w->spendable[r->member] += amount;
}

static void make_referral(struct bench_workload *w, struct draft *d)
{
	static const char *const channels[] = {"coupon", "link", "qr", "email"};

	d->desc.kind = PC_EVENT_REFERRAL;
	d->desc.member_id = d->member;
	if (w->nmerchants > 1 && rng_chance(&w->rng, 80)) {
		int b = (d->merchant + 1 + (int)rng_below(&w->rng, (uint64_t)w->nmerchants - 1)) %
		        w->nmerchants;
		d->desc.beneficiary_id = w->merchants[b].id;
	}
	d->desc.channel = channels[rng_below(&w->rng, 4)];
	snprintf(d->campaign, sizeof d->campaign, "spring-%d", 1 + (int)rng_below(&w->rng, 4));
	d->desc.campaign_id = d->campaign;
	snprintf(d->code, sizeof d->code, "R-%s-%d", w->merchants[d->merchant].id, d->member_idx + 1);
	d->desc.referral_code = d->code;
	w->last_referrer[d->member_idx] = d->merchant + 1;
}

static void make_purchase(struct bench_workload *w, struct draft *d)
{
	int ref = w->last_referrer[d->member_idx];

	d->desc.kind = PC_EVENT_PURCHASE;
	d->desc.member_id = d->member;
	d->desc.amount = rng_range(&w->rng, 300, 25000);
	d->desc.currency = w->currency;
	if (ref && rng_chance(&w->rng, 40)) {
		snprintf(d->code, sizeof d->code, "R-%s-%d", w->merchants[ref - 1].id,
		         d->member_idx + 1);
		d->desc.referral_code = d->code;
	}
}

/* Builds event idx. The mix, in percent: earn 40, redeem 25, hold and its later
 * capture or void 8, reversal 5, referral 12, purchase 10 (an event that cannot
 * be made yet, such as a redemption by a member with nothing, becomes an earn). */
static void draft_one(struct bench_workload *w, struct draft *d, size_t idx, int64_t now_us)
{
	unsigned r = (unsigned)rng_below(&w->rng, 100);
	int conn = (int)rng_below(&w->rng, (uint64_t)w->nconns);

	memset(d, 0, sizeof *d);
	d->merchant = w->conn_merchant[conn];
	draft_member(w, d, pick_member(w));
	if (r < 40)
		make_earn(w, d, idx);
	else if (r < 65)
		make_redeem(w, d, idx);
	else if (r < 69)
		make_hold(w, d, idx);
	else if (r < 73)
		make_resolve(w, d, idx);
	else if (r < 78)
		make_reversal(w, d, idx);
	else if (r < 90)
		make_referral(w, d);
	else
		make_purchase(w, d);

	event_id_of(d->event_id, sizeof d->event_id, idx);
	snprintf(d->store, sizeof d->store, "store-%d", 1 + (int)rng_below(&w->rng, 6));
	snprintf(d->terminal, sizeof d->terminal, "pos-%d", 1 + (int)rng_below(&w->rng, 8));
	d->desc.alliance_id = w->alliance;
	d->desc.merchant_id = w->merchants[d->merchant].id;
	d->desc.event_id = d->event_id;
	/* the POS clock: now, give or take the last minute */
	d->desc.event_time_us = now_us - rng_range(&w->rng, 0, 60000000);
	d->desc.store_id = d->store;
	d->desc.terminal_id = d->terminal;
}

/* ---------------------------------------------------------------- signing */

struct sign_job {
	struct bench_workload *w;
	const uint8_t *payloads;
	const struct pending *pend;
	size_t first, from, to;   /* events [from, to) of this call, which began at first */
	int failed;
};

static void *sign_range(void *arg)
{
	struct sign_job *j = arg;
	struct bench_workload *w = j->w;

	for (size_t i = j->from; i < j->to; i++) {
		const struct pending *p = &j->pend[i - j->first];
		const struct bench_merchant *m = &w->merchants[p->merchant];
		struct bench_event *e = &w->ev[i];
		size_t body_len = e->len - PC_FRAME_HEADER_SIZE, got;
		uint8_t *frame = w->arena + e->off;

		if (pc_envelope_seal(frame + PC_FRAME_HEADER_SIZE, body_len, &got,
		                     j->payloads + p->payload_off, p->payload_len, m->sk,
		                     m->key_id) != PC_EB_OK || got != body_len) {
			j->failed = 1;
			return NULL;
		}
		pc_frame_header_encode(frame, PC_MSG_SUBMIT, (uint64_t)i + 1, body_len);
	}
	return NULL;
}

static int queue_push(struct bench_queue *q, uint32_t idx)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 4096;
		uint32_t *p = realloc(q->idx, cap * sizeof *p);

		if (!p)
			return -1;
		q->idx = p;
		q->cap = cap;
	}
	q->idx[q->n++] = idx;
	return 0;
}

int bench_wl_generate(struct bench_workload *w, size_t n, int threads, char *err,
                      size_t errlen)
{
	struct pending *pend = NULL;
	uint8_t *payloads = NULL;
	size_t plen = 0, pcap = 0, first = w->nev, frames = 0;
	int64_t now_us;
	struct timespec ts;
	int rc = -1;

	if (n == 0)
		return 0;
	if (w->nev + n > UINT32_MAX - 1) {
		snprintf(err, errlen, "too many events");
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	if (w->nev + n > w->capev) {
		size_t cap = w->nev + n;
		struct bench_event *p = realloc(w->ev, cap * sizeof *p);

		if (!p)
			goto oom;
		w->ev = p;
		w->capev = cap;
	}
	pend = malloc(n * sizeof *pend);
	pcap = n * 160 + 4096;
	payloads = malloc(pcap);
	if (!pend || !payloads)
		goto oom;

	/* pass 1, in order: draft, pack the payload, size the frame */
	for (size_t k = 0; k < n; k++) {
		size_t idx = first + k;
		struct draft d;
		size_t size, body;
		struct bench_event *e = &w->ev[idx];
		int ebrc;

		draft_one(w, &d, idx, now_us);
		while ((ebrc = pc_event_encode(&d.desc, payloads + plen, pcap - plen, &size)) ==
		       PC_EB_TOO_SMALL) {
			size_t cap = pcap * 2;
			uint8_t *p;

			while (cap < plen + size)
				cap *= 2;
			if (!(p = realloc(payloads, cap)))
				goto oom;
			payloads = p;
			pcap = cap;
		}
		if (ebrc != PC_EB_OK) {
			snprintf(err, errlen, "cannot encode event %zu: %s", idx,
			         pc_event_build_error(ebrc));
			goto out;
		}
		pend[k].payload_off = plen;
		pend[k].payload_len = (uint32_t)size;
		pend[k].merchant = d.merchant;
		plen += size;

		body = pc_envelope_size(size, w->merchants[d.merchant].key_id);
		if (body > PC_FRAME_MAX_BODY) {
			snprintf(err, errlen, "event %zu does not fit a frame", idx);
			goto out;
		}
		e->off = w->arena_len + frames;
		e->len = (uint32_t)(PC_FRAME_HEADER_SIZE + body);
		e->conn = (uint32_t)(w->merchants[d.merchant].first_conn +
		                     d.member_idx % w->merchants[d.merchant].nconns);
		e->kind = (uint8_t)d.desc.kind;
		frames += e->len;
		w->kinds[d.desc.kind]++;
		if (queue_push(&w->queues[e->conn], (uint32_t)idx) != 0)
			goto oom;
	}
	{
		uint8_t *a = realloc(w->arena, w->arena_len + frames);

		if (!a)
			goto oom;
		w->arena = a;
	}

	/* pass 2, in parallel: sign and frame */
	if (threads < 1)
		threads = 1;
	if (threads > 64)
		threads = 64;
	{
		struct sign_job jobs[64];
		pthread_t tid[64];
		bool started[64] = {false};
		int failed = 0;

		for (int t = 0; t < threads; t++)
			jobs[t] = (struct sign_job){
				.w = w, .payloads = payloads, .pend = pend, .first = first,
				.from = first + n * (size_t)t / (size_t)threads,
				.to = first + n * (size_t)(t + 1) / (size_t)threads,
			};
		for (int t = 1; t < threads; t++)
			started[t] = pthread_create(&tid[t], NULL, sign_range, &jobs[t]) == 0;
		sign_range(&jobs[0]);
		for (int t = 1; t < threads; t++) {
			if (started[t])
				pthread_join(tid[t], NULL);
			else
				sign_range(&jobs[t]);   /* no thread: do its share here */
		}
		for (int t = 0; t < threads; t++)
			failed |= jobs[t].failed;
		if (failed) {
			snprintf(err, errlen, "signing failed");
			goto out;
		}
	}
	w->arena_len += frames;
	w->nev += n;
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory generating %zu events", n);
out:
	if (rc != 0) {
		/* forget the half-made events: the queues must not name them */
		for (int c = 0; c < w->nconns; c++)
			while (w->queues[c].n > w->queues[c].head &&
			       w->queues[c].idx[w->queues[c].n - 1] >= first)
				w->queues[c].n--;
	}
	free(pend);
	free(payloads);
	return rc;
}

int bench_wl_sample(const struct bench_workload *w, uint8_t **payload, size_t *len,
                    uint8_t sig[64], uint8_t pk[32])
{
	const struct bench_merchant *m = &w->merchants[0];
	char member[BENCH_ID_MAX];
	struct pc_event_desc d = {
		.kind = PC_EVENT_EARN, .alliance_id = w->alliance, .merchant_id = m->id,
		.event_id = "ev000123456", .event_time_us = 1760000000000000,
		.store_id = "store-3", .terminal_id = "pos-2", .member_id = member,
		.amount = 120, .reason = "purchase",
	};

	snprintf(member, sizeof member, "%s%07d", w->member_prefix, 1234);
	if (pc_event_encode(&d, NULL, 0, len) != PC_EB_TOO_SMALL ||
	    !(*payload = malloc(*len)))
		return -1;
	if (pc_event_encode(&d, *payload, *len, len) != PC_EB_OK) {
		free(*payload);
		*payload = NULL;
		return -1;
	}
	if (pc_sign(sig, PC_EVENT_PAYLOAD_TYPE, *payload, *len, m->sk) != 0) {
		free(*payload);
		*payload = NULL;
		return -1;
	}
	memcpy(pk, m->sk + 32, 32);   /* libsodium's secret key ends with the public key */
	return 0;
}
