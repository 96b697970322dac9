/* keyfile.h - the start-up check on a private key file the daemon opens: a
 * regular file that neither group nor others can read or write, as OpenSSH
 * insists on for its host keys. A key another account can read is a key that
 * may already be someone else's, so the daemon refuses to start on one rather
 * than warn. */
#ifndef PC_KEYFILE_H
#define PC_KEYFILE_H

#include <stddef.h>

#define PC_KEYFILE_ERR_MAX 512   /* room for err: a path and a reason */

/* 0 when path names a regular file with no permission bit for group or others;
 * -1 otherwise, with err naming the file and its mode (or why it could not be
 * examined). Opens the file read-only and non-blocking to fstat it, so a FIFO
 * put in a key's place does not hang the start-up. */
int pc_keyfile_check(const char *path, char *err, size_t errlen);

/* The same check on a descriptor already open on path (path is for messages). */
int pc_keyfile_check_fd(int fd, const char *path, char *err, size_t errlen);

#endif
