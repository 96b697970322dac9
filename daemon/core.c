/* core.c - clients, their requests' order, and the hand-offs between the
 * workers and the writer (see core.h). */
#include "core.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
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
	int live;
};

struct pc_core_client {
	struct pc_core *core;
	struct pc_identity id;
	void *cookie;
	struct pc_request_list verifying;   /* submission order; released to the writer in order */
	struct pc_request_list waiting;     /* with the writer */
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
		if (r->stage == PC_REQ_REJECTED) {
			struct pc_outcome o;
			pc_outcome_refused(&o, POINTCLEAR__V1__DISPOSITION__REJECTED, r->code, r->message, 0);
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
	detach(&cl->verifying);
	detach(&cl->waiting);
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
	TAILQ_INSERT_TAIL(&core->to_verify, r, stage_link);
	core->live++;
}

void pc_core_dispatch(struct pc_core *core)
{
	if (!TAILQ_EMPTY(&core->to_verify))
		pc_verify_submit(core->verify, &core->to_verify);
}
