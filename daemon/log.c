/* log.c - the daemon's log lines on stderr. */
#include "log.h"

#include <errno.h>
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
