/* request.c - allocation of requests. */
#include "request.h"

#include <stdlib.h>

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
