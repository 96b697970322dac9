/* note.c - C2SP signed notes with Ed25519 (https://c2sp.org/signed-note): key
 * names, ids and key strings, signing, and opening a note against trusted keys.
 *
 * Opening follows the spec's rules and Go's note package, a little stricter
 * where the spec leaves room: every line must be well formed, a second line of
 * one key name and id is refused rather than skipped, and a known key's
 * signature that fails rejects the whole note. */
#include "pointclear/note.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sha256.h"

/* "— ": U+2014 EM DASH, then a space. */
static const char sig_prefix[] = "\xe2\x80\x94 ";
#define SIG_PREFIX_LEN 4
#define SIG_LEN 64

const char *pc_note_strerror(int err)
{
	switch (err) {
	case PC_NOTE_OK: return "ok";
	case PC_NOTE_BAD_NAME: return "bad key name";
	case PC_NOTE_BAD_KEY: return "malformed key";
	case PC_NOTE_BAD_ALG: return "key is not Ed25519";
	case PC_NOTE_BAD_KEY_ID: return "key id does not match name and key";
	case PC_NOTE_BAD_TEXT: return "bad note text";
	case PC_NOTE_MALFORMED: return "malformed signed note";
	case PC_NOTE_TOO_MANY_SIGS: return "too many signatures";
	case PC_NOTE_DUPLICATE_SIG: return "two signatures of one key";
	case PC_NOTE_BAD_SIGNATURE: return "a known key's signature does not verify";
	case PC_NOTE_UNVERIFIED: return "no signature of a known key";
	case PC_NOTE_NOMEM: return "out of memory";
	}
	return "unknown error";
}

/* Decodes one UTF-8 sequence at s (n > 0 bytes left): its length, the code
 * point in *cp; 0 for anything Go's decoder would call an error (overlong,
 * surrogate, beyond U+10FFFF, cut short). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Unicode White_Space, as Go's unicode.IsSpace sees it. */
static bool is_space(uint32_t cp)
{
	return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 ||
	       cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

bool pc_note_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > PC_NOTE_MAX_NAME)
		return false;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_next((const unsigned char *)name + i, len - i, &cp);
		if (n == 0 || is_space(cp) || cp == '+' || cp < 0x20 || cp == 0x7f)
			return false;
		i += n;
	}
	return true;
}

/* UTF-8 with no control character below U+0020 but newline: what a whole
 * signed note, and so its text, must be. */
static bool note_bytes_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_next((const unsigned char *)s + i, len - i, &cp);
		if (n == 0 || (cp < 0x20 && cp != '\n'))
			return false;
		i += n;
	}
	return true;
}

bool pc_note_text_valid(const char *text, size_t len)
{
	return len > 0 && text[len - 1] == '\n' && note_bytes_valid(text, len);
}

uint32_t pc_note_key_id(const char *name, const uint8_t pk[32])
{
	static const uint8_t sep[2] = { '\n', PC_NOTE_ALG_ED25519 };
	uint8_t h[32];
	pc_sha256(h, (const struct pc_sha256_piece[]){
	                     { name, strlen(name) }, { sep, 2 }, { pk, 32 } }, 3);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

/* Copies a name of len bytes into dst after checking it. */
static int take_name(char dst[PC_NOTE_MAX_NAME + 1], const char *name, size_t len)
{
	if (!pc_note_name_valid(name, len))
		return PC_NOTE_BAD_NAME;
	memcpy(dst, name, len);
	dst[len] = '\0';
	return PC_NOTE_OK;
}

int pc_note_signer_from_seed(struct pc_note_signer *s, const char *name,
                             const uint8_t seed[32])
{
	uint8_t pk[32];
	int err = take_name(s->name, name, strlen(name));
	if (err)
		return err;
	crypto_sign_seed_keypair(pk, s->sk, seed);
	s->key_id = pc_note_key_id(s->name, pk);
	return PC_NOTE_OK;
}

void pc_note_signer_verifier(const struct pc_note_signer *s, struct pc_note_verifier *v)
{
	memcpy(v->name, s->name, sizeof v->name);
	v->key_id = s->key_id;
	crypto_sign_ed25519_sk_to_pk(v->pk, s->sk);
}

/* Splits "<name>+<8 hex>+<base64 of 0x01 || 32 bytes>" into its parts. */
static int parse_key(const char *str, char name[PC_NOTE_MAX_NAME + 1], uint32_t *id,
                     uint8_t key[32])
{
	const char *plus1 = strchr(str, '+');
	if (plus1 == NULL)
		return PC_NOTE_BAD_KEY;
	const char *hex = plus1 + 1, *plus2 = strchr(hex, '+');
	if (plus2 == NULL || plus2 - hex != 8)
		return PC_NOTE_BAD_KEY;
	int err = take_name(name, str, (size_t)(plus1 - str));
	if (err)
		return err;
	uint32_t v = 0;
	for (int i = 0; i < 8; i++) {
		char c = hex[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
		      : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return PC_NOTE_BAD_KEY;
		v = v << 4 | (uint32_t)d;
	}
	uint8_t raw[33];
	size_t raw_len;
	const char *b64 = plus2 + 1;
	if (sodium_base642bin(raw, sizeof raw, b64, strlen(b64), NULL, &raw_len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 || raw_len == 0)
		return PC_NOTE_BAD_KEY;
	if (raw[0] != PC_NOTE_ALG_ED25519)
		return PC_NOTE_BAD_ALG;
	if (raw_len != 33)
		return PC_NOTE_BAD_KEY;
	memcpy(key, raw + 1, 32);
	sodium_memzero(raw, sizeof raw);
	*id = v;
	return PC_NOTE_OK;
}

int pc_note_verifier_parse(struct pc_note_verifier *v, const char *vkey)
{
	int err = parse_key(vkey, v->name, &v->key_id, v->pk);
	if (err)
		return err;
	return pc_note_key_id(v->name, v->pk) == v->key_id ? PC_NOTE_OK : PC_NOTE_BAD_KEY_ID;
}

int pc_note_signer_parse(struct pc_note_signer *s, const char *skey)
{
	static const char prefix[] = "PRIVATE+KEY+";
	uint8_t seed[32], pk[32];
	uint32_t id;

	if (strncmp(skey, prefix, sizeof prefix - 1) != 0)
		return PC_NOTE_BAD_KEY;
	int err = parse_key(skey + sizeof prefix - 1, s->name, &id, seed);
	if (err)
		return err;
	crypto_sign_seed_keypair(pk, s->sk, seed);
	sodium_memzero(seed, sizeof seed);
	s->key_id = pc_note_key_id(s->name, pk);
	if (s->key_id != id) {
		sodium_memzero(s->sk, sizeof s->sk);
		return PC_NOTE_BAD_KEY_ID;
	}
	return PC_NOTE_OK;
}

/* "<name>+<hex id>+<base64(0x01 || key)>" into out. */
static void format_key(char *out, size_t size, const char *name, uint32_t id,
                       const uint8_t key[32])
{
	uint8_t raw[33];
	char b64[sodium_base64_ENCODED_LEN(33, sodium_base64_VARIANT_ORIGINAL)];
	raw[0] = PC_NOTE_ALG_ED25519;
	memcpy(raw + 1, key, 32);
	sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, size, "%s+%08x+%s", name, (unsigned)id, b64);
	sodium_memzero(raw, sizeof raw);
	sodium_memzero(b64, sizeof b64);
}

void pc_note_verifier_format(const struct pc_note_verifier *v, char out[PC_NOTE_VKEY_MAX])
{
	format_key(out, PC_NOTE_VKEY_MAX, v->name, v->key_id, v->pk);
}

void pc_note_signer_format(const struct pc_note_signer *s, char out[PC_NOTE_SKEY_MAX])
{
	memcpy(out, "PRIVATE+KEY+", 12);
	/* libsodium's secret key starts with the seed */
	format_key(out + 12, PC_NOTE_SKEY_MAX - 12, s->name, s->key_id, s->sk);
}

int pc_note_sign(const char *text, size_t len, const struct pc_note_signer *signers,
                 size_t nsigners, char **out, size_t *out_len)
{
	enum { B64_LEN = sodium_base64_ENCODED_LEN(4 + SIG_LEN, sodium_base64_VARIANT_ORIGINAL) };

	*out = NULL;
	*out_len = 0;
	if (!pc_note_text_valid(text, len))
		return PC_NOTE_BAD_TEXT;
	if (nsigners == 0 || nsigners > PC_NOTE_MAX_SIGS)
		return PC_NOTE_TOO_MANY_SIGS;
	size_t cap = len + 1 + nsigners * (SIG_PREFIX_LEN + PC_NOTE_MAX_NAME + 1 + B64_LEN + 1) + 1;
	char *buf = malloc(cap);
	if (buf == NULL)
		return PC_NOTE_NOMEM;
	memcpy(buf, text, len);
	size_t n = len;
	buf[n++] = '\n';
	for (size_t i = 0; i < nsigners; i++) {
		const struct pc_note_signer *s = &signers[i];
		uint8_t raw[4 + SIG_LEN];
		char b64[B64_LEN];
		if (!pc_note_name_valid(s->name, strlen(s->name))) {
			free(buf);
			return PC_NOTE_BAD_NAME;
		}
		raw[0] = (uint8_t)(s->key_id >> 24);
		raw[1] = (uint8_t)(s->key_id >> 16);
		raw[2] = (uint8_t)(s->key_id >> 8);
		raw[3] = (uint8_t)s->key_id;
		crypto_sign_detached(raw + 4, NULL, (const uint8_t *)text, len, s->sk);
		sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
		n += (size_t)snprintf(buf + n, cap - n, "%s%s %s\n", sig_prefix, s->name, b64);
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return PC_NOTE_OK;
}

/* One signature line, split: name and the decoded key id and signature. */
struct sig_line {
	const char *name;
	size_t name_len;
	uint32_t key_id;
	const uint8_t *sig;
	size_t sig_len;
};

/* Parses line (without its newline); the decoded bytes go to scratch, which
 * has room for len bytes. */
static int parse_sig_line(struct sig_line *sl, const char *line, size_t len, uint8_t *scratch)
{
	if (len < SIG_PREFIX_LEN || memcmp(line, sig_prefix, SIG_PREFIX_LEN) != 0)
		return PC_NOTE_MALFORMED;
	line += SIG_PREFIX_LEN;
	len -= SIG_PREFIX_LEN;
	const char *space = memchr(line, ' ', len);
	if (space == NULL)
		return PC_NOTE_MALFORMED;
	sl->name = line;
	sl->name_len = (size_t)(space - line);
	if (!pc_note_name_valid(sl->name, sl->name_len))
		return PC_NOTE_MALFORMED;
	const char *b64 = space + 1;
	size_t b64_len = len - sl->name_len - 1, raw_len;
	if (b64_len == 0 ||
	    sodium_base642bin(scratch, len, b64, b64_len, NULL, &raw_len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 || raw_len < 5)
		return PC_NOTE_MALFORMED;
	sl->key_id = (uint32_t)scratch[0] << 24 | (uint32_t)scratch[1] << 16 |
	             (uint32_t)scratch[2] << 8 | scratch[3];
	sl->sig = scratch + 4;
	sl->sig_len = raw_len - 4;
	return PC_NOTE_OK;
}

static const struct pc_note_verifier *find_known(const struct sig_line *sl,
                                                 const struct pc_note_verifier *known,
                                                 size_t nknown, size_t *at)
{
	for (size_t i = 0; i < nknown; i++)
		if (known[i].key_id == sl->key_id && strlen(known[i].name) == sl->name_len &&
		    memcmp(known[i].name, sl->name, sl->name_len) == 0) {
			*at = i;
			return &known[i];
		}
	return NULL;
}

/* Checks every signature line in sigs[0, len); see pc_note_open. */
static int check_sigs(const char *text, size_t text_len, const char *sigs, size_t len,
                      const struct pc_note_verifier *known, size_t nknown, bool *verified,
                      uint8_t *scratch)
{
	struct { const char *name; size_t name_len; uint32_t id; } seen[PC_NOTE_MAX_SIGS];
	size_t nseen = 0, good = 0;

	while (len > 0) {
		const char *nl = memchr(sigs, '\n', len);   /* the last byte is one */
		size_t line_len = (size_t)(nl - sigs);
		struct sig_line sl;
		int err = parse_sig_line(&sl, sigs, line_len, scratch);
		if (err)
			return err;
		if (nseen == PC_NOTE_MAX_SIGS)
			return PC_NOTE_TOO_MANY_SIGS;
		for (size_t i = 0; i < nseen; i++)
			if (seen[i].id == sl.key_id && seen[i].name_len == sl.name_len &&
			    memcmp(seen[i].name, sl.name, sl.name_len) == 0)
				return PC_NOTE_DUPLICATE_SIG;
		seen[nseen].name = sl.name;
		seen[nseen].name_len = sl.name_len;
		seen[nseen++].id = sl.key_id;

		size_t at;
		const struct pc_note_verifier *v = find_known(&sl, known, nknown, &at);
		if (v != NULL) {
			if (sl.sig_len != SIG_LEN ||
			    crypto_sign_verify_detached(sl.sig, (const uint8_t *)text, text_len,
			                                v->pk) != 0)
				return PC_NOTE_BAD_SIGNATURE;
			if (verified)
				verified[at] = true;
			good++;
		}
		sigs = nl + 1;
		len -= line_len + 1;
	}
	return good ? PC_NOTE_OK : PC_NOTE_UNVERIFIED;
}

int pc_note_open(const char *msg, size_t len, const struct pc_note_verifier *known,
                 size_t nknown, size_t *text_len, bool *verified)
{
	*text_len = 0;
	if (verified)
		memset(verified, 0, nknown * sizeof *verified);
	if (!note_bytes_valid(msg, len))
		return PC_NOTE_BAD_TEXT;
	/* the text ends at the last blank line */
	size_t split = len;
	for (size_t i = len; i >= 2; i--)
		if (msg[i - 1] == '\n' && msg[i - 2] == '\n') {
			split = i - 2;
			break;
		}
	if (split == len)
		return PC_NOTE_MALFORMED;
	const char *sigs = msg + split + 2;
	size_t sigs_len = len - split - 2;
	if (sigs_len == 0 || sigs[sigs_len - 1] != '\n')
		return PC_NOTE_MALFORMED;
	uint8_t *scratch = malloc(sigs_len);
	if (scratch == NULL)
		return PC_NOTE_NOMEM;
	int err = check_sigs(msg, split + 1, sigs, sigs_len, known, nknown, verified, scratch);
	free(scratch);
	if (err == PC_NOTE_OK)
		*text_len = split + 1;
	else if (verified)
		memset(verified, 0, nknown * sizeof *verified);
	return err;
}
