/* keyhist.h - key-history statements (PROTOCOL.md, "Key history"): the
 * operator-signed record of every merchant signing key's registration,
 * retirement and revocation, and of the operator key in force, one small
 * line-oriented text per change, chained by hash and signed as a C2SP note.
 *
 * An auditor reads them to tell which key was valid for an entry without
 * trusting the clearing house's database. */
#ifndef POINTCLEAR_KEYHIST_H
#define POINTCLEAR_KEYHIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PC_KEYHIST_VERSION "pointclear key history v1"
/* Room for a statement's text: eleven short lines. */
#define PC_KEYHIST_TEXT_MAX 512
/* Room for the note key name "pointclear/<alliance>/keys". */
#define PC_KEYHIST_NAME_MAX 80

enum pc_keyhist_change {
	PC_KEYHIST_REGISTER = 0,
	PC_KEYHIST_RETIRE,
	PC_KEYHIST_REVOKE,
	PC_KEYHIST_OPERATOR_KEY,
};

enum pc_keyhist_err {
	PC_KEYHIST_OK = 0,
	PC_KEYHIST_BAD_VERSION,   /* not a statement of this version */
	PC_KEYHIST_BAD_LINE,      /* a line missing, out of order or of the wrong shape */
	PC_KEYHIST_BAD_FIELD,     /* a value that is not what its line allows */
	PC_KEYHIST_BAD_KEY_ID,    /* the key id is not the public key's */
	PC_KEYHIST_BAD_TIMES,     /* an end before valid-from, or the wrong ends for the change */
	PC_KEYHIST_BAD_SEQ,       /* not the statement after the previous one */
	PC_KEYHIST_BAD_PREV,      /* prev is not the hash of the previous statement */
	PC_KEYHIST_BAD_ALLIANCE,  /* a statement of another alliance */
	PC_KEYHIST_TOO_LONG,      /* does not fit the buffer given */
};

const char *pc_keyhist_strerror(int err);
const char *pc_keyhist_change_name(int change);

struct pc_keyhist {
	char alliance[65];
	uint64_t seq;
	int change;               /* enum pc_keyhist_change */
	char merchant[65];        /* "" for operator-key */
	char key_id[17];          /* pc_key_id() of pk */
	uint8_t pk[32];
	int64_t valid_from;       /* µs since the epoch */
	bool has_grace;           /* retire: events signed before grace_until accepted */
	int64_t grace_until;
	bool has_revoked;         /* revoke: invalid from revoked_at */
	int64_t revoked_at;
	uint8_t prev[32];         /* SHA-256 of the previous signed note; zeros at seq 0 */
};

/* The note key name statements of an alliance are signed under. 0, or -1. */
int pc_keyhist_name(char out[PC_KEYHIST_NAME_MAX], const char *alliance);

/* Writes the statement's note text into out (size bytes, NUL-terminated). */
int pc_keyhist_format(const struct pc_keyhist *k, char *out, size_t size, size_t *len);

/* Parses a statement's note text strictly: what format writes, nothing else. */
int pc_keyhist_parse(struct pc_keyhist *k, const char *text, size_t len);

/* SHA-256 of a whole signed note (text, blank line, signatures): the next
 * statement's prev. */
void pc_keyhist_hash(uint8_t out[32], const char *note, size_t len);

/* Whether cur follows the statement prev (NULL for the first) whose signed
 * note hashes to prev_hash: same alliance, next seq, prev matching. */
int pc_keyhist_follows(const struct pc_keyhist *prev, const uint8_t prev_hash[32],
                       const struct pc_keyhist *cur);

#endif
