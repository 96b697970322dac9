/* checkpoint.c - C2SP tlog-checkpoint note texts: parsed strictly (three
 * non-empty lines at least, a canonical decimal size, the base64 of a 32-byte
 * root, non-empty extension lines), written canonically. */
#include "pointclear/checkpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

const char *pc_checkpoint_strerror(int err)
{
	switch (err) {
	case PC_CHECKPOINT_OK: return "ok";
	case PC_CHECKPOINT_BAD_TEXT: return "checkpoint is not three or more lines of note text";
	case PC_CHECKPOINT_BAD_ORIGIN: return "bad checkpoint origin";
	case PC_CHECKPOINT_BAD_SIZE: return "bad checkpoint tree size";
	case PC_CHECKPOINT_BAD_ROOT: return "bad checkpoint root hash";
	case PC_CHECKPOINT_BAD_EXT: return "empty checkpoint extension line";
	case PC_CHECKPOINT_WRONG_ORIGIN: return "checkpoint of another log";
	case PC_CHECKPOINT_TOO_LONG: return "checkpoint too long";
	}
	return "unknown error";
}

/* The line at *p (up to end), without its newline; advances *p past it. The
 * text ends with a newline, so every line has one. */
static const char *next_line(const char **p, const char *end, size_t *len)
{
	const char *line = *p, *nl = memchr(line, '\n', (size_t)(end - line));
	*len = (size_t)(nl - line);
	*p = nl + 1;
	return line;
}

int pc_checkpoint_parse_size(const char *s, size_t len, uint64_t *out)
{
	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return PC_CHECKPOINT_BAD_SIZE;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return PC_CHECKPOINT_BAD_SIZE;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return PC_CHECKPOINT_BAD_SIZE;
		v = v * 10 + d;
	}
	*out = v;
	return PC_CHECKPOINT_OK;
}

static int check_ext(const char *ext, size_t len)
{
	if (len > 0 && ext[len - 1] != '\n')
		return PC_CHECKPOINT_BAD_EXT;
	for (size_t i = 0; i < len; i++)
		if (ext[i] == '\n' && (i == 0 || ext[i - 1] == '\n'))
			return PC_CHECKPOINT_BAD_EXT;
	return PC_CHECKPOINT_OK;
}

int pc_checkpoint_parse(struct pc_checkpoint *c, const char *text, size_t len)
{
	memset(c, 0, sizeof *c);
	if (!pc_note_text_valid(text, len))
		return PC_CHECKPOINT_BAD_TEXT;
	const char *p = text, *end = text + len, *line;
	size_t n;
	int err;

	line = next_line(&p, end, &n);
	if (n == 0 || n > PC_CHECKPOINT_MAX_ORIGIN)
		return PC_CHECKPOINT_BAD_ORIGIN;
	memcpy(c->origin, line, n);
	c->origin[n] = '\0';
	if (p == end)
		return PC_CHECKPOINT_BAD_TEXT;
	line = next_line(&p, end, &n);
	if ((err = pc_checkpoint_parse_size(line, n, &c->size)) != 0)
		return err;
	if (p == end)
		return PC_CHECKPOINT_BAD_TEXT;
	line = next_line(&p, end, &n);
	size_t root_len;
	/* 44 characters exactly: libsodium refuses non-zero padding bits, so the
	 * encoding is the one canonical form */
	if (n != sodium_base64_ENCODED_LEN(PC_HASH_SIZE, sodium_base64_VARIANT_ORIGINAL) - 1 ||
	    sodium_base642bin(c->root, sizeof c->root, line, n, NULL, &root_len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 || root_len != PC_HASH_SIZE)
		return PC_CHECKPOINT_BAD_ROOT;
	if ((err = check_ext(p, (size_t)(end - p))) != 0)
		return err;
	if (p < end) {
		c->ext = p;
		c->ext_len = (size_t)(end - p);
	}
	return PC_CHECKPOINT_OK;
}

int pc_checkpoint_format(const struct pc_checkpoint *c, char *out, size_t size, size_t *len)
{
	char root[sodium_base64_ENCODED_LEN(PC_HASH_SIZE, sodium_base64_VARIANT_ORIGINAL)];
	size_t olen = strlen(c->origin);
	int err;

	*len = 0;
	if (olen == 0 || olen > PC_CHECKPOINT_MAX_ORIGIN || memchr(c->origin, '\n', olen))
		return PC_CHECKPOINT_BAD_ORIGIN;
	if ((err = check_ext(c->ext, c->ext_len)) != 0)
		return err;
	sodium_bin2base64(root, sizeof root, c->root, PC_HASH_SIZE, sodium_base64_VARIANT_ORIGINAL);
	int n = snprintf(out, size, "%s\n%" PRIu64 "\n%s\n%.*s", c->origin, c->size, root,
	                 (int)c->ext_len, c->ext_len ? c->ext : "");
	if (n < 0 || (size_t)n >= size)
		return PC_CHECKPOINT_TOO_LONG;
	if (!pc_note_text_valid(out, (size_t)n))
		return PC_CHECKPOINT_BAD_ORIGIN;   /* a control character or bad UTF-8 */
	*len = (size_t)n;
	return PC_CHECKPOINT_OK;
}

int pc_checkpoint_open(struct pc_checkpoint *c, const char *msg, size_t len,
                       const struct pc_note_verifier *known, size_t nknown,
                       const char *origin)
{
	size_t text_len;
	int err = pc_note_open(msg, len, known, nknown, &text_len, NULL);
	if (err)
		return -err;
	if ((err = pc_checkpoint_parse(c, msg, text_len)) != 0)
		return err;
	if (origin != NULL && strcmp(origin, c->origin) != 0)
		return PC_CHECKPOINT_WRONG_ORIGIN;
	return PC_CHECKPOINT_OK;
}
