/* log.c - the daemon's log lines on stderr. */
#include "log.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum pc_log_level pc_log_threshold = PC_LOG_INFO;

static const char *level_names[] = { "debug", "info", "warn", "error" };

int pc_log_parse_level(const char *s, enum pc_log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum pc_log_level)i;
			return 0;
		}
	}
	return -1;
}

static void vlog(enum pc_log_level lvl, const char *fmt, va_list ap, const char *err)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	n += snprintf(line + n, sizeof line - (size_t)n, ".%03ldZ %s ",
	              ts.tv_nsec / 1000000, level_names[lvl]);
	if (n < (int)sizeof line)
		n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	if (err && n < (int)sizeof line)
		n += snprintf(line + n, sizeof line - (size_t)n, ": %s", err);
	if (n >= (int)sizeof line)
		n = (int)sizeof line - 1;
	line[n++] = '\n';
	fwrite(line, 1, (size_t)n, stderr);
}

void pc_log(enum pc_log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(lvl, fmt, ap, NULL);
	va_end(ap);
}

/* The bucket holds up to PC_LOG_UNAUTH_RATE tokens and gains that many a second. */
static int64_t unauth_tokens_us = PC_LOG_UNAUTH_RATE * 1000000LL;   /* tokens x 10^6 */
static int64_t unauth_refill_us;
static uint64_t unauth_suppressed;

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void pc_log_unauth(enum pc_log_level lvl, const char *fmt, ...)
{
	if (lvl < pc_log_threshold)
		return;
	int64_t now = mono_us();
	const int64_t full = PC_LOG_UNAUTH_RATE * 1000000LL;
	if (unauth_refill_us) {
		int64_t gained = (now - unauth_refill_us) * PC_LOG_UNAUTH_RATE;
		unauth_tokens_us = gained >= full - unauth_tokens_us ? full : unauth_tokens_us + gained;
	}
	unauth_refill_us = now;
	if (unauth_tokens_us < 1000000) {
		unauth_suppressed++;
		return;
	}
	unauth_tokens_us -= 1000000;
	va_list ap;
	va_start(ap, fmt);
	vlog(lvl, fmt, ap, NULL);
	va_end(ap);
}

void pc_log_unauth_summary(void)
{
	if (!unauth_suppressed)
		return;
	pc_log(PC_LOG_WARN, "log suppressed=%llu lines caused by unauthenticated clients "
	       "(at most %d a second)", (unsigned long long)unauth_suppressed, PC_LOG_UNAUTH_RATE);
	unauth_suppressed = 0;
}

void log_warn(const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;
	va_start(ap, fmt);
	vlog(PC_LOG_WARN, fmt, ap, err);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;
	va_start(ap, fmt);
	vlog(PC_LOG_ERROR, fmt, ap, err);
	va_end(ap);
	abort();
}

void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(PC_LOG_ERROR, fmt, ap, NULL);
	va_end(ap);
	abort();
}
