/* test_connlimit.c - unit tests of the daemon's connection counts
 * (daemon/connlimit.c): counts go up and down per key and a key at zero is
 * gone; many keys coexist; source addresses are keyed by IPv4 address (also
 * when mapped into IPv6) and by IPv6 /64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "connlimit.h"

static void test_counts(void **state)
{
	(void)state;
	struct pc_connlimit *t = pc_connlimit_new();
	assert_int_equal(pc_connlimit_get(t, "acme/cafe", 9), 0);
	assert_int_equal(pc_connlimit_add(t, "acme/cafe", 9, 1), 1);
	assert_int_equal(pc_connlimit_add(t, "acme/cafe", 9, 1), 2);
	assert_int_equal(pc_connlimit_add(t, "acme/gym", 8, 1), 1);
	/* a key is its bytes: a prefix is another key */
	assert_int_equal(pc_connlimit_get(t, "acme/caf", 8), 0);
	assert_int_equal(pc_connlimit_size(t), 2);
	assert_int_equal(pc_connlimit_add(t, "acme/cafe", 9, -1), 1);
	assert_int_equal(pc_connlimit_add(t, "acme/cafe", 9, -1), 0);
	assert_int_equal(pc_connlimit_get(t, "acme/cafe", 9), 0);
	assert_int_equal(pc_connlimit_size(t), 1);

	/* more keys than buckets: every count still its own */
	char key[32];
	for (int i = 0; i < 10000; i++) {
		int n = snprintf(key, sizeof key, "k%d", i);
		for (int j = 0; j <= i % 3; j++)
			pc_connlimit_add(t, key, (size_t)n, 1);
	}
	for (int i = 0; i < 10000; i++) {
		int n = snprintf(key, sizeof key, "k%d", i);
		assert_int_equal(pc_connlimit_get(t, key, (size_t)n), i % 3 + 1);
	}
	assert_int_equal(pc_connlimit_size(t), 10001);
	pc_connlimit_free(t);
}

static size_t key_of(const char *addr, uint8_t out[17])
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(1234);
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(4321);
	}
	return pc_connlimit_addr_key((struct sockaddr *)&ss, out);
}

static void test_address_keys(void **state)
{
	(void)state;
	uint8_t a[17], b[17];
	size_t la, lb;

	la = key_of("192.0.2.1", a);
	lb = key_of("::ffff:192.0.2.1", b);
	assert_int_equal(la, 5);
	assert_int_equal(lb, la);
	assert_memory_equal(a, b, la);
	lb = key_of("192.0.2.2", b);
	assert_memory_not_equal(a, b, la);

	/* one /64, any interface id: one key */
	la = key_of("2001:db8:1:2::1", a);
	lb = key_of("2001:db8:1:2:ffff:ffff:ffff:ffff", b);
	assert_int_equal(la, 9);
	assert_int_equal(lb, la);
	assert_memory_equal(a, b, la);
	/* the next /64: another */
	lb = key_of("2001:db8:1:3::1", b);
	assert_memory_not_equal(a, b, la);

	struct sockaddr sa = { .sa_family = AF_UNIX };
	assert_int_equal(pc_connlimit_addr_key(&sa, a), 0);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_address_keys),
	};
	return cmocka_run_group_tests_name("unit.connlimit", tests, NULL, NULL);
}
