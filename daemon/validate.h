/* validate.h - the checks an event passes before it may reach the database:
 * envelope, key, signature, canonical payload, identity, time window, fields
 * and amounts. Pure functions of the bytes, the key snapshot and the clock; they
 * run on worker threads and know nothing of the transport. */
#ifndef PC_VALIDATE_H
#define PC_VALIDATE_H

#include "keycache.h"
#include "request.h"

/* Fills r->code/r->message and returns false, or fills r->event, r->key_id and
 * r->row and returns true. A signature that verifies under a key revoked or not
 * yet valid passes with r->key_state set: the database answers it (REPLAYED when
 * its bytes are recorded already, else refused with that code). */
bool pc_validate(struct pc_request *r, const struct pc_keys *keys, int64_t now_us);

#endif
