/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <netlink/netlink.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-event.h>

#include "log.h"
#include "macro.h"
#include "observers/uevent.h"

/* The kernel multicasts uevents to group 1 of NETLINK_KOBJECT_UEVENT; udev uses group 2. */
#define UEVENT_GROUP_KERNEL 1

struct UeventMonitor {
	UeventHandler handler;
	void *userdata;
	struct nl_sock *sock;
	sd_event_source *source;
};

UeventMonitor *uevent_monitor_free(UeventMonitor *m)
{
	if (!m)
		return NULL;
	sd_event_source_disable_unref(m->source);
	if (m->sock)
		nl_socket_free(m->sock);
	free(m);
	return NULL;
}

int uevent_parse(const char *buf, size_t n, Uevent *ret)
{
	Uevent e = {};
	const char *p = buf, *end = buf + n, *at;
	size_t len;

	/* The header "ACTION@DEVPATH" must be NUL terminated inside the datagram. */
	len = strnlen(p, n);
	if (len == n || len == 0)
		return -EINVAL;
	at = memchr(p, '@', len);
	if (!at)
		return -EINVAL;
	p += len + 1;
	while (p < end) {
		len = strnlen(p, (size_t)(end - p));
		if (p + len == end)
			break; /* unterminated tail: ignore it */
		if (strncmp(p, "ACTION=", 7) == 0)
			e.action = p + 7;
		else if (strncmp(p, "DEVPATH=", 8) == 0)
			e.devpath = p + 8;
		else if (strncmp(p, "SUBSYSTEM=", 10) == 0)
			e.subsystem = p + 10;
		else if (strncmp(p, "DRIVER=", 7) == 0)
			e.driver = p + 7;
		p += len + 1;
	}
	if (!e.action || !e.devpath)
		return -EINVAL;
	*ret = e;
	return 0;
}

const char *uevent_pci_address(const Uevent *e)
{
	const char *slash;

	if (!e->subsystem || !streq(e->subsystem, "pci"))
		return NULL;
	slash = strrchr(e->devpath, '/');
	return slash && slash[1] ? slash + 1 : NULL;
}

void uevent_monitor_feed(UeventMonitor *m, const void *buf, size_t n, uint32_t sender_port)
{
	Uevent e;

	/* Only the kernel (port 0) speaks for devices; ignore anyone else on the group. */
	if (sender_port != 0 || uevent_parse(buf, n, &e) < 0)
		return;
	m->handler(&e, m->userdata);
}

static int on_uevent(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	UeventMonitor *m = userdata;

	for (;;) {
		struct sockaddr_nl peer = {};
		unsigned char *buf = NULL;
		int n;

		n = nl_recv(m->sock, &peer, &buf, NULL);
		if (n <= 0) {
			free(buf);
			if (n < 0 && n != -NLE_AGAIN)
				log_debug("uevent: nl_recv failed: %s", nl_geterror(n));
			return 0;
		}
		uevent_monitor_feed(m, buf, (size_t)n, peer.nl_pid);
		free(buf);
	}
}

int uevent_monitor_new_unconnected(UeventHandler handler, void *userdata, UeventMonitor **ret)
{
	UeventMonitor *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->handler = handler;
	m->userdata = userdata;
	*ret = m;
	return 0;
}

int uevent_monitor_new(sd_event *event, UeventHandler handler, void *userdata, UeventMonitor **ret)
{
	UeventMonitor *m;
	int k;

	k = uevent_monitor_new_unconnected(handler, userdata, &m);
	if (k < 0)
		return k;
	m->sock = nl_socket_alloc();
	if (!m->sock) {
		free(m);
		return -ENOMEM;
	}
	/* Uevents are not request/response: no sequence numbers, no auto-ack. */
	nl_socket_disable_seq_check(m->sock);
	nl_socket_disable_auto_ack(m->sock);
	nl_socket_set_local_port(m->sock, 0);
	k = nl_connect(m->sock, NETLINK_KOBJECT_UEVENT);
	if (k >= 0)
		k = nl_socket_add_membership(m->sock, UEVENT_GROUP_KERNEL);
	if (k >= 0)
		k = nl_socket_set_nonblocking(m->sock);
	if (k < 0) {
		log_debug("uevent: %s", nl_geterror(k));
		uevent_monitor_free(m);
		return -EPROTO;
	}
	/* Device bursts (hotplug of a whole bus) must not overflow the queue. */
	(void)nl_socket_set_buffer_size(m->sock, 1024 * 1024, 0);
	k = sd_event_add_io(event, &m->source, nl_socket_get_fd(m->sock), EPOLLIN, on_uevent, m);
	if (k < 0) {
		uevent_monitor_free(m);
		return k;
	}
	(void)sd_event_source_set_description(m->source, "uevent");
	*ret = m;
	return 0;
}
