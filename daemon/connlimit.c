/* connlimit.c - connection counts per key, a chained hash table (see connlimit.h). */
#include "connlimit.h"

#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define N_BUCKETS 4096   /* a power of two; chains stay short up to ~10^5 keys */

struct node {
	struct node *next;
	int count;
	size_t len;
	uint8_t key[PC_CONNLIMIT_KEY_MAX];
};

struct pc_connlimit {
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	size_t n;
	struct node *buckets[N_BUCKETS];
};

struct pc_connlimit *pc_connlimit_new(void)
{
	struct pc_connlimit *t = calloc(1, sizeof *t);
	if (!t)
		fatal("connlimit: calloc");
	randombytes_buf(t->hash_key, sizeof t->hash_key);
	return t;
}

void pc_connlimit_free(struct pc_connlimit *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < N_BUCKETS; i++) {
		struct node *n, *next;
		for (n = t->buckets[i]; n; n = next) {
			next = n->next;
			free(n);
		}
	}
	free(t);
}

static size_t bucket(const struct pc_connlimit *t, const void *key, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, key, len, t->hash_key);
	uint64_t v;
	memcpy(&v, h, sizeof v);
	return (size_t)(v & (N_BUCKETS - 1));
}

static struct node **find(const struct pc_connlimit *t, const void *key, size_t len)
{
	struct node **p = (struct node **)&t->buckets[bucket(t, key, len)];
	for (; *p; p = &(*p)->next)
		if ((*p)->len == len && memcmp((*p)->key, key, len) == 0)
			break;
	return p;
}

int pc_connlimit_get(const struct pc_connlimit *t, const void *key, size_t len)
{
	if (len > PC_CONNLIMIT_KEY_MAX)
		fatalx("connlimit: key of %zu bytes", len);
	struct node **p = find(t, key, len);
	return *p ? (*p)->count : 0;
}

int pc_connlimit_add(struct pc_connlimit *t, const void *key, size_t len, int delta)
{
	if (len > PC_CONNLIMIT_KEY_MAX)
		fatalx("connlimit: key of %zu bytes", len);
	struct node **p = find(t, key, len);
	struct node *n = *p;
	if (!n) {
		if (delta <= 0)
			fatalx("connlimit: count of an absent key lowered");
		n = calloc(1, sizeof *n);
		if (!n)
			fatal("connlimit: calloc");
		memcpy(n->key, key, len);
		n->len = len;
		*p = n;
		t->n++;
	}
	n->count += delta;
	if (n->count < 0)
		fatalx("connlimit: count below zero");
	int count = n->count;
	if (count == 0) {
		*p = n->next;
		free(n);
		t->n--;
	}
	return count;
}

size_t pc_connlimit_size(const struct pc_connlimit *t)
{
	return t->n;
}

size_t pc_connlimit_addr_key(const struct sockaddr *sa, uint8_t out[17])
{
	static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		out[0] = 4;
		memcpy(out + 1, &sin->sin_addr, 4);
		return 5;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *a = sin6->sin6_addr.s6_addr;
		if (memcmp(a, v4_mapped, sizeof v4_mapped) == 0) {
			out[0] = 4;
			memcpy(out + 1, a + 12, 4);
			return 5;
		}
		out[0] = 6;
		memcpy(out + 1, a, 8);
		return 9;
	}
	return 0;
}
