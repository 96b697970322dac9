/* tlog_proof.c - C2SP tlog-proof texts: written, parsed strictly (the header,
 * an optional extra line, a canonical index, 44-character base64 hashes, a
 * blank line, the checkpoint), and checked against a log's keys. */
#include "pointclear/tlog_proof.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pointclear/merkle.h"

#define B64_HASH_LEN (sodium_base64_ENCODED_LEN(PC_HASH_SIZE, sodium_base64_VARIANT_ORIGINAL) - 1)

int pc_tlog_proof_format(const struct pc_tlog_proof *p, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (p->extra_len > PC_TLOG_PROOF_MAX_EXTRA || p->path_len > PC_TLOG_MAX_PROOF)
		return PC_TLOG_PROOF_MALFORMED;
	size_t cap = sizeof PC_TLOG_PROOF_HEADER + 7 +
	             sodium_base64_ENCODED_LEN(p->extra_len, sodium_base64_VARIANT_ORIGINAL) +
	             6 + 21 + p->path_len * (B64_HASH_LEN + 1) + 1 + p->checkpoint_len + 1;
	char *buf = malloc(cap);
	if (buf == NULL)
		return PC_TLOG_PROOF_NOMEM;
	size_t n = (size_t)snprintf(buf, cap, "%s\n", PC_TLOG_PROOF_HEADER);
	if (p->extra_len) {
		n += (size_t)snprintf(buf + n, cap - n, "extra ");
		sodium_bin2base64(buf + n, cap - n, p->extra, p->extra_len,
		                  sodium_base64_VARIANT_ORIGINAL);
		n += strlen(buf + n);
		buf[n++] = '\n';
	}
	n += (size_t)snprintf(buf + n, cap - n, "index %" PRIu64 "\n", p->index);
	for (size_t i = 0; i < p->path_len; i++) {
		sodium_bin2base64(buf + n, cap - n, p->path[i], PC_HASH_SIZE,
		                  sodium_base64_VARIANT_ORIGINAL);
		n += B64_HASH_LEN;
		buf[n++] = '\n';
	}
	buf[n++] = '\n';
	memcpy(buf + n, p->checkpoint, p->checkpoint_len);
	n += p->checkpoint_len;
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return PC_TLOG_PROOF_OK;
}

/* The line at *p without its newline (NULL when none is left); advances. */
static const char *next_line(const char **p, const char *end, size_t *len)
{
	const char *line = *p, *nl = memchr(line, '\n', (size_t)(end - line));
	if (nl == NULL)
		return NULL;
	*len = (size_t)(nl - line);
	*p = nl + 1;
	return line;
}

int pc_tlog_proof_parse(struct pc_tlog_proof *p, const char *text, size_t len)
{
	const char *at = text, *end = text + len, *line;
	size_t n, got;

	memset(p, 0, sizeof *p);
	line = next_line(&at, end, &n);
	if (line == NULL || n != strlen(PC_TLOG_PROOF_HEADER) ||
	    memcmp(line, PC_TLOG_PROOF_HEADER, n) != 0)
		return PC_TLOG_PROOF_MALFORMED;
	line = next_line(&at, end, &n);
	if (line != NULL && n >= 6 && memcmp(line, "extra ", 6) == 0) {
		if (n == 6 || sodium_base642bin(p->extra, sizeof p->extra, line + 6, n - 6, NULL,
		                                &got, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
			return PC_TLOG_PROOF_MALFORMED;
		p->extra_len = got;
		line = next_line(&at, end, &n);
	}
	if (line == NULL || n < 7 || memcmp(line, "index ", 6) != 0 ||
	    pc_checkpoint_parse_size(line + 6, n - 6, &p->index) != 0)
		return PC_TLOG_PROOF_MALFORMED;
	while ((line = next_line(&at, end, &n)) != NULL && n > 0) {
		if (p->path_len == PC_TLOG_MAX_PROOF || n != B64_HASH_LEN ||
		    sodium_base642bin(p->path[p->path_len], PC_HASH_SIZE, line, n, NULL, &got, NULL,
		                      sodium_base64_VARIANT_ORIGINAL) != 0 || got != PC_HASH_SIZE)
			return PC_TLOG_PROOF_MALFORMED;
		p->path_len++;
	}
	if (line == NULL || at == end)
		return PC_TLOG_PROOF_MALFORMED;   /* no blank line, or nothing after it */
	p->checkpoint = at;
	p->checkpoint_len = (size_t)(end - at);
	return PC_TLOG_PROOF_OK;
}

int pc_tlog_proof_verify(const struct pc_tlog_proof *p, const uint8_t leaf[PC_HASH_SIZE],
                         const struct pc_note_verifier *known, size_t nknown,
                         const char *origin, struct pc_checkpoint *c)
{
	if (pc_checkpoint_open(c, p->checkpoint, p->checkpoint_len, known, nknown, origin) != 0)
		return PC_TLOG_PROOF_NO_CHECKPOINT;
	if (!pc_merkle_verify(leaf, p->index, c->size, (const uint8_t (*)[PC_HASH_SIZE])p->path,
	                      p->path_len, c->root))
		return PC_TLOG_PROOF_NOT_INCLUDED;
	return PC_TLOG_PROOF_OK;
}
