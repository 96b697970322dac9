/* rowtree.c - receipt trees rebuilt from result rows (see rowtree.h). */
#include "rowtree.h"

#include <stdlib.h>

#include <pointclear/leaf.h>

#include "log.h"
#include "pgarray.h"
#include "sql.h"

static struct pc_receipt_tree *tree_for(struct pc_row_trees *ts, const char *alliance,
                                        uint64_t first, size_t size)
{
	if (ts->n > 0 && pc_receipt_tree_is(ts->t[ts->last], alliance, first, size))
		return ts->t[ts->last];
	for (int i = 0; i < ts->n; i++)
		if (pc_receipt_tree_is(ts->t[i], alliance, first, size)) {
			ts->last = i;
			return ts->t[i];
		}
	if (ts->n == ts->cap) {
		ts->cap = ts->cap ? 2 * ts->cap : 16;
		ts->t = realloc(ts->t, (size_t)ts->cap * sizeof *ts->t);
		if (!ts->t)
			fatal("rowtree: realloc");
	}
	ts->last = ts->n;
	return ts->t[ts->n++] = pc_receipt_tree_new(alliance, first, size);
}

/* The leaf hash of an entry this result recorded (PROTOCOL.md, "Leaf"): over the
 * bytes the request holds, which are those the database stored, and the decision
 * as returned. */
static void hash_new_leaf(uint8_t out[PC_HASH_SIZE], const struct pc_recorded *rec,
                          const struct pc_row_entry *e)
{
	struct pc_leaf leaf = {
		.alliance_id = rec->alliance,
		.sequence = rec->sequence,
		.accepted_at_us = rec->accepted_at_us,
		.envelope = e->envelope,
		.envelope_len = e->envelope_len,
		.decision = {
			.status = (uint8_t)rec->status,
			.code = (uint16_t)rec->code,
			.balance = rec->balance,
			.available = rec->available,
			.amount = rec->applied,
			.remaining = rec->remaining,
			.hold_expires_at_us = rec->hold_expires_at_us,
		},
	};
	if (pc_leaf_hash(out, &leaf) != 0)
		fatalx("rowtree: entry %s/%llu has no leaf", rec->alliance,
		       (unsigned long long)rec->sequence);
}

#define COL(c) PQgetvalue(res, row, (c))
#define NUL(c) PQgetisnull(res, row, (c))

struct pc_receipt_tree *pc_row_trees_place(struct pc_row_trees *ts, const PGresult *res, int row,
                                           const struct pc_row_entry *e, int disposition)
{
	bool is_new = e && disposition == 1;
	if (is_new && !e->envelope)
		fatalx("rowtree: row %d records an entry nobody sent", row);
	if ((is_new ? !NUL(PC_COL_LEAF_HASH) : PQgetlength(res, row, PC_COL_LEAF_HASH) != 32) ||
	    NUL(PC_COL_TREE_FIRST) || NUL(PC_COL_TREE_SIZE))
		fatalx("rowtree: row %d has no tree, or a leaf hash it should not have", row);
	uint8_t leaf_hash[PC_HASH_SIZE];
	struct pc_recorded rec = {
		.alliance = e ? e->alliance : COL(PC_COL_CTX_ALLIANCE),
		.merchant = e ? e->merchant : COL(PC_COL_CTX_MERCHANT),
		.event_id = e ? e->event_id : COL(PC_COL_CTX_EVENT),
		.sequence = (uint64_t)pc_pg_int8(COL(PC_COL_SEQ)),
		.leaf_hash = is_new ? leaf_hash : (const uint8_t *)COL(PC_COL_LEAF_HASH),
		.accepted_at_us = pc_pg_int8(COL(PC_COL_ACCEPTED_US)),
		.status = pc_pg_int2(COL(PC_COL_STATUS)),
		.code = pc_pg_int2(COL(PC_COL_CODE)),
		.balance = pc_pg_int8(COL(PC_COL_BALANCE)),
		.available = pc_pg_int8(COL(PC_COL_AVAILABLE)),
		.applied = pc_pg_int8(COL(PC_COL_APPLIED)),
		.remaining = pc_pg_int8(COL(PC_COL_REMAINING)),
		.hold_expires_at_us = pc_pg_int8(COL(PC_COL_HOLD_EXPIRES_US)),
	};
	if (is_new)
		hash_new_leaf(leaf_hash, &rec, e);
	int size = pc_pg_int4(COL(PC_COL_TREE_SIZE));
	if (size < 1)
		fatalx("rowtree: row %d names a tree of %d entries", row, size);
	struct pc_receipt_tree *t =
		tree_for(ts, rec.alliance, (uint64_t)pc_pg_int8(COL(PC_COL_TREE_FIRST)), (size_t)size);
	if (pc_receipt_tree_set(t, &rec) != 0)
		fatalx("rowtree: entry %s/%llu does not fit its receipt tree", rec.alliance,
		       (unsigned long long)rec.sequence);
	return t;
}
#undef COL
#undef NUL

void pc_row_trees_seal(struct pc_row_trees *ts)
{
	for (int i = 0; i < ts->n; i++)
		if (pc_receipt_tree_seal(ts->t[i]) != 0)
			fatalx("rowtree: a receipt tree of this result misses entries");
}

void pc_row_trees_free(struct pc_row_trees *ts)
{
	for (int i = 0; i < ts->n; i++)
		pc_receipt_tree_free(ts->t[i]);
	free(ts->t);
	ts->t = NULL;
	ts->n = ts->cap = 0;
}
