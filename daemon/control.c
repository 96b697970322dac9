/* control.c - key cache reloads and the hold sweep (see control.h). */
#include "control.h"

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keycache.h"
#include "log.h"
#include "sql.h"

static struct pc_db *control_db;
static struct pc_control_hooks hooks;
static struct pc_keys *building;     /* the snapshot being loaded */
static bool loading, reload_again, loaded_once, sweeping;
static int load_step;


static void copy_text(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
}

static void load_failed(const char *what)
{
	log_warnx("keycache load failed at %s", what);
	pc_keys_release(building);
	building = NULL;
	loading = false;
}

static void add_alliances(const PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++) {
		struct pc_alliance_info a = { 0 };
		copy_text(a.id, sizeof a.id, PQgetvalue(res, i, 0));
		copy_text(a.currency, sizeof a.currency, PQgetvalue(res, i, 1));
		a.window_future_us = strtoll(PQgetvalue(res, i, 2), NULL, 10) * 1000000;
		a.window_past_us = strtoll(PQgetvalue(res, i, 3), NULL, 10) * 1000000;
		a.consent = !PQgetisnull(res, i, 5);
		a.consent_threshold = a.consent ? strtoll(PQgetvalue(res, i, 5), NULL, 10) : 0;
		const char *pem = PQgetvalue(res, i, 4);
		BIO *bio = BIO_new_mem_buf(pem, -1);
		a.ca = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
		if (!a.ca) {
			log_warnx("alliance=%s ca_cert_pem does not parse; its merchants cannot connect", a.id);
			continue;
		}
		a.ca_pem = strdup(pem);
		if (!a.ca_pem)
			fatal("control: strdup");
		pc_keys_add_alliance(building, &a);
	}
}

static void add_merchants(const PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++) {
		struct pc_merchant_info m = { 0 };
		copy_text(m.alliance, sizeof m.alliance, PQgetvalue(res, i, 0));
		copy_text(m.id, sizeof m.id, PQgetvalue(res, i, 1));
		const char *st = PQgetvalue(res, i, 2);
		m.status = strcmp(st, "gone") == 0 ? PC_MERCHANT_GONE
		         : strcmp(st, "in_transition") == 0 ? PC_MERCHANT_IN_TRANSITION
		         : strcmp(st, "suspended") == 0 ? PC_MERCHANT_SUSPENDED
		         : PC_MERCHANT_ACTIVE;
		pc_keys_add_merchant(building, &m);
	}
}

static int unhex(uint8_t *out, size_t n, const char *hex)
{
	if (strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static void add_keys(const PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++) {
		struct pc_key_info k = { 0 };
		copy_text(k.alliance, sizeof k.alliance, PQgetvalue(res, i, 0));
		copy_text(k.key_id, sizeof k.key_id, PQgetvalue(res, i, 1));
		copy_text(k.merchant, sizeof k.merchant, PQgetvalue(res, i, 2));
		if (unhex(k.pk, sizeof k.pk, PQgetvalue(res, i, 3)) < 0)
			continue;
		k.valid_from_us = strtoll(PQgetvalue(res, i, 4), NULL, 10);
		k.revoked_at_us = strtoll(PQgetvalue(res, i, 5), NULL, 10);
		pc_keys_add_key(building, &k);
	}
}

static void add_devices(const PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++) {
		struct pc_device_info d = { 0 };
		copy_text(d.alliance, sizeof d.alliance, PQgetvalue(res, i, 0));
		copy_text(d.key_id, sizeof d.key_id, PQgetvalue(res, i, 1));
		copy_text(d.member, sizeof d.member, PQgetvalue(res, i, 2));
		if (unhex(d.pk, sizeof d.pk, PQgetvalue(res, i, 3)) < 0)
			continue;
		d.revoked_at_us = strtoll(PQgetvalue(res, i, 4), NULL, 10);
		pc_keys_add_device(building, &d);
	}
}

static void add_revoked_certs(const PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++)
		pc_keys_add_revoked_cert(building, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
}

static void publish(void)
{
	pc_keys_seal(building);
	struct pc_keys *old = pc_keys_acquire();
	if (hooks.on_keys)
		hooks.on_keys(hooks.arg, old, building);
	pc_keys_release(old);
	log_info("keycache reloaded alliances=%d", pc_keys_alliance_count(building));
	pc_keys_publish(building);
	building = NULL;
	loading = false;
	if (!loaded_once) {
		loaded_once = true;
		if (hooks.on_first_load)
			hooks.on_first_load(hooks.arg);
	}
	if (reload_again) {
		reload_again = false;
		pc_control_reload();
	}
}

static void on_load_step(void *arg, enum pc_db_outcome outcome, const PGresult *res)
{
	(void)arg;
	if (!building)
		return;
	if (outcome != PC_DB_OK) {
		load_failed(outcome == PC_DB_LOST ? "connection lost" : PQresultErrorMessage(res));
		return;
	}
	switch (load_step++) {
	case 0: add_alliances(res); break;
	case 1: add_merchants(res); break;
	case 2: add_keys(res); break;
	case 3: add_devices(res); break;
	case 4: add_revoked_certs(res); publish(); break;
	}
}

void pc_control_reload(void)
{
	if (loading) {
		reload_again = true;
		return;
	}
	if (!pc_db_ready(control_db))
		return;
	building = pc_keys_new();
	loading = true;
	load_step = 0;
	static const char *const steps[] = { PC_STMT_LOAD_ALLIANCES, PC_STMT_LOAD_MERCHANTS,
	                                     PC_STMT_LOAD_KEYS, PC_STMT_LOAD_DEVICES,
	                                     PC_STMT_LOAD_REVOKED_CERTS };
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		if (pc_db_send_prepared(control_db, steps[i], 0, NULL, NULL, NULL, 0,
		                        on_load_step, NULL) < 0) {
			if (building)
				load_failed("send");
			return;
		}
	}
}

static void on_control_ready(void *arg)
{
	(void)arg;
	pc_control_reload();   /* anything may have changed while we were away */
}

static void on_control_lost(void *arg)
{
	(void)arg;
	sweeping = false;
}

static void on_notify(void *arg, const char *channel)
{
	(void)arg;
	if (strcmp(channel, "pc_keys") == 0)
		pc_control_reload();
}

static void on_swept(void *arg, enum pc_db_outcome outcome, const PGresult *res)
{
	(void)arg;
	sweeping = false;
	if (outcome == PC_DB_OK) {
		long n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
		if (n > 0)
			log_info("holds expired=%ld", n);
	} else if (outcome == PC_DB_ERROR) {
		log_warnx("hold sweep failed: %s", PQresultErrorMessage(res));
	}
}

void pc_control_sweep_holds(void)
{
	if (sweeping || !pc_db_ready(control_db))
		return;
	static const char limit[] = "10000";
	const char *values[1] = { limit };
	if (pc_db_send_prepared(control_db, PC_STMT_EXPIRE_HOLDS, 1, values, NULL, NULL, 0,
	                        on_swept, NULL) == 0)
		sweeping = true;
}

void pc_control_start(struct event_base *base, const struct pc_config *cfg,
                      const struct pc_control_hooks *h)
{
	hooks = *h;
	struct pc_db_opts o = {
		.conninfo = cfg->db,
		.name = "control",
		.statements = pc_control_statements,
		.nstatements = pc_control_nstatements,
		.setup = pc_control_setup,
		.nsetup = pc_control_nsetup,
		.reconnect_ms = cfg->reconnect_ms,
		.query_timeout_ms = cfg->batch_timeout_ms,
	};
	struct pc_db_hooks dh = { on_control_ready, on_control_lost, on_notify, NULL };
	control_db = pc_db_new(base, &o, &dh);
	pc_db_start(control_db);
}

struct pc_db *pc_control_db(void)
{
	return control_db;
}

void pc_control_stop(void)
{
	pc_db_free(control_db);
	control_db = NULL;
	pc_keys_release(building);
	building = NULL;
	loading = false;
}
