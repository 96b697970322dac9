/* tiles.c - C2SP tlog-tiles of height 8: paths, widths, entry bundles, the
 * right-edge appender, and tree hashes and RFC 9162 proofs read from tiles.
 *
 * The appender keeps a log's partial tiles and its frontier (merkle.h): a leaf
 * costs the frontier's hashes (two on average) and, once a tile fills, the
 * tile's 255 (one a leaf, and 1/256 of that a level up). */
#include "pointclear/tiles.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef uint8_t hash_t[PC_HASH_SIZE];

/* size >> bits, 0 once bits reach 64 (where C leaves the shift undefined). */
static uint64_t shr(uint64_t v, unsigned bits)
{
	return bits >= 64 ? 0 : v >> bits;
}

int pc_tile_path(char out[PC_TILE_PATH_MAX], int level, uint64_t index, unsigned width)
{
	unsigned groups[7];   /* 2^64 has 20 digits */
	int ng = 0, n;

	if (level < PC_TILE_ENTRIES || level > 63 || width == 0 || width > PC_TILE_WIDTH)
		return -1;
	if (level == PC_TILE_ENTRIES)
		n = snprintf(out, PC_TILE_PATH_MAX, "tile/entries/");
	else
		n = snprintf(out, PC_TILE_PATH_MAX, "tile/%d/", level);
	do {
		groups[ng++] = (unsigned)(index % 1000);
		index /= 1000;
	} while (index > 0);
	while (ng-- > 1)
		n += snprintf(out + n, PC_TILE_PATH_MAX - (size_t)n, "x%03u/", groups[ng]);
	n += snprintf(out + n, PC_TILE_PATH_MAX - (size_t)n, "%03u", groups[0]);
	if (width < PC_TILE_WIDTH)
		snprintf(out + n, PC_TILE_PATH_MAX - (size_t)n, ".p/%u", width);
	return 0;
}

/* A decimal of 1 to maxlen digits without a leading zero at *p; advances. */
static int parse_dec(const char **p, int maxlen, uint64_t *v)
{
	const char *s = *p;
	int n = 0;
	*v = 0;
	while (s[n] >= '0' && s[n] <= '9' && n < maxlen)
		*v = *v * 10 + (uint64_t)(s[n++] - '0');
	if (n == 0 || (n > 1 && s[0] == '0') || (s[n] >= '0' && s[n] <= '9'))
		return -1;
	*p = s + n;
	return 0;
}

/* Three digits exactly at *p; advances. */
static int parse_group(const char **p, unsigned *v)
{
	const char *s = *p;
	for (int i = 0; i < 3; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	*v = (unsigned)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
	*p = s + 3;
	return 0;
}

int pc_tile_path_parse(const char *path, int *level, uint64_t *index, unsigned *width)
{
	const char *p = path;
	uint64_t v;

	if (strncmp(p, "tile/", 5) != 0)
		return -1;
	p += 5;
	if (strncmp(p, "entries/", 8) == 0) {
		*level = PC_TILE_ENTRIES;
		p += 8;
	} else {
		if (parse_dec(&p, 2, &v) != 0 || v > 63 || *p++ != '/')
			return -1;
		*level = (int)v;
	}
	uint64_t idx = 0;
	unsigned g;
	bool first = true;
	while (*p == 'x') {
		p++;
		if (parse_group(&p, &g) != 0 || *p++ != '/' || (first && g == 0) ||
		    idx > (UINT64_MAX - g) / 1000)
			return -1;
		idx = idx * 1000 + g;
		first = false;
	}
	if (parse_group(&p, &g) != 0 || idx > (UINT64_MAX - g) / 1000)
		return -1;
	*index = idx * 1000 + g;
	*width = PC_TILE_WIDTH;
	if (*p == '\0')
		return 0;
	if (strncmp(p, ".p/", 3) != 0)
		return -1;
	p += 3;
	if (parse_dec(&p, 3, &v) != 0 || v == 0 || v >= PC_TILE_WIDTH || *p != '\0')
		return -1;
	*width = (unsigned)v;
	return 0;
}

unsigned pc_tile_width(uint64_t size, int level, uint64_t index)
{
	if (level == PC_TILE_ENTRIES)
		level = 0;
	if (level < 0 || level >= PC_TILE_LEVELS)
		return 0;
	if (index >= pc_tile_count(size, level))
		return 0;
	/* the level's hashes are the whole subtrees of 256^level leaves */
	uint64_t left = shr(size, 8 * (unsigned)level) - index * PC_TILE_WIDTH;
	return left >= PC_TILE_WIDTH ? PC_TILE_WIDTH : (unsigned)left;
}

uint64_t pc_tile_count(uint64_t size, int level)
{
	if (level == PC_TILE_ENTRIES)
		level = 0;
	if (level < 0 || level >= PC_TILE_LEVELS)
		return 0;
	uint64_t hashes = shr(size, 8 * (unsigned)level);
	return shr(hashes, 8) + (hashes % PC_TILE_WIDTH != 0);
}

int pc_tile_compute(const uint8_t (*leaves)[PC_HASH_SIZE], uint64_t n, int level,
                    uint64_t index, uint8_t out[PC_TILE_WIDTH][PC_HASH_SIZE],
                    unsigned *width)
{
	*width = level == PC_TILE_ENTRIES ? 0 : pc_tile_width(n, level, index);
	if (*width == 0)
		return -1;
	uint64_t span = (uint64_t)1 << (8 * level);
	for (unsigned i = 0; i < *width; i++)
		pc_merkle_root_of(out[i], leaves + (index * PC_TILE_WIDTH + i) * span, span);
	return 0;
}

int pc_tile_bundle_add(uint8_t *buf, size_t cap, size_t *used, const uint8_t *entry,
                       size_t len)
{
	if (len > 0xffff || cap - *used < 2 || cap - *used - 2 < len)
		return -1;
	buf[*used] = (uint8_t)(len >> 8);
	buf[*used + 1] = (uint8_t)len;
	if (len)
		memcpy(buf + *used + 2, entry, len);
	*used += 2 + len;
	return 0;
}

int pc_tile_bundle_next(const uint8_t *buf, size_t len, size_t *off, const uint8_t **entry,
                        size_t *entry_len)
{
	if (*off == len)
		return 0;
	if (len - *off < 2)
		return -1;
	size_t n = (size_t)buf[*off] << 8 | buf[*off + 1];
	if (len - *off - 2 < n)
		return -1;
	*entry = buf + *off + 2;
	*entry_len = n;
	*off += 2 + n;
	return 1;
}

void pc_tlog_edge_init(struct pc_tlog_edge *e)
{
	e->size = 0;
	pc_merkle_frontier_init(&e->frontier);
}

int pc_tlog_edge_load(struct pc_tlog_edge *e, uint64_t size, pc_tile_reader read, void *arg)
{
	pc_tlog_edge_init(e);
	for (unsigned l = 0; l < PC_TILE_LEVELS; l++) {
		unsigned w = (unsigned)(shr(size, 8 * l) % PC_TILE_WIDTH);
		if (w == 0)
			continue;
		int err = read(arg, (int)l, shr(size, 8 * (l + 1)), 0, w, e->right[l]);
		if (err)
			return err;
	}
	/* bit b of size is bit b % 8 of level b / 8's width: the subtree it stands
	 * for is 2^(b % 8) hashes of that partial tile, after the larger ones */
	for (unsigned b = 0; b < 64; b++) {
		if (!(size >> b & 1))
			continue;
		unsigned l = b / 8, k = b % 8;
		unsigned w = (unsigned)(shr(size, 8 * l) % PC_TILE_WIDTH);
		unsigned start = w >> (k + 1) << (k + 1);
		pc_merkle_root_of(e->frontier.node[b], (const hash_t *)e->right[l] + start,
		                  (size_t)1 << k);
	}
	e->frontier.size = size;
	e->size = size;
	return 0;
}

static int emit(pc_tile_sink sink, void *arg, const struct pc_tlog_edge *e, unsigned level,
                uint64_t index, unsigned from, unsigned width)
{
	struct pc_tile_update u = {
		.level = (int)level, .index = index, .from = from, .width = width,
		.hashes = (const hash_t *)e->right[level],
	};
	return sink(arg, &u);
}

int pc_tlog_append(struct pc_tlog_edge *e, const uint8_t (*leaves)[PC_HASH_SIZE], size_t n,
                   pc_tile_sink sink, void *arg)
{
	unsigned dirty[PC_TILE_LEVELS];   /* first hash written since told; 256: none */
	int err;

	for (unsigned l = 0; l < PC_TILE_LEVELS; l++)
		dirty[l] = PC_TILE_WIDTH;
	for (size_t j = 0; j < n; j++) {
		uint64_t i = e->size;
		if (pc_merkle_frontier_append(&e->frontier, leaves[j]) != 0)
			return -1;
		const uint8_t *h = leaves[j];
		hash_t carry;
		for (unsigned l = 0;; l++) {
			/* a level gets a hash only when the tile below filled, that is
			 * when 256^l divides i + 1 */
			unsigned pos = (unsigned)(shr(i, 8 * l) % PC_TILE_WIDTH);
			memcpy(e->right[l][pos], h, PC_HASH_SIZE);
			if (pos < dirty[l])
				dirty[l] = pos;
			if (pos != PC_TILE_WIDTH - 1)
				break;
			if ((err = emit(sink, arg, e, l, shr(i, 8 * (l + 1)), dirty[l],
			                PC_TILE_WIDTH)) != 0)
				return err;
			dirty[l] = PC_TILE_WIDTH;
			/* the frontier may already have merged the tile's root into a
			 * larger subtree: hash it from the tile, 255 hashes a tile */
			pc_merkle_root_of(carry, (const hash_t *)e->right[l], PC_TILE_WIDTH);
			h = carry;
		}
		e->size = i + 1;
	}
	for (unsigned l = 0; l < PC_TILE_LEVELS; l++) {
		unsigned w = (unsigned)(shr(e->size, 8 * l) % PC_TILE_WIDTH);
		if (dirty[l] < w &&
		    (err = emit(sink, arg, e, l, shr(e->size, 8 * (l + 1)), dirty[l], w)) != 0)
			return err;
	}
	return 0;
}

void pc_tlog_edge_root(const struct pc_tlog_edge *e, uint8_t out[PC_HASH_SIZE])
{
	pc_merkle_frontier_root(&e->frontier, out);
}

struct reader {
	pc_tile_reader read;
	void *arg;
};

/* The root of the perfect subtree of 2^height leaves starting at leaf
 * k * 2^height: one stored hash, or the root of up to 128 of a tile's. */
static int read_node(const struct reader *r, unsigned height, uint64_t k, uint8_t out[PC_HASH_SIZE])
{
	unsigned l = height / 8, rem = height % 8, count = 1u << rem;
	uint64_t start = k << rem;
	hash_t buf[PC_TILE_WIDTH / 2];
	int err = r->read(r->arg, (int)l, start / PC_TILE_WIDTH, (unsigned)(start % PC_TILE_WIDTH),
	                  count, buf);
	if (err)
		return err;
	pc_merkle_root_of(out, (const hash_t *)buf, count);
	return 0;
}

/* MTH(D[lo, hi)) for lo < hi, lo a multiple of a power of two not below hi - lo
 * (true of every range RFC 9162's recursions visit): its perfect subtrees, the
 * largest first, folded from the right. */
static int range_hash(const struct reader *r, uint64_t lo, uint64_t hi, uint8_t out[PC_HASH_SIZE])
{
	hash_t piece[64];
	int np = 0, err;
	uint64_t n = hi - lo, pos = lo;
	for (int b = 63; b >= 0; b--) {
		if (!(n >> b & 1))
			continue;
		if ((err = read_node(r, (unsigned)b, pos >> b, piece[np++])) != 0)
			return err;
		pos += (uint64_t)1 << b;
	}
	memcpy(out, piece[np - 1], PC_HASH_SIZE);
	for (int j = np - 2; j >= 0; j--)
		pc_merkle_node_hash(out, piece[j], out);
	return 0;
}

/* The largest power of two below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
	uint64_t k = 1;
	while (k < n - k)
		k <<= 1;
	return k;
}

int pc_tlog_tree_hash(uint64_t size, pc_tile_reader read, void *arg, uint8_t out[PC_HASH_SIZE])
{
	struct reader r = { read, arg };
	if (size == 0) {
		pc_merkle_empty_root(out);
		return 0;
	}
	return range_hash(&r, 0, size, out);
}

static int push(const struct reader *r, uint64_t lo, uint64_t hi,
                uint8_t proof[PC_TLOG_MAX_PROOF][PC_HASH_SIZE], size_t *len)
{
	if (*len == PC_TLOG_MAX_PROOF)
		return -1;
	return range_hash(r, lo, hi, proof[(*len)++]);
}

/* PATH(m, D[lo, hi)), appended bottom up. */
static int inclusion(const struct reader *r, uint64_t m, uint64_t lo, uint64_t hi,
                     uint8_t proof[PC_TLOG_MAX_PROOF][PC_HASH_SIZE], size_t *len)
{
	if (hi - lo == 1)
		return 0;
	uint64_t k = split_point(hi - lo);
	int err;
	if (m < lo + k) {
		if ((err = inclusion(r, m, lo, lo + k, proof, len)) != 0)
			return err;
		return push(r, lo + k, hi, proof, len);
	}
	if ((err = inclusion(r, m, lo + k, hi, proof, len)) != 0)
		return err;
	return push(r, lo, lo + k, proof, len);
}

int pc_tlog_prove_inclusion(uint64_t index, uint64_t size, pc_tile_reader read, void *arg,
                            uint8_t proof[PC_TLOG_MAX_PROOF][PC_HASH_SIZE], size_t *len)
{
	struct reader r = { read, arg };
	*len = 0;
	if (index >= size)
		return -1;
	return inclusion(&r, index, 0, size, proof, len);
}

/* SUBPROOF(m, D[lo, hi), whole), m leaves of the old tree in this range. */
static int subproof(const struct reader *r, uint64_t m, uint64_t lo, uint64_t hi, bool whole,
                    uint8_t proof[PC_TLOG_MAX_PROOF][PC_HASH_SIZE], size_t *len)
{
	uint64_t n = hi - lo;
	int err;
	if (m == n)
		return whole ? 0 : push(r, lo, hi, proof, len);
	uint64_t k = split_point(n);
	if (m <= k) {
		if ((err = subproof(r, m, lo, lo + k, whole, proof, len)) != 0)
			return err;
		return push(r, lo + k, hi, proof, len);
	}
	if ((err = subproof(r, m - k, lo + k, hi, false, proof, len)) != 0)
		return err;
	return push(r, lo, lo + k, proof, len);
}

int pc_tlog_prove_consistency(uint64_t size1, uint64_t size2, pc_tile_reader read, void *arg,
                              uint8_t proof[PC_TLOG_MAX_PROOF][PC_HASH_SIZE], size_t *len)
{
	struct reader r = { read, arg };
	*len = 0;
	if (size1 > size2)
		return -1;
	if (size1 == 0 || size1 == size2)
		return 0;
	return subproof(&r, size1, 0, size2, true, proof, len);
}
