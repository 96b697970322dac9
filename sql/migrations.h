/* migrations.h - the numbered sql/ migrations and the sql/functions/ definitions,
 * compiled in (sql/embed.cmake). */
#ifndef POINTCLEAR_MIGRATIONS_H
#define POINTCLEAR_MIGRATIONS_H

struct pc_migration {
	int version;        /* the file's number */
	const char *name;   /* the file's name */
	const char *sql;    /* its text */
};

extern const struct pc_migration pc_migrations[];   /* ascending versions */
extern const int pc_migrations_count;

/* A function's one definition, applied after the migrations whenever its text
 * differs from what the database last applied (schema_functions). Numbered
 * migrations define no function (sql/embed.cmake refuses one that does). */
struct pc_function {
	const char *name;   /* "functions/<file>" */
	const char *sql;    /* its text: CREATE OR REPLACE, nothing that cannot run twice */
};

/* In file-name order, which is the order they are applied in: the NN_ prefix of
 * each file puts what others use first. */
extern const struct pc_function pc_functions[];
extern const int pc_functions_count;

#endif
