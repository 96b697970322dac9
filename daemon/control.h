/* control.h - the daemon's second database connection: it keeps the key cache
 * (and the TLS trust in alliance CAs) current, on NOTIFY pc_keys and on a timer,
 * and releases expired holds on a timer. */
#ifndef PC_CONTROL_H
#define PC_CONTROL_H

#include "server.h"

/* on_first_load runs once, after the first key snapshot is published. */
void pc_control_start(struct pc_server *srv, void (*on_first_load)(struct pc_server *srv));

#endif
