/* janitor.c - the table of periodic jobs and the one timer that runs them (see
 * janitor.h). The timer is re-armed for the job due first; a job runs at most
 * once per firing, then is due again an interval later. */
#include "janitor.h"

#include <event2/event.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#ifdef __SANITIZE_ADDRESS__
/* AddressSanitizer's allocator stands in for glibc's, and this is its
 * malloc_trim (GCC ships no header declaring it): the Debug build's tests see
 * memory returned as a Release build does. */
void __sanitizer_purge_allocator(void);
#endif

#include "clock.h"
#include "conn.h"
#include "control.h"
#include "core.h"
#include "db.h"
#include "log.h"

#define SHUTDOWN_CHECK_MS 100
#define GOODBYE_MAX_US 10000000   /* after the drain window, ten seconds at most */
#define LOG_SUMMARY_MS 5000       /* how often suppressed log lines are counted out */
#define TRIM_AFTER 64             /* connections freed before the heap is trimmed */
#define TRIM_ALWAYS_AFTER 4096    /* ... even while they keep closing */

struct job {
	const char *name;
	int interval_ms;              /* 0: never */
	void (*run)(struct pc_server *srv);
	int64_t due_us;
};

static struct pc_server *srv;
static struct event *timer;

static void run_conn_deadlines(struct pc_server *s)
{
	(void)s;
	pc_conn_sweep();
}

/* Returns freed memory to the system once a wave of connections is over. A
 * connection that flooded and did not read held about a megabyte of small
 * buffers (docs/PERFORMANCE.md, "Memory per connection"); glibc gives back only
 * the top of each heap by itself, so after hundreds of them closed it kept
 * most of that (757 MB after 400 were measured, and growing from one wave to the
 * next as the holes fragmented). malloc_trim(0) releases every free page of
 * every arena (the worker threads' too). It walks the heaps, so it runs when a
 * wave is over (a reap that frees nothing), or now and then during one, never
 * per connection. */
static void trim_after(int freed)
{
	static int since_trim;
	since_trim += freed;
	if (since_trim < TRIM_AFTER || (freed > 0 && since_trim < TRIM_ALWAYS_AFTER))
		return;
	log_debug("janitor malloc_trim after %d connections freed", since_trim);
	since_trim = 0;
#if defined(__SANITIZE_ADDRESS__)
	__sanitizer_purge_allocator();
#elif defined(__GLIBC__)
	malloc_trim(0);
#endif
}

/* Closed connections are freed here, outside any of their callbacks. */
static void run_conn_reap(struct pc_server *s)
{
	(void)s;
	trim_after(pc_conn_reap());
}

static void run_log_summary(struct pc_server *s)
{
	(void)s;
	pc_log_unauth_summary();
}

static void run_hold_sweep(struct pc_server *s)
{
	(void)s;
	pc_control_sweep_holds();
}

static void run_key_reload(struct pc_server *s)
{
	(void)s;
	pc_control_reload();
}

static void run_db_ticks(struct pc_server *s)
{
	if (pc_core_db(s->core))
		pc_db_tick(pc_core_db(s->core));
	if (pc_control_db())
		pc_db_tick(pc_control_db());
}

static void run_stats(struct pc_server *s)
{
	pc_core_log_stats(s->core);
}

/* Graceful stop (main.c, on_signal): when the drain window is over, or no
 * connection is left to read from, every connection says goodbye; once all are
 * closed and nothing is in flight (or ten seconds later), leave the loop. */
static void run_shutdown_check(struct pc_server *s)
{
	if (!s->shutting_down)
		return;
	int64_t now = pc_mono_us();
	if (!s->saying_goodbye && (now >= s->drain_until_us || s->n_conns == 0)) {
		log_info("drain window over conns=%d live=%d", s->n_conns, pc_core_live(s->core));
		s->saying_goodbye = true;
		s->exit_by_us = now + GOODBYE_MAX_US;
		pc_conn_goodbye_all();
	}
	if (!s->saying_goodbye)
		return;
	if ((s->n_conns == 0 && pc_core_live(s->core) == 0) || now >= s->exit_by_us)
		event_base_loopexit(s->base, NULL);
}

enum { JOB_DEADLINES, JOB_REAP, JOB_HOLDS, JOB_KEYS, JOB_DB, JOB_STATS, JOB_SHUTDOWN,
       JOB_LOG_SUMMARY };

/* Intervals of 0 are set from the configuration by pc_janitor_start. */
static struct job jobs[] = {
	[JOB_DEADLINES] = { "connection deadlines", 0, run_conn_deadlines, 0 },
	[JOB_REAP] = { "reaping closed connections", 0, run_conn_reap, 0 },
	[JOB_HOLDS] = { "hold sweep", 0, run_hold_sweep, 0 },
	[JOB_KEYS] = { "key reload", 0, run_key_reload, 0 },
	[JOB_DB] = { "database reconnects and watchdogs", 0, run_db_ticks, 0 },
	[JOB_STATS] = { "stats line", 0, run_stats, 0 },
	[JOB_SHUTDOWN] = { "graceful stop", SHUTDOWN_CHECK_MS, run_shutdown_check, 0 },
	[JOB_LOG_SUMMARY] = { "suppressed log lines", LOG_SUMMARY_MS, run_log_summary, 0 },
};
#define N_JOBS (sizeof jobs / sizeof jobs[0])

static int clamp_ms(int ms, int lo, int hi)
{
	return ms < lo ? lo : (ms > hi ? hi : ms);
}

static void arm(int64_t now)
{
	int64_t next = INT64_MAX;
	for (size_t i = 0; i < N_JOBS; i++)
		if (jobs[i].interval_ms > 0 && jobs[i].due_us < next)
			next = jobs[i].due_us;
	int64_t wait = next > now ? next - now : 0;
	struct timeval tv = { (time_t)(wait / 1000000), (suseconds_t)(wait % 1000000) };
	evtimer_add(timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	int64_t now = pc_mono_us();
	for (size_t i = 0; i < N_JOBS; i++) {
		struct job *j = &jobs[i];
		if (j->interval_ms <= 0 || j->due_us > now)
			continue;
		log_debug("janitor job=\"%s\"", j->name);
		j->run(srv);
		j->due_us = now + (int64_t)j->interval_ms * 1000;
	}
	arm(now);
}

void pc_janitor_start(struct pc_server *s)
{
	srv = s;
	const struct pc_config *cfg = &s->cfg;
	/* deadlines are checked four times per the shortest timeout */
	int deadline_ms = cfg->frame_timeout_ms < cfg->handshake_timeout_ms
	                ? cfg->frame_timeout_ms : cfg->handshake_timeout_ms;
	if (cfg->idle_timeout_ms > 0 && cfg->idle_timeout_ms < deadline_ms)
		deadline_ms = cfg->idle_timeout_ms;
	jobs[JOB_DEADLINES].interval_ms = clamp_ms(deadline_ms / 4, 10, 1000);
	jobs[JOB_REAP].interval_ms = jobs[JOB_DEADLINES].interval_ms;
	jobs[JOB_HOLDS].interval_ms = cfg->hold_sweep_ms;
	jobs[JOB_KEYS].interval_ms = cfg->key_reload_ms;
	/* a lost database is retried within a quarter of the pause after it is over */
	jobs[JOB_DB].interval_ms = clamp_ms(cfg->reconnect_ms / 4, 10, 1000);
	jobs[JOB_STATS].interval_ms = cfg->stats_interval_ms;

	int64_t now = pc_mono_us();
	for (size_t i = 0; i < N_JOBS; i++)
		jobs[i].due_us = now + (int64_t)jobs[i].interval_ms * 1000;
	timer = evtimer_new(s->base, on_timer, NULL);
	if (!timer)
		fatalx("janitor: evtimer_new failed");
	arm(now);
}

void pc_janitor_stop(void)
{
	if (timer)
		event_free(timer);
	timer = NULL;
}
