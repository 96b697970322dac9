/* idset.c - a hash set of request ids (see idset.h). */
#include "idset.h"

#include <stdlib.h>

#include "log.h"

#define MIN_SLOTS 16

/* Fibonacci hashing: a client's ids are often consecutive, which this spreads. */
static size_t slot_of(const struct pc_idset *s, uint64_t id)
{
	return (size_t)((id * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & s->mask;
}

static void put(struct pc_idset *s, uint64_t id)
{
	size_t i = slot_of(s, id);
	while (s->used[i])
		i = (i + 1) & s->mask;
	s->used[i] = true;
	s->ids[i] = id;
	s->n++;
}

static void grow(struct pc_idset *s)
{
	size_t old_slots = s->used ? s->mask + 1 : 0;
	uint64_t *old_ids = s->ids;
	bool *old_used = s->used;
	size_t slots = old_slots ? 2 * old_slots : MIN_SLOTS;
	s->ids = calloc(slots, sizeof *s->ids);
	s->used = calloc(slots, sizeof *s->used);
	if (!s->ids || !s->used)
		fatal("idset: calloc");
	s->mask = slots - 1;
	s->n = 0;
	for (size_t i = 0; i < old_slots; i++)
		if (old_used[i])
			put(s, old_ids[i]);
	free(old_ids);
	free(old_used);
}

/* The slot holding id, or -1. */
static long find(const struct pc_idset *s, uint64_t id)
{
	if (!s->used)
		return -1;
	for (size_t i = slot_of(s, id); s->used[i]; i = (i + 1) & s->mask)
		if (s->ids[i] == id)
			return (long)i;
	return -1;
}

bool pc_idset_has(const struct pc_idset *s, uint64_t id)
{
	return find(s, id) >= 0;
}

bool pc_idset_add(struct pc_idset *s, uint64_t id)
{
	if (find(s, id) >= 0)
		return false;
	if (!s->used || 2 * (s->n + 1) > s->mask + 1)
		grow(s);
	put(s, id);
	return true;
}

void pc_idset_remove(struct pc_idset *s, uint64_t id)
{
	long found = find(s, id);
	if (found < 0)
		return;
	size_t hole = (size_t)found;
	s->used[hole] = false;
	s->n--;
	/* Backward shift: pull later entries of the run into the hole when their
	 * home slot does not lie cyclically between the hole and where they sit. */
	for (size_t j = (hole + 1) & s->mask; s->used[j]; j = (j + 1) & s->mask) {
		size_t home = slot_of(s, s->ids[j]);
		bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
		if (stays)
			continue;
		s->ids[hole] = s->ids[j];
		s->used[hole] = true;
		s->used[j] = false;
		hole = j;
	}
}

void pc_idset_free(struct pc_idset *s)
{
	free(s->ids);
	free(s->used);
	s->ids = NULL;
	s->used = NULL;
	s->mask = 0;
	s->n = 0;
}
