/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* iommutest-exporter's --listen=ADDR:PORT parser. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>

#include "check-run.h"
#include "exporter.h"

START_TEST(test_ipv4)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;

	ck_assert_int_eq(exporter_parse_listen("127.0.0.1:10481", &ss), 0);
	ck_assert_int_eq(a->sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(a->sin_port), 10481);
	ck_assert_uint_eq(ntohl(a->sin_addr.s_addr), INADDR_LOOPBACK);
	/* No address: every IPv4 address. */
	ck_assert_int_eq(exporter_parse_listen(":9", &ss), 0);
	ck_assert_uint_eq(ntohl(a->sin_addr.s_addr), INADDR_ANY);
	ck_assert_uint_eq(ntohs(a->sin_port), 9);
	ck_assert_int_eq(exporter_parse_listen("0.0.0.0:65535", &ss), 0);
}
END_TEST

START_TEST(test_ipv6)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

	ck_assert_int_eq(exporter_parse_listen("[::1]:10481", &ss), 0);
	ck_assert_int_eq(a->sin6_family, AF_INET6);
	ck_assert_uint_eq(ntohs(a->sin6_port), 10481);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&a->sin6_addr));
	ck_assert_int_eq(exporter_parse_listen("[::]:1", &ss), 0);
}
END_TEST

START_TEST(test_refused)
{
	static const char *const bad[] = {
		"",		  "10481",	   "127.0.0.1",	       "127.0.0.1:",
		"127.0.0.1:0",	  "127.0.0.1:65536", "127.0.0.1:0x10",   "127.0.0.1:010",
		"127.0.0.1:1a",	  "127.0.0.1:-1",    "localhost:10481", "::1:10481",
		"[::1]10481",	  "[::1]:",	   "[]:1",	       "[127.0.0.1]:1",
		"1.2.3.4.5:1",	  "[::1:1",	   "127.0.0.1: 1",     " 127.0.0.1:1",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sockaddr_storage ss;

		ck_assert_msg(exporter_parse_listen(bad[i], &ss) == -EINVAL, "accepted \"%s\"", bad[i]);
	}
	ck_assert_int_eq(exporter_parse_listen(NULL, &(struct sockaddr_storage){}), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("exporter-listen");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_ipv4);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_refused);
	suite_add_tcase(s, tc);
	return check_run(s);
}
