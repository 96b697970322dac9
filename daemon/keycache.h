/* keycache.h - what the daemon knows of alliances, merchants and their keys,
 * and of members' device keys.
 *
 * An immutable snapshot, rebuilt from the database on start, on NOTIFY pc_keys
 * and periodically, and swapped in whole. Worker threads acquire a reference for
 * the job at hand, so a swap never pulls a snapshot from under a reader. The
 * database re-checks key validity at its own clock when the event is applied;
 * this cache lets a bad event be refused before anything touches the database. */
#ifndef PC_KEYCACHE_H
#define PC_KEYCACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <openssl/x509.h>

enum pc_merchant_status { PC_MERCHANT_ACTIVE, PC_MERCHANT_IN_TRANSITION, PC_MERCHANT_GONE,
                          PC_MERCHANT_SUSPENDED };

struct pc_alliance_info {
	char id[65];
	char currency[4];
	int64_t window_future_us;
	int64_t window_past_us;
	X509 *ca;                 /* owned by the snapshot */
	char *ca_pem;
	/* with consent: REDEEM and HOLD above consent_threshold points need the
	 * member's authorization (zeroed: none ever does) */
	bool consent;
	int64_t consent_threshold;
};

struct pc_merchant_info {
	char alliance[65];
	char id[65];
	enum pc_merchant_status status;
};

struct pc_key_info {
	char alliance[65];
	char key_id[17];
	char merchant[65];
	uint8_t pk[32];
	int64_t valid_from_us;
	int64_t revoked_at_us;    /* unusable from: revoked, or retired and its grace over;
	                             INT64_MAX: neither */
};

/* A member's device key (not revoked when loaded): it signs their authorizations. */
struct pc_device_info {
	char alliance[65];
	char key_id[17];
	char member[65];
	uint8_t pk[32];
	int64_t revoked_at_us;    /* INT64_MAX: not revoked */
};
/* A merchant TLS certificate's serial, as upper-case hex in whole octets
 * (BN_bn2hex); RFC 5280 allows 20 octets. */
#define PC_CERT_SERIAL_MAX 41

struct pc_keys;   /* the snapshot */

/* Building a snapshot (loop thread). Entries may be added in any order. */
struct pc_keys *pc_keys_new(void);
int pc_keys_add_alliance(struct pc_keys *k, const struct pc_alliance_info *a);  /* takes a->ca, a->ca_pem */
void pc_keys_add_merchant(struct pc_keys *k, const struct pc_merchant_info *m);
void pc_keys_add_key(struct pc_keys *k, const struct pc_key_info *key);
void pc_keys_add_device(struct pc_keys *k, const struct pc_device_info *d);
/* A revoked merchant certificate of that alliance's CA; a serial too long is
 * ignored (no certificate could carry it). */
void pc_keys_add_revoked_cert(struct pc_keys *k, const char *alliance, const char *serial);
void pc_keys_seal(struct pc_keys *k);   /* sorts; lookups only after this */

/* The current snapshot: publish (takes the caller's reference), acquire, release. */
void pc_keys_publish(struct pc_keys *k);
struct pc_keys *pc_keys_acquire(void);
void pc_keys_release(struct pc_keys *k);

const struct pc_alliance_info *pc_keys_alliance(const struct pc_keys *k, const char *alliance);
const struct pc_merchant_info *pc_keys_merchant(const struct pc_keys *k, const char *alliance,
                                                const char *merchant);
const struct pc_key_info *pc_keys_key(const struct pc_keys *k, const char *alliance,
                                      const char *key_id);
const struct pc_device_info *pc_keys_device(const struct pc_keys *k, const char *alliance,
                                            const char *key_id);
bool pc_keys_cert_revoked(const struct pc_keys *k, const char *alliance, const char *serial);
int pc_keys_alliance_count(const struct pc_keys *k);
const struct pc_alliance_info *pc_keys_alliance_at(const struct pc_keys *k, int i);

/* True when both snapshots trust the same set of alliance CAs. */
bool pc_keys_same_cas(const struct pc_keys *a, const struct pc_keys *b);

#endif
