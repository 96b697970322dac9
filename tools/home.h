/* home.h - paths in the pointclear home directories, and files that appear there
 * only once the database agrees (staged under temporary names, then renamed).
 *
 * Two directories keep keys apart (docs/KEYS.md): the daemon's home (--home)
 * holds only what pointcleard opens, and the admin home (--admin-home) holds the
 * CA keys and, on the quick path, the merchants' files the operator makes. */
#ifndef POINTCLEAR_HOME_H
#define POINTCLEAR_HOME_H

#include <stddef.h>

#define HOME_PATH_MAX 4096
#define HOME_STAGE_MAX 8

/* Formats "<home>/<fmt...>" into out. 0, or -1 when it does not fit. */
int home_path(char *out, size_t outlen, const char *home, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* mkdir -p with mode 0700 for every directory it creates. 0, or -1 with err. */
int home_mkdirs(const char *dir, char *err, size_t errlen);

/* The admin home when none is given: "<home>-admin", beside the daemon's home and
 * never inside it. 0, or -1 when it does not fit or home is "/". */
int home_admin_default(char *out, size_t outlen, const char *home);

/* Refuses a directory for CA or merchant keys (the admin home, a merchant's
 * directory) that is the daemon's home or lies inside it, compared as written
 * after trailing slashes: keys there would be the daemon's to read. 0, or -1
 * with err. */
int home_outside_check(const char *home, const char *dir, char *err, size_t errlen);

/* A merchant's default directory: "<admin>/alliances/<alliance>/merchants/<merchant>".
 * 0, or -1 when it does not fit. */
int home_merchant_dir(char *out, size_t outlen, const char *admin, const char *alliance,
                      const char *merchant);

/* Whether a path exists (any kind of file). */
int home_exists(const char *path);

/* A set of files written under "<final>.tmp" and renamed into place together
 * once the transaction that makes them valid has committed. */
struct home_stage {
	int n;
	char final[HOME_STAGE_MAX][HOME_PATH_MAX];
	char tmp[HOME_STAGE_MAX][HOME_PATH_MAX];
};

void home_stage_init(struct home_stage *st);

/* Registers a final path; returns the temporary path to write, or NULL when the
 * stage is full or the name too long. */
const char *home_stage_add(struct home_stage *st, const char *final);

/* Renames every temporary file into place. 0, or -1 with err (the files not yet
 * renamed stay under their temporary names). */
int home_stage_commit(struct home_stage *st, char *err, size_t errlen);

/* Removes the temporary files (after a failure). */
void home_stage_abort(struct home_stage *st);

#endif
