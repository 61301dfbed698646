/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The uevent monitor fed as the kernel's netlink socket would feed it:
 * datagrams with their sender's port, through uevent_monitor_feed().
 */
#include <check.h>
#include <string.h>

#include "check-run.h"
#include "macro.h"
#include "observers/uevent.h"

typedef struct Seen {
	unsigned n;
	char action[32], devpath[128], subsystem[32], driver[32], pci[32];
} Seen;

static void on_event(const Uevent *e, void *userdata)
{
	Seen *s = userdata;
	const char *pci = uevent_pci_address(e);

	s->n++;
	snprintf(s->action, sizeof(s->action), "%s", strempty(e->action));
	snprintf(s->devpath, sizeof(s->devpath), "%s", strempty(e->devpath));
	snprintf(s->subsystem, sizeof(s->subsystem), "%s", strempty(e->subsystem));
	snprintf(s->driver, sizeof(s->driver), "%s", strempty(e->driver));
	snprintf(s->pci, sizeof(s->pci), "%s", strempty(pci));
}

/* A datagram as the kernel sends it: header and KEY=value strings, each NUL-terminated. */
#define DGRAM(...) ((const char[]){__VA_ARGS__})

static const char unbind[] = "unbind@/devices/pci0000:00/0000:00:03.0\0"
			     "ACTION=unbind\0DEVPATH=/devices/pci0000:00/0000:00:03.0\0"
			     "SUBSYSTEM=pci\0SEQNUM=1234\0";
static const char bind[] = "bind@/devices/pci0000:00/0000:00:03.0\0"
			   "ACTION=bind\0DEVPATH=/devices/pci0000:00/0000:00:03.0\0"
			   "SUBSYSTEM=pci\0DRIVER=vfio-pci\0SEQNUM=1235\0";
static const char usb[] = "add@/devices/pci0000:00/0000:00:14.0/usb1/1-1\0"
			  "ACTION=add\0DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-1\0"
			  "SUBSYSTEM=usb\0";
/* udev's re-broadcast on the same socket family: not the kernel's format. */
static const char udev[] = "libudev\0\xfe\xed\xca\xfe";

START_TEST(test_feed_kernel_events)
{
	UeventMonitor *m = NULL;
	Seen s = {};

	ck_assert_int_eq(uevent_monitor_new_unconnected(on_event, &s, &m), 0);

	uevent_monitor_feed(m, unbind, sizeof(unbind) - 1, 0);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.action, "unbind");
	ck_assert_str_eq(s.subsystem, "pci");
	ck_assert_str_eq(s.pci, "0000:00:03.0");
	ck_assert_str_eq(s.driver, "");

	uevent_monitor_feed(m, bind, sizeof(bind) - 1, 0);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_str_eq(s.action, "bind");
	ck_assert_str_eq(s.driver, "vfio-pci");

	/* Not a PCI function: raised, but with no PCI address for the manager to match. */
	uevent_monitor_feed(m, usb, sizeof(usb) - 1, 0);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_str_eq(s.subsystem, "usb");
	ck_assert_str_eq(s.pci, "");

	uevent_monitor_free(m);
}
END_TEST

START_TEST(test_feed_ignores_others)
{
	UeventMonitor *m = NULL;
	Seen s = {};

	ck_assert_int_eq(uevent_monitor_new_unconnected(on_event, &s, &m), 0);
	/* Anyone but the kernel (port 0) on the group is ignored, whatever it says. */
	uevent_monitor_feed(m, unbind, sizeof(unbind) - 1, 4242);
	uevent_monitor_feed(m, udev, sizeof(udev) - 1, 0);
	/* Truncated: the header is not terminated inside the datagram. */
	uevent_monitor_feed(m, unbind, 10, 0);
	uevent_monitor_feed(m, "", 0, 0);
	uevent_monitor_feed(m, DGRAM('x', 0), 2, 0);
	ck_assert_uint_eq(s.n, 0);
	uevent_monitor_free(m);
}
END_TEST

START_TEST(test_parse_fields)
{
	Uevent e;

	ck_assert_int_eq(uevent_parse(bind, sizeof(bind) - 1, &e), 0);
	ck_assert_str_eq(e.action, "bind");
	ck_assert_str_eq(e.devpath, "/devices/pci0000:00/0000:00:03.0");
	ck_assert_str_eq(e.driver, "vfio-pci");
	ck_assert_str_eq(uevent_pci_address(&e), "0000:00:03.0");
	/* A tail without its NUL is dropped, the rest stands. */
	ck_assert_int_eq(uevent_parse(bind, sizeof(bind) - 3, &e), 0);
	ck_assert_ptr_null(strstr(e.action, "SEQNUM"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("uevent");
	TCase *tc = tcase_create("feed");

	tcase_add_test(tc, test_feed_kernel_events);
	tcase_add_test(tc, test_feed_ignores_others);
	tcase_add_test(tc, test_parse_fields);
	suite_add_tcase(s, tc);
	return check_run(s);
}
