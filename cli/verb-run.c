/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* start, run, stop: the verbs that change something, and run's live progress line. */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <systemd/sd-event.h>

#include "cli-bus.h"
#include "cli-output.h"
#include "iommuctl.h"
#include "log.h"
#include "parse-util.h"

/* Least time between redraws of the progress line, however often the daemon signals. */
#define PROGRESS_INTERVAL_NS (100 * NSEC_PER_MSEC)

/* Scenario files are a few dozen lines; anything this big is a wrong argument. */
#define SCENARIO_MAX_SIZE (4u * 1024 * 1024)

static int read_scenario(const char *file, char **ret_text, const char **ret_source)
{
	_cleanup_close_ int fd_close = -EBADF;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd;

	/* The daemon may not see our files (other mount namespace or user): send the text. */
	if (streq(file, "-"))
		fd = STDIN_FILENO;
	else {
		fd = fd_close = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return log_error_errno(-errno, "Failed to open scenario file %s: %m", file);
	}

	for (;;) {
		ssize_t n;

		if (len > SCENARIO_MAX_SIZE)
			return log_error_errno(SYNTHETIC_ERRNO(EFBIG),
					       "Scenario file %s is larger than %u bytes.", file,
					       SCENARIO_MAX_SIZE);
		if (cap - len < 4096) {
			size_t new_cap = MAX(cap * 2, (size_t)16384);
			char *b = realloc(buf, new_cap);

			if (!b)
				return log_oom();
			buf = b;
			cap = new_cap;
		}
		/* One byte stays free for the terminating NUL. */
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return log_error_errno(-errno, "Failed to read scenario file %s: %m", file);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;

	/* D-Bus strings cannot carry NUL; say so rather than let the call fail obscurely. */
	if (memchr(buf, 0, len))
		return log_error_errno(
			SYNTHETIC_ERRNO(EINVAL),
			"Scenario file %s contains a NUL byte; it is not a text file.", file);

	*ret_text = TAKE_PTR(buf);
	*ret_source = streq(file, "-") ? "stdin" : basename(file);
	return 0;
}

/* StartScenario(text, {"_source": name, overrides…}) → run path, daemon's unique name. */
static int start_scenario(sd_bus *bus, const char *file, char **ret_path, char **ret_owner)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_free_ char *text = NULL, *path_copy = NULL, *owner_copy = NULL;
	const char *source, *path, *owner;
	int r;

	r = read_scenario(file, &text, &source);
	if (r < 0)
		return r;

	r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE,
					   "StartScenario");
	if (r < 0)
		return log_error_errno(r, "Failed to create bus message: %m");
	r = sd_bus_message_append(m, "s", text);
	if (r == -EINVAL)
		return log_error_errno(r, "Scenario file %s is not valid UTF-8 text.", file);
	if (r < 0)
		return log_error_errno(r, "Failed to append scenario: %m");

	r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r < 0)
		return log_error_errno(r, "Failed to append overrides: %m");
	r = sd_bus_message_append(m, "{sv}", "_source", "s", source);
	if (r < 0)
		return log_error_errno(r, "Failed to append file name %s: %m", source);
	for (size_t i = 0; i < arg_n_overrides; i++) {
		r = sd_bus_message_append(m, "{sv}", arg_overrides[i].key, "s",
					  arg_overrides[i].value);
		if (r < 0)
			return log_error_errno(r, "Failed to append --set=%s=%s: %m",
					       arg_overrides[i].key, arg_overrides[i].value);
	}
	r = sd_bus_message_close_container(m);
	if (r < 0)
		return log_error_errno(r, "Failed to append overrides: %m");

	r = sd_bus_call(bus, m, START_TIMEOUT_USEC, &error, &reply);
	if (r < 0)
		return log_bus_error(&error, r, "Failed to start scenario");
	r = sd_bus_message_read(reply, "o", &path);
	if (r < 0)
		return log_error_errno(r, "Failed to parse StartScenario() reply: %m");

	path_copy = strdup(path);
	if (!path_copy)
		return log_oom();
	if (ret_owner) {
		/* NULL on a peer-to-peer connection; matches then take any sender. */
		owner = sd_bus_message_get_sender(reply);
		if (owner) {
			owner_copy = strdup(owner);
			if (!owner_copy)
				return log_oom();
		}
		*ret_owner = TAKE_PTR(owner_copy);
	}
	*ret_path = TAKE_PTR(path_copy);
	return 0;
}

static uint32_t run_id(sd_bus *bus, const char *path)
{
	uint32_t id = 0;

	if (run_path_parse(path, &id) >= 0)
		return id;
	/* Not one of the paths the API documents: ask the object itself. */
	(void)sd_bus_get_property_trivial(bus, BUS_NAME, path, RUN_INTERFACE, "Id", NULL, 'u', &id);
	return id;
}

/* start and stop answer with the run they acted on, in the same shape. */
static int output_run_ref(const char *path, uint32_t id)
{
	JsonWriter j;

	json_init(&j);
	json_object_begin(&j, NULL);
	json_string(&j, "path", path);
	json_u64(&j, "id", id);
	json_object_end(&j);
	return output_json_writer(&j);
}

int verb_start(int argc, char *argv[], void *userdata)
{
	_cleanup_free_ char *path = NULL;
	sd_bus *bus = userdata;
	int r;

	r = start_scenario(bus, argv[1], &path, NULL);
	if (r < 0)
		return r;
	if (arg_json != JSON_MODE_OFF)
		return output_run_ref(path, run_id(bus, path));
	puts(path);
	return 0;
}

int verb_stop(int argc, char *argv[], void *userdata)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *path = NULL;
	sd_bus *bus = userdata;
	uint32_t id;
	char what[64];
	int r;

	r = bus_resolve_run(bus, argv[1], &path, &id);
	if (r < 0)
		return r;
	r = sd_bus_call_method(bus, BUS_NAME, path, RUN_INTERFACE, "Stop", &error, NULL, NULL);
	if (r < 0) {
		snprintf(what, sizeof(what), "Failed to stop run %" PRIu32, id);
		return log_bus_error(&error, r, what);
	}
	if (arg_json != JSON_MODE_OFF)
		return output_run_ref(path, id);
	return 0;
}

/* What the progress line shows, kept current from PropertiesChanged. */
typedef struct RunProgress {
	char *state, *verdict, *reason;
	uint64_t replacements, dma_transfers, dma_errors, faults, faults_during, elapsed_usec;
	double rate;
} RunProgress;

static const BusPropertyMap progress_map[] = {
	{"State", 's', offsetof(RunProgress, state)},
	{"Verdict", 's', offsetof(RunProgress, verdict)},
	{"FailureReason", 's', offsetof(RunProgress, reason)},
	{"Replacements", 't', offsetof(RunProgress, replacements)},
	{"ReplaceRate", 'd', offsetof(RunProgress, rate)},
	{"DmaTransfers", 't', offsetof(RunProgress, dma_transfers)},
	{"DmaErrors", 't', offsetof(RunProgress, dma_errors)},
	{"Faults", 't', offsetof(RunProgress, faults)},
	{"FaultsDuringReplace", 't', offsetof(RunProgress, faults_during)},
	{"Elapsed", 't', offsetof(RunProgress, elapsed_usec)},
};

typedef struct RunWatch {
	sd_bus *bus;
	char *path, *owner;
	uint32_t id;
	RunProgress p;
	bool show_progress, progress_visible;
	uint64_t progress_drawn_ns; /* CLOCK_MONOTONIC of the last redraw */
	sd_event_source *progress_timer;
	bool done, finished, stop_sent, timed_out, abandoned;
	unsigned interrupts;
	int error;
} RunWatch;

static void run_watch_done(RunWatch *w)
{
	sd_event_source_disable_unref(w->progress_timer);
	free(w->path);
	free(w->owner);
	free(w->p.state);
	free(w->p.verdict);
	free(w->p.reason);
}

static void progress_clear(RunWatch *w)
{
	if (!w->progress_visible)
		return;
	fputs("\r\x1B[K", stdout);
	fflush(stdout);
	w->progress_visible = false;
}

static void progress_draw(RunWatch *w)
{
	char line[512], repl[FORMAT_BUF], rate[FORMAT_BUF], elapsed[FORMAT_BUF];
	char faults[FORMAT_BUF], during[FORMAT_BUF], dma[FORMAT_BUF], dma_err[FORMAT_BUF];
	const char *state = w->p.state ? w->p.state : "starting";
	struct winsize ws;
	size_t columns = 80, len;

	if (!w->show_progress)
		return;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) >= 0 && ws.ws_col > 0)
		columns = ws.ws_col;

	/* Counts stay exact below 10000 and short above, so the line keeps its length. */
	format_count(repl, sizeof(repl), (double)w->p.replacements);
	format_rate(rate, sizeof(rate), w->p.rate);
	format_count(faults, sizeof(faults), (double)w->p.faults);
	format_count(during, sizeof(during), (double)w->p.faults_during);
	format_count(dma, sizeof(dma), (double)w->p.dma_transfers);
	format_count(dma_err, sizeof(dma_err), (double)w->p.dma_errors);
	/* Tenths of a second tick visibly without jumping between units. */
	if (w->p.elapsed_usec < 3600 * USEC_PER_SEC)
		snprintf(elapsed, sizeof(elapsed), "%.1fs", (double)w->p.elapsed_usec / 1e6);
	else
		format_usec(elapsed, sizeof(elapsed), w->p.elapsed_usec);

	snprintf(line, sizeof(line),
		 "run %" PRIu32
		 "  %s  %s repl  %s  faults %s (%s during replace)  dma %s/%s err  %s",
		 w->id, state, repl, rate, faults, during, dma, dma_err, elapsed);
	len = strlen(line);
	if (len > columns - 1) {
		/* Fewer blanks, and the time ahead of what a cut may lose at the end. */
		snprintf(line, sizeof(line),
			 "run %" PRIu32 " %s %s %s repl %s faults %s (%s in repl) dma %s/%s err",
			 w->id, state, elapsed, repl, rate, faults, during, dma, dma_err);
		len = strlen(line);
	}

	/* A line that wraps can no longer be rewritten with \r: cut it, on a character boundary. */
	if (len > columns - 1) {
		len = columns - 1;
		while (len > 0 && ((unsigned char)line[len] & 0xC0) == 0x80)
			len--;
		line[len] = 0;
	}
	printf("\r%s\x1B[K", line);
	fflush(stdout);
	w->progress_visible = true;
	w->progress_drawn_ns = now_ns(CLOCK_MONOTONIC);
	if (w->progress_timer)
		(void)sd_event_source_set_enabled(w->progress_timer, SD_EVENT_OFF);
}

static int on_progress_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	progress_draw(userdata);
	return 0;
}

/* Draws now, or once PROGRESS_INTERVAL_NS has passed since the last redraw. */
static void progress_update(RunWatch *w)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC), due = w->progress_drawn_ns + PROGRESS_INTERVAL_NS;
	int enabled = SD_EVENT_OFF;

	if (!w->show_progress)
		return;
	if (now >= due || !w->progress_timer) {
		progress_draw(w);
		return;
	}
	(void)sd_event_source_get_enabled(w->progress_timer, &enabled);
	if (enabled != SD_EVENT_OFF)
		return;
	if (sd_event_source_set_time(w->progress_timer, due / NSEC_PER_USEC) < 0 ||
	    sd_event_source_set_enabled(w->progress_timer, SD_EVENT_ONESHOT) < 0)
		progress_draw(w);
}

/*
 * Ends the loop in verb_run(). Not sd_event_exit(): that would run sd-bus's
 * exit handler, which closes the connection we still need for Describe().
 */
static void run_watch_exit(RunWatch *w)
{
	w->done = true;
}

static void run_watch_update(RunWatch *w)
{
	if (run_state_is_final(w->p.state)) {
		w->finished = true;
		run_watch_exit(w);
		return;
	}
	progress_update(w);
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	RunWatch *w = userdata;
	const char *interface;
	int r;

	r = sd_bus_message_read(m, "s", &interface);
	if (r < 0 || !streq(interface, RUN_INTERFACE))
		return 0;
	r = bus_message_map_properties(m, progress_map, ELEMENTSOF(progress_map), &w->p);
	if (r < 0) {
		log_debug_errno(r, "Ignoring malformed PropertiesChanged: %m");
		return 0;
	}
	/* Properties sent as invalidated carry no value: read them back. */
	r = sd_bus_message_enter_container(m, 'a', "s");
	if (r > 0 && sd_bus_message_at_end(m, false) == 0) {
		r = bus_map_all_properties(w->bus, w->path, RUN_INTERFACE, progress_map,
					   ELEMENTSOF(progress_map), &w->p, &error);
		if (r < 0)
			log_debug_errno(r, "Failed to re-read run properties: %m");
	}
	run_watch_update(w);
	return 0;
}

static int on_finished(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	RunWatch *w = userdata;
	const char *state, *verdict, *reason;
	int r;

	r = sd_bus_message_read(m, "sss", &state, &verdict, &reason);
	if (r < 0) {
		log_debug_errno(r, "Ignoring malformed Finished signal: %m");
		return 0;
	}
	w->finished = true;
	run_watch_exit(w);
	return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	RunWatch *w = userdata;
	const char *name, *old_owner, *new_owner;

	if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
		return 0;
	if (!streq_ptr(name, w->owner) || !isempty(new_owner))
		return 0;
	progress_clear(w);
	w->error =
		log_error_errno(SYNTHETIC_ERRNO(ECONNRESET),
				"iommutestd left the bus before run %" PRIu32 " finished.", w->id);
	run_watch_exit(w);
	return 0;
}

static int on_stop_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	const sd_bus_error *e = sd_bus_message_get_error(m);
	RunWatch *w = userdata;
	char what[64];

	/* NotRunning: it ended on its own in the meantime, and Finished is on its way. */
	if (!e || sd_bus_error_has_name(e, BUS_ERROR_NOT_RUNNING))
		return 0;
	progress_clear(w);
	snprintf(what, sizeof(what), "Failed to stop run %" PRIu32, w->id);
	w->error = log_bus_error(e, -sd_bus_message_get_errno(m), what);
	run_watch_exit(w);
	return 0;
}

static int run_watch_stop(RunWatch *w)
{
	int r;

	if (w->stop_sent)
		return 0;
	r = sd_bus_call_method_async(w->bus, NULL, BUS_NAME, w->path, RUN_INTERFACE, "Stop",
				     on_stop_reply, w, NULL);
	if (r < 0) {
		w->error = log_error_errno(r, "Failed to stop run %" PRIu32 ": %m", w->id);
		run_watch_exit(w);
		return r;
	}
	w->stop_sent = true;
	return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	RunWatch *w = userdata;

	progress_clear(w);
	if (++w->interrupts > 1) {
		/* Second ^C: the user wants out now; the daemon finishes the stop on its own. */
		w->abandoned = true;
		run_watch_exit(w);
		return 0;
	}
	if (!arg_quiet)
		log_info("Interrupted, stopping run %" PRIu32 "; interrupt again to stop waiting.",
			 w->id);
	(void)run_watch_stop(w);
	progress_draw(w);
	return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	RunWatch *w = userdata;
	char buf[FORMAT_BUF];

	w->timed_out = true;
	progress_clear(w);
	log_error("Run %" PRIu32 " did not finish within %s, stopping it.", w->id,
		  format_duration_ns(buf, sizeof(buf), arg_timeout_ns));
	(void)run_watch_stop(w);
	progress_draw(w);
	return 0;
}

/* Installs the matches before State is read, so that an end in between cannot be missed. */
static int run_watch_matches(RunWatch *w)
{
	_cleanup_free_ char *match = NULL;
	int r;

	if (w->owner) {
		if (asprintf(
			    &match,
			    "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
			    "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='%s'",
			    w->owner) < 0)
			return log_oom();
		r = sd_bus_add_match(w->bus, NULL, match, on_owner_changed, w);
		if (r < 0)
			return log_error_errno(r, "Failed to watch the daemon's bus name: %m");
	}
	/* By unique name, not org.iommutest1: signals come from it, and it cannot be taken over. */
	r = sd_bus_match_signal(w->bus, NULL, w->owner, w->path, "org.freedesktop.DBus.Properties",
				"PropertiesChanged", on_properties_changed, w);
	if (r < 0)
		return log_error_errno(r, "Failed to watch run properties: %m");
	r = sd_bus_match_signal(w->bus, NULL, w->owner, w->path, RUN_INTERFACE, "Finished",
				on_finished, w);
	if (r < 0)
		return log_error_errno(r, "Failed to watch for the end of the run: %m");
	return 0;
}

static int run_exit_status(const JsonValue *d)
{
	const char *state = json_value_get_string(d, "state", NULL);
	const char *verdict = json_value_get_string(d, "verdict", NULL);

	if (streq_ptr(state, "failed") || streq_ptr(verdict, "error"))
		return EXIT_ERROR;
	if (streq_ptr(verdict, "fail"))
		return EXIT_VERDICT_FAIL;
	if (streq_ptr(verdict, "pass") || streq_ptr(verdict, "none"))
		return EXIT_VERDICT_PASS;
	return EXIT_ERROR;
}

int verb_run(int argc, char *argv[], void *userdata)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_event_unrefp) sd_event *event = NULL;
	_cleanup_(json_value_freep) JsonValue *d = NULL;
	_cleanup_(run_watch_done) RunWatch w = {.bus = userdata};
	_cleanup_free_ char *text = NULL;
	sigset_t mask;
	int r, status;

	/*
	 * Blocked before the run exists: a ^C from here on stops the run
	 * through the event loop instead of leaving it running unattended.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return log_error_errno(-errno, "Failed to block signals: %m");

	r = start_scenario(w.bus, argv[1], &w.path, &w.owner);
	if (r < 0)
		return r;
	w.id = run_id(w.bus, w.path);
	w.show_progress = !arg_quiet && isatty(STDOUT_FILENO);

	r = sd_event_default(&event);
	if (r < 0)
		goto fail_unattended;
	r = sd_bus_attach_event(w.bus, event, SD_EVENT_PRIORITY_NORMAL);
	if (r < 0)
		goto fail_unattended;
	if ((r = sd_event_add_signal(event, NULL, SIGINT, on_signal, &w)) < 0 ||
	    (r = sd_event_add_signal(event, NULL, SIGTERM, on_signal, &w)) < 0)
		goto fail_unattended;
	if (w.show_progress) {
		r = sd_event_add_time(event, &w.progress_timer, CLOCK_MONOTONIC, 0, 0,
				      on_progress_timer, &w);
		if (r < 0)
			goto fail_unattended;
		(void)sd_event_source_set_enabled(w.progress_timer, SD_EVENT_OFF);
	}
	if (arg_timeout_ns > 0) {
		r = sd_event_add_time_relative(event, NULL, CLOCK_MONOTONIC,
					       arg_timeout_ns / NSEC_PER_USEC, 0, on_timeout, &w);
		if (r < 0)
			goto fail_unattended;
	}
	r = run_watch_matches(&w);
	if (r < 0)
		goto fail_unattended;

	r = bus_map_all_properties(w.bus, w.path, RUN_INTERFACE, progress_map,
				   ELEMENTSOF(progress_map), &w.p, &error);
	if (r < 0) {
		char what[64];

		snprintf(what, sizeof(what), "Failed to read the state of run %" PRIu32, w.id);
		return log_bus_error(&error, r, what);
	}
	run_watch_update(&w);
	while (!w.done) {
		r = sd_event_run(event, UINT64_MAX);
		if (r < 0) {
			progress_clear(&w);
			return log_error_errno(r, "Event loop failed: %m");
		}
		/* A lost connection leaves the run without an end: reported below. */
		if (sd_bus_is_open(w.bus) <= 0)
			break;
	}
	progress_clear(&w);
	(void)sd_bus_detach_event(w.bus);

	if (w.error < 0)
		return w.error;
	if (w.abandoned)
		return log_error_errno(SYNTHETIC_ERRNO(ECANCELED),
				       "Not waiting for run %" PRIu32 " to finish; it is %s.", w.id,
				       strempty(w.p.state));
	if (!w.finished)
		return log_error_errno(SYNTHETIC_ERRNO(ECONNRESET),
				       "Lost the bus connection before run %" PRIu32 " finished.",
				       w.id);

	r = bus_describe(w.bus, w.path, RUN_INTERFACE, "Failed to describe the finished run", &text,
			 &d);
	if (r < 0)
		return r;
	if (arg_json != JSON_MODE_OFF)
		output_json_text(text);
	else {
		r = show_run(d);
		if (r < 0)
			return r;
	}

	status = run_exit_status(d);
	/* The verdict of a run cut short by --timeout says nothing about the scenario. */
	return w.timed_out ? EXIT_ERROR : status;

fail_unattended:
	log_error_errno(r, "Failed to follow run %" PRIu32 ", stopping it: %m", w.id);
	(void)sd_bus_call_method(w.bus, BUS_NAME, w.path, RUN_INTERFACE, "Stop", NULL, NULL, NULL);
	return r;
}
