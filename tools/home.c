/* home.c - paths in the pointclear home directory and staged file creation. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "home.h"

int home_path(char *out, size_t outlen, const char *home, const char *fmt, ...)
{
	va_list ap;
	int n, m;

	n = snprintf(out, outlen, "%s/", home);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	va_start(ap, fmt);
	m = vsnprintf(out + n, outlen - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)m >= outlen - (size_t)n)
		return -1;
	return 0;
}

int home_mkdirs(const char *dir, char *err, size_t errlen)
{
	char path[HOME_PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof path) {
		snprintf(err, errlen, "bad directory name '%s'", dir);
		return -1;
	}
	memcpy(path, dir, len + 1);
	/* each prefix ending before a '/', then the whole path */
	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		char saved = path[i];

		path[i] = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
			return -1;
		}
		path[i] = saved;
	}
	struct stat sb;

	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", dir);
		return -1;
	}
	return 0;
}

int home_exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

void home_stage_init(struct home_stage *st)
{
	st->n = 0;
}

const char *home_stage_add(struct home_stage *st, const char *final)
{
	int n;

	if (st->n >= HOME_STAGE_MAX || strlen(final) >= HOME_PATH_MAX)
		return NULL;
	n = snprintf(st->tmp[st->n], HOME_PATH_MAX, "%s.tmp", final);
	if (n < 0 || n >= HOME_PATH_MAX)
		return NULL;
	strcpy(st->final[st->n], final);
	/* a temporary left by an interrupted run is stale: start afresh */
	unlink(st->tmp[st->n]);
	return st->tmp[st->n++];
}

int home_stage_commit(struct home_stage *st, char *err, size_t errlen)
{
	for (int i = 0; i < st->n; i++) {
		if (rename(st->tmp[i], st->final[i]) != 0) {
			snprintf(err, errlen, "cannot rename %s to %s: %s", st->tmp[i],
			         st->final[i], strerror(errno));
			return -1;
		}
	}
	st->n = 0;
	return 0;
}

void home_stage_abort(struct home_stage *st)
{
	for (int i = 0; i < st->n; i++)
		unlink(st->tmp[i]);
	st->n = 0;
}
