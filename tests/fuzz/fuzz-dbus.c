/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for the daemon's D-Bus API: the real Manager, Run and Device
 * vtables served on one end of an in-process socket pair, a client on the
 * other. Each input is a sequence of method calls: object path, interface and
 * member picked from what the daemon has (or made up), and arguments in the
 * right signature or a wrong one, with strings, numbers, dictionaries of
 * overrides from the input. StartScenario takes its text from the input, so
 * runs start for real (the model backend; the host's devices are out of
 * reach: every HostEnv path points nowhere).
 *
 * Invariants besides not crashing: every call gets a reply (method return or
 * error) within a bounded time, the daemon never sends a reply that is not
 * a valid message, and after the input every run it started stops.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "bus-names.h"
#include "bus/bus.h"
#include "log.h"
#include "manager.h"
#include "parse-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CALLS	 32
#define REPLY_TIMEOUT_US (5 * USEC_PER_SEC)

static Manager *m;
static sd_bus *client;

typedef struct Input {
	const uint8_t *p;
	size_t n;
} Input;

static uint8_t take_byte(Input *in)
{
	uint8_t b;

	if (in->n == 0)
		return 0;
	b = *in->p++;
	in->n--;
	return b;
}

/* A string of the input's choosing: a length byte (×16 when its top bit is set), then that many bytes. */
static char *take_string(Input *in)
{
	size_t len = take_byte(in);
	char *s;

	if (len & 0x80)
		len = (len & 0x7f) * 16;
	len = MIN(len, in->n);
	s = malloc(len + 1);
	if (!s)
		abort();
	memcpy(s, in->p, len);
	s[len] = 0;
	in->p += len;
	in->n -= len;
	return s;
}

static uint64_t take_u64(Input *in)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++)
		v = v << 8 | take_byte(in);
	return v;
}

static const char *const paths[] = {
	MANAGER_PATH, RUN_PATH_PREFIX "/1", RUN_PATH_PREFIX "/2", RUN_PATH_PREFIX "/0x1",
	RUN_PATH_PREFIX "/01", RUN_PATH_PREFIX "/4294967296", DEVICE_PATH_PREFIX "/model0",
	DEVICE_PATH_PREFIX "/nope", "/", "/org", RUN_PATH_PREFIX,
};
static const char *const interfaces[] = {
	MANAGER_INTERFACE, RUN_INTERFACE, DEVICE_INTERFACE, "org.freedesktop.DBus.Properties",
	"org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.ObjectManager",
	"org.freedesktop.DBus.Peer", "org.iommutest1.Nope",
};
static const char *const members[] = {
	"StartScenario", "ListRuns", "ListBackends", "ListDevices", "DescribeDevice", "GetRun",
	"Describe", "GetMetrics", "Stop", "GetFaults", "GetFaultsSince", "GetTimeline", "Get",
	"GetAll", "Set", "Introspect", "GetManagedObjects", "Ping", "Nope",
};
static const char *const property_names[] = {
	"Version", "Runs", "ActiveRuns", "State", "Replacements", "AttachPoints", "Nope", "",
};

/* Arguments in one of a few signatures: usually the member's, sometimes not. */
static int append_args(sd_bus_message *msg, const char *member, Input *in)
{
	_cleanup_free_ char *s1 = NULL, *s2 = NULL;
	uint8_t how = take_byte(in);
	int r = 0;

	switch (how % 9) {
	case 0: /* StartScenario(s, a{sv}): a scenario from the input and some overrides */
		s1 = take_string(in);
		r = sd_bus_message_append(msg, "s", s1);
		if (r < 0)
			return r;
		r = sd_bus_message_open_container(msg, 'a', "{sv}");
		for (unsigned i = 0, n = take_byte(in) % 8; r >= 0 && i < n; i++) {
			_cleanup_free_ char *k = take_string(in), *v = take_string(in);

			switch (take_byte(in) % 4) {
			case 0:
				r = sd_bus_message_append(msg, "{sv}", k, "s", v);
				break;
			case 1:
				r = sd_bus_message_append(msg, "{sv}", k, "t", take_u64(in));
				break;
			case 2:
				r = sd_bus_message_append(msg, "{sv}", k, "b", take_byte(in) & 1);
				break;
			default:
				r = sd_bus_message_append(msg, "{sv}", k, "d", (double)take_u64(in));
			}
		}
		if (r >= 0)
			r = sd_bus_message_close_container(msg);
		return r;
	case 1:
		s1 = take_string(in);
		return sd_bus_message_append(msg, "s", s1);
	case 2:
		return sd_bus_message_append(msg, "u", (uint32_t)take_u64(in));
	case 3:
		return sd_bus_message_append(msg, "tu", take_u64(in), (uint32_t)take_u64(in));
	case 4: /* Properties.Get/GetAll/Set */
		return sd_bus_message_append(msg, "ss", interfaces[take_byte(in) % ELEMENTSOF(interfaces)],
					     property_names[take_byte(in) % ELEMENTSOF(property_names)]);
	case 5:
		return sd_bus_message_append(msg, "ssv", RUN_INTERFACE,
					     property_names[take_byte(in) % ELEMENTSOF(property_names)],
					     "u", (uint32_t)take_u64(in));
	case 6:
		s1 = take_string(in);
		s2 = take_string(in);
		return sd_bus_message_append(msg, "ss", s1, s2);
	case 7:
		return sd_bus_message_append(msg, "as", 2, "a", "b");
	default:
		return 0; /* no arguments */
	}
}

static unsigned replies_pending;

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	const sd_bus_error *e = sd_bus_message_get_error(reply);

	/* A reply is a return or an error with a name; a timeout means the daemon never answered. */
	if (e && (!e->name || sd_bus_error_has_names(e, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT))) {
		fprintf(stderr, "fuzz-dbus: no answer: %s\n", e->name ? e->name : "(unnamed error)");
		abort();
	}
	replies_pending--;
	return 0;
}

static void loop_until(bool (*done)(void), uint64_t timeout_us, const char *what)
{
	uint64_t deadline = now_ns(CLOCK_MONOTONIC) / 1000 + timeout_us;

	while (!done()) {
		if (now_ns(CLOCK_MONOTONIC) / 1000 > deadline) {
			fprintf(stderr, "fuzz-dbus: %s did not happen within %.0f s\n", what,
				timeout_us / 1e6);
			abort();
		}
		if (sd_event_run(m->event, 10 * USEC_PER_MSEC) < 0)
			abort();
	}
}

static bool all_replied(void)
{
	return replies_pending == 0;
}

static bool all_stopped(void)
{
	return manager_active_runs(m) == 0;
}

static void setup(void)
{
	int fds[2];
	sd_id128_t id = {};
	sd_bus *server = NULL;

	/* FUZZ_DBUS_LOG=1 shows what the daemon does with an input (replaying one). */
	log_set_max_level(getenv("FUZZ_DBUS_LOG") ? LOG_DEBUG : LOG_EMERG);
	if (manager_new(&m) < 0 || sd_event_new(&m->event) < 0)
		abort();
	m->env = host_env_nowhere;
	/* Runs kept: few, so that a long fuzzing session does not accumulate them. */
	m->config.keep_runs = 2;
	m->config.fault_ring = 64;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		abort();
	/* The peer's credentials come from the socket, as bus_verify_admin() wants them. */
	if (sd_bus_new(&server) < 0 || sd_bus_set_fd(server, fds[0], fds[0]) < 0 ||
	    sd_bus_set_server(server, true, id) < 0 ||
	    sd_bus_negotiate_creds(server, true, SD_BUS_CREDS_EUID | SD_BUS_CREDS_EGID |
							 SD_BUS_CREDS_SUPPLEMENTARY_GIDS) < 0 ||
	    sd_bus_start(server) < 0 ||
	    sd_bus_attach_event(server, m->event, 0) < 0)
		abort();
	m->bus = server;
	if (manager_bus_register(m) < 0 || run_bus_register(m) < 0 || device_bus_register(m) < 0)
		abort();
	if (sd_bus_new(&client) < 0 || sd_bus_set_fd(client, fds[1], fds[1]) < 0 ||
	    sd_bus_start(client) < 0 || sd_bus_attach_event(client, m->event, 0) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Input in = {data, size};

	if (!m)
		setup();
	for (unsigned i = 0; i < MAX_CALLS && in.n > 0; i++) {
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
		const char *path = paths[take_byte(&in) % ELEMENTSOF(paths)];
		const char *iface = interfaces[take_byte(&in) % ELEMENTSOF(interfaces)];
		const char *member = members[take_byte(&in) % ELEMENTSOF(members)];

		if (sd_bus_message_new_method_call(client, &msg, NULL, path, iface, member) < 0)
			abort();
		if (append_args(msg, member, &in) < 0)
			continue; /* the input asked for a message sd-bus will not build */
		if (sd_bus_call_async(client, NULL, msg, on_reply, NULL, REPLY_TIMEOUT_US) < 0)
			abort();
		replies_pending++;
	}
	loop_until(all_replied, 2 * REPLY_TIMEOUT_US, "a reply to every call");

	/* What the input started stops again, as at shutdown. */
	for (Run *r = m->runs, *next; r; r = next) {
		next = r->next;
		run_request_stop(r, "fuzz input done");
	}
	loop_until(all_stopped, 30 * USEC_PER_SEC, "every run stopping");
	return 0;
}
