/* migrations.h - the numbered sql/ migrations, compiled in (sql/embed.cmake). */
#ifndef POINTCLEAR_MIGRATIONS_H
#define POINTCLEAR_MIGRATIONS_H

struct pc_migration {
	int version;        /* the file's number */
	const char *name;   /* the file's name */
	const char *sql;    /* its text */
};

extern const struct pc_migration pc_migrations[];   /* ascending versions */
extern const int pc_migrations_count;

#endif
