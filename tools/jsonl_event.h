/* jsonl_event.h - one JSON line of `pointclear submit` into a protobuf Event
 * (docs/CLI.md, "JSON lines accepted by submit"). */
#ifndef POINTCLEAR_JSONL_EVENT_H
#define POINTCLEAR_JSONL_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "pointclear.pb-c.h"

#define JSONL_MAX_STRINGS 16

/* The Event and everything it points to. It points into itself, so it must not
 * be copied or moved between jsonl_event_parse and jsonl_event_free. */
struct jsonl_event {
	Pointclear__V1__Event ev;
	union {
		Pointclear__V1__Earn earn;
		Pointclear__V1__Redeem redeem;
		Pointclear__V1__Hold hold;
		Pointclear__V1__Capture capture;
		Pointclear__V1__Void void_;
		Pointclear__V1__Reversal reversal;
		Pointclear__V1__Referral referral;
		Pointclear__V1__Purchase purchase;
	} body;
	Pointclear__V1__EventRef ref;          /* capture/void: hold; reversal: original */
	char *strings[JSONL_MAX_STRINGS];      /* owned copies the Event points to */
	int nstrings;
};

/* Parses one line (not NUL-terminated necessarily: len bytes) into je, for the
 * given alliance; `now_us` resolves time_offset_s. Numbers must be JSON
 * integers. 0, or -1 with a message in err (je then needs no free). */
int jsonl_event_parse(struct jsonl_event *je, const char *line, size_t len,
                      const char *alliance, int64_t now_us, char *err, size_t errlen);

void jsonl_event_free(struct jsonl_event *je);

/* The name of an event's kind ("earn", ...), "?" if it has none. */
const char *jsonl_kind_name(const Pointclear__V1__Event *ev);

#endif
