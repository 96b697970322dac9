/* batching.c - forming batches and retrying failed ones (see batching.h). */
#include "batching.h"

#include <string.h>

int pc_batch_take(const struct pc_request_list *queue, int queued, int batch_max)
{
	int n = queued < batch_max ? queued : batch_max;
	int limit = TAILQ_FIRST(queue)->batch_limit;
	if (limit > 0) {
		/* a failed batch's half: only events of it, at the front of the queue */
		int k = 0;
		for (struct pc_request *r = TAILQ_FIRST(queue); r && k < limit && r->batch_limit > 0;
		     r = TAILQ_NEXT(r, stage_link))
			k++;
		n = k;
	}
	return n;
}

bool pc_batch_may_send(int queued, int inflight, int batches_in_flight, int batch_max)
{
	if (queued == 0 || inflight >= batches_in_flight)
		return false;
	return inflight == 0 || queued >= batch_max / 4;
}

enum pc_batch_next pc_batch_after_error(struct pc_request *const *reqs, int n,
                                        const char *sqlstate)
{
	bool transient = sqlstate && (strcmp(sqlstate, "40P01") == 0 || strcmp(sqlstate, "40001") == 0);
	if (transient && reqs[0]->retries < PC_BATCH_MAX_RETRIES) {
		for (int i = 0; i < n; i++)
			reqs[i]->retries++;
		return PC_BATCH_RETRY;
	}
	if (n > 1) {
		for (int i = 0; i < n; i++)
			reqs[i]->batch_limit = (n + 1) / 2;
		return PC_BATCH_BISECT;
	}
	return PC_BATCH_GIVE_UP;
}
