/* sql.c - the daemon's SQL, all of it parameterized. */
#include "sql.h"

#include "pgarray.h"

static const Oid record_batch_types[PC_RECORD_BATCH_NPARAMS] = {
	PC_OID_TEXT_ARRAY,   /* alliance */
	PC_OID_TEXT_ARRAY,   /* merchant */
	PC_OID_TEXT_ARRAY,   /* event id */
	PC_OID_TEXT_ARRAY,   /* key id */
	PC_OID_INT2_ARRAY,   /* kind */
	PC_OID_BYTEA_ARRAY,  /* envelope */
	PC_OID_BYTEA_ARRAY,  /* payload hash */
	PC_OID_TIMESTAMPTZ_ARRAY,   /* event time */
	PC_OID_TEXT_ARRAY,   /* store */
	PC_OID_TEXT_ARRAY,   /* terminal */
	PC_OID_TEXT_ARRAY,   /* member */
	PC_OID_INT8_ARRAY,   /* amount */
	PC_OID_TEXT_ARRAY,   /* referenced event id */
	PC_OID_INT8_ARRAY,   /* referenced sequence */
	PC_OID_INT4_ARRAY,   /* hold duration */
	PC_OID_TEXT_ARRAY,   /* reason */
	PC_OID_TEXT_ARRAY,   /* beneficiary */
	PC_OID_TEXT_ARRAY,   /* channel */
	PC_OID_TEXT_ARRAY,   /* campaign */
	PC_OID_TEXT_ARRAY,   /* referral code */
	PC_OID_TIMESTAMPTZ_ARRAY,   /* touch time */
	PC_OID_TEXT_ARRAY,   /* currency */
	PC_OID_TEXT_ARRAY,   /* member authorization: device key id */
	PC_OID_BYTEA_ARRAY,  /* member authorization: nonce */
	PC_OID_INT8_ARRAY,   /* member authorization: expiry, µs */
	PC_OID_INT2_ARRAY,   /* key state: NULL, or per event NULL or the key's refusal code */
};

const struct pc_db_statement pc_writer_statements[] = {
	{ PC_STMT_RECORD_BATCH,
	  "SELECT * FROM pc_record_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,"
	  " $15, $16, $17, $18, $19, $20, $21, $22,"
	  " p_auth_key => $23, p_auth_nonce => $24, p_auth_expires => $25, p_key_state => $26)",
	  PC_RECORD_BATCH_NPARAMS, record_batch_types },
};
const int pc_writer_nstatements = (int)(sizeof pc_writer_statements / sizeof pc_writer_statements[0]);

static const Oid int4_type[1] = { PC_OID_INT4 };
static const Oid lookup_types[PC_LOOKUP_NPARAMS] = { PC_OID_TEXT, PC_OID_TEXT, PC_OID_TEXT_ARRAY };

const struct pc_db_statement pc_control_statements[] = {
	{ PC_STMT_LOAD_ALLIANCES,
	  "SELECT alliance_id, currency, window_future_s, window_past_s, ca_cert_pem,"
	  " consent_threshold FROM alliances",
	  0, NULL },
	{ PC_STMT_LOAD_MERCHANTS,
	  "SELECT alliance_id, merchant_id, status FROM merchants", 0, NULL },
	/* a retired key is unusable once its grace is over, as a revoked one */
	{ PC_STMT_LOAD_KEYS,
	  "SELECT alliance_id, key_id, merchant_id, encode(public_key, 'hex'), pc_us(valid_from),"
	  " coalesce(pc_us(least(revoked_at, grace_until)), 9223372036854775807) FROM merchant_keys",
	  0, NULL },
	/* a key revoked already is as good as unknown: left out */
	{ PC_STMT_LOAD_DEVICES,
	  "SELECT alliance_id, key_id, member_id, encode(public_key, 'hex'),"
	  " coalesce(pc_us(revoked_at), 9223372036854775807) FROM member_devices"
	  " WHERE revoked_at IS NULL OR revoked_at > now()",
	  0, NULL },
	{ PC_STMT_LOAD_REVOKED_CERTS,
	  "SELECT alliance_id, serial FROM merchant_certs WHERE revoked_at IS NOT NULL", 0, NULL },
	{ PC_STMT_EXPIRE_HOLDS, "SELECT pc_expire_holds($1)", 1, int4_type },
	/* LOOKUP (lookup.c): the same columns as PC_STMT_RECORD_BATCH */
	{ PC_STMT_LOOKUP, "SELECT * FROM pc_lookup_entries($1, $2, $3)", PC_LOOKUP_NPARAMS,
	  lookup_types },
};
const int pc_control_nstatements =
	(int)(sizeof pc_control_statements / sizeof pc_control_statements[0]);

const char *const pc_control_setup[] = { "LISTEN pc_keys" };
const int pc_control_nsetup = 1;
