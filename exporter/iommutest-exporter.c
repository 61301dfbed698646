/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iommutest-exporter: serves GET /metrics over HTTP by asking iommutestd on
 * the bus (Manager.GetMetrics). It is a separate, unprivileged program so
 * that the root daemon never listens on the network.
 *
 * One thread. sd-event owns every fd: libmicrohttpd runs in its external
 * epoll mode, its epoll fd an sd-event source, its timeouts an sd-event
 * timer. A scrape suspends its HTTP connection while the bus call is in
 * flight (async, with a timeout, never auto-starting the daemon) and resumes
 * it with the answer, so one slow daemon never blocks other scrapes and
 * never makes one hang: the reply is the metrics, or a 503 with a reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "bus-names.h"
#include "bus-util.h"
#include "config.h"
#include "exporter.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"

#define DEFAULT_LISTEN	   "0.0.0.0:" XSTRINGIFY(EXPORTER_DEFAULT_PORT)
#define DEFAULT_TIMEOUT	   (2 * USEC_PER_SEC)
#define MAX_CONNECTIONS	   64
#define CONNECTION_TIMEOUT 10 /* s: an idle or trickling client is dropped */

typedef struct Exporter Exporter;

typedef enum ScrapeState {
	SCRAPE_NEW,
	SCRAPE_WAITING, /* the bus call is in flight; the connection is suspended */
	SCRAPE_DONE,
} ScrapeState;

typedef struct Scrape Scrape;
struct Scrape {
	Exporter *e;
	struct MHD_Connection *connection;
	ScrapeState state;
	Scrape *prev, *next; /* Exporter.waiting, while SCRAPE_WAITING */
	sd_bus_slot *slot;
	sd_event_source *deadline;
	unsigned status;
	char *body, *content_type;
};

struct Exporter {
	sd_event *event;
	sd_bus *bus; /* NULL until the first scrape, and after it was lost */
	char *bus_address;
	bool user;
	uint64_t timeout_usec;
	struct MHD_Daemon *httpd;
	sd_event_source *httpd_io, *httpd_timer, *httpd_defer;
	Scrape *waiting; /* suspended connections: each must be answered and resumed */
};

static void httpd_kick(Exporter *e);

static void scrape_set(Scrape *s, unsigned status, const char *content_type, char *body)
{
	free(s->body);
	free(s->content_type);
	s->status = status;
	s->body = body;
	s->content_type = content_type ? strdup(content_type) : NULL;
}

/* A 503 (or other) with one line saying why, as text. */
static void scrape_fail(Scrape *s, unsigned status, const char *fmt, ...) _printf_(3, 4);
static void scrape_fail(Scrape *s, unsigned status, const char *fmt, ...)
{
	va_list ap;
	char *body = NULL;

	va_start(ap, fmt);
	if (vasprintf(&body, fmt, ap) < 0)
		body = NULL;
	va_end(ap);
	scrape_set(s, status, "text/plain; charset=utf-8", body);
}

/*
 * The one way out of SCRAPE_WAITING: the bus call and the deadline are
 * cancelled, and the connection is resumed to send what was set. Whatever
 * ends the wait (the reply, the deadline, a lost bus, shutdown) comes here,
 * so no connection stays suspended.
 */
static void scrape_finish(Scrape *s)
{
	Exporter *e = s->e;

	if (s->state != SCRAPE_WAITING)
		return;
	s->slot = sd_bus_slot_unref(s->slot);
	s->deadline = sd_event_source_disable_unref(s->deadline);
	if (s->prev)
		s->prev->next = s->next;
	else
		e->waiting = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	s->state = SCRAPE_DONE;
	MHD_resume_connection(s->connection);
	httpd_kick(e);
}

static Scrape *scrape_free(Scrape *s)
{
	if (!s)
		return NULL;
	/* MHD completes no suspended connection; this is for the unexpected. */
	scrape_finish(s);
	free(s->body);
	free(s->content_type);
	free(s);
	return NULL;
}

/* Answers every waiting scrape with why, e.g. when the bus went away or at shutdown. */
static void fail_waiting(Exporter *e, const char *why)
{
	while (e->waiting) {
		Scrape *s = e->waiting;

		scrape_fail(s, MHD_HTTP_SERVICE_UNAVAILABLE, "%s\n", why);
		scrape_finish(s);
	}
}

/* Forgets a bus connection that failed, so the next scrape makes a new one. */
static void exporter_drop_bus(Exporter *e, const char *why)
{
	/* Their calls are on this connection: they get their answer now, not never. */
	fail_waiting(e, why);
	e->bus = sd_bus_flush_close_unref(e->bus);
}

static int on_metrics_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	Scrape *s = userdata;
	Exporter *e = s->e;
	const sd_bus_error *error = sd_bus_message_get_error(reply);
	const char *text, *content_type;
	int r;

	if (error && !sd_bus_is_open(e->bus)) {
		/* sd-bus fails the pending calls of a lost connection with NoReply. */
		exporter_drop_bus(e, "lost the connection to the bus (the bus daemon went away?)");
		return 0;
	}
	if (error) {
		if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN,
					   SD_BUS_ERROR_NAME_HAS_NO_OWNER))
			scrape_fail(s, MHD_HTTP_SERVICE_UNAVAILABLE,
				    "iommutestd is not running (%s has no owner on the bus)\n", BUS_NAME);
		else if (sd_bus_error_has_names(error, SD_BUS_ERROR_TIMEOUT, SD_BUS_ERROR_NO_REPLY))
			scrape_fail(s, MHD_HTTP_SERVICE_UNAVAILABLE,
				    "iommutestd did not answer within %.1f s\n",
				    (double)e->timeout_usec / USEC_PER_SEC);
		else
			scrape_fail(s, MHD_HTTP_SERVICE_UNAVAILABLE, "iommutestd: %s\n",
				    !isempty(error->message) ? error->message : error->name);
	} else {
		r = sd_bus_message_read(reply, "ss", &text, &content_type);
		if (r < 0)
			scrape_fail(s, MHD_HTTP_SERVICE_UNAVAILABLE,
				    "iommutestd sent a reply this exporter cannot read: %s\n",
				    strerror(-r));
		else
			scrape_set(s, MHD_HTTP_OK, content_type, strdup(text));
		if (s->status == MHD_HTTP_OK && !s->body)
			scrape_fail(s, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	scrape_finish(s);
	return 0;
}

/*
 * The scrape's own deadline, whatever sd-bus does: its call timeout does not
 * run while a connection is still authenticating, which a hung bus daemon
 * can make last minutes.
 */
static int on_scrape_deadline(sd_event_source *src, uint64_t usec, void *userdata)
{
	Scrape *s = userdata;

	scrape_fail(s, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "no answer from the bus or iommutestd within %.1f s\n",
		    (double)s->e->timeout_usec / USEC_PER_SEC);
	scrape_finish(s);
	return 0;
}

/* OpenMetrics when the scraper asks for it (Prometheus does, first), else 0.0.4. */
static const char *format_for(const char *accept)
{
	return accept && strstr(accept, "application/openmetrics-text") ? "openmetrics" : "prometheus";
}

static void scrape_start(Scrape *s, const char *accept)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	Exporter *e = s->e;
	char buf[256];
	int r;

	s->state = SCRAPE_DONE;
	if (!e->bus) {
		/* Not waiting for Hello(): the loop must not block on a bus that does not answer. */
		r = bus_open(e->bus_address, e->user, 0, 0, &e->bus);
		if (r < 0) {
			scrape_fail(s, MHD_HTTP_SERVICE_UNAVAILABLE, "cannot connect to %s: %s\n",
				    bus_name_for_humans(e->bus_address, e->user, buf, sizeof(buf)),
				    strerror(-r));
			return;
		}
		r = sd_bus_attach_event(e->bus, e->event, SD_EVENT_PRIORITY_NORMAL);
		if (r < 0) {
			exporter_drop_bus(e, "cannot use the bus");
			scrape_fail(s, MHD_HTTP_SERVICE_UNAVAILABLE, "cannot use the bus: %s\n",
				    strerror(-r));
			return;
		}
	}

	r = sd_bus_message_new_method_call(e->bus, &m, BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE,
					   "GetMetrics");
	if (r >= 0)
		/* An absent daemon is a 503 now, not a bus activation the scrape waits for. */
		r = sd_bus_message_set_auto_start(m, false);
	if (r >= 0)
		r = sd_bus_message_append(m, "s", format_for(accept));
	if (r >= 0)
		r = sd_bus_call_async(e->bus, &s->slot, m, on_metrics_reply, s, e->timeout_usec);
	if (r >= 0)
		r = sd_event_add_time_relative(e->event, &s->deadline, CLOCK_MONOTONIC,
					       e->timeout_usec, 0, on_scrape_deadline, s);
	if (r < 0) {
		s->slot = sd_bus_slot_unref(s->slot);
		/* Most likely the connection is gone (the bus daemon restarted): start afresh. */
		exporter_drop_bus(e, "lost the connection to the bus");
		scrape_fail(s, MHD_HTTP_SERVICE_UNAVAILABLE, "cannot ask iommutestd: %s\n",
			    strerror(-r));
		return;
	}
	s->state = SCRAPE_WAITING;
	s->next = e->waiting;
	if (s->next)
		s->next->prev = s;
	e->waiting = s;
	MHD_suspend_connection(s->connection);
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *content_type,
			       const char *body, const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (content_type)
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (allow)
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	/* Metrics are a snapshot: no cache between Prometheus and us should keep one. */
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	Exporter *e = cls;
	Scrape *s = *con_cls;

	if (!s) {
		/* First call: headers only. Say no to what we do not serve before any body arrives. */
		if (!streq(url, EXPORTER_PATH))
			return respond(connection, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8",
				       "Not found: this exporter serves " EXPORTER_PATH " only.\n",
				       NULL);
		if (!streq(method, MHD_HTTP_METHOD_GET) && !streq(method, MHD_HTTP_METHOD_HEAD))
			return respond(connection, MHD_HTTP_METHOD_NOT_ALLOWED,
				       "text/plain; charset=utf-8", "Method not allowed: use GET.\n",
				       "GET, HEAD");
		s = calloc(1, sizeof(*s));
		if (!s)
			return MHD_NO;
		s->e = e;
		s->connection = connection;
		*con_cls = s;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* a GET with a body: ignored */
		return MHD_YES;
	}
	switch (s->state) {
	case SCRAPE_NEW:
		scrape_start(s, MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
							    MHD_HTTP_HEADER_ACCEPT));
		if (s->state == SCRAPE_WAITING)
			return MHD_YES;
		return respond(connection, s->status, s->content_type, strempty(s->body), NULL);
	case SCRAPE_DONE:
		return respond(connection, s->status, s->content_type, strempty(s->body), NULL);
	case SCRAPE_WAITING:
	default:
		return MHD_YES; /* resumed before the reply? keep waiting */
	}
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	*con_cls = scrape_free(*con_cls);
}

/* ---- libmicrohttpd on sd-event ---- */

static int httpd_rearm(Exporter *e)
{
	MHD_UNSIGNED_LONG_LONG ms;
	uint64_t now;
	int r;

	if (MHD_get_timeout(e->httpd, &ms) != MHD_YES)
		return sd_event_source_set_enabled(e->httpd_timer, SD_EVENT_OFF);
	r = sd_event_now(e->event, CLOCK_MONOTONIC, &now);
	if (r < 0)
		return r;
	r = sd_event_source_set_time(e->httpd_timer, now + (uint64_t)ms * USEC_PER_MSEC);
	if (r < 0)
		return r;
	return sd_event_source_set_enabled(e->httpd_timer, SD_EVENT_ONESHOT);
}

static int httpd_run(Exporter *e)
{
	if (MHD_run(e->httpd) != MHD_YES)
		log_warning("libmicrohttpd could not process its connections.");
	return httpd_rearm(e);
}

static int on_httpd_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	return httpd_run(userdata);
}

static int on_httpd_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	return httpd_run(userdata);
}

static int on_httpd_defer(sd_event_source *src, void *userdata)
{
	Exporter *e = userdata;

	(void)sd_event_source_set_enabled(e->httpd_defer, SD_EVENT_OFF);
	return httpd_run(e);
}

/* A resumed connection is handled by the next MHD_run(): run it soon, from the loop. */
static void httpd_kick(Exporter *e)
{
	(void)sd_event_source_set_enabled(e->httpd_defer, SD_EVENT_ONESHOT);
}

static int httpd_start(Exporter *e, int listen_fd, const struct sockaddr *addr)
{
	const union MHD_DaemonInfo *info;
	int r;

	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

	/* The variadic options are read with their own types: an MHD_socket, a sockaddr *. */
	if (listen_fd >= 0)
		e->httpd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, e,
					    MHD_OPTION_NOTIFY_COMPLETED, on_completed, e,
					    MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
					    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT,
					    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd, MHD_OPTION_END);
	else
		e->httpd = MHD_start_daemon(flags | (addr->sa_family == AF_INET6 ? MHD_USE_IPv6 : 0), 0,
					    NULL, NULL, on_request, e, MHD_OPTION_NOTIFY_COMPLETED,
					    on_completed, e, MHD_OPTION_CONNECTION_LIMIT,
					    (unsigned)MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
					    (unsigned)CONNECTION_TIMEOUT, MHD_OPTION_SOCK_ADDR, addr,
					    MHD_OPTION_END);
	if (!e->httpd)
		return -EADDRNOTAVAIL;
	info = MHD_get_daemon_info(e->httpd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info)
		return -EIO;
	r = sd_event_add_io(e->event, &e->httpd_io, info->epoll_fd, EPOLLIN, on_httpd_io, e);
	if (r < 0)
		return r;
	r = sd_event_add_time(e->event, &e->httpd_timer, CLOCK_MONOTONIC, 0, 0, on_httpd_timer, e);
	if (r < 0)
		return r;
	r = sd_event_add_defer(e->event, &e->httpd_defer, on_httpd_defer, e);
	if (r < 0)
		return r;
	(void)sd_event_source_set_enabled(e->httpd_defer, SD_EVENT_OFF);
	return httpd_rearm(e);
}

static void exporter_done(Exporter *e)
{
	/* MHD_stop_daemon() aborts on a suspended connection: answer them all first. */
	fail_waiting(e, "iommutest-exporter is shutting down");
	if (e->httpd)
		(void)MHD_run(e->httpd);
	sd_event_source_disable_unref(e->httpd_io);
	sd_event_source_disable_unref(e->httpd_timer);
	sd_event_source_disable_unref(e->httpd_defer);
	if (e->httpd)
		MHD_stop_daemon(e->httpd);
	sd_bus_flush_close_unref(e->bus);
	sd_event_unref(e->event);
	free(e->bus_address);
}

/* Waiting scrapes get their 503 and are sent before the loop ends. */
static int on_signal(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
	Exporter *e = userdata;

	log_info("Received %s; answering waiting scrapes and exiting.", strsignal((int)si->ssi_signo));
	fail_waiting(e, "iommutest-exporter is shutting down");
	if (e->httpd)
		(void)MHD_run(e->httpd);
	return sd_event_exit(e->event, 0);
}

/* ---- command line ---- */

static void help(void)
{
	printf("iommutest-exporter [OPTIONS…]\n\n"
	       "Serve iommutestd's metrics over HTTP at GET " EXPORTER_PATH " for Prometheus.\n\n"
	       "  -h --help              Show this help\n"
	       "     --version           Show package version\n"
	       "     --listen=ADDR:PORT  Listen there (default " DEFAULT_LISTEN
	       "; [ADDR]:PORT for IPv6);\n"
	       "                         ignored when systemd passes a socket\n"
	       "     --bus-address=ADDR  Ask the daemon on the bus at ADDR instead of the system bus\n"
	       "     --user              Ask the daemon on the user bus\n"
	       "     --timeout=DURATION  How long a scrape waits for the daemon (default 2s)\n"
	       "     --log-level=LEVEL   debug, info, notice, warning, err (default: info)\n");
}

int main(int argc, char *argv[])
{
	enum { ARG_VERSION = 0x100, ARG_LISTEN, ARG_BUS_ADDRESS, ARG_USER, ARG_TIMEOUT, ARG_LOG_LEVEL };
	static const struct option options[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, ARG_VERSION},
		{"listen", required_argument, NULL, ARG_LISTEN},
		{"bus-address", required_argument, NULL, ARG_BUS_ADDRESS},
		{"user", no_argument, NULL, ARG_USER},
		{"timeout", required_argument, NULL, ARG_TIMEOUT},
		{"log-level", required_argument, NULL, ARG_LOG_LEVEL},
		{},
	};
	_cleanup_(exporter_done) Exporter e = {.timeout_usec = DEFAULT_TIMEOUT};
	const char *listen_arg = DEFAULT_LISTEN;
	struct sockaddr_storage ss;
	int c, r, n, listen_fd = -1;

	log_open();
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			help();
			return EXIT_SUCCESS;
		case ARG_VERSION:
			puts("iommutest-exporter " PACKAGE_VERSION);
			return EXIT_SUCCESS;
		case ARG_LISTEN:
			listen_arg = optarg;
			break;
		case ARG_BUS_ADDRESS:
			free(e.bus_address);
			e.bus_address = strdup(optarg);
			if (!e.bus_address)
				return log_oom(), EXIT_FAILURE;
			break;
		case ARG_USER:
			e.user = true;
			break;
		case ARG_TIMEOUT: {
			uint64_t ns;

			r = parse_duration_ns(optarg, &ns);
			e.timeout_usec = ns / 1000;
			if (r < 0 || e.timeout_usec == 0 || e.timeout_usec > 60 * USEC_PER_SEC) {
				log_error("Invalid --timeout=%s: a duration above 0 and at most 60s.",
					  optarg);
				return EXIT_FAILURE;
			}
			break;
		}
		case ARG_LOG_LEVEL:
			r = log_parse_level(optarg);
			if (r < 0) {
				log_error("Unknown --log-level=%s.", optarg);
				return EXIT_FAILURE;
			}
			log_set_max_level(r);
			break;
		default:
			return EXIT_FAILURE;
		}
	if (optind < argc) {
		log_error("%s takes no arguments (got \"%s\").", program_invocation_short_name,
			  argv[optind]);
		return EXIT_FAILURE;
	}

	n = sd_listen_fds(true);
	if (n < 0)
		return log_error_errno(n, "Failed to read the sockets systemd passed: %m"), EXIT_FAILURE;
	if (n > 1) {
		log_error("systemd passed %d sockets; iommutest-exporter takes one.", n);
		return EXIT_FAILURE;
	}
	if (n == 1) {
		listen_fd = SD_LISTEN_FDS_START;
		r = sd_is_socket(listen_fd, AF_UNSPEC, SOCK_STREAM, 1);
		if (r <= 0) {
			log_error("The socket systemd passed is not a listening stream socket.");
			return EXIT_FAILURE;
		}
	} else {
		r = exporter_parse_listen(listen_arg, &ss);
		if (r < 0) {
			log_error("Invalid --listen=%s: expected ADDRESS:PORT or [IPv6]:PORT with a "
				  "numeric address and a port from 1 to 65535.",
				  listen_arg);
			return EXIT_FAILURE;
		}
	}

	r = sd_event_default(&e.event);
	if (r < 0)
		return log_error_errno(r, "Failed to allocate event loop: %m"), EXIT_FAILURE;
	(void)sigprocmask(SIG_BLOCK, &(sigset_t){}, NULL);
	{
		sigset_t mask;

		sigemptyset(&mask);
		sigaddset(&mask, SIGTERM);
		sigaddset(&mask, SIGINT);
		(void)sigprocmask(SIG_BLOCK, &mask, NULL);
		(void)signal(SIGPIPE, SIG_IGN);
	}
	r = sd_event_add_signal(e.event, NULL, SIGTERM, on_signal, &e);
	if (r >= 0)
		r = sd_event_add_signal(e.event, NULL, SIGINT, on_signal, &e);
	if (r < 0)
		return log_error_errno(r, "Failed to watch signals: %m"), EXIT_FAILURE;

	r = httpd_start(&e, listen_fd, listen_fd >= 0 ? NULL : (struct sockaddr *)&ss);
	if (r < 0) {
		if (listen_fd >= 0)
			log_error_errno(r, "Failed to serve HTTP on the socket systemd passed: %m");
		else
			log_error_errno(r, "Failed to listen on %s: %m", listen_arg);
		return EXIT_FAILURE;
	}
	log_info("iommutest-exporter %s serving %s on %s.", PACKAGE_VERSION, EXPORTER_PATH,
		 listen_fd >= 0 ? "the socket systemd passed" : listen_arg);
	(void)sd_notify(false, "READY=1\nSTATUS=Serving " EXPORTER_PATH ".");

	r = sd_event_loop(e.event);
	(void)sd_notify(false, "STOPPING=1");
	if (r < 0)
		return log_error_errno(r, "Event loop failed: %m"), EXIT_FAILURE;
	return EXIT_SUCCESS;
}
