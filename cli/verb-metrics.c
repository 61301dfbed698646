/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* metrics: the daemon's Prometheus exposition, to stdout or for node_exporter's textfile collector. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli-bus.h"
#include "cli-output.h"
#include "iommuctl.h"
#include "json.h"
#include "log.h"

#define TEXTFILE_NAME "iommutest.prom"

/*
 * DIR/iommutest.prom, atomically: a temporary file in DIR (same file
 * system), written, synced, made world-readable, then renamed over the old
 * one, so the collector reads the old text or the new, never half of one.
 */
static int write_textfile(const char *dir, const char *text)
{
	_cleanup_free_ char *tmp = NULL, *final = NULL;
	size_t len = strlen(text), done = 0;
	int fd, r = 0;

	if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, TEXTFILE_NAME) < 0 ||
	    asprintf(&final, "%s/%s", dir, TEXTFILE_NAME) < 0)
		return log_oom();
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(errno, "Failed to create a temporary file in %s: %m", dir);
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = log_error_errno(errno, "Failed to write %s: %m", tmp);
			break;
		}
		done += (size_t)n;
	}
	if (r == 0 && fchmod(fd, 0644) < 0)
		r = log_error_errno(errno, "Failed to make %s readable: %m", tmp);
	if (r == 0 && fsync(fd) < 0)
		r = log_error_errno(errno, "Failed to sync %s: %m", tmp);
	if (close(fd) < 0 && r == 0)
		r = log_error_errno(errno, "Failed to write %s: %m", tmp);
	if (r == 0 && rename(tmp, final) < 0)
		r = log_error_errno(errno, "Failed to rename %s to %s: %m", tmp, final);
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

int verb_metrics(int argc, char *argv[], void *userdata)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	const char *format = arg_openmetrics ? "openmetrics" : "prometheus", *text, *content_type;
	sd_bus *bus = userdata;
	int r;

	if (arg_textfile && arg_openmetrics) {
		/* node_exporter's textfile collector reads the 0.0.4 text format only. */
		log_error("--textfile= writes the Prometheus text format; drop --openmetrics.");
		return -EINVAL;
	}
	r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE,
					   "GetMetrics");
	if (r >= 0)
		/* Metrics of a daemon started for them are all 0: a timer must not start it. */
		r = sd_bus_message_set_auto_start(m, false);
	if (r >= 0)
		r = sd_bus_message_append(m, "s", format);
	if (r < 0)
		return log_error_errno(r, "Failed to build the GetMetrics() call: %m");
	r = sd_bus_call(bus, m, 0, &error, &reply);
	if (r < 0)
		return log_bus_error(&error, r, "Failed to get metrics");
	r = sd_bus_message_read(reply, "ss", &text, &content_type);
	if (r < 0)
		return log_error_errno(r, "Failed to parse the metrics reply: %m");

	if (arg_textfile) {
		r = write_textfile(arg_textfile, text);
		if (r < 0)
			return r;
	}
	if (arg_json != JSON_MODE_OFF) {
		JsonWriter j;

		json_init(&j);
		json_object_begin(&j, NULL);
		json_string(&j, "format", format);
		json_string(&j, "content_type", content_type);
		if (arg_textfile) {
			json_string(&j, "textfile_directory", arg_textfile);
			json_string(&j, "file", TEXTFILE_NAME);
			json_u64(&j, "bytes", strlen(text));
		} else
			json_string(&j, "text", text);
		json_object_end(&j);
		return output_json_writer(&j);
	}
	if (!arg_textfile)
		fputs(text, stdout);
	return 0;
}
