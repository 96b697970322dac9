/* rowtree.h - the receipt trees of one result of pc_record_batch's columns.
 *
 * The writer's batches (pc_record_batch) and LOOKUP's queries
 * (pc_lookup_entries) return the same rows: an entry per answered event with
 * its tree's place, and context rows (index 0) for the other entries of those
 * trees. Both rebuild the trees here, sign each once and view every answer's
 * receipt in it, so a lookup's receipt is the writer's, byte for byte. */
#ifndef PC_ROWTREE_H
#define PC_ROWTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "receipt.h"

/* Whose entry an answer row speaks of: the asker's names, not the row's. The
 * envelope is needed only for an entry recorded by this very result (its leaf
 * is hashed here); NULL otherwise. */
struct pc_row_entry {
	const char *alliance, *merchant, *event_id;
	const uint8_t *envelope;
	size_t envelope_len;
};

struct pc_row_trees {
	struct pc_receipt_tree **t;
	int n, cap;
	int last;   /* rows of one tree come together: look there first */
};

/* Puts row's entry into its tree, made on first use, and returns the tree. e is
 * the answer row's entry, NULL for a context row (which names its own). A new
 * entry (disposition 1, e->envelope set) is hashed here; a replay's and a
 * context row's leaf hash come with the row. Exits on a row that contradicts. */
struct pc_receipt_tree *pc_row_trees_place(struct pc_row_trees *ts, const PGresult *res, int row,
                                           const struct pc_row_entry *e, int disposition);
/* Signs every tree; exits when one misses entries (the database contradicts itself). */
void pc_row_trees_seal(struct pc_row_trees *ts);
void pc_row_trees_free(struct pc_row_trees *ts);

#endif
