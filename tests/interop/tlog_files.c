/* tlog_files.c - the C half of the transparency log interop test: writes a
 * log (tiles, entry bundles, two signed checkpoints, proofs) with libpcproto
 * for Go's golang.org/x/mod/sumdb/tlog and note to check, and checks the same
 * kind of log written by Go. See run.sh.
 *
 *   tlog_files write DIR    a log of 1000 entries, checkpoints at 600 and 1000
 *   tlog_files verify DIR   Go's log in DIR: every check fails loudly
 *
 * Each directory holds vkey (the verifier key), checkpoint.<size> (signed
 * notes), tile/... (C2SP paths), and proofs: lines "inclusion INDEX SIZE
 * HASH..." and "consistency SIZE1 SIZE2 HASH..." with base64 hashes. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "pointclear/checkpoint.h"
#include "pointclear/note.h"
#include "pointclear/tiles.h"

#define ORIGIN "pointclear.example/interop"
#define B64_HASH sodium_base64_ENCODED_LEN(PC_HASH_SIZE, sodium_base64_VARIANT_ORIGINAL)

typedef uint8_t hash[PC_HASH_SIZE];

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("tlog_files: FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* mkdir -p of the directories above path. */
static void make_parents(const char *path)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) != 0 && errno != EEXIST)
				die("mkdir %s: %s", buf, strerror(errno));
			*p = '/';
		}
}

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	make_parents(path);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		die("write %s", path);
}

/* The whole file, NUL-terminated after *len bytes; NULL when absent. */
static char *read_file(const char *dir, const char *name, size_t *len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, n = 0, got;
	do {
		if (cap - n < 4096) {
			cap = cap * 2 + 8192;
			buf = realloc(buf, cap);
			if (buf == NULL)
				die("out of memory");
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void b64(char out[B64_HASH], const uint8_t h[PC_HASH_SIZE])
{
	sodium_bin2base64(out, B64_HASH, h, PC_HASH_SIZE, sodium_base64_VARIANT_ORIGINAL);
}

/* ---------------------------------------------------------------- write */

struct writer {
	const char *dir;
};

/* Each tile as its file: full ones once, a partial one a checkpoint. */
static int tile_sink(void *arg, const struct pc_tile_update *u)
{
	const struct writer *w = arg;
	char path[PC_TILE_PATH_MAX];
	if (pc_tile_path(path, u->level, u->index, u->width) != 0)
		die("tile path");
	write_file(w->dir, path, u->hashes, u->width * (size_t)PC_HASH_SIZE);
	return 0;
}

static int dir_read(void *arg, int level, uint64_t index, unsigned from, unsigned count,
                    uint8_t (*out)[PC_HASH_SIZE]);

struct reader {
	const char *dir;
	uint64_t size;   /* the tree whose tiles are read */
};

static void entry_of(uint64_t i, char *buf, size_t cap, size_t *len)
{
	*len = (size_t)snprintf(buf, cap, "pointclear interop entry %" PRIu64 "\n", i);
}

static void write_bundles(const char *dir, uint64_t from, uint64_t to)
{
	/* entry bundles of the tree of size to, from the tile holding from on */
	for (uint64_t t = from / PC_TILE_WIDTH; t < pc_tile_count(to, PC_TILE_ENTRIES); t++) {
		unsigned w = pc_tile_width(to, PC_TILE_ENTRIES, t);
		uint8_t buf[PC_TILE_WIDTH * 64];
		size_t used = 0;
		for (unsigned i = 0; i < w; i++) {
			char e[64];
			size_t len;
			entry_of(t * PC_TILE_WIDTH + i, e, sizeof e, &len);
			if (pc_tile_bundle_add(buf, sizeof buf, &used, (const uint8_t *)e, len) != 0)
				die("bundle");
		}
		char path[PC_TILE_PATH_MAX];
		pc_tile_path(path, PC_TILE_ENTRIES, t, w);
		write_file(dir, path, buf, used);
	}
}

static void write_checkpoint(const char *dir, const struct pc_note_signer *s, uint64_t size,
                             const uint8_t root[PC_HASH_SIZE])
{
	struct pc_checkpoint c = { .origin = ORIGIN, .size = size };
	char text[512], name[64], *msg;
	size_t len, msg_len;
	memcpy(c.root, root, PC_HASH_SIZE);
	if (pc_checkpoint_format(&c, text, sizeof text, &len) != 0 ||
	    pc_note_sign(text, len, s, 1, &msg, &msg_len) != 0)
		die("sign checkpoint");
	snprintf(name, sizeof name, "checkpoint.%" PRIu64, size);
	write_file(dir, name, msg, msg_len);
	free(msg);
}

static void put_proof(FILE *f, const char *kind, uint64_t a, uint64_t b,
                      uint8_t (*p)[PC_HASH_SIZE], size_t len)
{
	fprintf(f, "%s %" PRIu64 " %" PRIu64, kind, a, b);
	for (size_t i = 0; i < len; i++) {
		char s[B64_HASH];
		b64(s, p[i]);
		fprintf(f, " %s", s);
	}
	fputc('\n', f);
}

static int cmd_write(const char *dir)
{
	static const uint64_t sizes[] = { 600, 1000 };
	struct pc_note_signer s;
	struct pc_note_verifier v;
	uint8_t seed[32];
	char vkey[PC_NOTE_VKEY_MAX];
	struct writer w = { dir };
	struct pc_tlog_edge *e = malloc(sizeof *e);
	if (e == NULL)
		die("out of memory");

	memset(seed, 0x5c, sizeof seed);
	if (pc_note_signer_from_seed(&s, ORIGIN, seed) != 0)
		die("signer");
	pc_note_signer_verifier(&s, &v);
	pc_note_verifier_format(&v, vkey);
	strcat(vkey, "\n");
	write_file(dir, "vkey", vkey, strlen(vkey));

	pc_tlog_edge_init(e);
	uint64_t done = 0;
	for (size_t k = 0; k < 2; k++) {
		for (; done < sizes[k]; done++) {
			char entry[64];
			size_t len;
			hash leaf;
			entry_of(done, entry, sizeof entry, &len);
			pc_merkle_leaf_hash(leaf, (const uint8_t *)entry, len);
			if (pc_tlog_append(e, (const hash *)&leaf, 1, tile_sink, &w) != 0)
				die("append");
		}
		hash root;
		pc_tlog_edge_root(e, root);
		write_checkpoint(dir, &s, done, root);
		write_bundles(dir, k ? sizes[k - 1] : 0, done);
	}

	/* proofs read back from the files just written */
	char path[4096];
	snprintf(path, sizeof path, "%s/proofs", dir);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		die("open %s", path);
	struct reader r = { dir, 1000 };
	hash proof[PC_TLOG_MAX_PROOF];
	size_t len;
	for (uint64_t i = 0; i < 1000; i += 37) {
		if (pc_tlog_prove_inclusion(i, 1000, dir_read, &r, proof, &len) != 0)
			die("inclusion proof %" PRIu64, i);
		put_proof(f, "inclusion", i, 1000, proof, len);
	}
	for (uint64_t s1 = 1; s1 <= 1000; s1 += 111) {
		if (pc_tlog_prove_consistency(s1, 1000, dir_read, &r, proof, &len) != 0)
			die("consistency proof %" PRIu64, s1);
		put_proof(f, "consistency", s1, 1000, proof, len);
	}
	if (pc_tlog_prove_consistency(600, 1000, dir_read, &r, proof, &len) != 0)
		die("consistency proof 600");
	put_proof(f, "consistency", 600, 1000, proof, len);
	fclose(f);
	free(e);
	printf("tlog_files: wrote a log of 1000 entries to %s\n", dir);
	return 0;
}

/* ---------------------------------------------------------------- verify */

/* A tile of the tree r->size: full, or the partial one of that size. */
static int dir_read(void *arg, int level, uint64_t index, unsigned from, unsigned count,
                    uint8_t (*out)[PC_HASH_SIZE])
{
	const struct reader *r = arg;
	unsigned w = pc_tile_width(r->size, level, index);
	char path[PC_TILE_PATH_MAX];
	size_t len;
	if (w == 0 || from + count > w || pc_tile_path(path, level, index, w) != 0)
		die("tile %d/%" PRIu64 " [%u, %u) is not in the tree of %" PRIu64, level, index,
		    from, from + count, r->size);
	char *data = read_file(r->dir, path, &len);
	if (data == NULL)
		die("missing tile %s", path);
	if (len != w * (size_t)PC_HASH_SIZE)
		die("tile %s is %zu bytes, not %u hashes", path, len, w);
	memcpy(out, data + from * (size_t)PC_HASH_SIZE, count * (size_t)PC_HASH_SIZE);
	free(data);
	return 0;
}

static void open_checkpoint(const char *dir, uint64_t size, const struct pc_note_verifier *v,
                            struct pc_checkpoint *c)
{
	char name[64];
	size_t len;
	snprintf(name, sizeof name, "checkpoint.%" PRIu64, size);
	char *msg = read_file(dir, name, &len);
	if (msg == NULL)
		die("missing %s", name);
	int err = pc_checkpoint_open(c, msg, len, v, 1, NULL);
	if (err)
		die("%s: %s", name, err < 0 ? pc_note_strerror(-err) : pc_checkpoint_strerror(err));
	if (c->size != size)
		die("%s: size %" PRIu64, name, c->size);
	/* the text in the note is the canonical one */
	char text[512];
	size_t tlen;
	if (pc_checkpoint_format(c, text, sizeof text, &tlen) != 0 || strncmp(text, msg, tlen) != 0)
		die("%s: not written canonically", name);
	free(msg);
}

static size_t parse_hashes(char *rest, uint8_t (*out)[PC_HASH_SIZE])
{
	size_t n = 0;
	for (char *tok = strtok(rest, " \n"); tok; tok = strtok(NULL, " \n")) {
		size_t got;
		if (n == PC_TLOG_MAX_PROOF ||
		    sodium_base642bin(out[n], PC_HASH_SIZE, tok, strlen(tok), NULL, &got, NULL,
		                      sodium_base64_VARIANT_ORIGINAL) != 0 || got != PC_HASH_SIZE)
			die("bad proof hash %s", tok);
		n++;
	}
	return n;
}

static int cmd_verify(const char *dir)
{
	struct pc_note_verifier v;
	size_t len;
	char *vkey = read_file(dir, "vkey", &len);
	if (vkey == NULL)
		die("missing vkey");
	vkey[strcspn(vkey, "\n")] = '\0';
	int err = pc_note_verifier_parse(&v, vkey);
	if (err)
		die("vkey %s: %s", vkey, pc_note_strerror(err));
	free(vkey);

	/* Go's sizes: see main.go */
	static const uint64_t sizes[] = { 777, 1500 };
	struct pc_checkpoint c[2];
	for (int k = 0; k < 2; k++) {
		open_checkpoint(dir, sizes[k], &v, &c[k]);
		struct reader r = { dir, sizes[k] };
		hash root;
		pc_tlog_tree_hash(sizes[k], dir_read, &r, root);
		if (memcmp(root, c[k].root, PC_HASH_SIZE) != 0)
			die("tree of %" PRIu64 ": tiles and checkpoint disagree", sizes[k]);
	}

	/* every entry hashes to its level-0 tile hash */
	struct reader r = { dir, sizes[1] };
	uint64_t seen = 0;
	for (uint64_t t = 0; t < pc_tile_count(sizes[1], PC_TILE_ENTRIES); t++) {
		char path[PC_TILE_PATH_MAX];
		unsigned w = pc_tile_width(sizes[1], PC_TILE_ENTRIES, t);
		pc_tile_path(path, PC_TILE_ENTRIES, t, w);
		char *b = read_file(dir, path, &len);
		if (b == NULL)
			die("missing %s", path);
		size_t off = 0, elen;
		const uint8_t *entry;
		hash tile[PC_TILE_WIDTH], leaf;
		dir_read(&r, 0, t, 0, w, tile);
		unsigned i = 0;
		int got;
		while ((got = pc_tile_bundle_next((const uint8_t *)b, len, &off, &entry, &elen)) == 1) {
			if (i == w)
				die("%s: more than %u entries", path, w);
			pc_merkle_leaf_hash(leaf, entry, elen);
			if (memcmp(leaf, tile[i], PC_HASH_SIZE) != 0)
				die("%s: entry %u does not hash to its tile", path, i);
			i++;
		}
		if (got < 0 || i != w)
			die("%s: malformed bundle", path);
		seen += i;
		free(b);
	}
	if (seen != sizes[1])
		die("%" PRIu64 " entries in bundles", seen);

	/* Go's proofs verify, and are the ones libpcproto makes from Go's tiles */
	char *proofs = read_file(dir, "proofs", &len);
	if (proofs == NULL)
		die("missing proofs");
	int ninc = 0, ncons = 0;
	for (char *line = proofs, *next; *line; line = next) {
		next = strchr(line, '\n');
		if (next == NULL)
			die("proofs: no final newline");
		*next++ = '\0';
		char kind[16];
		uint64_t a, b;
		int used;
		if (sscanf(line, "%15s %" SCNu64 " %" SCNu64 "%n", kind, &a, &b, &used) != 3)
			die("proofs: bad line %s", line);
		hash p[PC_TLOG_MAX_PROOF], mine[PC_TLOG_MAX_PROOF];
		size_t n = parse_hashes(line + used, p), mlen;
		struct reader rb = { dir, b };
		hash root_b, root_a, leaf;
		pc_tlog_tree_hash(b, dir_read, &rb, root_b);
		if (strcmp(kind, "inclusion") == 0) {
			dir_read(&rb, 0, a / PC_TILE_WIDTH, (unsigned)(a % PC_TILE_WIDTH), 1, &leaf);
			if (!pc_merkle_verify(leaf, a, b, (const hash *)p, n, root_b))
				die("Go's inclusion proof of %" PRIu64 " in %" PRIu64 " does not verify", a, b);
			pc_tlog_prove_inclusion(a, b, dir_read, &rb, mine, &mlen);
			ninc++;
		} else if (strcmp(kind, "consistency") == 0) {
			/* the older tree's root from the newer tree's tiles: Go keeps
			 * the partial tiles of its checkpoints only */
			pc_tlog_tree_hash(a, dir_read, &rb, root_a);
			if (!pc_merkle_verify_consistency(a, b, root_a, root_b, (const hash *)p, n))
				die("Go's consistency proof %" PRIu64 " -> %" PRIu64 " does not verify", a, b);
			pc_tlog_prove_consistency(a, b, dir_read, &rb, mine, &mlen);
			ncons++;
		} else {
			die("proofs: unknown kind %s", kind);
		}
		if (mlen != n || memcmp(mine, p, n * sizeof(hash)) != 0)
			die("%s %" PRIu64 " %" PRIu64 ": Go's proof differs from libpcproto's", kind, a, b);
	}
	free(proofs);
	if (ninc == 0 || ncons == 0)
		die("proofs: too few");
	printf("tlog_files: Go's log verified: %" PRIu64 " entries, 2 checkpoints, %d inclusion "
	       "and %d consistency proofs\n", seen, ninc, ncons);
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		die("sodium_init");
	if (argc == 3 && strcmp(argv[1], "write") == 0)
		return cmd_write(argv[2]);
	if (argc == 3 && strcmp(argv[1], "verify") == 0)
		return cmd_verify(argv[2]);
	fputs("usage: tlog_files write|verify DIR\n", stderr);
	return 2;
}
