/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "cli-output.h"
#include "iommuctl.h"
#include "log.h"
#include "parse-util.h"

static int colors_cached = -1;

bool colors_enabled(void)
{
	if (colors_cached < 0) {
		const char *term = getenv("TERM");

		colors_cached = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && term &&
				!streq(term, "dumb");
	}
	return colors_cached;
}

const char *ansi(const char *sequence)
{
	return colors_enabled() ? sequence : "";
}

const char *verdict_color(const char *s)
{
	if (!s)
		return NULL;
	if (streq(s, "pass"))
		return ANSI_GREEN;
	if (streq(s, "fail") || streq(s, "error") || streq(s, "failed"))
		return ANSI_RED;
	return NULL;
}

static pid_t pager_pid;

/* What the child runs; it never returns. */
static _noreturn_ void pager_exec(int fd, const char *pager)
{
	char buf[4096];
	sigset_t none;
	ssize_t n;

	if (dup2(fd, STDIN_FILENO) < 0)
		_exit(EXIT_FAILURE);
	if (fd != STDIN_FILENO)
		safe_close(fd);
	/* Signals we block for our own event loops must reach the pager as usual. */
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);

	/*
	 * less quits on ^C with K, so the pager does not outlive an interrupted
	 * iommuctl; and it must not linger if we are killed outright.
	 */
	setenv("LESS", "FRSXK", 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);

	if (pager) {
		/* A user-chosen pager may carry arguments, as with git and systemd. */
		execl("/bin/sh", "sh", "-c", pager, (char *)NULL);
		_exit(EXIT_FAILURE);
	}
	execlp("less", "less", (char *)NULL);
	execlp("more", "more", (char *)NULL);

	/* No pager at all: still show the output. */
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
		if (write(STDOUT_FILENO, buf, (size_t)n) != n)
			break;
	_exit(EXIT_SUCCESS);
}

void pager_open(void)
{
	const char *pager;
	int fd[2];
	pid_t pid;

	if (!arg_pager || arg_json != JSON_MODE_OFF || pager_pid > 0)
		return;
	if (!isatty(STDOUT_FILENO))
		return;
	(void)colors_enabled(); /* decide while stdout is still the terminal */

	pager = getenv("SYSTEMD_PAGER");
	if (!pager)
		pager = getenv("PAGER");
	if (pager && (isempty(pager) || streq(pager, "cat")))
		return;

	if (pipe2(fd, O_CLOEXEC) < 0) {
		log_debug_errno(-errno, "Failed to create pager pipe, not paging: %m");
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		log_debug_errno(-errno, "Failed to fork pager, not paging: %m");
		safe_close(fd[0]);
		safe_close(fd[1]);
		return;
	}
	if (pid == 0) {
		safe_close(fd[1]);
		pager_exec(fd[0], pager);
	}

	safe_close(fd[0]);
	if (dup2(fd[1], STDOUT_FILENO) < 0) {
		log_debug_errno(-errno, "Failed to redirect stdout to the pager: %m");
		safe_close(fd[1]);
		kill(pid, SIGTERM);
		(void)waitpid(pid, NULL, 0);
		return;
	}
	safe_close(fd[1]);
	pager_pid = pid;
}

void pager_close(void)
{
	if (pager_pid <= 0)
		return;
	/* The pager sees end of file only once our last copy of the pipe is gone. */
	fflush(stdout);
	(void)close(STDOUT_FILENO);
	while (waitpid(pager_pid, NULL, 0) < 0 && errno == EINTR)
		;
	pager_pid = 0;
}

typedef struct Cell {
	char *text;
	const char *color;
} Cell;

struct Table {
	size_t n_columns;
	char **headers;
	bool *right;
	Cell *cells;
	size_t n_cells, cap;
	int error;
};

Table *table_new(const char *header, ...)
{
	Table *t;
	va_list ap;
	size_t n = 0;

	va_start(ap, header);
	for (const char *h = header; h; h = va_arg(ap, const char *))
		n++;
	va_end(ap);

	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->n_columns = n;
	/* One spare slot, so that a table started without columns still allocates. */
	t->headers = calloc(n + 1, sizeof(char *));
	t->right = calloc(n + 1, sizeof(bool));
	if (!t->headers || !t->right)
		return table_free(t);

	va_start(ap, header);
	n = 0;
	for (const char *h = header; h; h = va_arg(ap, const char *)) {
		t->headers[n] = strdup(h);
		if (!t->headers[n++]) {
			va_end(ap);
			return table_free(t);
		}
	}
	va_end(ap);
	return t;
}

Table *table_free(Table *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; t->headers && i < t->n_columns; i++)
		free(t->headers[i]);
	for (size_t i = 0; i < t->n_cells; i++)
		free(t->cells[i].text);
	free(t->headers);
	free(t->right);
	free(t->cells);
	free(t);
	return NULL;
}

int table_add_column(Table *t, const char *header, bool right)
{
	char **headers, *h;
	bool *r;

	if (t->n_cells > 0)
		return log_error_errno(SYNTHETIC_ERRNO(EBUSY), "Columns must come before cells.");
	h = strdup(header);
	if (!h)
		return log_oom();
	headers = reallocarray(t->headers, t->n_columns + 1, sizeof(char *));
	if (!headers) {
		free(h);
		return log_oom();
	}
	t->headers = headers;
	r = reallocarray(t->right, t->n_columns + 1, sizeof(bool));
	if (!r) {
		free(h);
		return log_oom();
	}
	t->right = r;
	t->headers[t->n_columns] = h;
	t->right[t->n_columns++] = right;
	return 0;
}

void table_align_right(Table *t, size_t column)
{
	if (column < t->n_columns)
		t->right[column] = true;
}

void table_add_colored(Table *t, const char *color, const char *text)
{
	char *s;

	if (t->error < 0)
		return;
	if (t->n_cells >= t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		Cell *c = reallocarray(t->cells, cap, sizeof(Cell));

		if (!c) {
			t->error = -ENOMEM;
			return;
		}
		t->cells = c;
		t->cap = cap;
	}
	s = strdup(isempty(text) ? "-" : text);
	if (!s) {
		t->error = -ENOMEM;
		return;
	}
	t->cells[t->n_cells++] = (Cell){.text = s, .color = color};
}

void table_add(Table *t, const char *text)
{
	table_add_colored(t, NULL, text);
}

void table_addf(Table *t, const char *format, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;
	int r;

	va_start(ap, format);
	r = vasprintf(&s, format, ap);
	va_end(ap);
	if (r < 0) {
		s = NULL; /* undefined after a failure */
		t->error = -ENOMEM;
		return;
	}
	table_add(t, s);
}

void table_add_number(Table *t, const JsonValue *v)
{
	char buf[FORMAT_BUF];

	table_add(t, format_json_number(buf, sizeof(buf), v));
}

size_t table_rows(const Table *t)
{
	return t->n_columns ? t->n_cells / t->n_columns : 0;
}

/* Terminal columns taken by UTF-8 text; everything we print is one column per code point. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

static void print_cell(FILE *f, const char *text, const char *color, size_t width, bool right,
		       bool last)
{
	size_t pad = width - MIN(width, text_width(text));

	if (right)
		fprintf(f, "%*s", (int)pad, "");
	if (color && colors_enabled())
		fprintf(f, "%s%s%s", color, text, ANSI_NORMAL);
	else
		fputs(text, f);
	/* No trailing blanks after the last column. */
	if (!right && !last)
		fprintf(f, "%*s", (int)pad, "");
}

int table_print(Table *t, FILE *f)
{
	_cleanup_free_ size_t *width = NULL;
	size_t rows = table_rows(t);

	if (t->error < 0)
		return log_error_errno(t->error, "Failed to fill table: %m");
	if (t->n_columns == 0)
		return 0;
	width = calloc(t->n_columns, sizeof(size_t));
	if (!width)
		return log_oom();
	for (size_t c = 0; c < t->n_columns; c++)
		width[c] = arg_legend ? text_width(t->headers[c]) : 0;
	for (size_t i = 0; i < rows * t->n_columns; i++)
		width[i % t->n_columns] =
			MAX(width[i % t->n_columns], text_width(t->cells[i].text));

	if (arg_legend) {
		for (size_t c = 0; c < t->n_columns; c++) {
			if (c > 0)
				fputc(' ', f);
			print_cell(f, t->headers[c], ANSI_UNDERLINE, width[c], t->right[c],
				   c + 1 == t->n_columns);
		}
		fputc('\n', f);
	}
	for (size_t r = 0; r < rows; r++) {
		for (size_t c = 0; c < t->n_columns; c++) {
			const Cell *cell = &t->cells[r * t->n_columns + c];

			if (c > 0)
				fputc(' ', f);
			print_cell(f, cell->text, cell->color, width[c], t->right[c],
				   c + 1 == t->n_columns);
		}
		fputc('\n', f);
	}
	return 0;
}

#define FIELD_WIDTH 16

void print_field(const char *label, const char *color, const char *format, ...)
{
	va_list ap;

	if (label)
		printf("%*s: ", FIELD_WIDTH, label);
	else
		printf("%*s  ", FIELD_WIDTH, "");
	if (color && colors_enabled())
		fputs(color, stdout);
	va_start(ap, format);
	vprintf(format, ap);
	va_end(ap);
	if (color && colors_enabled())
		fputs(ANSI_NORMAL, stdout);
	putchar('\n');
}

void output_json_text(const char *text)
{
	if (arg_json == JSON_MODE_PRETTY)
		json_pretty_print(stdout, text);
	else
		printf("%s\n", text);
	fflush(stdout);
}

int output_json_writer(JsonWriter *j)
{
	_cleanup_free_ char *text = NULL;
	int r;

	text = json_finish(j, &r);
	if (!text)
		return log_error_errno(r, "Failed to format JSON output: %m");
	output_json_text(text);
	return 0;
}

void json_write_value(JsonWriter *j, const char *key, const JsonValue *v)
{
	if (!v) {
		json_null(j, key);
		return;
	}
	switch (v->type) {
	case JSON_TYPE_NULL:
		json_null(j, key);
		break;
	case JSON_TYPE_BOOLEAN:
		json_bool(j, key, v->boolean);
		break;
	case JSON_TYPE_NUMBER:
		if (v->number.is_u64)
			json_u64(j, key, v->number.u64);
		else if (v->number.real == trunc(v->number.real) && fabs(v->number.real) < 9.2e18)
			json_i64(j, key, (int64_t)v->number.real);
		else
			json_double(j, key, v->number.real);
		break;
	case JSON_TYPE_STRING:
		json_string(j, key, v->string.str);
		break;
	case JSON_TYPE_ARRAY:
		json_array_begin(j, key);
		for (size_t i = 0; i < v->array.n; i++)
			json_write_value(j, NULL, v->array.items[i]);
		json_array_end(j);
		break;
	case JSON_TYPE_OBJECT:
		json_object_begin(j, key);
		for (size_t i = 0; i < v->object.n; i++)
			json_write_value(j, v->object.members[i].key, v->object.members[i].value);
		json_object_end(j);
		break;
	}
}

char *format_timestamp_usec(char *buf, size_t n, uint64_t usec)
{
	time_t sec = (time_t)(usec / USEC_PER_SEC);
	struct tm tm;

	if (usec == 0 || !localtime_r(&sec, &tm) ||
	    strftime(buf, n, "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(buf, n, "-");
	return buf;
}

char *format_timestamp_precise(char *buf, size_t n, uint64_t usec)
{
	time_t sec = (time_t)(usec / USEC_PER_SEC);
	char s[32];
	struct tm tm;

	if (usec == 0 || !localtime_r(&sec, &tm) ||
	    strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%s.%06" PRIu64, s, usec % USEC_PER_SEC);
	return buf;
}

char *format_usec(char *buf, size_t n, uint64_t usec)
{
	return format_duration_ns(
		buf, n, usec > UINT64_MAX / NSEC_PER_USEC ? UINT64_MAX : usec * NSEC_PER_USEC);
}

char *format_json_number(char *buf, size_t n, const JsonValue *v)
{
	uint64_t u;
	double d;

	if (json_value_u64(v, &u))
		snprintf(buf, n, "%" PRIu64, u);
	else if (json_value_double(v, &d))
		snprintf(buf, n, "%g", d);
	else
		snprintf(buf, n, "-");
	return buf;
}

char *format_latency(char *buf, size_t n, const JsonValue *latency, const char *key)
{
	double d;

	if (!json_value_double(json_value_get(latency, key), &d) || d < 0 || d >= 1.8e19)
		snprintf(buf, n, "-");
	else
		format_duration_ns(buf, n, (uint64_t)llround(d));
	return buf;
}

char *format_rate(char *buf, size_t n, double per_second)
{
	char c[32];

	if (!isfinite(per_second) || per_second < 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%s/s", format_count(c, sizeof(c), per_second));
	return buf;
}

int output_list(JsonWriter *j, Table *t, const char *what)
{
	int r;

	json_array_end(j);
	json_object_end(j);
	if (arg_json != JSON_MODE_OFF)
		return output_json_writer(j);
	json_done(j);

	pager_open();
	r = table_print(t, stdout);
	if (r < 0)
		return r;
	if (arg_legend)
		printf("\n%zu %s listed.\n", table_rows(t), what);
	return 0;
}
