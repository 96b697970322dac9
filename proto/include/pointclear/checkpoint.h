/* checkpoint.h - C2SP transparency log checkpoints (https://c2sp.org/
 * tlog-checkpoint): the note text naming a log (its origin), a tree size and
 * that tree's RFC 9162 root, parsed strictly and written canonically, and
 * opened from a signed note in one step.
 *
 * The audit log of an alliance publishes its state as such checkpoints, signed
 * with note.h, so that any checkpoint reader can follow it. */
#ifndef POINTCLEAR_CHECKPOINT_H
#define POINTCLEAR_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include <pointclear/leaf.h>   /* PC_HASH_SIZE */
#include <pointclear/note.h>

/* Longest origin accepted, in bytes. */
#define PC_CHECKPOINT_MAX_ORIGIN 255

enum pc_checkpoint_err {
	PC_CHECKPOINT_OK = 0,
	PC_CHECKPOINT_BAD_TEXT,    /* not a note text, or fewer than three lines */
	PC_CHECKPOINT_BAD_ORIGIN,  /* empty or too long */
	PC_CHECKPOINT_BAD_SIZE,    /* not decimal, a leading zero, beyond 64 bits */
	PC_CHECKPOINT_BAD_ROOT,    /* not the base64 of 32 bytes */
	PC_CHECKPOINT_BAD_EXT,     /* an empty extension line */
	PC_CHECKPOINT_WRONG_ORIGIN,/* a signed checkpoint of another log */
	PC_CHECKPOINT_TOO_LONG,    /* does not fit the buffer given */
};

const char *pc_checkpoint_strerror(int err);

struct pc_checkpoint {
	char origin[PC_CHECKPOINT_MAX_ORIGIN + 1];
	uint64_t size;
	uint8_t root[PC_HASH_SIZE];
	/* Extension lines, each with its newline, or NULL and 0: after parsing they
	 * point into the parsed text. */
	const char *ext;
	size_t ext_len;
};

/* Parses a checkpoint note text (the text of the signed note, final newline
 * included). */
int pc_checkpoint_parse(struct pc_checkpoint *c, const char *text, size_t len);

/* A tree size as checkpoints (and tlog-proof indexes) write it: ASCII decimal,
 * no sign, no leading zero, at most UINT64_MAX. 0 or PC_CHECKPOINT_BAD_SIZE. */
int pc_checkpoint_parse_size(const char *s, size_t len, uint64_t *out);

/* Writes c's note text into out (size bytes, NUL-terminated); *len its length.
 * Checks what parsing would check, so what it writes parses back. */
int pc_checkpoint_format(const struct pc_checkpoint *c, char *out, size_t size, size_t *len);

/* Opens a signed checkpoint: the note must verify against known (see
 * pc_note_open, whose error codes it returns as they are) and its origin be
 * origin (when not NULL). A note error is returned as -(its code) to tell the
 * two families apart; 0 when both hold. */
int pc_checkpoint_open(struct pc_checkpoint *c, const char *msg, size_t len,
                       const struct pc_note_verifier *known, size_t nknown,
                       const char *origin);

#endif
