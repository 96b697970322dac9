/* keyfile.c - refuses a private key file that is not a regular file or that
 * group or others may access (see keyfile.h). Called once at start-up, before
 * the event loop runs, so the blocking open() and fstat() are fine here. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyfile.h"

int pc_keyfile_check_fd(int fd, const char *path, char *err, size_t errlen)
{
	struct stat sb;

	if (fstat(fd, &sb) != 0) {
		snprintf(err, errlen, "private key %s: cannot stat: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "private key %s is not a regular file", path);
		return -1;
	}
	/* write access for others is as bad as read: they could swap the key */
	if (sb.st_mode & 077) {
		snprintf(err, errlen,
		         "private key %s has mode %04o: group or others may access it"
		         " (chmod 600 it)",
		         path, (unsigned)(sb.st_mode & 07777));
		return -1;
	}
	return 0;
}

int pc_keyfile_check(const char *path, char *err, size_t errlen)
{
	int fd, rc;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "private key %s: %s", path, strerror(errno));
		return -1;
	}
	rc = pc_keyfile_check_fd(fd, path, err, errlen);
	close(fd);
	return rc;
}
