/* connlimit.h - connection counts per key: per source address (connections in
 * their handshake) and per merchant (identified connections), so that no one
 * address or merchant can take every slot (conn.c).
 *
 * Keys are short byte strings. The table hashes them with SipHash under a key
 * drawn at start-up: source addresses are the attacker's to choose (a /64 holds
 * 2^64 of them), and a predictable hash would let them pile into one bucket. */
#ifndef PC_CONNLIMIT_H
#define PC_CONNLIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PC_CONNLIMIT_KEY_MAX 132   /* "alliance/merchant": 64 + 1 + 64, and room */

struct pc_connlimit;

struct pc_connlimit *pc_connlimit_new(void);
void pc_connlimit_free(struct pc_connlimit *t);

/* The count of key (0 when absent). */
int pc_connlimit_get(const struct pc_connlimit *t, const void *key, size_t len);
/* Adds delta (+1 or -1) to key's count and returns the new count; a key whose
 * count reaches 0 is removed. len is at most PC_CONNLIMIT_KEY_MAX. */
int pc_connlimit_add(struct pc_connlimit *t, const void *key, size_t len, int delta);
/* Keys held (for the tests). */
size_t pc_connlimit_size(const struct pc_connlimit *t);

/* The key a source address is limited under, into out (at least 17 bytes):
 * an IPv4 address whole (also when mapped into IPv6), an IPv6 address by its
 * /64. A single IPv6 host is normally given a whole /64 and can pick any
 * address in it (privacy addresses, SLAAC), so a per-address limit on full IPv6
 * addresses would limit nothing. Returns the key's length, 0 for another family. */
size_t pc_connlimit_addr_key(const struct sockaddr *sa, uint8_t out[17]);

#endif
