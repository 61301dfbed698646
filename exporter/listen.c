/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "exporter.h"
#include "parse-util.h"

int exporter_parse_listen(const char *s, struct sockaddr_storage *ret)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *port_str;
	uint32_t port;
	size_t n;

	if (!s)
		return -EINVAL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		n = (size_t)(close - s - 1);
		if (n == 0 || n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, n);
		host[n] = 0;
		port_str = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon) /* an IPv6 address needs its brackets */
			return -EINVAL;
		n = (size_t)(colon - s);
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, n);
		host[n] = 0;
		port_str = colon + 1;
	}
	/* Decimal only: parse_u32() would take 0x hex, which no one means in a port. */
	if (port_str[0] < '1' || port_str[0] > '9' || strspn(port_str, "0123456789") != strlen(port_str))
		return -EINVAL;
	if (parse_u32(port_str, &port) < 0 || port > 65535)
		return -EINVAL;

	memset(ret, 0, sizeof(*ret));
	if (s[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ret;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -EINVAL;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ret;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (host[0] == 0)
			a->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
	}
	return 0;
}
