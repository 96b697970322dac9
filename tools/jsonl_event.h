/* jsonl_event.h - one JSON line of `pointclear submit` into an event description
 * (docs/CLI.md, "JSON lines accepted by submit"), for pc_event_sign to build. */
#ifndef POINTCLEAR_JSONL_EVENT_H
#define POINTCLEAR_JSONL_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "pointclear/event_build.h"

#define JSONL_MAX_STRINGS 16

/* The description and the strings it points to, owned here. */
struct jsonl_event {
	struct pc_event_desc desc;
	char *strings[JSONL_MAX_STRINGS];
	int nstrings;
};

/* Parses one line (not NUL-terminated necessarily: len bytes) into je, for the
 * given alliance; `now_us` resolves time_offset_s. Numbers must be JSON
 * integers. 0, or -1 with a message in err (je then needs no free). */
int jsonl_event_parse(struct jsonl_event *je, const char *line, size_t len,
                      const char *alliance, int64_t now_us, char *err, size_t errlen);

void jsonl_event_free(struct jsonl_event *je);

#endif
