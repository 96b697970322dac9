/* writer.c - batching and group commit (see writer.h). */
#include "writer.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pgarray.h"
#include "receipt.h"
#include "sql.h"

#define CODE(x) POINTCLEAR__V1__CODE__##x
#define DISP(x) POINTCLEAR__V1__DISPOSITION__##x
#define MAX_DEADLOCK_RETRIES 5

struct batch {
	struct pc_writer *w;
	int n;
	struct pc_request *reqs[];
};

struct pc_writer {
	const struct pc_config *cfg;
	struct pc_db *db;
	pc_answer_fn answer;
	struct pc_request_list queue;
	int queued;
	int in_batches;
	uint64_t batches_sent;
};

static void answer_refused(struct pc_writer *w, struct pc_request *r,
                           Pointclear__V1__Disposition disp, pc_code code, const char *msg)
{
	size_t len;
	uint8_t *body = pc_result_refused(disp, code, msg, 0, &len);
	w->answer(r, body, len);
}

/* The 22 parameter arrays of one batch, in pc_apply_batch's order. */
static void build_params(struct batch *b, struct pc_pgarray *p)
{
	static const uint32_t elem[PC_APPLY_BATCH_NPARAMS] = {
		PC_OID_TEXT, PC_OID_TEXT, PC_OID_TEXT, PC_OID_TEXT, PC_OID_INT2, PC_OID_BYTEA,
		PC_OID_BYTEA, PC_OID_TIMESTAMPTZ, PC_OID_TEXT, PC_OID_TEXT, PC_OID_TEXT, PC_OID_INT8,
		PC_OID_TEXT, PC_OID_INT8, PC_OID_INT4, PC_OID_TEXT, PC_OID_TEXT, PC_OID_TEXT,
		PC_OID_TEXT, PC_OID_TEXT, PC_OID_TIMESTAMPTZ, PC_OID_TEXT,
	};
	for (int i = 0; i < PC_APPLY_BATCH_NPARAMS; i++)
		pc_pgarray_init(&p[i], elem[i]);
	for (int i = 0; i < b->n; i++) {
		const struct pc_request *r = b->reqs[i];
		const struct pc_event_row *row = &r->row;
		bool has_amount = row->kind != PC_KIND_VOID && row->kind != PC_KIND_REFERRAL;
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
	}
	for (int i = 0; i < PC_APPLY_BATCH_NPARAMS; i++)
		pc_pgarray_finish(&p[i]);
}

static void answer_row(struct pc_writer *w, const PGresult *res, int row, struct pc_request *r)
{
#define COL(c) PQgetvalue(res, row, (c))
#define NUL(c) PQgetisnull(res, row, (c))
	int disposition = pc_pg_int2(COL(PC_COL_DISPOSITION));
	pc_code code = (pc_code)pc_pg_int2(COL(PC_COL_CODE));
	size_t len;
	uint8_t *body;

	if (disposition == 1 || disposition == 2) {
		if (PQgetlength(res, row, PC_COL_LEAF_HASH) != 32)
			fatalx("writer: leaf hash of %d bytes", PQgetlength(res, row, PC_COL_LEAF_HASH));
		struct pc_recorded rec = {
			.alliance = r->row.alliance,
			.merchant = r->row.merchant,
			.event_id = r->row.event_id,
			.sequence = (uint64_t)pc_pg_int8(COL(PC_COL_SEQ)),
			.leaf_hash = (const uint8_t *)COL(PC_COL_LEAF_HASH),
			.accepted_at_us = pc_pg_int8(COL(PC_COL_ACCEPTED_US)),
			.status = pc_pg_int2(COL(PC_COL_STATUS)),
			.code = code,
			.balance = pc_pg_int8(COL(PC_COL_BALANCE)),
			.available = pc_pg_int8(COL(PC_COL_AVAILABLE)),
			.applied = pc_pg_int8(COL(PC_COL_APPLIED)),
			.remaining = pc_pg_int8(COL(PC_COL_REMAINING)),
			.hold_expires_at_us = pc_pg_int8(COL(PC_COL_HOLD_EXPIRES_US)),
		};
		body = pc_result_recorded(disposition == 1 ? DISP(RECORDED) : DISP(REPLAYED), &rec, &len);
	} else {
		uint64_t original = NUL(PC_COL_ORIGINAL_SEQ) ? 0 : (uint64_t)pc_pg_int8(COL(PC_COL_ORIGINAL_SEQ));
		body = pc_result_refused(DISP(REJECTED), code, NULL, original, &len);
	}
	w->answer(r, body, len);
#undef COL
#undef NUL
}

static void requeue_front(struct pc_writer *w, struct batch *b)
{
	for (int i = b->n - 1; i >= 0; i--) {
		b->reqs[i]->stage = PC_REQ_QUEUED;
		TAILQ_INSERT_HEAD(&w->queue, b->reqs[i], stage_link);
		w->queued++;
	}
}

static void on_batch_done(void *arg, enum pc_db_outcome outcome, const PGresult *res)
{
	struct batch *b = arg;
	struct pc_writer *w = b->w;
	w->in_batches -= b->n;
	log_debug("writer batch done events=%d outcome=%d", b->n, (int)outcome);

	if (outcome == PC_DB_OK && PQntuples(res) == b->n && PQnfields(res) == 13) {
		for (int i = 0; i < b->n; i++) {
			int idx = pc_pg_int4(PQgetvalue(res, i, PC_COL_IDX));
			if (idx < 1 || idx > b->n || !b->reqs[idx - 1])
				fatalx("writer: batch result row %d names event %d of %d", i, idx, b->n);
			answer_row(w, res, i, b->reqs[idx - 1]);
			b->reqs[idx - 1] = NULL;
		}
	} else if (outcome == PC_DB_OK) {
		fatalx("writer: batch of %d answered with %d rows", b->n, PQntuples(res));
	} else if (outcome == PC_DB_LOST) {
		/* The Sync never came: the batch may or may not have committed. Resending
		 * the same ids is safe; approving them is not. */
		log_warnx("writer batch=%d outcome=unknown answered=retryable", b->n);
		for (int i = 0; i < b->n; i++)
			answer_refused(w, b->reqs[i], DISP(RETRYABLE), CODE(UNAVAILABLE),
			               "the database connection was lost; resend the same event");
	} else {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		bool transient = state && (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0);
		if (transient && b->reqs[0]->retries < MAX_DEADLOCK_RETRIES) {
			log_info("writer batch=%d sqlstate=%s retrying", b->n, state);
			for (int i = 0; i < b->n; i++)
				b->reqs[i]->retries++;
			requeue_front(w, b);
		} else {
			log_error("writer batch=%d sqlstate=%s error=\"%s\"", b->n, state ? state : "-",
			          PQresultErrorMessage(res));
			for (int i = 0; i < b->n; i++)
				answer_refused(w, b->reqs[i], DISP(RETRYABLE), CODE(INTERNAL),
				               "the batch failed in the database; resend later");
		}
	}
	free(b);
	pc_writer_kick(w);
}

static void send_batch(struct pc_writer *w)
{
	int n = w->queued < w->cfg->batch_max ? w->queued : w->cfg->batch_max;
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
	w->in_batches += n;

	struct pc_pgarray p[PC_APPLY_BATCH_NPARAMS];
	const char *values[PC_APPLY_BATCH_NPARAMS];
	int lengths[PC_APPLY_BATCH_NPARAMS], formats[PC_APPLY_BATCH_NPARAMS];
	build_params(b, p);
	for (int i = 0; i < PC_APPLY_BATCH_NPARAMS; i++) {
		values[i] = (const char *)p[i].buf;
		lengths[i] = (int)p[i].len;
		formats[i] = 1;
	}
	w->batches_sent++;
	log_debug("writer batch=%llu events=%d queued=%d", (unsigned long long)w->batches_sent, n,
	          w->queued);
	/* On a send failure the wrapper has already reported the connection lost;
	 * the batch was never queued there, so it is answered here. */
	if (pc_db_send_prepared(w->db, PC_STMT_APPLY_BATCH, PC_APPLY_BATCH_NPARAMS, values,
	                        lengths, formats, 1, on_batch_done, b) < 0) {
		w->in_batches -= n;
		for (int i = 0; i < n; i++)
			answer_refused(w, b->reqs[i], DISP(RETRYABLE), CODE(UNAVAILABLE),
			               "the database is unavailable; resend the same event");
		free(b);
	}
	for (int i = 0; i < PC_APPLY_BATCH_NPARAMS; i++)
		pc_pgarray_free(&p[i]);
}

struct pc_writer *pc_writer_new(const struct pc_config *cfg, pc_answer_fn answer)
{
	struct pc_writer *w = calloc(1, sizeof *w);
	if (!w)
		fatal("writer: calloc");
	w->cfg = cfg;
	w->answer = answer;
	TAILQ_INIT(&w->queue);
	return w;
}

void pc_writer_attach(struct pc_writer *w, struct pc_db *db)
{
	w->db = db;
}

void pc_writer_enqueue(struct pc_writer *w, struct pc_request *r)
{
	if (!w->db || !pc_db_ready(w->db)) {
		answer_refused(w, r, DISP(RETRYABLE), CODE(UNAVAILABLE),
		               "the database is unavailable; resend the same event");
		return;
	}
	r->stage = PC_REQ_QUEUED;
	TAILQ_INSERT_TAIL(&w->queue, r, stage_link);
	w->queued++;
	pc_writer_kick(w);
}

void pc_writer_kick(struct pc_writer *w)
{
	while (w->queued > 0 && w->db && pc_db_ready(w->db) &&
	       pc_db_inflight(w->db) < w->cfg->batches_in_flight)
		send_batch(w);
}

void pc_writer_db_lost(struct pc_writer *w)
{
	struct pc_request *r;
	while ((r = TAILQ_FIRST(&w->queue)) != NULL) {
		TAILQ_REMOVE(&w->queue, r, stage_link);
		w->queued--;
		answer_refused(w, r, DISP(RETRYABLE), CODE(UNAVAILABLE),
		               "the database is unavailable; resend the same event");
	}
}

int pc_writer_pending(const struct pc_writer *w)
{
	return w->queued + w->in_batches;
}

void pc_writer_free(struct pc_writer *w)
{
	if (!w)
		return;
	pc_writer_db_lost(w);
	free(w);
}
