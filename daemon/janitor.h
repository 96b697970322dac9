/* janitor.h - the daemon's periodic work, all of it, from one table and one
 * timer: connection deadlines and reaping, the hold sweep, key reloads, database
 * reconnects and watchdogs, the stats line and the end of a graceful stop. */
#ifndef PC_JANITOR_H
#define PC_JANITOR_H

#include "server.h"

void pc_janitor_start(struct pc_server *srv);
void pc_janitor_stop(void);

#endif
