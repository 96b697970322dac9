/* lookup.c - LOOKUP queries and their answers (see lookup.h). */
#include "lookup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pgarray.h"
#include "rowtree.h"
#include "sql.h"

#define DISP(x) POINTCLEAR__V1__DISPOSITION__##x
#define CODE(x) POINTCLEAR__V1__CODE__##x

struct query {
	char alliance[65], merchant[65];
	pc_lookup_answer_fn answer;
	void *arg;
	int n;
	struct pc_lookup *ls[];
};

static void answer_unavailable(struct query *q, const char *why)
{
	struct pc_outcome o;
	pc_outcome_refused(&o, DISP(RETRYABLE), CODE(UNAVAILABLE), why, 0);
	for (int i = 0; i < q->n; i++)
		q->answer(q->arg, q->ls[i], &o);
}

#define COL(c) PQgetvalue(res, row, (c))

/* As the writer answers a batch: every row into its tree, each tree signed once,
 * then each lookup its answer. */
static void answer_rows(struct query *q, const PGresult *res)
{
	int rows = PQntuples(res);
	struct pc_row_trees ts = { 0 };
	struct pc_receipt_tree **tree_of = calloc((size_t)q->n, sizeof *tree_of);
	int *row_of = malloc((size_t)q->n * sizeof *row_of);
	if (!tree_of || !row_of)
		fatal("lookup: calloc");
	for (int i = 0; i < q->n; i++)
		row_of[i] = -1;
	for (int row = 0; row < rows; row++) {
		int idx = pc_pg_int4(COL(PC_COL_IDX));
		int disposition = pc_pg_int2(COL(PC_COL_DISPOSITION));
		if (idx < 0 || idx > q->n || (idx > 0 && row_of[idx - 1] >= 0))
			fatalx("lookup: result row %d names id %d of %d, or one answered twice", row, idx,
			       q->n);
		if (idx > 0)
			row_of[idx - 1] = row;
		if (idx > 0 && disposition != PC_ROW_REPLAYED && disposition != PC_ROW_REFUSED)
			fatalx("lookup: row %d has disposition %d", row, disposition);
		if (idx == 0 || disposition == PC_ROW_REPLAYED) {
			const struct pc_lookup *l = idx > 0 ? q->ls[idx - 1] : NULL;
			struct pc_row_entry e = { q->alliance, q->merchant, l ? l->event_id : NULL, NULL, 0 };
			struct pc_receipt_tree *t = pc_row_trees_place(&ts, res, row, l ? &e : NULL,
			                                               disposition);
			if (idx > 0)
				tree_of[idx - 1] = t;
		}
	}
	for (int i = 0; i < q->n; i++)
		if (row_of[i] < 0)
			fatalx("lookup: id %d has no result row", i + 1);
	pc_row_trees_seal(&ts);
	for (int i = 0; i < q->n; i++) {
		int row = row_of[i];
		struct pc_outcome o;
		struct pc_receipt_view view;
		if (tree_of[i]) {
			pc_code code;
			pc_receipt_tree_view(tree_of[i], (uint64_t)pc_pg_int8(COL(PC_COL_SEQ)), &view, &code);
			pc_outcome_of_row(&o, PC_ROW_REPLAYED, code, 0, &view);
		} else {
			pc_outcome_of_row(&o, PC_ROW_REFUSED, (pc_code)pc_pg_int2(COL(PC_COL_CODE)), 0, NULL);
		}
		q->answer(q->arg, q->ls[i], &o);
	}
	pc_row_trees_free(&ts);
	free(tree_of);
	free(row_of);
}
#undef COL

static void on_done(void *arg, enum pc_db_outcome outcome, const PGresult *res)
{
	struct query *q = arg;
	if (outcome == PC_DB_OK && PQnfields(res) == PC_RECORD_BATCH_NCOLS) {
		answer_rows(q, res);
	} else if (outcome == PC_DB_OK) {
		fatalx("lookup: result has %d columns", PQnfields(res));
	} else if (outcome == PC_DB_LOST) {
		log_warnx("lookup merchant=%s/%s ids=%d outcome=lost answered=retryable", q->alliance,
		          q->merchant, q->n);
		answer_unavailable(q, "the database connection was lost; ask again");
	} else {
		const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		log_error("lookup merchant=%s/%s ids=%d error=\"%s\" answered=retryable", q->alliance,
		          q->merchant, q->n, msg ? msg : "no message");
		answer_unavailable(q, "the database failed to answer the lookup; ask again later");
	}
	free(q);
}

void pc_lookup_send(struct pc_db *db, const char *alliance, const char *merchant,
                    struct pc_lookup *const *ls, int n, pc_lookup_answer_fn answer, void *arg)
{
	struct query *q = malloc(sizeof *q + (size_t)n * sizeof q->ls[0]);
	if (!q)
		fatal("lookup: malloc");
	snprintf(q->alliance, sizeof q->alliance, "%s", alliance);
	snprintf(q->merchant, sizeof q->merchant, "%s", merchant);
	q->answer = answer;
	q->arg = arg;
	q->n = n;
	memcpy(q->ls, ls, (size_t)n * sizeof q->ls[0]);

	struct pc_pgarray ids;
	pc_pgarray_init(&ids, PC_OID_TEXT);
	for (int i = 0; i < n; i++)
		pc_pgarray_text(&ids, ls[i]->event_id);
	pc_pgarray_finish(&ids);
	const char *values[PC_LOOKUP_NPARAMS] = { q->alliance, q->merchant, (const char *)ids.buf };
	int lengths[PC_LOOKUP_NPARAMS] = { (int)strlen(q->alliance), (int)strlen(q->merchant),
	                                   (int)ids.len };
	int formats[PC_LOOKUP_NPARAMS] = { 1, 1, 1 };
	/* not ready, or a send failure (the wrapper then reported the loss): the
	 * callback never runs */
	if (!db || !pc_db_ready(db) ||
	    pc_db_send_prepared(db, PC_STMT_LOOKUP, PC_LOOKUP_NPARAMS, values, lengths, formats, 1,
	                        on_done, q) < 0) {
		answer_unavailable(q, "the database is unavailable; ask again later");
		free(q);
	}
	pc_pgarray_free(&ids);
}
