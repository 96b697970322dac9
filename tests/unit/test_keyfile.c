/* test_keyfile.c - unit tests of the daemon's private key file check
 * (daemon/keyfile.c): 0600 and 0400 pass; any bit for group or others, a
 * directory, a FIFO and a missing file are refused with the path (and the mode)
 * in the message. Works in a fresh temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyfile.h"

static char dir[64];
static char path[128];
static char err[512];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/pc-keyfile.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/receipt.key", dir);
	return 0;
}

static int teardown(void **state)
{
	char p[160];

	(void)state;
	unlink(path);
	snprintf(p, sizeof p, "%s/fifo", dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/sub", dir);
	rmdir(p);
	snprintf(p, sizeof p, "%s/link", dir);
	unlink(p);
	return rmdir(dir);
}

/* A key file with exactly this mode, whatever the umask. */
static void make_key(mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "key\n", 4), 4);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void test_owner_only_passes(void **state)
{
	(void)state;
	make_key(0600);
	err[0] = '\0';
	assert_int_equal(pc_keyfile_check(path, err, sizeof err), 0);
	assert_string_equal(err, "");
	make_key(0400);
	assert_int_equal(pc_keyfile_check(path, err, sizeof err), 0);
}

static void test_group_or_other_bits_refused(void **state)
{
	static const mode_t bad[] = {0640, 0644, 0604, 0660, 0602, 0620, 0601, 0610, 0777};
	char want[32];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		make_key(bad[i]);
		assert_int_equal(pc_keyfile_check(path, err, sizeof err), -1);
		assert_non_null(strstr(err, path));
		snprintf(want, sizeof want, "mode %04o", (unsigned)bad[i]);
		assert_non_null(strstr(err, want));
	}
}

static void test_descriptor_variant(void **state)
{
	int fd;

	(void)state;
	make_key(0644);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pc_keyfile_check_fd(fd, path, err, sizeof err), -1);
	assert_non_null(strstr(err, "mode 0644"));
	assert_int_equal(fchmod(fd, 0600), 0);
	assert_int_equal(pc_keyfile_check_fd(fd, path, err, sizeof err), 0);
	close(fd);
}

static void test_not_regular_refused(void **state)
{
	char p[160];

	(void)state;
	snprintf(p, sizeof p, "%s/sub", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(pc_keyfile_check(p, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a regular file"));
	assert_non_null(strstr(err, p));

	/* a FIFO is refused at once, not waited on */
	snprintf(p, sizeof p, "%s/fifo", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(pc_keyfile_check(p, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a regular file"));
}

static void test_missing_refused(void **state)
{
	char p[160];

	(void)state;
	snprintf(p, sizeof p, "%s/absent.key", dir);
	assert_int_equal(pc_keyfile_check(p, err, sizeof err), -1);
	assert_non_null(strstr(err, p));
	assert_non_null(strstr(err, "No such file"));
}

/* a symbolic link is judged by the file it leads to, which is what gets read */
static void test_symlink_judged_by_target(void **state)
{
	char p[160];

	(void)state;
	snprintf(p, sizeof p, "%s/link", dir);
	make_key(0600);
	assert_int_equal(symlink(path, p), 0);
	assert_int_equal(pc_keyfile_check(p, err, sizeof err), 0);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(pc_keyfile_check(p, err, sizeof err), -1);
	assert_non_null(strstr(err, "mode 0644"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_owner_only_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_or_other_bits_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_descriptor_variant, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_regular_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_judged_by_target, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
