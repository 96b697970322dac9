/* request.c - allocation of requests and the daemon's clock. */
#include "request.h"

#include <stdlib.h>
#include <time.h>

#include "log.h"

struct pc_request *pc_request_new(uint8_t *envelope, size_t len, uint64_t request_id)
{
	struct pc_request *r = calloc(1, sizeof *r);
	if (!r)
		fatal("request: calloc");
	r->envelope = envelope;
	r->envelope_len = len;
	r->request_id = request_id;
	r->received_us = pc_now_us();
	r->mono_received_us = pc_mono_us();
	return r;
}

void pc_request_free(struct pc_request *r)
{
	if (!r)
		return;
	pc_event_free(r->event);
	free(r->envelope);
	free(r);
}

static int64_t clock_us(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t pc_now_us(void)
{
	return clock_us(CLOCK_REALTIME);
}

int64_t pc_mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}
