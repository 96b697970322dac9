/* log.h - the daemon's log: one line per event, key=value, level checked before
 * formatting. log_warn/fatal append strerror(errno); the *x forms do not. */
#ifndef PC_LOG_H
#define PC_LOG_H

#include <stdarg.h>

enum pc_log_level { PC_LOG_DEBUG, PC_LOG_INFO, PC_LOG_WARN, PC_LOG_ERROR };

extern enum pc_log_level pc_log_threshold;

int pc_log_parse_level(const char *s, enum pc_log_level *out);

void pc_log(enum pc_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Lines an unauthenticated client can cause (refused accepts, failed handshakes)
 * go through a token bucket: at most PC_LOG_UNAUTH_RATE a second, in bursts of
 * as many; the rest are counted, and pc_log_unauth_summary (the janitor, every
 * few seconds) logs how many were suppressed. Otherwise a client opening
 * connections in a loop would decide how large the log grows and drown the lines
 * that matter. Event loop thread only. */
#define PC_LOG_UNAUTH_RATE 20
void pc_log_unauth(enum pc_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pc_log_unauth_summary(void);

#define log_debug(...) do { if (pc_log_threshold <= PC_LOG_DEBUG) pc_log(PC_LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...) do { if (pc_log_threshold <= PC_LOG_INFO) pc_log(PC_LOG_INFO, __VA_ARGS__); } while (0)
#define log_warnx(...) do { if (pc_log_threshold <= PC_LOG_WARN) pc_log(PC_LOG_WARN, __VA_ARGS__); } while (0)
#define log_error(...) pc_log(PC_LOG_ERROR, __VA_ARGS__)

#endif
