/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* runs, show, faults: reading runs back, from Run.Describe() and the fault ring. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <systemd/sd-event.h>

#include "cli-bus.h"
#include "cli-output.h"
#include "iommuctl.h"
#include "log.h"
#include "parse-util.h"

/* How often faults --follow asks for new records. */
#define FOLLOW_INTERVAL_USEC (250 * UINT64_C(1000))

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* "walker_translations" → "Walker translations", for labels and headers taken from JSON keys. */
static char *humanize_key(const char *key, bool upper)
{
	char *h = strdup(key);

	if (!h)
		return NULL;
	for (char *c = h; *c; c++) {
		if (*c == '_')
			*c = ' ';
		else if (upper || c == h)
			*c = (char)toupper((unsigned char)*c);
	}
	return h;
}

/* Any JSON value as one table cell or field value. */
static char *format_cell(const JsonValue *v)
{
	char buf[FORMAT_BUF];
	JsonWriter j;

	switch (v ? v->type : JSON_TYPE_NULL) {
	case JSON_TYPE_NULL:
		return strdup("-");
	case JSON_TYPE_BOOLEAN:
		return strdup(v->boolean ? "yes" : "no");
	case JSON_TYPE_NUMBER:
		return strdup(format_json_number(buf, sizeof(buf), v));
	case JSON_TYPE_STRING:
		return strdup(v->string.str);
	default:
		/* Nothing generic to lay out: show the structure compactly. */
		json_init(&j);
		json_write_value(&j, NULL, v);
		return json_finish(&j, NULL);
	}
}

/*
 * Backend details are backend specific: scalars become fields, arrays of
 * objects become tables with a column per member of the first element.
 */
static int print_object_table(const char *backend, const char *key, const JsonValue *array)
{
	const JsonValue *first = json_value_index(array, 0);
	size_t n_columns = json_value_size(first);
	_cleanup_(table_freep) Table *t = NULL;
	_cleanup_free_ char *title = NULL;
	int r;

	t = table_new(NULL);
	if (!t)
		return log_oom();
	for (size_t c = 0; c < n_columns; c++) {
		const JsonMember *m = &first->object.members[c];
		_cleanup_free_ char *header = humanize_key(m->key, true);

		if (!header)
			return log_oom();
		r = table_add_column(t, header, json_value_is(m->value, JSON_TYPE_NUMBER));
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < json_value_size(array); i++)
		for (size_t c = 0; c < n_columns; c++) {
			const JsonValue *row = json_value_index(array, i);
			_cleanup_free_ char *cell =
				format_cell(json_value_get(row, first->object.members[c].key));

			if (!cell)
				return log_oom();
			table_add(t, cell);
		}

	title = humanize_key(key, false);
	if (!title)
		return log_oom();
	printf("\n%s (%s):\n", title, backend);
	return table_print(t, stdout);
}

static bool is_object_array(const JsonValue *v)
{
	if (!json_value_is(v, JSON_TYPE_ARRAY) || json_value_size(v) == 0)
		return false;
	for (size_t i = 0; i < json_value_size(v); i++)
		if (!json_value_is(json_value_index(v, i), JSON_TYPE_OBJECT))
			return false;
	return json_value_size(json_value_index(v, 0)) > 0;
}

/* "kmsg 3, dma-verify 2": the sources that saw faults, "-" when none did. */
static int format_by_source(char **ret, const JsonValue *by_source)
{
	_cleanup_free_ char *s = NULL;
	size_t len = 0;
	FILE *f;

	free(*ret);
	*ret = NULL;
	f = open_memstream(&s, &len);
	if (!f)
		return log_oom();
	for (size_t i = 0; i < json_value_size(by_source); i++) {
		const char *name = NULL;
		uint64_t n = 0;

		if (json_value_u64(json_value_member(by_source, i, &name), &n) && n > 0)
			fprintf(f, "%s%s %" PRIu64, ftell(f) > 0 ? ", " : "", name, n);
	}
	if (fclose(f) != 0)
		return log_oom();
	*ret = isempty(s) ? strdup("-") : TAKE_PTR(s);
	return *ret ? 0 : log_oom();
}

static int print_attach_points(const JsonValue *points)
{
	_cleanup_(table_freep) Table *t = NULL;
	_cleanup_free_ char *by_source = NULL;
	int r;

	if (json_value_size(points) == 0)
		return 0;
	t = table_new("POINT", "WORKER", "REPLACEMENTS", "ERRORS", "RATE", "P50", "P99", "MAX",
		      "FAULTS", "DURING REPLACE", "BY SOURCE", NULL);
	if (!t)
		return log_oom();
	for (size_t c = 1; c < 10; c++)
		table_align_right(t, c);

	for (size_t i = 0; i < json_value_size(points); i++) {
		const JsonValue *p = json_value_index(points, i);
		const JsonValue *lat = json_value_get(p, "latency_ns");
		char b[FORMAT_BUF];

		table_add(t, json_value_get_string(p, "name", NULL));
		table_add_number(t, json_value_get(p, "worker"));
		table_add_number(t, json_value_get(p, "replacements"));
		table_add_number(t, json_value_get(p, "errors"));
		table_add(t, format_rate(b, sizeof(b), json_value_get_double(p, "rate", NAN)));
		table_add(t, format_latency(b, sizeof(b), lat, "p50"));
		table_add(t, format_latency(b, sizeof(b), lat, "p99"));
		table_add(t, format_latency(b, sizeof(b), lat, "max"));
		table_add_colored(t, json_value_get_u64(p, "faults", 0) > 0 ? ANSI_RED : NULL,
				  format_json_number(b, sizeof(b), json_value_get(p, "faults")));
		table_add_number(t, json_value_get(p, "faults_during_replace"));
		r = format_by_source(&by_source, json_value_get(p, "faults_by_source"));
		if (r < 0)
			return r;
		table_add(t, by_source);
	}
	printf("\nAttach points:\n");
	return table_print(t, stdout);
}

static int print_expectations(const JsonValue *expectations)
{
	_cleanup_(table_freep) Table *t = NULL;

	if (json_value_size(expectations) == 0)
		return 0;
	t = table_new("EXPECT", "ACTUAL", "RESULT", NULL);
	if (!t)
		return log_oom();
	table_align_right(t, 1);

	for (size_t i = 0; i < json_value_size(expectations); i++) {
		const JsonValue *e = json_value_index(expectations, i);
		bool pass = json_value_get_bool(e, "pass", false);

		table_addf(t, "%s%s", json_value_get_string(e, "key", "?"),
			   json_value_get_string(e, "expect", ""));
		table_add_number(t, json_value_get(e, "actual"));
		table_add_colored(t, pass ? ANSI_GREEN : ANSI_RED, pass ? "pass" : "FAIL");
	}
	printf("\nExpectations:\n");
	return table_print(t, stdout);
}

static int print_transitions(const JsonValue *transitions)
{
	_cleanup_(table_freep) Table *t = NULL;

	t = table_new("KIND", "ATTACH POINTS", "PREDICTED", "CRITICAL QUANTA", "SYNCS", "OBSERVED",
		      "REPLACEMENTS", "FAULTS", NULL);
	if (!t)
		return log_oom();
	for (size_t c = 3; c < 8; c++)
		if (c != 5)
			table_align_right(t, c);

	for (size_t i = 0; i < json_value_size(transitions); i++) {
		const JsonValue *tr = json_value_index(transitions, i);
		const JsonValue *aps = json_value_get(tr, "attach_points");
		const JsonValue *observed = json_value_get(tr, "observed_paths");
		const char *predicted = json_value_get_string(tr, "predicted", NULL);
		_cleanup_free_ char *points = NULL, *paths = NULL;
		size_t len = 0;
		FILE *f;
		char b[FORMAT_BUF];
		uint64_t faults = json_value_get_u64(tr, "faults", 0);
		bool unexpected = false;

		f = open_memstream(&points, &len);
		if (!f)
			return log_oom();
		for (size_t k = 0; k < json_value_size(aps); k++)
			fprintf(f, "%s%s", k ? "," : "",
				strempty(json_value_string(json_value_index(aps, k))));
		if (fclose(f) != 0)
			return log_oom();

		/* What the writer really did ("disruptive 6.44M"): the check on the prediction. */
		f = open_memstream(&paths, &len);
		if (!f)
			return log_oom();
		for (size_t k = 0, shown = 0; k < json_value_size(observed); k++) {
			const JsonMember *m = &observed->object.members[k];
			uint64_t n = 0;

			if (!json_value_u64(m->value, &n) || n == 0)
				continue;
			fprintf(f, "%s%s %s", shown++ ? ", " : "", m->key,
				format_count(b, sizeof(b), (double)n));
			if (!streq(m->key, "no-op") && !streq_ptr(m->key, predicted))
				unexpected = true;
		}
		if (fclose(f) != 0)
			return log_oom();

		table_add(t, json_value_get_string(tr, "kind", NULL));
		table_add(t, points);
		table_add(t, predicted);
		table_add_number(t, json_value_get(tr, "critical_quanta"));
		table_add_number(t, json_value_get(tr, "syncs"));
		table_add_colored(t, unexpected ? ANSI_YELLOW : NULL, paths);
		table_add_number(t, json_value_get(tr, "replacements"));
		/* A fault on a transition predicted hitless is what this tool exists to find. */
		table_add_colored(t,
				  faults > 0 && streq_ptr(predicted, "hitless") ? ANSI_RED : NULL,
				  format_json_number(b, sizeof(b), json_value_get(tr, "faults")));
	}
	return table_print(t, stdout);
}

static int print_backend_info(const char *backend, const JsonValue *info)
{
	size_t width = 16;
	int r;

	if (json_value_size(info) == 0)
		return 0;
	printf("\nBackend details (%s):\n", backend);

	/* Scalars and other leftovers first, as fields aligned among themselves. */
	for (size_t i = 0; i < json_value_size(info); i++)
		width = MAX(width, strlen(info->object.members[i].key));
	for (size_t i = 0; i < json_value_size(info); i++) {
		const JsonMember *m = &info->object.members[i];
		_cleanup_free_ char *label = NULL, *value = NULL;

		if (is_object_array(m->value))
			continue;
		label = humanize_key(m->key, false);
		value = format_cell(m->value);
		if (!label || !value)
			return log_oom();
		printf("%*s: %s\n", (int)width, label, value);
	}

	for (size_t i = 0; i < json_value_size(info); i++) {
		const JsonMember *m = &info->object.members[i];

		if (!is_object_array(m->value))
			continue;
		if (streq(m->key, "transitions")) {
			printf("\nTransitions:\n");
			r = print_transitions(m->value);
		} else
			r = print_object_table(backend, m->key, m->value);
		if (r < 0)
			return r;
	}
	return 0;
}

static void print_faults_by_source(const JsonValue *by_source)
{
	_cleanup_free_ char *line = NULL;
	size_t len = 0;
	FILE *f;

	if (json_value_size(by_source) == 0)
		return;
	f = open_memstream(&line, &len);
	if (!f)
		return;
	for (size_t i = 0; i < json_value_size(by_source); i++) {
		const JsonMember *m = &by_source->object.members[i];
		uint64_t total = json_value_get_u64(m->value, "total", 0);
		uint64_t during = json_value_get_u64(m->value, "during_replace", 0);
		uint64_t dropped = json_value_get_u64(m->value, "dropped", 0);

		fprintf(f, "%s%s %" PRIu64, i ? ", " : "", m->key, total);
		if (total > 0 || dropped > 0) {
			fprintf(f, " (%" PRIu64 " during replace", during);
			if (dropped > 0)
				fprintf(f, ", %" PRIu64 " dropped", dropped);
			fputc(')', f);
		}
	}
	if (fclose(f) == 0)
		print_field("By source", NULL, "%s", line);
}

static void print_errors_by_errno(const JsonValue *errors)
{
	_cleanup_free_ char *line = NULL;
	size_t len = 0;
	FILE *f;

	if (json_value_size(errors) == 0)
		return;
	f = open_memstream(&line, &len);
	if (!f)
		return;
	for (size_t i = 0; i < json_value_size(errors); i++) {
		const JsonMember *m = &errors->object.members[i];
		char n[FORMAT_BUF];

		fprintf(f, "%s%s %s", i ? ", " : "", m->key,
			format_json_number(n, sizeof(n), m->value));
	}
	if (fclose(f) == 0)
		print_field("Errors", ANSI_RED, "%s", line);
}

/* The stop conditions the scenario asked for, when the daemon reports them. */
static void print_target(const JsonValue *d)
{
	const JsonValue *rate = json_value_get(d, "target_rate");
	uint64_t count = json_value_get_u64(d, "target_count", 0);
	uint64_t duration = json_value_get_u64(d, "target_duration_usec", 0);
	char b[3][FORMAT_BUF];
	double hz;

	if (!rate && !json_value_get(d, "target_count") &&
	    !json_value_get(d, "target_duration_usec"))
		return;
	if (json_value_double(rate, &hz))
		format_rate(b[0], FORMAT_BUF, hz);
	else
		snprintf(b[0], FORMAT_BUF, "%s", json_value_string(rate) ?: "-");
	if (count > 0)
		snprintf(b[1], FORMAT_BUF, "%" PRIu64, count);
	else
		snprintf(b[1], FORMAT_BUF, "no limit");
	if (duration > 0)
		format_usec(b[2], FORMAT_BUF, duration);
	else
		snprintf(b[2], FORMAT_BUF, "no limit");
	print_field("Target", NULL, "rate %s, count %s, duration %s", b[0], b[1], b[2]);
}

int show_run(const JsonValue *d)
{
	const char *state = json_value_get_string(d, "state", "-");
	const char *verdict = json_value_get_string(d, "verdict", "-");
	const char *source = json_value_get_string(d, "source", NULL);
	const char *reason = json_value_get_string(d, "reason", NULL);
	const JsonValue *lat = json_value_get(d, "latency_ns");
	uint64_t workers = json_value_get_u64(d, "workers", 0);
	uint64_t domains = json_value_get_u64(d, "domains", 0);
	uint64_t replace_errors = json_value_get_u64(d, "replace_errors", 0);
	uint64_t dma_errors = json_value_get_u64(d, "dma_errors", 0);
	uint64_t faults = json_value_get_u64(d, "faults", 0);
	uint64_t finished = json_value_get_u64(d, "finished_at_usec", 0);
	char b[8][FORMAT_BUF];
	int r;

	printf("%sRun %s%s: %s", ansi(ANSI_HIGHLIGHT),
	       format_json_number(b[0], FORMAT_BUF, json_value_get(d, "id")), ansi(ANSI_NORMAL),
	       json_value_get_string(d, "scenario", "-"));
	if (!isempty(source))
		printf(" (%s)", source);
	putchar('\n');

	if (!isempty(json_value_get_string(d, "description", NULL)))
		printf("%s\n", json_value_get_string(d, "description", NULL));
	print_field("Path", NULL, "%s", json_value_get_string(d, "path", "-"));
	print_field("Backend", NULL, "%s, device %s", json_value_get_string(d, "backend", "-"),
		    json_value_get_string(d, "device", "-"));
	print_field("State", verdict_color(state), "%s", state);
	print_field("Verdict", verdict_color(verdict), "%s", verdict);
	if (!isempty(reason))
		print_field("Reason", ANSI_RED, "%s", reason);
	print_field("Started", NULL, "%s",
		    format_timestamp_usec(b[0], FORMAT_BUF,
					  json_value_get_u64(d, "started_at_usec", 0)));
	if (finished > 0)
		print_field("Finished", NULL, "%s",
			    format_timestamp_usec(b[0], FORMAT_BUF, finished));
	print_field("Elapsed", NULL, "%s",
		    format_usec(b[0], FORMAT_BUF, json_value_get_u64(d, "elapsed_usec", 0)));
	print_field("Setup", NULL, "%" PRIu64 " %s, pattern %s, %" PRIu64 " domains, layout %s",
		    workers, plural(workers, "worker", "workers"),
		    json_value_get_string(d, "pattern", "-"), domains,
		    json_value_get_string(d, "layout", "-"));

	print_target(d);
	print_field("Replacements", NULL, "%s, %" PRIu64 " %s",
		    format_json_number(b[0], FORMAT_BUF, json_value_get(d, "replacements")),
		    replace_errors, plural(replace_errors, "error", "errors"));
	print_errors_by_errno(json_value_get(d, "errors_by_errno"));
	print_field("Rate", NULL, "%s",
		    format_rate(b[0], FORMAT_BUF, json_value_get_double(d, "rate", NAN)));
	print_field("Latency", NULL, "min %s  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (mean %s)",
		    format_latency(b[0], FORMAT_BUF, lat, "min"),
		    format_latency(b[1], FORMAT_BUF, lat, "p50"),
		    format_latency(b[2], FORMAT_BUF, lat, "p90"),
		    format_latency(b[3], FORMAT_BUF, lat, "p99"),
		    format_latency(b[4], FORMAT_BUF, lat, "p999"),
		    format_latency(b[5], FORMAT_BUF, lat, "max"),
		    format_latency(b[6], FORMAT_BUF, lat, "mean"));
	print_field("DMA", dma_errors > 0 ? ANSI_RED : NULL, "%s transfers, %" PRIu64 " %s",
		    format_json_number(b[0], FORMAT_BUF, json_value_get(d, "dma_transfers")),
		    dma_errors, plural(dma_errors, "error", "errors"));
	print_field(
		"Faults", faults > 0 ? ANSI_RED : NULL,
		"%" PRIu64 " total, %s during replace, %s at rest, %s retained", faults,
		format_json_number(b[0], FORMAT_BUF, json_value_get(d, "faults_during_replace")),
		format_json_number(b[1], FORMAT_BUF, json_value_get(d, "faults_at_rest")),
		format_json_number(b[2], FORMAT_BUF, json_value_get(d, "faults_retained")));
	print_faults_by_source(json_value_get(d, "faults_by_source"));

	r = print_attach_points(json_value_get(d, "attach_points"));
	if (r < 0)
		return r;
	r = print_expectations(json_value_get(d, "expectations"));
	if (r < 0)
		return r;
	return print_backend_info(json_value_get_string(d, "backend", "backend"),
				  json_value_get(d, "backend_info"));
}

int verb_show(int argc, char *argv[], void *userdata)
{
	_cleanup_(json_value_freep) JsonValue *d = NULL;
	_cleanup_free_ char *path = NULL, *text = NULL;
	sd_bus *bus = userdata;
	int r;

	r = bus_resolve_run(bus, argv[1], &path, NULL);
	if (r < 0)
		return r;
	r = bus_describe(bus, path, RUN_INTERFACE, "Failed to describe run", &text, &d);
	if (r < 0)
		return r;
	if (arg_json != JSON_MODE_OFF) {
		output_json_text(text);
		return 0;
	}
	pager_open();
	return show_run(d);
}

int verb_runs(int argc, char *argv[], void *userdata)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(table_freep) Table *t = NULL;
	const char *path, *scenario, *backend, *state, *verdict;
	sd_bus *bus = userdata;
	JsonWriter j;
	uint32_t id;
	int r;

	r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "ListRuns", &error,
			       &reply, NULL);
	if (r < 0)
		return log_bus_error(&error, r, "Failed to list runs");

	t = table_new("ID", "SCENARIO", "BACKEND", "DEVICE", "STATE", "VERDICT", "STARTED",
		      "ELAPSED", "REPLACEMENTS", "RATE", "FAULTS", "DURING REPLACE", NULL);
	if (!t)
		return log_oom();
	table_align_right(t, 0);
	for (size_t c = 7; c < 12; c++)
		table_align_right(t, c);

	json_init(&j);
	json_object_begin(&j, NULL);
	json_array_begin(&j, "runs");

	r = sd_bus_message_enter_container(reply, 'a', "(uossss)");
	if (r < 0)
		goto parse_error;
	while ((r = sd_bus_message_read(reply, "(uossss)", &id, &path, &scenario, &backend, &state,
					&verdict)) > 0) {
		_cleanup_(sd_bus_error_free) sd_bus_error derror = SD_BUS_ERROR_NULL;
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *dreply = NULL;
		_cleanup_(json_value_freep) JsonValue *d = NULL;
		const char *text;
		char b[FORMAT_BUF];
		uint64_t started;

		/* Each run's Describe(), so that runs --json has elements shaped as show --json. */
		r = sd_bus_call_method(bus, BUS_NAME, path, RUN_INTERFACE, "Describe", &derror,
				       &dreply, NULL);
		if (r < 0) {
			/* A run can be dropped (KeepRuns=) between ListRuns() and here. */
			if (sd_bus_error_has_name(&derror, SD_BUS_ERROR_UNKNOWN_OBJECT) ||
			    sd_bus_error_has_name(&derror, SD_BUS_ERROR_UNKNOWN_METHOD))
				continue;
			json_done(&j);
			return log_bus_error(&derror, r, "Failed to describe run");
		}
		r = sd_bus_message_read(dreply, "s", &text);
		if (r < 0)
			goto parse_error;
		r = json_parse_string(text, &d, NULL);
		if (r < 0) {
			json_done(&j);
			return log_error_errno(r, "Describe() of %s returned invalid JSON: %m",
					       path);
		}
		json_raw(&j, NULL, text);

		state = json_value_get_string(d, "state", state);
		verdict = json_value_get_string(d, "verdict", verdict);
		table_addf(t, "%" PRIu32, id);
		table_add(t, scenario);
		table_add(t, backend);
		table_add(t, json_value_get_string(d, "device", NULL));
		table_add_colored(t, verdict_color(state), state);
		table_add_colored(t, verdict_color(verdict), verdict);
		started = json_value_get_u64(d, "started_at_usec", 0);
		table_add(t, format_timestamp_usec(b, sizeof(b), started));
		table_add(t, format_usec(b, sizeof(b), json_value_get_u64(d, "elapsed_usec", 0)));
		table_add_number(t, json_value_get(d, "replacements"));
		table_add(t, format_rate(b, sizeof(b), json_value_get_double(d, "rate", NAN)));
		table_add_colored(t, json_value_get_u64(d, "faults", 0) > 0 ? ANSI_RED : NULL,
				  format_json_number(b, sizeof(b), json_value_get(d, "faults")));
		table_add_number(t, json_value_get(d, "faults_during_replace"));
	}
	if (r < 0)
		goto parse_error;
	return output_list(&j, t, "runs");

parse_error:
	json_done(&j);
	return log_error_errno(r, "Failed to parse reply: %m");
}

/* Fault records, as GetFaults() and GetFaultsSince() return them. */
typedef struct FaultRecord {
	uint64_t seq, time_usec, address, replace_count;
	const char *source, *attach_point, *access, *reason_text;
	uint32_t reason;
	int during_replace;
} FaultRecord;

#define FAULT_ROW_FORMAT "%8s %-26s %-10s %-13s %-7s %18s %12s %-6s %s\n"

static void print_fault_header(void)
{
	if (arg_legend)
		printf("%s" FAULT_ROW_FORMAT "%s", ansi(ANSI_UNDERLINE), "SEQ", "TIME", "SOURCE",
		       "POINT", "ACCESS", "ADDRESS", "REPLACEMENTS", "DURING", "REASON",
		       ansi(ANSI_NORMAL));
}

static void print_fault_row(const FaultRecord *f)
{
	char seq[24], time[FORMAT_BUF], address[24], replaces[24], reason[256];

	snprintf(seq, sizeof(seq), "%" PRIu64, f->seq);
	snprintf(address, sizeof(address), "0x%016" PRIx64, f->address);
	snprintf(replaces, sizeof(replaces), "%" PRIu64, f->replace_count);
	if (isempty(f->reason_text))
		snprintf(reason, sizeof(reason), "0x%02" PRIx32, f->reason);
	else
		snprintf(reason, sizeof(reason), "0x%02" PRIx32 " (%s)", f->reason, f->reason_text);
	printf(FAULT_ROW_FORMAT, seq, format_timestamp_precise(time, sizeof(time), f->time_usec),
	       f->source, f->attach_point, f->access, address, replaces,
	       f->during_replace ? "yes" : "no", reason);
}

static void json_fault(JsonWriter *j, const FaultRecord *f)
{
	json_object_begin(j, NULL);
	json_u64(j, "seq", f->seq);
	json_u64(j, "time_usec", f->time_usec);
	json_string(j, "source", f->source);
	json_string(j, "attach_point", f->attach_point);
	json_string(j, "access", f->access);
	json_u64(j, "address", f->address);
	json_u64(j, "replace_count", f->replace_count);
	json_u64(j, "reason", f->reason);
	json_string(j, "reason_text", f->reason_text);
	json_bool(j, "during_replace", f->during_replace);
	json_object_end(j);
}

typedef struct FaultLister {
	sd_bus *bus;
	const char *path;
	JsonWriter json; /* collects records for --json */
	uint64_t since;	 /* highest seq seen */
	uint64_t listed;
	uint64_t fetched; /* records in the replies, listed or filtered out */
	int error;
} FaultLister;

/* With --source the daemon cannot count for us: fetch pages and filter. */
#define FAULT_PAGE 4096

static uint32_t remaining(const FaultLister *l)
{
	if (arg_source)
		return FAULT_PAGE;
	/* 0 asks the daemon for everything it has. */
	return arg_max == 0 ? 0 : (uint32_t)(arg_max - MIN(l->listed, (uint64_t)arg_max));
}

/* Prints (or collects) the records in a reply. */
static int consume_faults(FaultLister *l, sd_bus_message *reply)
{
	FaultRecord f;
	int r;

	r = sd_bus_message_enter_container(reply, 'a', "(ttsssttusb)");
	if (r < 0)
		return log_error_errno(r, "Failed to parse faults: %m");
	while ((r = sd_bus_message_read(reply, "(ttsssttusb)", &f.seq, &f.time_usec, &f.source,
					&f.attach_point, &f.access, &f.address, &f.replace_count,
					&f.reason, &f.reason_text, &f.during_replace)) > 0) {
		l->fetched++;
		if (arg_max > 0 && l->listed >= arg_max)
			continue;
		if (arg_source && !streq(f.source, arg_source)) {
			l->since = MAX(l->since, f.seq); /* paging goes on past what we skip */
			continue;
		}
		if (arg_json != JSON_MODE_OFF)
			json_fault(&l->json, &f);
		else
			print_fault_row(&f);
		l->since = MAX(l->since, f.seq);
		l->listed++;
	}
	if (r < 0)
		return log_error_errno(r, "Failed to parse faults: %m");
	if (arg_json == JSON_MODE_OFF)
		fflush(stdout);
	return sd_bus_message_exit_container(reply);
}

static int fetch_new_faults(FaultLister *l)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_call_method(l->bus, BUS_NAME, l->path, RUN_INTERFACE, "GetFaultsSince", &error,
			       &reply, "tu", l->since, remaining(l));
	if (r < 0)
		return log_bus_error(&error, r, "Failed to get faults");
	return consume_faults(l, reply);
}

static int on_follow_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *state = NULL;
	FaultLister *l = userdata;
	int r;

	/* State first: faults recorded before the run ended are then all in the next fetch. */
	r = sd_bus_get_property_string(l->bus, BUS_NAME, l->path, RUN_INTERFACE, "State", &error,
				       &state);
	if (r < 0) {
		l->error = log_bus_error(&error, r, "Failed to read run state");
		return sd_event_exit(sd_event_source_get_event(s), 0);
	}
	r = fetch_new_faults(l);
	if (r < 0) {
		l->error = r;
		return sd_event_exit(sd_event_source_get_event(s), 0);
	}
	if (run_state_is_final(state) || (arg_max > 0 && l->listed >= arg_max))
		return sd_event_exit(sd_event_source_get_event(s), 0);

	r = sd_event_source_set_time_relative(s, FOLLOW_INTERVAL_USEC);
	if (r >= 0)
		r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	if (r < 0) {
		l->error = log_error_errno(r, "Failed to rearm timer: %m");
		return sd_event_exit(sd_event_source_get_event(s), 0);
	}
	return 0;
}

static int on_follow_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	/* Interrupting a follow is the normal way to end it: what was listed stands. */
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int follow_faults(FaultLister *l)
{
	_cleanup_(sd_event_unrefp) sd_event *event = NULL;
	sigset_t mask;
	int r;

	/* Blocked, so that a ^C reaches the loop and is not taken in the middle of a bus call. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return log_error_errno(-errno, "Failed to block signals: %m");

	r = sd_event_new(&event);
	if (r < 0)
		return log_error_errno(r, "Failed to allocate event loop: %m");
	if ((r = sd_event_add_signal(event, NULL, SIGINT, on_follow_signal, l)) < 0 ||
	    (r = sd_event_add_signal(event, NULL, SIGTERM, on_follow_signal, l)) < 0)
		return log_error_errno(r, "Failed to watch signals: %m");
	r = sd_event_add_time_relative(event, NULL, CLOCK_MONOTONIC, 0, 0, on_follow_timer, l);
	if (r < 0)
		return log_error_errno(r, "Failed to add timer: %m");

	r = sd_event_loop(event);
	if (r < 0)
		return log_error_errno(r, "Event loop failed: %m");
	return l->error;
}

int verb_faults(int argc, char *argv[], void *userdata)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_free_ char *path = NULL;
	FaultLister l = {.bus = userdata};
	uint64_t total = 0;
	int r;

	r = bus_resolve_run(l.bus, argv[1], &path, NULL);
	if (r < 0)
		return r;
	l.path = path;

	json_init(&l.json);
	json_object_begin(&l.json, NULL);
	json_array_begin(&l.json, "faults");

	if (arg_follow) {
		/* Records stream out as they come: no pager, and the header goes first. */
		if (arg_json == JSON_MODE_OFF)
			print_fault_header();
		r = follow_faults(&l);
	} else if (arg_source) {
		pager_open();
		if (arg_json == JSON_MODE_OFF)
			print_fault_header();
		/* Page through everything retained until a page comes back empty or --max is met.
		 */
		do {
			l.fetched = 0;
			r = fetch_new_faults(&l);
		} while (r >= 0 && l.fetched > 0 && (arg_max == 0 || l.listed < arg_max));
	} else {
		r = sd_bus_call_method(l.bus, BUS_NAME, path, RUN_INTERFACE, "GetFaults", &error,
				       &reply, "u", arg_max);
		if (r < 0)
			r = log_bus_error(&error, r, "Failed to get faults");
		else {
			pager_open();
			if (arg_json == JSON_MODE_OFF)
				print_fault_header();
			r = consume_faults(&l, reply);
		}
	}
	if (r < 0) {
		json_done(&l.json);
		return r;
	}

	json_array_end(&l.json);
	json_object_end(&l.json);
	if (arg_json != JSON_MODE_OFF)
		return output_json_writer(&l.json);
	json_done(&l.json);

	if (arg_legend) {
		sd_bus_error_free(&error);
		/* The ring is bounded; say when the totals are larger than what it still holds. */
		r = sd_bus_get_property_trivial(l.bus, BUS_NAME, path, RUN_INTERFACE, "Faults",
						&error, 't', &total);
		if (r >= 0 && total > l.listed)
			printf("\n%" PRIu64 " fault records listed, %" PRIu64 " faults in total.\n",
			       l.listed, total);
		else
			printf("\n%" PRIu64 " fault records listed.\n", l.listed);
	}
	return 0;
}
