/* tlog_proof.h - C2SP tlog-proof (https://c2sp.org/tlog-proof): a self-contained,
 * offline proof that an entry is in a log: its index, its RFC 9162 inclusion
 * path, optional opaque extra data, and the signed checkpoint the path leads
 * to. A receipt upgraded to such a proof can be checked with the log's public
 * key alone. */
#ifndef POINTCLEAR_TLOG_PROOF_H
#define POINTCLEAR_TLOG_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include <pointclear/checkpoint.h>
#include <pointclear/tiles.h>   /* PC_TLOG_MAX_PROOF */

#define PC_TLOG_PROOF_HEADER "c2sp.org/tlog-proof@v1"
/* Most extra bytes accepted. */
#define PC_TLOG_PROOF_MAX_EXTRA 1024

enum pc_tlog_proof_err {
	PC_TLOG_PROOF_OK = 0,
	PC_TLOG_PROOF_MALFORMED,      /* header, extra, index or path lines */
	PC_TLOG_PROOF_NO_CHECKPOINT,  /* the signed checkpoint does not open */
	PC_TLOG_PROOF_NOT_INCLUDED,   /* the path does not lead to its root */
	PC_TLOG_PROOF_NOMEM,
};

struct pc_tlog_proof {
	size_t extra_len;             /* 0: no extra line */
	uint8_t extra[PC_TLOG_PROOF_MAX_EXTRA];
	uint64_t index;
	size_t path_len;
	uint8_t path[PC_TLOG_MAX_PROOF][PC_HASH_SIZE];
	/* The signed checkpoint, verbatim; after parsing, it points into the text. */
	const char *checkpoint;
	size_t checkpoint_len;
};

/* Writes p: *out is malloc'd and NUL-terminated, *len bytes without the NUL. */
int pc_tlog_proof_format(const struct pc_tlog_proof *p, char **out, size_t *len);
/* Parses a proof's text; checks its form only. */
int pc_tlog_proof_parse(struct pc_tlog_proof *p, const char *text, size_t len);
/* Checks a parsed proof for the entry whose leaf hash is leaf: the checkpoint
 * opens against known with this origin (see pc_checkpoint_open; its result in
 * *c), and the path leads from leaf at p->index to its root. */
int pc_tlog_proof_verify(const struct pc_tlog_proof *p, const uint8_t leaf[PC_HASH_SIZE],
                         const struct pc_note_verifier *known, size_t nknown,
                         const char *origin, struct pc_checkpoint *c);

#endif
