/* home.c - paths in the pointclear home directories and staged file creation. */
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

/* Length of p without its trailing slashes (but "/" stays "/"). */
static size_t home_trimmed_len(const char *p)
{
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		n--;
	return n;
}

int home_admin_default(char *out, size_t outlen, const char *home)
{
	size_t n = home_trimmed_len(home);
	int m;

	if (n == 0 || (n == 1 && home[0] == '/'))
		return -1;
	m = snprintf(out, outlen, "%.*s-admin", (int)n, home);
	return m < 0 || (size_t)m >= outlen ? -1 : 0;
}

int home_outside_check(const char *home, const char *dir, char *err, size_t errlen)
{
	size_t h = home_trimmed_len(home), a = home_trimmed_len(dir);

	if (a == 0) {
		snprintf(err, errlen, "empty directory name");
		return -1;
	}
	if (a >= h && strncmp(dir, home, h) == 0 && (a == h || dir[h] == '/')) {
		snprintf(err, errlen,
		         "%.150s is the daemon's home %.150s or inside it: CA and merchant keys"
		         " must live outside what pointcleard reads (see docs/KEYS.md)",
		         dir, home);
		return -1;
	}
	return 0;
}

int home_merchant_dir(char *out, size_t outlen, const char *admin, const char *alliance,
                      const char *merchant)
{
	return home_path(out, outlen, admin, "alliances/%s/merchants/%s", alliance, merchant);
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
