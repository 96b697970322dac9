/* tiles.h - C2SP tiled transparency logs (https://c2sp.org/tlog-tiles) of
 * height 8: tile paths, which tiles a tree has, what a tile holds, entry
 * bundles; an appender that keeps only a log's right edge and says which tiles
 * each append changed; and tree hashes and RFC 9162 inclusion and consistency
 * proofs read back through a caller's tile reader, so that the tiles may live in
 * PostgreSQL or in files.
 *
 * Tile (L, N) holds, for i below its width, MTH(D[(N*256+i)*256^L,
 * (N*256+i+1)*256^L)): the roots of 256^L leaves each. Full tiles hold 256;
 * the tree's right edge has at most one partial tile a level. */
#ifndef POINTCLEAR_TILES_H
#define POINTCLEAR_TILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pointclear/leaf.h>     /* PC_HASH_SIZE */
#include <pointclear/merkle.h>

#define PC_TILE_HEIGHT 8
#define PC_TILE_WIDTH 256
/* Levels 0 to 7 hold every tree of up to 2^64 - 1 leaves. */
#define PC_TILE_LEVELS 8
/* The "level" of entry bundles in paths. */
#define PC_TILE_ENTRIES (-1)
/* Longest path pc_tile_path writes, with its NUL. */
#define PC_TILE_PATH_MAX 64
/* Longest inclusion or consistency proof of any 64-bit tree. */
#define PC_TLOG_MAX_PROOF 66

/* "tile/<L>/<N>[.p/<W>]", or "tile/entries/<N>[.p/<W>]" for level
 * PC_TILE_ENTRIES; N as 3-digit elements, all but the last led by 'x'; width
 * PC_TILE_WIDTH for a full tile. 0, or -1 (a level or width out of range). */
int pc_tile_path(char out[PC_TILE_PATH_MAX], int level, uint64_t index, unsigned width);
/* The reverse, refusing any other spelling. 0 or -1. */
int pc_tile_path_parse(const char *path, int *level, uint64_t *index, unsigned *width);

/* How many hashes tile (level, index) holds in the tree of size leaves:
 * PC_TILE_WIDTH when full, 0 when the tree has no such tile. Entry bundles
 * (level PC_TILE_ENTRIES) are as level 0. */
unsigned pc_tile_width(uint64_t size, int level, uint64_t index);
/* How many tiles, full and partial, the tree of size leaves has at level. */
uint64_t pc_tile_count(uint64_t size, int level);

/* Tile (level, index) of the tree over the n leaf hashes, computed from all of
 * them as the spec defines it (O(n): for exports from scratch and for tests).
 * Writes its width into *width and that many hashes into out. 0, or -1 when the
 * tree has no such tile. */
int pc_tile_compute(const uint8_t (*leaves)[PC_HASH_SIZE], uint64_t n, int level,
                    uint64_t index, uint8_t out[PC_TILE_WIDTH][PC_HASH_SIZE],
                    unsigned *width);

/* Entry bundles: each entry a big-endian uint16 length and its bytes.
 * pc_tile_bundle_add appends one to buf (cap bytes, *used filled): 0, or -1 when
 * the entry is longer than 65535 bytes or buf is full. pc_tile_bundle_next reads
 * the entry at *off: 1 and the entry, 0 at the end, -1 when cut short. */
int pc_tile_bundle_add(uint8_t *buf, size_t cap, size_t *used, const uint8_t *entry,
                       size_t len);
int pc_tile_bundle_next(const uint8_t *buf, size_t len, size_t *off, const uint8_t **entry,
                        size_t *entry_len);

/* What an append changed: tile (level, index) now holds width hashes, of which
 * hashes[from, width) are new. A storage that keeps each hash as its own row
 * inserts those; one that keeps whole tiles writes the tile (a full one when
 * width is PC_TILE_WIDTH). */
struct pc_tile_update {
	int level;
	uint64_t index;
	unsigned from, width;
	const uint8_t (*hashes)[PC_HASH_SIZE];
};
/* Returns 0 to go on; anything else stops the append, which returns it. */
typedef int (*pc_tile_sink)(void *arg, const struct pc_tile_update *u);

/* Reads count hashes of tile (level, index), from position from on, into out;
 * they are always within the tile's width in the tree being read. 0, or
 * anything else as an error that the caller gets back. */
typedef int (*pc_tile_reader)(void *arg, int level, uint64_t index, unsigned from,
                              unsigned count, uint8_t (*out)[PC_HASH_SIZE]);

/* A log's right edge: its size, the partial tile of each level (the first
 * (size >> 8*level) % 256 hashes of right[level]) and the frontier they give.
 * About 66 KiB: allocate it, do not put it on a stack. */
struct pc_tlog_edge {
	uint64_t size;
	struct pc_merkle_frontier frontier;
	uint8_t right[PC_TILE_LEVELS][PC_TILE_WIDTH][PC_HASH_SIZE];
};

void pc_tlog_edge_init(struct pc_tlog_edge *e);
/* The edge of the stored tree of size leaves: reads its partial tiles (at most
 * 255 hashes a level) and derives the frontier from them. */
int pc_tlog_edge_load(struct pc_tlog_edge *e, uint64_t size, pc_tile_reader read, void *arg);
/* Appends n leaf hashes, telling sink of every tile the append filled, in
 * order, then of each partial tile it grew. O(1) hashes a leaf on average,
 * O(log size) at worst. On an error from sink the edge is as it was at no
 * particular point: load it again. */
int pc_tlog_append(struct pc_tlog_edge *e, const uint8_t (*leaves)[PC_HASH_SIZE], size_t n,
                   pc_tile_sink sink, void *arg);
void pc_tlog_edge_root(const struct pc_tlog_edge *e, uint8_t out[PC_HASH_SIZE]);

/* The root of the tree of size leaves, from its tiles. */
int pc_tlog_tree_hash(uint64_t size, pc_tile_reader read, void *arg, uint8_t out[PC_HASH_SIZE]);
/* RFC 9162, 2.1.3.1: the inclusion path of leaf index (< size), bottom up.
 * 0 and *len, or the reader's error, or -1 for an index out of range. */
int pc_tlog_prove_inclusion(uint64_t index, uint64_t size, pc_tile_reader read, void *arg,
                            uint8_t proof[PC_TLOG_MAX_PROOF][PC_HASH_SIZE], size_t *len);
/* RFC 9162, 2.1.4.1: the consistency proof from size1 to size2 (size1 <=
 * size2); empty when size1 is 0 or equal to size2. */
int pc_tlog_prove_consistency(uint64_t size1, uint64_t size2, pc_tile_reader read, void *arg,
                              uint8_t proof[PC_TLOG_MAX_PROOF][PC_HASH_SIZE], size_t *len);

#endif
