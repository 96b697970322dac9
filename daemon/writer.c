/* writer.c - batching and group commit (see writer.h). */
#include "writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batching.h"
#include "latency.h"
#include "log.h"
#include "pgarray.h"
#include "receipt.h"
#include "rowtree.h"
#include "sql.h"
#include "stats_line.h"   /* the bench parses this line: one format for both */


struct batch {
	struct pc_writer *w;
	int n;
	struct pc_request *reqs[];
};

struct pc_writer {
	const struct pc_config *cfg;
	struct pc_db *db;
	pc_writer_answer_fn answer;
	void *answer_arg;
	struct pc_request_list queue;
	int queued;
	uint64_t batches_sent;
	/* Where recorded events spent their time since the last stats line. Only
	 * events a committed batch answered count: the latency of the write path. */
	struct {
		int64_t since_us;
		uint64_t events, batches;
		struct pc_latency verify, wait, batch, daemon;
	} stats;
};

static void answer_failure(struct pc_writer *w, struct pc_request *r, enum pc_batch_failure why)
{
	struct pc_outcome o;
	pc_outcome_of_failure(&o, why);
	w->answer(w->answer_arg, r, &o);
}

/* The 26 parameter arrays of one batch, in pc_record_batch's order. The member
 * authorizations (22-24) are left NULL (buf NULL) when no event of the batch
 * carries one, and the key states (25) when no event has one (*key_states): the
 * batch SQL then skips them altogether. */
static void build_params(struct batch *b, struct pc_pgarray *p, bool *key_states)
{
	static const uint32_t elem[PC_RECORD_BATCH_NPARAMS] = {
		PC_OID_TEXT, PC_OID_TEXT, PC_OID_TEXT, PC_OID_TEXT, PC_OID_INT2, PC_OID_BYTEA,
		PC_OID_BYTEA, PC_OID_TIMESTAMPTZ, PC_OID_TEXT, PC_OID_TEXT, PC_OID_TEXT, PC_OID_INT8,
		PC_OID_TEXT, PC_OID_INT8, PC_OID_INT4, PC_OID_TEXT, PC_OID_TEXT, PC_OID_TEXT,
		PC_OID_TEXT, PC_OID_TEXT, PC_OID_TIMESTAMPTZ, PC_OID_TEXT, PC_OID_TEXT, PC_OID_BYTEA,
		PC_OID_INT8, PC_OID_INT2,
	};
	bool any_auth = false;
	for (int i = 0; i < b->n && !any_auth; i++)
		any_auth = b->reqs[i]->row.has_auth;
	*key_states = false;
	for (int i = 0; i < PC_RECORD_BATCH_NPARAMS; i++)
		pc_pgarray_init(&p[i], elem[i]);
	for (int i = 0; i < b->n; i++) {
		const struct pc_request *r = b->reqs[i];
		const struct pc_event_row *row = &r->row;
		bool has_amount = row->kind != PC_EVENT_VOID && row->kind != PC_EVENT_REFERRAL;
		pc_pgarray_text(&p[0], row->alliance);
		pc_pgarray_text(&p[1], row->merchant);
		pc_pgarray_text(&p[2], row->event_id);
		pc_pgarray_text(&p[3], row->key_id);
		pc_pgarray_int2(&p[4], row->kind);
		pc_pgarray_bytes(&p[5], r->envelope, r->envelope_len);
		pc_pgarray_bytes(&p[6], row->payload_hash, sizeof row->payload_hash);
		pc_pgarray_timestamptz(&p[7], row->event_time_us);
		pc_pgarray_text(&p[8], row->store);
		pc_pgarray_text(&p[9], row->terminal);
		pc_pgarray_text(&p[10], row->member);
		if (has_amount)
			pc_pgarray_int8(&p[11], row->amount);
		else
			pc_pgarray_null(&p[11]);
		pc_pgarray_text(&p[12], row->ref_event);
		if (row->ref_seq >= 0)
			pc_pgarray_int8(&p[13], row->ref_seq);
		else
			pc_pgarray_null(&p[13]);
		pc_pgarray_int4(&p[14], row->duration_s);
		pc_pgarray_text(&p[15], row->reason);
		pc_pgarray_text(&p[16], row->beneficiary);
		pc_pgarray_text(&p[17], row->channel);
		pc_pgarray_text(&p[18], row->campaign);
		pc_pgarray_text(&p[19], row->code);
		if (row->touch_time_us > 0)
			pc_pgarray_timestamptz(&p[20], row->touch_time_us);
		else
			pc_pgarray_null(&p[20]);
		pc_pgarray_text(&p[21], row->currency);
		if (r->key_state != 0) {
			pc_pgarray_int2(&p[25], (int16_t)r->key_state);
			*key_states = true;
		} else {
			pc_pgarray_null(&p[25]);
		}
		if (!any_auth)
			continue;
		if (row->has_auth) {
			pc_pgarray_text(&p[22], row->auth_key);
			pc_pgarray_bytes(&p[23], row->auth_nonce, sizeof row->auth_nonce);
			pc_pgarray_int8(&p[24], row->auth_expires_us);
		} else {
			pc_pgarray_null(&p[22]);
			pc_pgarray_null(&p[23]);
			pc_pgarray_null(&p[24]);
		}
	}
	for (int i = 0; i < PC_RECORD_BATCH_NPARAMS; i++)
		if (i < 22 || i == 25 || any_auth)
			pc_pgarray_finish(&p[i]);
		else
			pc_pgarray_free(&p[i]);   /* sent as NULL */
}

#define COL(c) PQgetvalue(res, row, (c))
#define NUL(c) PQgetisnull(res, row, (c))

/* t: the sealed tree of a recorded or replayed event's receipt, else NULL. */
static void answer_row(struct pc_writer *w, const struct pc_receipt_tree *t, const PGresult *res,
                       int row, struct pc_request *r)
{
	int disposition = pc_pg_int2(COL(PC_COL_DISPOSITION));
	struct pc_outcome o;
	struct pc_receipt_view view;

	if (t) {
		pc_code code;
		pc_receipt_tree_view(t, (uint64_t)pc_pg_int8(COL(PC_COL_SEQ)), &view, &code);
		pc_outcome_of_row(&o, disposition, code, 0, &view);
	} else {
		pc_code code = (pc_code)pc_pg_int2(COL(PC_COL_CODE));
		uint64_t original = NUL(PC_COL_ORIGINAL_SEQ) ? 0 : (uint64_t)pc_pg_int8(COL(PC_COL_ORIGINAL_SEQ));
		pc_outcome_of_row(&o, disposition, code, original, NULL);
	}
	w->answer(w->answer_arg, r, &o);
}

/* Every row first goes into its receipt tree; each tree is signed once; then
 * every request gets its answer. */
static void answer_batch(struct pc_writer *w, struct batch *b, const PGresult *res)
{
	int rows = PQntuples(res);
	struct pc_row_trees ts = { 0 };
	/* tree_of[i]: the tree of event i + 1's receipt, NULL when it gets none */
	struct pc_receipt_tree **tree_of = calloc((size_t)b->n, sizeof *tree_of);
	int *row_of = malloc((size_t)b->n * sizeof *row_of);
	if (!tree_of || !row_of)
		fatal("writer: calloc");
	for (int i = 0; i < b->n; i++)
		row_of[i] = -1;
	for (int row = 0; row < rows; row++) {
		int idx = pc_pg_int4(COL(PC_COL_IDX));
		int disposition = pc_pg_int2(COL(PC_COL_DISPOSITION));
		if (idx < 0 || idx > b->n)
			fatalx("writer: batch result row %d names event %d of %d", row, idx, b->n);
		if (idx > 0 && row_of[idx - 1] >= 0)
			fatalx("writer: event %d of the batch answered twice", idx);
		if (idx > 0)
			row_of[idx - 1] = row;
		if (idx == 0 || disposition == 1 || disposition == 2) {
			struct pc_row_entry e;
			if (idx > 0) {
				const struct pc_request *r = b->reqs[idx - 1];
				e = (struct pc_row_entry){ r->row.alliance, r->row.merchant, r->row.event_id,
				                           r->envelope, r->envelope_len };
			}
			struct pc_receipt_tree *t =
				pc_row_trees_place(&ts, res, row, idx > 0 ? &e : NULL, disposition);
			if (idx > 0)
				tree_of[idx - 1] = t;
		}
	}
	for (int i = 0; i < b->n; i++)
		if (row_of[i] < 0)
			fatalx("writer: event %d of the batch has no result row", i + 1);
	pc_row_trees_seal(&ts);
	for (int i = 0; i < b->n; i++) {
		answer_row(w, tree_of[i], res, row_of[i], b->reqs[i]);
		b->reqs[i] = NULL;
	}
	pc_row_trees_free(&ts);
	free(tree_of);
	free(row_of);
}
#undef COL
#undef NUL

static void requeue_front(struct pc_writer *w, struct batch *b)
{
	for (int i = b->n - 1; i >= 0; i--) {
		b->reqs[i]->stage = PC_REQ_QUEUED;
		TAILQ_INSERT_HEAD(&w->queue, b->reqs[i], stage_link);
		w->queued++;
	}
}

static void count_batch(struct pc_writer *w, const struct batch *b)
{
	int64_t now = pc_mono_us();
	for (int i = 0; i < b->n; i++) {
		const struct pc_request *r = b->reqs[i];
		pc_latency_add(&w->stats.verify, r->mono_verified_us - r->mono_received_us);
		pc_latency_add(&w->stats.wait, r->mono_sent_us - r->mono_verified_us);
		pc_latency_add(&w->stats.batch, now - r->mono_sent_us);
		pc_latency_add(&w->stats.daemon, now - r->mono_received_us);
	}
	w->stats.events += (uint64_t)b->n;
	w->stats.batches++;
}

static void on_batch_done(void *arg, enum pc_db_outcome outcome, const PGresult *res)
{
	struct batch *b = arg;
	struct pc_writer *w = b->w;
	log_debug("writer batch done events=%d outcome=%d", b->n, (int)outcome);

	if (outcome == PC_DB_OK && PQnfields(res) == PC_RECORD_BATCH_NCOLS) {
		count_batch(w, b);
		/* the next batch goes out before this one's receipts are signed */
		pc_writer_kick(w);
		answer_batch(w, b, res);
	} else if (outcome == PC_DB_OK) {
		fatalx("writer: batch result has %d columns", PQnfields(res));
	} else if (outcome == PC_DB_LOST) {
		/* The Sync never came: the batch may or may not have committed. Resending
		 * the same ids is safe; approving them is not. */
		log_warnx("writer batch=%d outcome=unknown answered=retryable", b->n);
		for (int i = 0; i < b->n; i++)
			answer_failure(w, b->reqs[i], PC_BATCH_LOST);
	} else {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		/* the primary message only: one log line, no CONTEXT */
		const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		if (!msg)
			msg = "no message";
		switch (pc_batch_after_error(b->reqs, b->n, state)) {
		case PC_BATCH_RETRY:
			log_info("writer batch=%d sqlstate=%s retrying", b->n, state);
			requeue_front(w, b);
			break;
		case PC_BATCH_BISECT:
			log_warnx("writer batch=%d sqlstate=%s error=\"%s\" bisecting", b->n,
			          state ? state : "-", msg);
			requeue_front(w, b);
			break;
		case PC_BATCH_GIVE_UP:
			log_error("writer event=%s/%s sqlstate=%s error=\"%s\" answered=retryable",
			          b->reqs[0]->row.merchant, b->reqs[0]->row.event_id, state ? state : "-", msg);
			answer_failure(w, b->reqs[0], PC_BATCH_FAILED);
			break;
		}
	}
	free(b);
	pc_writer_kick(w);
}

static void send_batch(struct pc_writer *w)
{
	int n = pc_batch_take(&w->queue, w->queued, w->cfg->batch_max);
	struct batch *b = malloc(sizeof *b + (size_t)n * sizeof b->reqs[0]);
	if (!b)
		fatal("writer: malloc");
	b->w = w;
	b->n = n;
	for (int i = 0; i < n; i++) {
		struct pc_request *r = TAILQ_FIRST(&w->queue);
		TAILQ_REMOVE(&w->queue, r, stage_link);
		r->stage = PC_REQ_IN_BATCH;
		b->reqs[i] = r;
	}
	w->queued -= n;
	int64_t now = pc_mono_us();
	for (int i = 0; i < n; i++)
		b->reqs[i]->mono_sent_us = now;

	struct pc_pgarray p[PC_RECORD_BATCH_NPARAMS];
	const char *values[PC_RECORD_BATCH_NPARAMS];
	int lengths[PC_RECORD_BATCH_NPARAMS], formats[PC_RECORD_BATCH_NPARAMS];
	bool key_states;
	build_params(b, p, &key_states);
	for (int i = 0; i < PC_RECORD_BATCH_NPARAMS; i++) {
		values[i] = (const char *)p[i].buf;
		lengths[i] = (int)p[i].len;
		formats[i] = 1;
	}
	if (!key_states)
		values[PC_RECORD_BATCH_NPARAMS - 1] = NULL;
	w->batches_sent++;
	log_debug("writer batch=%llu events=%d queued=%d", (unsigned long long)w->batches_sent, n,
	          w->queued);
	/* On a send failure the wrapper has already reported the connection lost;
	 * the batch was never queued there, so it is answered here. */
	if (pc_db_send_prepared(w->db, PC_STMT_RECORD_BATCH, PC_RECORD_BATCH_NPARAMS, values,
	                        lengths, formats, 1, on_batch_done, b) < 0) {
		for (int i = 0; i < n; i++)
			answer_failure(w, b->reqs[i], PC_BATCH_UNAVAILABLE);
		free(b);
	}
	for (int i = 0; i < PC_RECORD_BATCH_NPARAMS; i++)
		pc_pgarray_free(&p[i]);
}

struct pc_writer *pc_writer_new(const struct pc_config *cfg, pc_writer_answer_fn answer, void *arg)
{
	struct pc_writer *w = calloc(1, sizeof *w);
	if (!w)
		fatal("writer: calloc");
	w->cfg = cfg;
	w->answer = answer;
	w->answer_arg = arg;
	TAILQ_INIT(&w->queue);
	w->stats.since_us = pc_mono_us();
	return w;
}

/* "p50/p99/p99.9" of h in milliseconds */
static const char *quantiles_ms(const struct pc_latency *h, char *buf, size_t cap)
{
	snprintf(buf, cap, PC_STATS_QUANTILES_FMT, (double)pc_latency_quantile(h, 5000) / 1000,
	         (double)pc_latency_quantile(h, 9900) / 1000, (double)pc_latency_quantile(h, 9990) / 1000);
	return buf;
}

void pc_writer_log_stats(struct pc_writer *w)
{
	int64_t now = pc_mono_us();
	double seconds = (double)(now - w->stats.since_us) / 1e6;

	if (w->stats.events == 0) {
		log_info(PC_STATS_FMT_IDLE, seconds, w->queued);
	} else {
		char v[64], q[64], b[64], d[64];
		log_info(PC_STATS_FMT, seconds, (unsigned long long)w->stats.events, (unsigned long long)w->stats.batches,
		         (double)w->stats.events / (double)w->stats.batches, w->queued,
		         quantiles_ms(&w->stats.verify, v, sizeof v), quantiles_ms(&w->stats.wait, q, sizeof q),
		         quantiles_ms(&w->stats.batch, b, sizeof b), quantiles_ms(&w->stats.daemon, d, sizeof d));
	}
	memset(&w->stats, 0, sizeof w->stats);
	w->stats.since_us = now;
}

void pc_writer_attach(struct pc_writer *w, struct pc_db *db)
{
	w->db = db;
}

void pc_writer_enqueue(struct pc_writer *w, struct pc_request *r)
{
	if (!w->db || !pc_db_ready(w->db)) {
		answer_failure(w, r, PC_BATCH_UNAVAILABLE);
		return;
	}
	r->stage = PC_REQ_QUEUED;
	TAILQ_INSERT_TAIL(&w->queue, r, stage_link);
	w->queued++;
	pc_writer_kick(w);
}

static bool may_send(const struct pc_writer *w)
{
	if (w->queued == 0 || !w->db || !pc_db_ready(w->db))
		return false;
	return pc_batch_may_send(w->queued, pc_db_inflight(w->db), w->cfg->batches_in_flight,
	                         w->cfg->batch_max);
}

void pc_writer_kick(struct pc_writer *w)
{
	while (may_send(w))
		send_batch(w);
}

void pc_writer_db_lost(struct pc_writer *w)
{
	struct pc_request *r;
	while ((r = TAILQ_FIRST(&w->queue)) != NULL) {
		TAILQ_REMOVE(&w->queue, r, stage_link);
		w->queued--;
		answer_failure(w, r, PC_BATCH_UNAVAILABLE);
	}
}

void pc_writer_drop_unsent(struct pc_writer *w, const struct pc_outcome *o)
{
	struct pc_request *r, *next;
	for (r = TAILQ_FIRST(&w->queue); r; r = next) {
		next = TAILQ_NEXT(r, stage_link);
		if (r->mono_sent_us != 0)
			continue;   /* back from a failed batch: it goes out again */
		TAILQ_REMOVE(&w->queue, r, stage_link);
		w->queued--;
		w->answer(w->answer_arg, r, o);
	}
}

void pc_writer_free(struct pc_writer *w)
{
	if (!w)
		return;
	pc_writer_db_lost(w);
	free(w);
}
