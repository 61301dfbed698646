/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/socket.h>

/*
 * Prometheus' default port allocations (its wiki) filled 9100–9999 by
 * 2023; newer exporters take ports above 10000. 10481 is one of those, not
 * an IANA-registered service port (docs/metrics.md).
 */
#define EXPORTER_DEFAULT_PORT 10481
#define EXPORTER_PATH	      "/metrics"

/*
 * "127.0.0.1:10481", "[::1]:10481", "0.0.0.0:10481", ":10481" (all IPv4
 * addresses): numeric addresses only, so a listen address never waits on
 * DNS. 0 or -EINVAL.
 */
int exporter_parse_listen(const char *s, struct sockaddr_storage *ret);
