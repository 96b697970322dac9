/* core.c - clients, their requests' order, and the hand-offs between the
 * workers and the writer (see core.h). */
#include "core.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pointclear/ids.h>

#include "control.h"
#include "log.h"
#include "lookup.h"
#include "request.h"
#include "sql.h"
#include "verify.h"
#include "writer.h"

struct pc_core {
	struct event_base *base;
	const struct pc_config *cfg;
	struct pc_core_hooks hooks;
	struct pc_verify *verify;
	struct pc_writer *writer;
	struct pc_db *db;
	void (*on_db_ready)(void *arg);
	void *on_db_ready_arg;
	struct pc_request_list to_verify;   /* submitted, not yet dispatched */
	struct pc_request_list refused;     /* submitted while stopping: answered at dispatch */
	struct pc_lookup_list lookups;      /* asked, not yet dispatched */
	int live;
	bool stopping;                      /* pc_core_shutdown was called */
};

#define LOOKUP_MAX_IDS 256   /* ids of one client in one pc_lookup_entries call */

struct pc_core_client {
	struct pc_core *core;
	struct pc_identity id;
	void *cookie;
	struct pc_request_list verifying;   /* submission order; released to the writer in order */
	struct pc_request_list waiting;     /* with the writer */
	struct pc_lookup_list lookups;      /* asked, not yet answered */
	bool releasing;                     /* inside release(): a free waits for its end */
	bool gone;
};

/* r's outcome to its client, if any; then r leaves the core. */
static void finish(struct pc_core *core, struct pc_request *r, const struct pc_outcome *o)
{
	struct pc_core_client *cl = r->client;
	if (cl) {
		if (r->stage == PC_REQ_QUEUED || r->stage == PC_REQ_IN_BATCH)
			TAILQ_REMOVE(&cl->waiting, r, client_link);
		core->hooks.answer(cl->cookie, r->request_id, o);
	}
	pc_request_free(r);
	core->live--;
	if (core->hooks.released)
		core->hooks.released(core->hooks.arg);
}

static void shutting_down(struct pc_outcome *o)
{
	pc_outcome_refused(o, POINTCLEAR__V1__DISPOSITION__RETRYABLE,
	                   POINTCLEAR__V1__CODE__SHUTTING_DOWN, NULL, 0);
}

static void on_answer(void *arg, struct pc_request *r, const struct pc_outcome *o)
{
	finish(arg, r, o);
}

/* Hands verified requests to the writer in submission order; answers rejections. */
static void release(struct pc_core *core, struct pc_core_client *cl)
{
	struct pc_request *r;
	cl->releasing = true;
	while (!cl->gone && (r = TAILQ_FIRST(&cl->verifying)) != NULL &&
	       (r->stage == PC_REQ_VERIFIED || r->stage == PC_REQ_REJECTED)) {
		TAILQ_REMOVE(&cl->verifying, r, client_link);
		if (r->on_refused) {
			TAILQ_REMOVE(&core->refused, r, stage_link);
			r->on_refused = false;
		}
		if (r->stage == PC_REQ_REJECTED) {
			struct pc_outcome o;
			if (r->code == POINTCLEAR__V1__CODE__SHUTTING_DOWN)
				shutting_down(&o);
			else
				pc_outcome_refused(&o, POINTCLEAR__V1__DISPOSITION__REJECTED, r->code,
				                   r->message, 0);
			finish(core, r, &o);
		} else if (core->stopping) {
			/* verified, but no batch of it started: nothing is recorded */
			struct pc_outcome o;
			shutting_down(&o);
			finish(core, r, &o);
		} else {
			TAILQ_INSERT_TAIL(&cl->waiting, r, client_link);
			r->stage = PC_REQ_QUEUED;   /* on cl->waiting from here on */
			pc_writer_enqueue(core->writer, r);
		}
	}
	cl->releasing = false;
	if (cl->gone)
		free(cl);
}

static void on_verified(struct pc_request *r, void *arg)
{
	struct pc_core *core = arg;
	if (!r->client) {
		/* its client is gone: nothing was recorded, nobody to answer */
		pc_request_free(r);
		core->live--;
		if (core->hooks.released)
			core->hooks.released(core->hooks.arg);
		return;
	}
	release(core, r->client);
}

struct pc_core *pc_core_new(struct event_base *base, const struct pc_config *cfg,
                            const struct pc_core_hooks *hooks)
{
	struct pc_core *core = calloc(1, sizeof *core);
	if (!core)
		fatal("core: calloc");
	core->base = base;
	core->cfg = cfg;
	core->hooks = *hooks;
	TAILQ_INIT(&core->to_verify);
	TAILQ_INIT(&core->refused);
	TAILQ_INIT(&core->lookups);
	core->writer = pc_writer_new(cfg, on_answer, core);
	core->verify = pc_verify_new(base, cfg->workers, on_verified, core);
	return core;
}

void pc_core_free(struct pc_core *core)
{
	if (!core)
		return;
	struct pc_request *r;
	while ((r = TAILQ_FIRST(&core->to_verify)) != NULL) {
		TAILQ_REMOVE(&core->to_verify, r, stage_link);
		pc_request_free(r);
	}
	while ((r = TAILQ_FIRST(&core->refused)) != NULL) {
		TAILQ_REMOVE(&core->refused, r, stage_link);
		pc_request_free(r);
	}
	struct pc_lookup *l;
	while ((l = TAILQ_FIRST(&core->lookups)) != NULL) {
		TAILQ_REMOVE(&core->lookups, l, link);
		free(l);
	}
	pc_db_free(core->db);
	pc_verify_free(core->verify);
	pc_writer_free(core->writer);
	free(core);
}

static void on_db_ready(void *arg)
{
	struct pc_core *core = arg;
	if (core->on_db_ready)
		core->on_db_ready(core->on_db_ready_arg);
	pc_writer_kick(core->writer);
}

static void on_db_lost(void *arg)
{
	struct pc_core *core = arg;
	pc_writer_db_lost(core->writer);
}

void pc_core_open_db(struct pc_core *core, void (*on_ready)(void *arg), void *arg)
{
	struct pc_db_opts o = {
		.conninfo = core->cfg->db,
		.name = "writer",
		.statements = pc_writer_statements,
		.nstatements = pc_writer_nstatements,
		.reconnect_ms = core->cfg->reconnect_ms,
		.query_timeout_ms = core->cfg->batch_timeout_ms,
	};
	struct pc_db_hooks h = { on_db_ready, on_db_lost, NULL, core };
	core->on_db_ready = on_ready;
	core->on_db_ready_arg = arg;
	core->db = pc_db_new(core->base, &o, &h);
	pc_writer_attach(core->writer, core->db);
	pc_db_start(core->db);
}

struct pc_db *pc_core_db(const struct pc_core *core)
{
	return core->db;
}

int pc_core_live(const struct pc_core *core)
{
	return core->live;
}

void pc_core_log_stats(struct pc_core *core)
{
	pc_writer_log_stats(core->writer);
}

struct pc_core_client *pc_core_client_new(struct pc_core *core, const struct pc_identity *id,
                                          void *cookie)
{
	struct pc_core_client *cl = calloc(1, sizeof *cl);
	if (!cl)
		fatal("core: calloc");
	cl->core = core;
	cl->id = *id;
	cl->cookie = cookie;
	TAILQ_INIT(&cl->verifying);
	TAILQ_INIT(&cl->waiting);
	TAILQ_INIT(&cl->lookups);
	return cl;
}

static void detach(struct pc_request_list *l)
{
	struct pc_request *r;
	while ((r = TAILQ_FIRST(l)) != NULL) {
		TAILQ_REMOVE(l, r, client_link);
		r->client = NULL;
	}
}

void pc_core_client_free(struct pc_core_client *cl)
{
	if (!cl)
		return;
	/* Requests back from the workers and waiting in line behind an earlier one
	 * are on no other list: nothing else would free them. (Those on the refused
	 * list are freed at dispatch; those verifying, when they come back.) */
	struct pc_request *r, *next;
	for (r = TAILQ_FIRST(&cl->verifying); r; r = next) {
		next = TAILQ_NEXT(r, client_link);
		if ((r->stage == PC_REQ_VERIFIED || r->stage == PC_REQ_REJECTED) && !r->on_refused) {
			TAILQ_REMOVE(&cl->verifying, r, client_link);
			pc_request_free(r);
			cl->core->live--;
		}
	}
	detach(&cl->verifying);
	detach(&cl->waiting);
	struct pc_lookup *l;
	while ((l = TAILQ_FIRST(&cl->lookups)) != NULL) {
		TAILQ_REMOVE(&cl->lookups, l, client_link);
		l->client = NULL;
	}
	if (cl->releasing)
		cl->gone = true;
	else
		free(cl);
}

void pc_core_submit(struct pc_core_client *cl, uint64_t request_id, uint8_t *envelope, size_t len)
{
	struct pc_core *core = cl->core;
	struct pc_request *r = pc_request_new(envelope, len, request_id);
	r->client = cl;
	memcpy(r->alliance, cl->id.alliance, sizeof r->alliance);
	memcpy(r->merchant, cl->id.merchant, sizeof r->merchant);
	TAILQ_INSERT_TAIL(&cl->verifying, r, client_link);
	if (core->stopping) {
		/* answered at dispatch, in its turn among the client's requests */
		r->stage = PC_REQ_REJECTED;
		r->code = POINTCLEAR__V1__CODE__SHUTTING_DOWN;
		TAILQ_INSERT_TAIL(&core->refused, r, stage_link);
		r->on_refused = true;
	} else {
		TAILQ_INSERT_TAIL(&core->to_verify, r, stage_link);
	}
	core->live++;
}

void pc_core_lookup(struct pc_core_client *cl, uint64_t request_id, const char *event_id)
{
	struct pc_core *core = cl->core;
	struct pc_lookup *l = calloc(1, sizeof *l);
	if (!l)
		fatal("core: calloc");
	l->client = cl;
	l->request_id = request_id;
	if (!event_id || !event_id[0])
		l->code = POINTCLEAR__V1__CODE__MISSING_FIELD;
	else if (!pc_id_valid(event_id))
		l->code = POINTCLEAR__V1__CODE__INVALID_FIELD;
	else
		snprintf(l->event_id, sizeof l->event_id, "%s", event_id);
	TAILQ_INSERT_TAIL(&cl->lookups, l, client_link);
	TAILQ_INSERT_TAIL(&core->lookups, l, link);
	core->live++;
}

/* l's outcome to its client, if any; then l leaves the core. */
static void finish_lookup(void *arg, struct pc_lookup *l, const struct pc_outcome *o)
{
	struct pc_core *core = arg;
	struct pc_core_client *cl = l->client;
	if (cl) {
		TAILQ_REMOVE(&cl->lookups, l, client_link);
		core->hooks.answer_lookup(cl->cookie, l->request_id, o);
	}
	free(l);
	core->live--;
	if (core->hooks.released)
		core->hooks.released(core->hooks.arg);
}

/* Refusals are answered now; the other lookups of one client go in one query. */
static void dispatch_lookups(struct pc_core *core)
{
	struct pc_lookup *l;
	while ((l = TAILQ_FIRST(&core->lookups)) != NULL) {
		TAILQ_REMOVE(&core->lookups, l, link);
		struct pc_outcome o;
		if (!l->client) {
			finish_lookup(core, l, NULL);
			continue;
		}
		if (l->code || core->stopping) {
			if (l->code)
				pc_outcome_refused(&o, POINTCLEAR__V1__DISPOSITION__REJECTED, l->code, NULL, 0);
			else
				shutting_down(&o);
			finish_lookup(core, l, &o);
			continue;
		}
		struct pc_core_client *cl = l->client;
		struct pc_lookup *batch[LOOKUP_MAX_IDS];
		int n = 0;
		batch[n++] = l;
		struct pc_lookup *m, *next;
		for (m = TAILQ_FIRST(&core->lookups); m && n < LOOKUP_MAX_IDS; m = next) {
			next = TAILQ_NEXT(m, link);
			if (m->client == cl && !m->code) {
				TAILQ_REMOVE(&core->lookups, m, link);
				batch[n++] = m;
			}
		}
		pc_lookup_send(pc_control_db(), cl->id.alliance, cl->id.merchant, batch, n,
		               finish_lookup, core);
	}
}

void pc_core_dispatch(struct pc_core *core)
{
	struct pc_request *r;
	while ((r = TAILQ_FIRST(&core->refused)) != NULL) {
		TAILQ_REMOVE(&core->refused, r, stage_link);
		r->on_refused = false;
		if (r->client) {
			release(core, r->client);
		} else {
			pc_request_free(r);
			core->live--;
			if (core->hooks.released)
				core->hooks.released(core->hooks.arg);
		}
	}
	if (!TAILQ_EMPTY(&core->to_verify))
		pc_verify_submit(core->verify, &core->to_verify);
	if (!TAILQ_EMPTY(&core->lookups))
		dispatch_lookups(core);
}

void pc_core_shutdown(struct pc_core *core)
{
	if (core->stopping)
		return;
	core->stopping = true;
	struct pc_outcome o;
	shutting_down(&o);
	pc_writer_drop_unsent(core->writer, &o);
}

bool pc_core_stopping(const struct pc_core *core)
{
	return core->stopping;
}
