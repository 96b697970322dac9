/* sql.h - every SQL text the daemon sends and its prepared-statement name. */
#ifndef PC_SQL_H
#define PC_SQL_H

#include "db.h"

#define PC_STMT_RECORD_BATCH "pc_record_batch"
#define PC_RECORD_BATCH_NPARAMS 26   /* the last four (authorizations, key states) are NULL in most batches */
#define PC_STMT_LOAD_ALLIANCES "pc_load_alliances"
#define PC_STMT_LOAD_MERCHANTS "pc_load_merchants"
#define PC_STMT_LOAD_KEYS "pc_load_keys"
#define PC_STMT_LOAD_DEVICES "pc_load_devices"
#define PC_STMT_LOAD_REVOKED_CERTS "pc_load_revoked_certs"
#define PC_STMT_EXPIRE_HOLDS "pc_expire_holds"
#define PC_STMT_LOOKUP "pc_lookup_entries"   /* alliance, merchant, event ids */
#define PC_LOOKUP_NPARAMS 3

/* Result columns of PC_STMT_RECORD_BATCH (pc_record_batch) and of PC_STMT_LOOKUP
 * (pc_lookup_entries, index: the place in its id array), in order: one row per
 * event of the batch (index 1..n), then context rows (index 0): the other entries
 * of the receipt trees its rows belong to. */
enum pc_record_batch_col {
	PC_COL_IDX, PC_COL_DISPOSITION, PC_COL_CODE, PC_COL_SEQ, PC_COL_ACCEPTED_US,
	PC_COL_STATUS, PC_COL_BALANCE, PC_COL_AVAILABLE, PC_COL_APPLIED, PC_COL_REMAINING,
	PC_COL_HOLD_EXPIRES_US,
	PC_COL_LEAF_HASH,        /* replays and context rows; NULL for a new entry (writer.c) */
	PC_COL_ORIGINAL_SEQ,
	PC_COL_TREE_FIRST, PC_COL_TREE_SIZE,          /* the receipt tree of the entry */
	PC_COL_CTX_ALLIANCE, PC_COL_CTX_MERCHANT, PC_COL_CTX_EVENT,   /* context rows only */
	PC_RECORD_BATCH_NCOLS
};

extern const struct pc_db_statement pc_writer_statements[];
extern const int pc_writer_nstatements;
extern const struct pc_db_statement pc_control_statements[];
extern const int pc_control_nstatements;
extern const char *const pc_control_setup[];
extern const int pc_control_nsetup;

#endif
