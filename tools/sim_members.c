/* sim_members.c - loads the member ids the simulator draws from (sim_members.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "pointclear/ids.h"
#include "sim_members.h"

/* bytewise, as PostgreSQL's COLLATE "C" orders them */
static const char sql_members[] =
	"SELECT member_id FROM members WHERE alliance_id = $1 ORDER BY member_id COLLATE \"C\"";

#define SIM_MEMBERS_MAX 9999999

static int sim_members_push(struct sim_members *m, size_t *cap, const char *id)
{
	if ((size_t)m->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 1024;
		char **p = realloc(m->ids, ncap * sizeof *p);

		if (!p)
			return -1;
		m->ids = p;
		*cap = ncap;
	}
	if (!(m->ids[m->n] = strdup(id)))
		return -1;
	m->n++;
	return 0;
}

static int sim_members_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int sim_members_from_file(struct pc_cli *ctx, const char *file, struct sim_members *m)
{
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0, linecap = 0;
	ssize_t len;
	long lineno = 0;
	int rc = 1;

	if (!f)
		return cli_fail(ctx, "cannot open %s: %s", file, strerror(errno));
	while ((len = getline(&line, &linecap, f)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (!pc_id_valid(line)) {
			cli_fail(ctx, "%s:%ld: '%.80s' is not a member id", file, lineno, line);
			goto out;
		}
		if (m->n == SIM_MEMBERS_MAX) {
			cli_fail(ctx, "%s: more than %d members", file, SIM_MEMBERS_MAX);
			goto out;
		}
		if (sim_members_push(m, &cap, line) != 0) {
			cli_fail(ctx, "out of memory");
			goto out;
		}
	}
	if (ferror(f)) {
		cli_fail(ctx, "cannot read %s: %s", file, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(line);
	fclose(f);
	return rc;
}

static int sim_members_from_db(struct pc_cli *ctx, const char *alliance, struct sim_members *m)
{
	const char *params[1] = {alliance};
	struct db d = {0};
	PGresult *res;
	size_t cap = 0;
	int rc = 1;

	if (db_open(&d, ctx->db) != 0)
		return cli_fail(ctx, "reading the members: %s", d.err);
	if (!(res = db_query(&d, sql_members, 1, params))) {
		cli_fail(ctx, "reading the members: %s", d.err);
		goto out;
	}
	for (int i = 0; i < PQntuples(res) && i < SIM_MEMBERS_MAX; i++) {
		if (sim_members_push(m, &cap, PQgetvalue(res, i, 0)) != 0) {
			cli_fail(ctx, "out of memory");
			goto out_res;
		}
	}
	rc = 0;
out_res:
	PQclear(res);
out:
	db_close(&d);
	return rc;
}

int sim_members_load(struct pc_cli *ctx, const char *alliance, const char *file, int max,
                     struct sim_members *m)
{
	int kept = 0;

	m->ids = NULL;
	m->n = 0;
	if (file ? sim_members_from_file(ctx, file, m) != 0
	         : sim_members_from_db(ctx, alliance, m) != 0) {
		sim_members_free(m);
		return 1;
	}
	/* the same set in any order gives the same workload */
	qsort(m->ids, (size_t)m->n, sizeof *m->ids, sim_members_cmp);
	for (int i = 0; i < m->n; i++) {
		if (kept > 0 && strcmp(m->ids[i], m->ids[kept - 1]) == 0)
			free(m->ids[i]);
		else
			m->ids[kept++] = m->ids[i];
	}
	m->n = kept;
	while (max > 0 && m->n > max)
		free(m->ids[--m->n]);
	if (m->n == 0) {
		sim_members_free(m);
		if (file)
			return cli_fail(ctx, "%s lists no member", file);
		return cli_fail(ctx, "alliance %s has no members (`pointclear member add`)", alliance);
	}
	return 0;
}

void sim_members_free(struct sim_members *m)
{
	for (int i = 0; i < m->n; i++)
		free(m->ids[i]);
	free(m->ids);
	m->ids = NULL;
	m->n = 0;
}
