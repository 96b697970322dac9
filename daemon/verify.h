/* verify.h - the worker threads that verify signatures and validate events off
 * the event loop.
 *
 * A worker takes a request, touches nothing but that request and a key snapshot,
 * and hands it back through a mutex-protected queue and one pre-made event; the
 * loop drains the whole queue per wake-up. Workers never see a bufferevent or a
 * database connection. */
#ifndef PC_VERIFY_H
#define PC_VERIFY_H

#include "request.h"

struct event_base;
struct pc_verify;

/* done is called on the loop thread for each request, stage VERIFIED or REJECTED. */
struct pc_verify *pc_verify_new(struct event_base *base, int threads,
                                void (*done)(struct pc_request *r, void *arg), void *arg);
/* Moves every request on reqs (left empty) to the workers, under one lock. */
void pc_verify_submit(struct pc_verify *v, struct pc_request_list *reqs);
void pc_verify_free(struct pc_verify *v);            /* joins the threads */

#endif
