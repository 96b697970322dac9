/* idset.h - the request ids in flight on one connection, for the duplicate
 * check (PROTOCOL.md, "Frames": DUPLICATE_REQUEST_ID).
 *
 * An open-addressing hash set of 64-bit ids with linear probing and
 * backward-shift deletion: add, remove and lookup are O(1) on average, with no
 * tombstones to sweep. It grows to keep at most half its slots used, so its size
 * follows the connection's pipeline depth (--conn-max-inflight bounds it). */
#ifndef PC_IDSET_H
#define PC_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pc_idset {
	uint64_t *ids;
	bool *used;
	size_t mask;    /* slots - 1; slots is a power of two, 0 before the first add */
	size_t n;
};

/* Adds id: true, or false when it is in the set already. */
bool pc_idset_add(struct pc_idset *s, uint64_t id);
bool pc_idset_has(const struct pc_idset *s, uint64_t id);
/* Removes id if present. */
void pc_idset_remove(struct pc_idset *s, uint64_t id);
void pc_idset_free(struct pc_idset *s);

#endif
