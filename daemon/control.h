/* control.h - the core's second database connection: it keeps the key cache
 * current (on start, on NOTIFY pc_keys and when asked) and releases expired
 * holds when asked. The asking is periodic work, the janitor's (janitor.c). */
#ifndef PC_CONTROL_H
#define PC_CONTROL_H

#include "config.h"
#include "db.h"
#include "keycache.h"

struct event_base;

struct pc_control_hooks {
	/* A new snapshot is about to replace old (NULL the first time): a front end
	 * that trusts the alliance CAs (TLS) rebuilds its trust here. */
	void (*on_keys)(void *arg, const struct pc_keys *old, const struct pc_keys *next);
	/* Once, after the first snapshot was published. */
	void (*on_first_load)(void *arg);
	void *arg;
};

void pc_control_start(struct event_base *base, const struct pc_config *cfg,
                      const struct pc_control_hooks *hooks);
void pc_control_reload(void);        /* a reload in progress is followed by another */
void pc_control_sweep_holds(void);   /* one pc_expire_holds call, unless one runs */
struct pc_db *pc_control_db(void);
void pc_control_stop(void);

#endif
