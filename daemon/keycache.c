/* keycache.c - the refcounted snapshot of alliances, merchants and keys. */
#include "keycache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct revoked_cert {
	char alliance[65];
	char serial[PC_CERT_SERIAL_MAX];
};

struct pc_keys {
	atomic_int refs;
	struct pc_alliance_info *alliances;
	int n_alliances, cap_alliances;
	struct pc_merchant_info *merchants;
	int n_merchants, cap_merchants;
	struct pc_key_info *keys;
	int n_keys, cap_keys;
	struct pc_device_info *devices;
	int n_devices, cap_devices;
	struct revoked_cert *certs;
	int n_certs, cap_certs;
};

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pc_keys *current;

#define GROW(arr, n, cap) do { \
	if ((n) == (cap)) { \
		(cap) = (cap) ? (cap) * 2 : 16; \
		void *p_ = realloc((arr), (size_t)(cap) * sizeof *(arr)); \
		if (!p_) fatal("keycache: realloc"); \
		(arr) = p_; \
	} \
} while (0)

struct pc_keys *pc_keys_new(void)
{
	struct pc_keys *k = calloc(1, sizeof *k);
	if (!k)
		fatal("keycache: calloc");
	atomic_init(&k->refs, 1);
	return k;
}

int pc_keys_add_alliance(struct pc_keys *k, const struct pc_alliance_info *a)
{
	GROW(k->alliances, k->n_alliances, k->cap_alliances);
	k->alliances[k->n_alliances++] = *a;
	return 0;
}

void pc_keys_add_merchant(struct pc_keys *k, const struct pc_merchant_info *m)
{
	GROW(k->merchants, k->n_merchants, k->cap_merchants);
	k->merchants[k->n_merchants++] = *m;
}

void pc_keys_add_key(struct pc_keys *k, const struct pc_key_info *key)
{
	GROW(k->keys, k->n_keys, k->cap_keys);
	k->keys[k->n_keys++] = *key;
}

void pc_keys_add_device(struct pc_keys *k, const struct pc_device_info *d)
{
	GROW(k->devices, k->n_devices, k->cap_devices);
	k->devices[k->n_devices++] = *d;
}

void pc_keys_add_revoked_cert(struct pc_keys *k, const char *alliance, const char *serial)
{
	struct revoked_cert c;
	if (strlen(alliance) >= sizeof c.alliance || strlen(serial) >= sizeof c.serial)
		return;
	strcpy(c.alliance, alliance);
	strcpy(c.serial, serial);
	GROW(k->certs, k->n_certs, k->cap_certs);
	k->certs[k->n_certs++] = c;
}

static int cmp_cert(const void *a, const void *b)
{
	const struct revoked_cert *x = a, *y = b;
	int c = strcmp(x->alliance, y->alliance);
	return c ? c : strcmp(x->serial, y->serial);
}

static int cmp_alliance(const void *a, const void *b)
{
	return strcmp(((const struct pc_alliance_info *)a)->id, ((const struct pc_alliance_info *)b)->id);
}

static int cmp_merchant(const void *a, const void *b)
{
	const struct pc_merchant_info *x = a, *y = b;
	int c = strcmp(x->alliance, y->alliance);
	return c ? c : strcmp(x->id, y->id);
}

static int cmp_key(const void *a, const void *b)
{
	const struct pc_key_info *x = a, *y = b;
	int c = strcmp(x->alliance, y->alliance);
	return c ? c : strcmp(x->key_id, y->key_id);
}

static int cmp_device(const void *a, const void *b)
{
	const struct pc_device_info *x = a, *y = b;
	int c = strcmp(x->alliance, y->alliance);
	return c ? c : strcmp(x->key_id, y->key_id);
}

void pc_keys_seal(struct pc_keys *k)
{
	if (k->n_devices)
		qsort(k->devices, (size_t)k->n_devices, sizeof *k->devices, cmp_device);
	if (k->n_alliances)
		qsort(k->alliances, (size_t)k->n_alliances, sizeof *k->alliances, cmp_alliance);
	if (k->n_merchants)
		qsort(k->merchants, (size_t)k->n_merchants, sizeof *k->merchants, cmp_merchant);
	if (k->n_keys)
		qsort(k->keys, (size_t)k->n_keys, sizeof *k->keys, cmp_key);
	if (k->n_certs)
		qsort(k->certs, (size_t)k->n_certs, sizeof *k->certs, cmp_cert);
}

static void keys_free(struct pc_keys *k)
{
	for (int i = 0; i < k->n_alliances; i++) {
		X509_free(k->alliances[i].ca);
		free(k->alliances[i].ca_pem);
	}
	free(k->alliances);
	free(k->merchants);
	free(k->keys);
	free(k->devices);
	free(k->certs);
	free(k);
}

void pc_keys_publish(struct pc_keys *k)
{
	pthread_mutex_lock(&current_lock);
	struct pc_keys *old = current;
	current = k;
	pthread_mutex_unlock(&current_lock);
	if (old)
		pc_keys_release(old);
}

struct pc_keys *pc_keys_acquire(void)
{
	pthread_mutex_lock(&current_lock);
	struct pc_keys *k = current;
	if (k)
		atomic_fetch_add(&k->refs, 1);
	pthread_mutex_unlock(&current_lock);
	return k;
}

void pc_keys_release(struct pc_keys *k)
{
	if (k && atomic_fetch_sub(&k->refs, 1) == 1)
		keys_free(k);
}

const struct pc_alliance_info *pc_keys_alliance(const struct pc_keys *k, const char *alliance)
{
	struct pc_alliance_info probe;
	if (!k || strlen(alliance) >= sizeof probe.id)
		return NULL;
	strcpy(probe.id, alliance);
	return bsearch(&probe, k->alliances, (size_t)k->n_alliances, sizeof probe, cmp_alliance);
}

const struct pc_merchant_info *pc_keys_merchant(const struct pc_keys *k, const char *alliance,
                                                const char *merchant)
{
	struct pc_merchant_info probe;
	if (!k || strlen(alliance) >= sizeof probe.alliance || strlen(merchant) >= sizeof probe.id)
		return NULL;
	strcpy(probe.alliance, alliance);
	strcpy(probe.id, merchant);
	return bsearch(&probe, k->merchants, (size_t)k->n_merchants, sizeof probe, cmp_merchant);
}

const struct pc_key_info *pc_keys_key(const struct pc_keys *k, const char *alliance,
                                      const char *key_id)
{
	struct pc_key_info probe;
	if (!k || strlen(alliance) >= sizeof probe.alliance || strlen(key_id) >= sizeof probe.key_id)
		return NULL;
	strcpy(probe.alliance, alliance);
	strcpy(probe.key_id, key_id);
	return bsearch(&probe, k->keys, (size_t)k->n_keys, sizeof probe, cmp_key);
}

const struct pc_device_info *pc_keys_device(const struct pc_keys *k, const char *alliance,
                                            const char *key_id)
{
	struct pc_device_info probe;
	if (!k || k->n_devices == 0 || strlen(alliance) >= sizeof probe.alliance || strlen(key_id) >= sizeof probe.key_id)
		return NULL;
	strcpy(probe.alliance, alliance);
	strcpy(probe.key_id, key_id);
	return bsearch(&probe, k->devices, (size_t)k->n_devices, sizeof probe, cmp_device);
}

bool pc_keys_cert_revoked(const struct pc_keys *k, const char *alliance, const char *serial)
{
	struct revoked_cert probe;
	if (!k || !k->n_certs || strlen(alliance) >= sizeof probe.alliance ||
	    strlen(serial) >= sizeof probe.serial)
		return false;
	strcpy(probe.alliance, alliance);
	strcpy(probe.serial, serial);
	return bsearch(&probe, k->certs, (size_t)k->n_certs, sizeof probe, cmp_cert) != NULL;
}

int pc_keys_alliance_count(const struct pc_keys *k)
{
	return k ? k->n_alliances : 0;
}

const struct pc_alliance_info *pc_keys_alliance_at(const struct pc_keys *k, int i)
{
	return &k->alliances[i];
}

bool pc_keys_same_cas(const struct pc_keys *a, const struct pc_keys *b)
{
	if (!a || !b || a->n_alliances != b->n_alliances)
		return false;
	for (int i = 0; i < a->n_alliances; i++)
		if (strcmp(a->alliances[i].id, b->alliances[i].id) != 0 ||
		    strcmp(a->alliances[i].ca_pem, b->alliances[i].ca_pem) != 0)
			return false;
	return true;
}
