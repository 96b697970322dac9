/* sim_members.h - the member ids `pointclear simulate` draws from: the
 * alliance's enrolled members, or a list in a file (as `member add --count N
 * --out FILE` writes it). Real ids are random, so the simulator cannot make
 * them up; sorted and without repeats, the same set always gives the same
 * workload for a seed. */
#ifndef POINTCLEAR_SIM_MEMBERS_H
#define POINTCLEAR_SIM_MEMBERS_H

#include "commands.h"

struct sim_members {
	char **ids;    /* sorted (bytewise), distinct */
	int n;
};

/* From file (one id per line, blank lines skipped) when not NULL, else from the
 * database's members of alliance. At most max ids (the first in sorted order)
 * when max > 0. 0, or 1 after cli_fail (no ids, a bad id named with its line). */
int sim_members_load(struct pc_cli *ctx, const char *alliance, const char *file, int max,
                     struct sim_members *m);

void sim_members_free(struct sim_members *m);

#endif
